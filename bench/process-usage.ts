/**
 * Whole-process measurements, for benchmarks of what a user waits for: the child is started with a
 * tiny preload (`--import`) that writes its own `process.resourceUsage()` when it exits, since Node
 * gives a parent no rusage of its children. Baselines (`node -e 0`) get the same preload, so its
 * own small cost cancels out.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ProcessUsage {
  wall_ms: number;
  cpu_ms: number;
  max_rss_mib: number;
  code: number;
}

const dir = mkdtempSync(join(tmpdir(), 'kaidu-bench-usage-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const preload = join(dir, 'report-usage.mjs');
writeFileSync(
  preload,
  `import { writeFileSync } from 'node:fs';
process.on('exit', () => {
  const out = process.env.KAIDU_BENCH_USAGE_FILE;
  if (out) { const u = process.resourceUsage(); writeFileSync(out, JSON.stringify({ cpu_us: u.userCPUTime + u.systemCPUTime, max_rss_kb: u.maxRSS })); }
});
`,
);
let seq = 0;

/** Runs `node [nodeArgs] args` to the end; stdout and stderr are discarded unless asked for. */
export async function runNode(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProcessUsage & { stdout: string }> {
  const file = join(dir, `usage-${process.pid}-${seq++}.json`);
  const start = process.hrtime.bigint();
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', preload, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env, KAIDU_BENCH_USAGE_FILE: file },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c ?? -1, stdout: out }));
  });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const u = JSON.parse(readFileSync(file, 'utf8')) as { cpu_us: number; max_rss_kb: number };
  rmSync(file, { force: true });
  return { wall_ms: wall, cpu_ms: u.cpu_us / 1000, max_rss_mib: Math.round(u.max_rss_kb / 1024), code, stdout };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** n runs of each, interleaved (a b a b …) so a noisy neighbour hits both alike; medians and ranges. */
export async function paired(n: number, runs: Record<string, () => Promise<ProcessUsage>>): Promise<Record<string, { wall_ms: number; cpu_ms: number; cpu_range_ms: [number, number]; max_rss_mib: number }>> {
  const all: Record<string, ProcessUsage[]> = {};
  for (let i = 0; i < n; i++) {
    for (const [name, run] of Object.entries(runs)) (all[name] ??= []).push(await run());
  }
  const out: Record<string, { wall_ms: number; cpu_ms: number; cpu_range_ms: [number, number]; max_rss_mib: number }> = {};
  for (const [name, us] of Object.entries(all)) {
    const cpu = us.map((u) => u.cpu_ms);
    out[name] = {
      wall_ms: Math.round(median(us.map((u) => u.wall_ms))),
      cpu_ms: Math.round(median(cpu)),
      cpu_range_ms: [Math.round(Math.min(...cpu)), Math.round(Math.max(...cpu))],
      max_rss_mib: Math.max(...us.map((u) => u.max_rss_mib)),
    };
  }
  return out;
}
