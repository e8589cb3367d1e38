/**
 * Push → state commit for one agent on `examples/hello` (issue 16's goal: p50 < 800 ms): a real
 * agent on a git http-backend hub holding the example, N pushes one at a time, each changing the
 * Process's `GREETING` so it is an update (stop, start, wait until the port accepts). Measured
 * from the start of `git push` to the agent's state commit reaching the hub, beside the plain
 * `git push` of the same change (until the hub has it) in the same run, with the agent's CPU per
 * push, and where a pass's time goes (`phases_p50_ms`, from the agent's own debug log). The state
 * commit is the push to the host's state branch (`kaidu/state/local`) naming the pushed revision
 * in its `Kaidu-Revision` trailer; at the end the state branch must record hello running and its
 * port must answer with the last greeting. Traffic stays on 127.0.0.1. `KAIDU_BENCH_HELLO_PUSHES`
 * sets N (15).
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { createBareRepo, type PushNotice } from '../src/git/hub-server.js';
import { REVISION_TRAILER, stateBranch } from '../src/git/state-refs.js';
import { freePort } from '../src/demo/run-demo.js';
import { cpuMs } from './agent.js';
import { round } from './measure.js';
import { startWebhookHub } from './webhook-hub.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/kaidu.js');
const EXAMPLE = join(ROOT, 'examples/hello');
const GOAL_P50_MS = 800;
/** The release before issue 16 (bench/baselines.json): it cannot run in the same process. */
const PREVIOUS_P50_MS = (JSON.parse(readFileSync(fileURLToPath(new URL('../../bench/baselines.json', import.meta.url)), 'utf8')) as { 'kaidu-previous': Record<string, number> })['kaidu-previous']['agent_push_to_state_p50_ms'];
const HOST = 'local';
const STATE_REF = `refs/heads/${stateBranch(HOST)}`;

export function median(xs: number[]): number {
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
  const hubGitdir = join(dir, 'hub', 'hub.git');
  const port = await freePort();
  deliverTo(`http://127.0.0.1:${port}`);
  // The agent logs at debug level: its own timestamps per phase give the breakdown of each pass.
  const logLines: string[] = [];
  const agent = spawn(process.execPath, [BIN, 'agent', '--repo', url, '--host', HOST, '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'agent'), '--webhook-secret-file', join(dir, 'secret'), '--log-level', 'debug'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  createInterface({ input: agent.stdout! }).on('line', (l) => logLines.push(l));
  const git = (cwd: string, ...args: string[]) => exec('git', ['-c', 'user.name=B', '-c', 'user.email=b@example.invalid', ...args], { cwd });
  const work = join(dir, 'work');
  try {
    // The first state commit: the catch-up pass reserved the port and started the process.
    const startedAt = Date.now();
    const first = await nextPush();
    if (first.ref !== STATE_REF) throw new Error(`the first push to the hub was to ${first.ref}, not the agent's state branch ${STATE_REF}`);
    const firstPassMs = Date.now() - startedAt;
    // The agent's state commit for `oid`: the next push to its state branch naming that revision
    // (a push for an older revision, such as an exit record, is not it). `at` is when the hub
    // reported it, before the trailer is read.
    const stateCommitFor = async (oid: string): Promise<{ notice: PushNotice; at: number; wall: number }> => {
      let next = nextPush();
      for (;;) {
        const notice = await next;
        next = nextPush(); // before the trailer is read, so no push is missed meanwhile
        const at = performance.now();
        const wall = Date.now();
        if (notice.ref !== STATE_REF) throw new Error(`a push to ${notice.ref} came while waiting for the state commit of ${oid}`);
        if (notice.before === notice.after) throw new Error('the state push did not move the branch');
        const message = (await exec('git', ['--git-dir', hubGitdir, 'log', '-1', '--format=%B', notice.after])).stdout;
        if (message.includes(`${REVISION_TRAILER}: ${oid}`)) return { notice, at, wall };
      }
    };
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
      if ((await userPush).ref !== 'refs/heads/main') throw new Error('a push other than the user\'s came first');
      pushOnly.push(performance.now() - t0);
      const state = await stateCommitFor(oid);
      latencies.push(state.at - t0);
      marks.push({ oid, t0: wall0, stateAt: state.wall });
      cpuPerPush.push((await cpuMs(agent.pid!)) - cpu0);
    }
    await checkFinalState(work, marks.at(-1)!.oid, `Hello ${pushes}`);
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
      previous_release_p50_ms: PREVIOUS_P50_MS ?? null,
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

type LogLine = { time: number; msg: string; after?: string; revision?: string; phases?: Record<string, { ms: number; cpuMs: number }> };

/**
 * Where each pass's time goes, median over the pushes, from the agent's log (its own clock, the
 * same machine's): the user's push until the webhook is accepted (git push + hook + delivery),
 * the wait until the pass starts, each phase the pass timed itself (`pass phases`: fetch, state
 * branches, load and compile, plan, apply, record and push), and the end of the pass until the
 * hub reported the state push.
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
    const pass = log.find((l) => l.msg === 'pass phases' && l.revision === oid);
    if (!webhook || !pass?.phases) return undefined;
    const phases = Object.fromEntries(Object.entries(pass.phases).map(([k, v]) => [k, v.ms]));
    const passMs = Object.values(phases).reduce((a, b) => a + b, 0);
    return { push_to_webhook: webhook.time - t0, wait_for_pass: pass.time - passMs - webhook.time, ...phases, pass_end_to_hub_notice: stateAt - pass.time } as Record<string, number>;
  });
  const found = rows.filter((r): r is Record<string, number> => r !== undefined);
  const out: Record<string, number | null> = { passes_traced: found.length };
  const keys = [...new Set(found.flatMap((r) => Object.keys(r)))];
  for (const k of keys) {
    const xs = found.map((r) => r[k]).filter((x): x is number => x !== undefined);
    out[k] = round(median(xs), 1);
  }
  return out;
}

/**
 * The last state commit must record hello running at the last revision (an observed state, not a
 * hope), and the port it records must answer with the last greeting.
 */
export async function checkFinalState(work: string, revision: string, greeting: string, host = HOST, processNode = 'hello', portNode = 'hello-port'): Promise<void> {
  const git = (...args: string[]) => exec('git', args, { cwd: work });
  await git('fetch', '-q', 'origin', stateBranch(host));
  const path = `state/${host}/hello.yaml`;
  const text = (await git('show', `FETCH_HEAD:${path}`)).stdout;
  const nodes = (parse(text) as { nodes?: Record<string, { status?: string; revision?: string; attributes?: Record<string, unknown> }> }).nodes ?? {};
  const hello = nodes[processNode];
  if (hello?.status !== 'running' || hello.revision !== revision) throw new Error(`${path} on ${stateBranch(host)} does not record ${processNode} running at ${revision}:\n${text}`);
  const port = nodes[portNode]?.attributes?.['port'];
  if (typeof port !== 'number') throw new Error(`${path} records no port for ${portNode}:\n${text}`);
  const answer = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  if (answer.trim() !== greeting) throw new Error(`hello on port ${port} answered ${JSON.stringify(answer)}, not ${JSON.stringify(greeting)}`);
}

/**
 * The agent leaves the hello process running when it stops (as it should): end its process group
 * (the supervisor leads it) by the pid file the agent keeps, and wait until the group is gone so
 * the data dir can be removed.
 */
export async function stopHelloProcess(runDir: string): Promise<void> {
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
