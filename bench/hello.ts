/**
 * Push → state commit for one agent on `examples/hello` (issue 16's goal: p50 < 800 ms): a real
 * agent on a git http-backend hub holding the example, N pushes one at a time, each changing the
 * Process's `GREETING` so it is an update (stop, start, wait until the port accepts). Measured
 * from the start of `git push` to the agent's state commit reaching the hub, beside the plain
 * `git push` of the same change (until the hub has it) in the same run, with the agent's CPU per
 * push, and where a pass's time goes (`phases_p50_ms`, from the agent's own debug log). Traffic
 * stays on 127.0.0.1. `KAIDU_BENCH_HELLO_PUSHES` sets N (15).
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createBareRepo } from '../src/git/hub-server.js';
import { freePort } from '../src/demo/run-demo.js';
import { cpuMs } from './agent.js';
import { round } from './measure.js';
import { startWebhookHub } from './webhook-hub.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/kaidu.js');
const EXAMPLE = join(ROOT, 'examples/hello');
const GOAL_P50_MS = 800;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchHello(): Promise<Record<string, unknown>> {
  const pushes = Number(process.env.KAIDU_BENCH_HELLO_PUSHES ?? 15);
  const dir = await mkdtemp(join(tmpdir(), 'kaidu-bench-hello-'));
  const secret = 'bench';
  await writeFile(join(dir, 'secret'), secret);
  const serviceText = await readFile(join(EXAMPLE, 'services/hello.yaml'), 'utf8');
  if (!serviceText.includes('GREETING: Hello from Kaidu')) throw new Error('examples/hello/services/hello.yaml no longer sets GREETING: Hello from Kaidu');
  await createBareRepo(join(dir, 'hub'), 'hub.git', {
    files: { 'kaidu.yaml': await readFile(join(EXAMPLE, 'kaidu.yaml'), 'utf8'), 'services/hello.yaml': serviceText },
  });
  const { hub, url, nextPush, deliverTo } = await startWebhookHub(join(dir, 'hub'), secret);
  const port = await freePort();
  deliverTo(`http://127.0.0.1:${port}`);
  // The agent logs at debug level: its own timestamps per phase give the breakdown of each pass.
  const logLines: string[] = [];
  const agent = spawn(process.execPath, [BIN, 'agent', '--repo', url, '--host', 'local', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'agent'), '--webhook-secret-file', join(dir, 'secret'), '--log-level', 'debug'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  createInterface({ input: agent.stdout! }).on('line', (l) => logLines.push(l));
  const git = (cwd: string, ...args: string[]) => exec('git', ['-c', 'user.name=B', '-c', 'user.email=b@example.invalid', ...args], { cwd });
  const work = join(dir, 'work');
  try {
    // The first state commit: the catch-up pass reserved the port and started the process.
    const startedAt = Date.now();
    await nextPush();
    const firstPassMs = Date.now() - startedAt;
    await git(dir, 'clone', '-q', url, work);
    const latencies: number[] = [];
    const pushOnly: number[] = [];
    const cpuPerPush: number[] = [];
    const marks: Array<{ oid: string; t0: number; stateAt: number }> = [];
    for (let i = 1; i <= pushes; i++) {
      await git(work, 'pull', '-q', '--rebase', 'origin', 'main');
      await writeFile(join(work, 'services', 'hello.yaml'), serviceText.replace('GREETING: Hello from Kaidu', `GREETING: Hello ${i}`));
      await git(work, 'commit', '-qam', `greeting ${i}`);
      const oid = (await git(work, 'rev-parse', 'HEAD')).stdout.trim();
      const cpu0 = await cpuMs(agent.pid!);
      const t0 = performance.now();
      const wall0 = Date.now();
      const userPush = nextPush();
      await git(work, 'push', '-q', 'origin', 'HEAD:main');
      await userPush;
      pushOnly.push(performance.now() - t0);
      // The next push to the hub is the agent's state commit.
      const state = await nextPush();
      latencies.push(performance.now() - t0);
      marks.push({ oid, t0: wall0, stateAt: Date.now() });
      cpuPerPush.push((await cpuMs(agent.pid!)) - cpu0);
      if (state.before === state.after) throw new Error('the state push did not move the branch');
    }
    // The last state commit must record the process as running (an observed state, not a hope).
    await git(work, 'pull', '-q', '--rebase', 'origin', 'main');
    const state = await readFile(join(work, 'state/local/hello.yaml'), 'utf8');
    if (!/status: running/.test(state)) throw new Error(`state/local/hello.yaml does not record hello as running:\n${state}`);
    await new Promise((r) => setTimeout(r, 200)); // the last log lines
    const phases = phaseBreakdown(logLines, marks);
    const p50 = median(latencies);
    const pushP50 = median(pushOnly);
    return {
      example: 'examples/hello',
      pushes,
      first_pass_ms: firstPassMs,
      push_to_state_commit_ms: latencies.map((x) => Math.round(x)),
      push_to_state_commit_p50_ms: round(p50, 0),
      push_to_state_commit_max_ms: round(Math.max(...latencies), 0),
      agent_cpu_ms_per_push_p50: round(median(cpuPerPush), 0),
      agent_cpu_ms_per_push_max: round(Math.max(...cpuPerPush), 0),
      baseline_git_push_p50_ms: round(pushP50, 0),
      ratio_p50_to_git_push: round(p50 / pushP50),
      target_p50_ms: GOAL_P50_MS,
      meets_goal: p50 < GOAL_P50_MS,
      phases_p50_ms: phases,
    };
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
    await stopHelloProcess(join(dir, 'agent', 'run'));
    await hub.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

type LogLine = { time: number; msg: string; ms?: number; tip?: string; revision?: string; parent?: string; after?: string };

/**
 * Where each pass's time goes, median over the pushes, from the agent's log (its own clock, the
 * same machine's): the user's push until the webhook is accepted (git push + hook + delivery),
 * fetch (including any wait for the pass before), compile and plan, apply and the state write,
 * the state push, and the state push until the hub reported it.
 */
function phaseBreakdown(lines: string[], marks: Array<{ oid: string; t0: number; stateAt: number }>): Record<string, number | null> {
  const log: LogLine[] = [];
  for (const l of lines) {
    try {
      log.push(JSON.parse(l) as LogLine);
    } catch {
      // not a log line
    }
  }
  const rows = marks.map(({ oid, t0, stateAt }) => {
    const webhook = log.find((l) => l.msg === 'webhook accepted' && l.after === oid);
    const fetched = log.find((l) => l.msg === 'fetched the hub' && l.tip === oid);
    const applying = log.find((l) => l.msg === 'applying' && l.revision === oid);
    const pushedAt = log.findIndex((l) => l.msg === 'pushed' && l.parent === oid);
    const pushed = log[pushedAt];
    const statePushed = log.slice(pushedAt + 1).find((l) => l.msg === 'state pushed');
    if (!webhook || !fetched || !applying || !pushed || pushed.ms === undefined || !statePushed) return undefined;
    const pushStart = pushed.time - pushed.ms;
    return {
      push_to_webhook: webhook.time - t0,
      fetch: fetched.time - webhook.time,
      compile_plan: applying.time - fetched.time,
      apply_and_state_write: pushStart - applying.time,
      state_push: statePushed.time - pushStart,
      hub_notice: stateAt - statePushed.time,
    };
  });
  const found = rows.filter((r): r is NonNullable<typeof r> => r !== undefined);
  const keys = ['push_to_webhook', 'fetch', 'compile_plan', 'apply_and_state_write', 'state_push', 'hub_notice'] as const;
  const out: Record<string, number | null> = { passes_traced: found.length };
  for (const k of keys) out[k] = found.length ? median(found.map((r) => r[k])) : null;
  return out;
}

/**
 * The agent leaves the hello process running when it stops (as it should): end its process group
 * (the supervisor leads it) by the pid file the agent keeps, and wait until the group is gone so
 * the data dir can be removed.
 */
async function stopHelloProcess(runDir: string): Promise<void> {
  let files: string[] = [];
  try {
    files = (await readdir(runDir, { recursive: true })).filter((f) => f.endsWith('.pid'));
  } catch {
    return;
  }
  for (const f of files) {
    const leader = Number((await readFile(join(runDir, f), 'utf8').catch(() => '')).trim().split(/\s+/)[0]);
    if (!Number.isInteger(leader) || leader <= 1) continue;
    try {
      process.kill(-leader, 'SIGTERM');
    } catch {
      continue; // already gone
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(-leader, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
