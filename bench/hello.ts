/**
 * Push → state commit for one agent on `examples/hello` (issue 16's goal: p50 < 800 ms): a real
 * agent on a git http-backend hub holding the example, N pushes one at a time, each changing the
 * Process's `GREETING` so it is an update (stop, start, wait until the port accepts). Measured
 * from the start of `git push` to the agent's state commit reaching the hub, beside the plain
 * `git push` of the same change (until the hub has it) in the same run, with the agent's CPU per
 * push. Traffic stays on 127.0.0.1.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createBareRepo, startHubServer, type PushNotice } from '../src/git/hub-server.js';
import { deliverPushWebhook } from '../src/demo/webhook-relay.js';
import { freePort } from '../src/demo/run-demo.js';
import { cpuMs } from './agent.js';
import { round } from './measure.js';

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
  let waiters: Array<(p: PushNotice) => void> = [];
  let agentUrl = '';
  const hub = await startHubServer({
    root: join(dir, 'hub'),
    onPush: (p) => {
      for (const w of waiters) w(p);
      waiters = [];
      if (agentUrl) void deliverPushWebhook(agentUrl, secret, p);
    },
  });
  const url = hub.repoUrl('hub.git');
  const nextPush = () => new Promise<PushNotice>((r) => waiters.push(r));
  const port = await freePort();
  agentUrl = `http://127.0.0.1:${port}`;
  // The agent's log (pino JSON, info level) is kept for the per-phase breakdown when asked for.
  const logPath = process.env.KAIDU_BENCH_HELLO_LOG;
  const logFile = logPath ? await open(logPath, 'w') : undefined;
  const agent = spawn(process.execPath, [BIN, 'agent', '--repo', url, '--host', 'local', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'agent'), '--webhook-secret-file', join(dir, 'secret'), '--log-level', logPath ? 'debug' : 'warn'], {
    stdio: ['ignore', logFile ? logFile.fd : 'ignore', logFile ? logFile.fd : 'ignore'],
  });
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
    for (let i = 1; i <= pushes; i++) {
      await git(work, 'pull', '-q', '--rebase', 'origin', 'main');
      await writeFile(join(work, 'services', 'hello.yaml'), serviceText.replace('GREETING: Hello from Kaidu', `GREETING: Hello ${i}`));
      await git(work, 'commit', '-qam', `greeting ${i}`);
      const cpu0 = await cpuMs(agent.pid!);
      const t0 = performance.now();
      const userPush = nextPush();
      await git(work, 'push', '-q', 'origin', 'HEAD:main');
      await userPush;
      pushOnly.push(performance.now() - t0);
      // The next push to the hub is the agent's state commit.
      const state = await nextPush();
      latencies.push(performance.now() - t0);
      cpuPerPush.push((await cpuMs(agent.pid!)) - cpu0);
      if (state.before === state.after) throw new Error('the state push did not move the branch');
    }
    // The last state commit must record the process as running (an observed state, not a hope).
    await git(work, 'pull', '-q', '--rebase', 'origin', 'main');
    const state = await readFile(join(work, 'state/local/hello.yaml'), 'utf8');
    if (!/status: running/.test(state)) throw new Error(`state/local/hello.yaml does not record hello as running:\n${state}`);
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
    };
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
    await logFile?.close();
    await stopHelloProcess(join(dir, 'agent', 'run'));
    await hub.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
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
