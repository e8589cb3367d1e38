/**
 * The agent's git costs on a 10,000-file repository, served by git http-backend on 127.0.0.1 (in
 * a process of its own, so the server's CPU is nobody's client cost).
 *
 * First pass, like with like, in paired rounds (medians): Kaidu in a fresh process (clone without
 * checkout, list every file, read every file; module import reported apart) against native
 * `git clone --bare` + `git ls-tree -r | git cat-file --batch` on the same hub. CPU (the
 * processes' own user+system time) decides the goal, as issue 16 measured it; wall is reported
 * beside it (on a shared machine it mostly measures the neighbours).
 *
 * Steady state, in this process: fetch after a one-file push, tree diff, commit+push of one file,
 * against native `git fetch`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openHub } from '../src/git/index.js';
import { round, time } from './measure.js';

const exec = promisify(execFile);
const PREVIOUS = (JSON.parse(readFileSync(fileURLToPath(new URL('../../bench/baselines.json', import.meta.url)), 'utf8')) as { 'kaidu-previous': Record<string, number> })['kaidu-previous'];
const HUB_PROCESS = fileURLToPath(new URL('./hub-process.js', import.meta.url));
const FIRST_PASS = fileURLToPath(new URL('./first-pass-child.js', import.meta.url));
const GOAL_RATIO = 3;

type Timing = { ms: number; cpuMs: number };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** CPU (ms) of the children a bash script ran, from its `times` builtin (second line: children's user and system). */
function childrenCpuMs(timesOutput: string): number {
  const lines = timesOutput.trim().split('\n');
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1]!.trim());
  if (!m) throw new Error(`bench: cannot read the output of times: ${timesOutput}`);
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

/** A bash script's wall time and its children's CPU. */
async function bashTimed(script: string, args: string[], cwd: string): Promise<Timing & { stdout: string }> {
  const t = await time(() => exec('bash', ['-c', `${script}\ntimes`, 'bench', ...args], { cwd, maxBuffer: 64 * 1024 * 1024 }));
  return { ms: t.ms, cpuMs: childrenCpuMs(t.value.stdout), stdout: t.value.stdout };
}

async function nativeFirstPass(url: string, gitdir: string, cwd: string): Promise<{ clone: Timing; read: Timing }> {
  const clone = await bashTimed('git clone -q --bare "$1" "$2"', [url, gitdir], cwd);
  const read = await bashTimed("git ls-tree -r refs/heads/main | awk '{print $3}' | git cat-file --batch > /dev/null", [], gitdir);
  return { clone, read };
}

interface KaiduRun {
  importCpuMs: number;
  files: number;
  phases: Record<string, Timing>;
  clone: Record<string, Timing>;
  /** The whole process (node start-up and imports included), from bash's `times`. */
  processCpuMs: number;
  processMs: number;
}

async function kaiduFirstPass(url: string, dataDir: string, cwd: string): Promise<KaiduRun> {
  const run = await bashTimed('"$1" "$2" "$3" "$4"', [process.execPath, FIRST_PASS, url, dataDir], cwd);
  const out = JSON.parse(run.stdout.split('\n')[0]!) as Omit<KaiduRun, 'processCpuMs' | 'processMs'>;
  return { ...out, processCpuMs: run.cpuMs, processMs: run.ms };
}

async function startHubProcess(root: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [HUB_PROCESS, root], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench: the hub process exited (${code})`)));
  });
  return { url: `${line.replace(/\/+$/, '')}/hub.git`, child };
}

const sumOf = (phases: Record<string, Timing>, names: string[], key: keyof Timing) => names.reduce((n, p) => n + (phases[p]?.[key] ?? 0), 0);

export async function benchGit(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'kaidu-bench-git-'));
  const g = (cwd: string, ...args: string[]) =>
    exec('git', ['-c', 'user.name=B', '-c', 'user.email=b@example.invalid', ...args], { cwd, maxBuffer: 256 * 1024 * 1024 });
  try {
    const seed = join(dir, 'seed');
    await g(dir, 'init', '-q', '-b', 'main', seed);
    for (let d = 0; d < 100; d++) {
      await mkdir(join(seed, 'services', `d${d}`), { recursive: true });
      await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(seed, 'services', `d${d}`, `f${f}.yaml`), `value: ${d * 100 + f}\n`)));
    }
    await g(seed, 'add', '-A');
    await g(seed, 'commit', '-qm', 'seed');
    const hubDir = join(dir, 'repos', 'hub.git');
    // --no-local: a packed hub, as a real server holds it (a local clone would hardlink 10,000 loose objects).
    await g(dir, 'clone', '-q', '--bare', '--no-local', seed, hubDir);
    await g(hubDir, 'config', 'http.receivepack', 'true');
    await g(hubDir, 'config', 'receive.autogc', 'false');
    const server = await startHubProcess(join(dir, 'repos'));
    const url = server.url;
    try {
      const rounds = Number(process.env.KAIDU_BENCH_ROUNDS ?? 5);
      const natives: Array<{ clone: Timing; read: Timing }> = [];
      const kaidus: KaiduRun[] = [];
      for (let r = 0; r < rounds; r++) {
        // Paired, in alternating order: a neighbour's burst weighs on both sides alike.
        const n = () => nativeFirstPass(url, join(dir, `native-${r}.git`), dir).then((x) => void natives.push(x));
        const k = () => kaiduFirstPass(url, join(dir, `agent-${r}`), dir).then((x) => void kaidus.push(x));
        if (r % 2) await k().then(n);
        else await n().then(k);
        if (kaidus[r]!.files !== 10_000) throw new Error(`bench: the first pass read ${kaidus[r]!.files} files`);
      }
      const pass = ['clone', 'read_tree', 'read_blobs'];
      const nativeCpu = natives.map((x) => x.clone.cpuMs + x.read.cpuMs);
      const nativeWall = natives.map((x) => x.clone.ms + x.read.ms);
      const kaiduCpu = kaidus.map((x) => sumOf(x.phases, pass, 'cpuMs'));
      const kaiduWall = kaidus.map((x) => sumOf(x.phases, pass, 'ms'));
      const ratioCpu = median(kaiduCpu.map((k, i) => k / nativeCpu[i]!));
      const ratioWall = median(kaiduWall.map((k, i) => k / nativeWall[i]!));
      const medianPhases = (pick: (x: KaiduRun) => Record<string, Timing>) =>
        Object.fromEntries(Object.keys(pick(kaidus[0]!) ?? {}).map((p) => [p, { ms: round(median(kaidus.map((x) => pick(x)[p]?.ms ?? 0))), cpu_ms: round(median(kaidus.map((x) => pick(x)[p]?.cpuMs ?? 0))) }]));
      const firstPass = {
        rounds,
        first_pass_phases: medianPhases((x) => x.phases),
        first_clone_steps: medianPhases((x) => x.clone),
        first_pass_cpu_ms: round(median(kaiduCpu)),
        first_pass_cpu_ms_range: [round(Math.min(...kaiduCpu)), round(Math.max(...kaiduCpu))],
        first_pass_wall_ms: round(median(kaiduWall)),
        kaidu_module_import_cpu_ms: round(median(kaidus.map((x) => x.importCpuMs))),
        kaidu_whole_process_cpu_ms: round(median(kaidus.map((x) => x.processCpuMs))),
        baseline_native_clone_cpu_ms: round(median(natives.map((x) => x.clone.cpuMs))),
        baseline_native_read_cpu_ms: round(median(natives.map((x) => x.read.cpuMs))),
        baseline_native_clone_and_read_cpu_ms: round(median(nativeCpu)),
        baseline_native_clone_and_read_cpu_ms_range: [round(Math.min(...nativeCpu)), round(Math.max(...nativeCpu))],
        baseline_native_clone_and_read_wall_ms: round(median(nativeWall)),
        ratio_clone_cpu_to_native: round(median(kaidus.map((x, i) => (x.phases.clone?.cpuMs ?? 0) / natives[i]!.clone.cpuMs))),
        ratio_read_cpu_to_native: round(median(kaidus.map((x, i) => sumOf(x.phases, ['read_tree', 'read_blobs'], 'cpuMs') / natives[i]!.read.cpuMs))),
        ratio_first_pass_cpu_to_native: round(ratioCpu),
        ratio_first_pass_wall_to_native: round(ratioWall),
        ratio_whole_process_cpu_to_native: round(median(kaidus.map((x, i) => x.processCpuMs / nativeCpu[i]!))),
        goal_ratio_first_pass_to_native: GOAL_RATIO,
        meets_goal: ratioCpu <= GOAL_RATIO,
        meets_goal_wall: ratioWall <= GOAL_RATIO,
        previous_release_ratio_first_pass_to_native: PREVIOUS.agent_first_pass_ratio_to_native,
      };
      // Steady state, in this process, on a mirror of its own.
      const hub = await openHub({ url, dataDir: join(dir, 'agent'), branch: 'main' });
      const clone = await time(() => hub.fetch());
      const idle = await time(() => hub.fetch());
      const work = join(dir, 'work');
      await g(dir, 'clone', '-q', url, work);
      await writeFile(join(work, 'services', 'd42', 'f7.yaml'), 'value: changed\n');
      await g(work, 'commit', '-qam', 'one file');
      await g(work, 'push', '-q', 'origin', 'HEAD:main');
      const nativeFetch = await bashTimed("git -c user.name=B -c user.email=b@example.invalid fetch -q origin '+refs/heads/main:refs/heads/main'", [], join(dir, 'native-0.git'));
      const fetchCpu0 = process.cpuUsage();
      const fetched = await time(() => hub.fetch());
      const fetchCpu = process.cpuUsage(fetchCpu0);
      const diff = await time(() => hub.changedPaths(clone.value, fetched.value));
      const reader = hub.reader(fetched.value);
      const read = await time(() => reader.readFile('services/d42/f7.yaml'));
      const commit = await time(() =>
        hub.commitAndPush({ files: { 'state/host-a/svc.yaml': 'nodes: {}\n' }, message: 'bench', author: { name: 'b', email: 'b@example.invalid' }, trailers: { 'Kaidu-Host': 'host-a' } }),
      );
      const commit2 = await time(() =>
        hub.commitAndPush({ files: { 'state/host-a/svc.yaml': 'nodes: {a: 1}\n' }, message: 'bench 2', author: { name: 'b', email: 'b@example.invalid' } }),
      );
      const steady = fetched.ms + diff.ms + commit2.ms;
      return {
        files: 10_000,
        ...firstPass,
        fetch_unchanged_ms: round(idle.ms),
        baseline_native_fetch_ms: round(nativeFetch.ms),
        baseline_native_fetch_cpu_ms: round(nativeFetch.cpuMs),
        fetch_after_one_file_push_ms: round(fetched.ms),
        fetch_after_one_file_push_cpu_ms: round((fetchCpu.user + fetchCpu.system) / 1000),
        changed_paths_ms: round(diff.ms),
        changed_paths: diff.value,
        read_one_file_ms: round(read.ms),
        commit_and_push_one_file_first_ms: round(commit.ms),
        commit_and_push_one_file_ms: round(commit2.ms),
        steady_state_per_event_ms: round(steady),
      };
    } finally {
      server.child.stdin!.end();
      await new Promise((r) => server.child.once('exit', r));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
