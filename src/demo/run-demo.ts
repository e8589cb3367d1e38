import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openHub, readStateBranches } from '../git/index.js';
import { readFleetState } from '../state/fleet-state.js';
import { createBareRepo, startHubServer, type HubServer } from '../git/hub-server.js';
import { killManaged } from './kill-managed.js';
import { deliverPushWebhook } from './webhook-relay.js';
import { withDemoDataRoot } from './demo-inputs.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'kaidu.js');
const HOSTS = ['host-a', 'host-b'];

export interface DemoOptions {
  out: NodeJS.WritableStream;
  example?: string;
  keep?: boolean;
  /** Give up waiting for the agents after this long. */
  timeoutMs?: number;
  /** Bold step titles (a terminal without NO_COLOR). */
  color?: boolean;
}

interface StateNode {
  type: string;
  status: string;
  attributes: Record<string, unknown>;
  error?: string;
}

/** A port free on 127.0.0.1 right now (for agents the demo and tests start). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function filesOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'state' && e.name !== '.kaidu') await walk(p);
      } else out[relative(dir, p).split('\\').join('/')] = await readFile(p, 'utf8');
    }
  };
  await walk(dir);
  return out;
}

const git = (cwd: string, ...args: string[]) =>
  exec('git', ['-c', 'user.name=Demo User', '-c', 'user.email=demo@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd });

/**
 * `npm run demo`: a hub served by `git http-backend` on 127.0.0.1, two real agents, the web-db
 * example deployed across them, a change pushed and applied, `kaidu status`, and a clean exit.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const say = (s = '') => opts.out.write(s + '\n');
  const step = (n: number, s: string) => say(opts.color ? `\n\x1b[1m${n}. ${s}\x1b[0m` : `\n${n}. ${s}`);
  const example = opts.example ?? join(ROOT, 'examples', 'web-db');
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const dir = await mkdtemp(join(tmpdir(), 'kaidu-demo-'));
  const agents = new Map<string, { proc: ChildProcess; url: string; log: string }>();
  const secret = `demo-${Math.random().toString(36).slice(2)}`;
  let hub: HubServer | undefined;
  let listeners: Array<() => void> = [];
  const pushed = () => new Promise<void>((resolve) => listeners.push(resolve));

  // Each host's state as the hub holds it: its state branch (kaidu/state/<host>), read through the fleet-state module.
  const readState = async (): Promise<Record<string, Record<string, Record<string, StateNode>>>> => {
    const repo = await openHub({ url: join(dir, 'hub', 'hub.git'), dataDir: dir, branch: 'main' });
    const tip = await repo.fetch();
    const fleet = await readFleetState({ templates: repo.reader(tip), stateDir: 'state', branches: await readStateBranches(repo, { fetch: false }) });
    const out: Record<string, Record<string, Record<string, StateNode>>> = {};
    for (const [host, services] of Object.entries(fleet.snapshot)) {
      for (const [service, st] of Object.entries(services)) (out[host] ??= {})[service] = st.nodes as Record<string, StateNode>;
    }
    return out;
  };

  const until = async (what: string, ok: (s: Awaited<ReturnType<typeof readState>>) => boolean) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await readState();
      if (ok(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agent logs are in ${dir}/agents`);
      // Wait for the next push to the hub (an agent's state commit), or a short while.
      await Promise.race([pushed(), new Promise((r) => setTimeout(r, 2_000))]);
    }
  };

  const cleanup = async () => {
    for (const { proc } of agents.values()) if (proc.exitCode === null) proc.kill('SIGTERM');
    await Promise.all([...agents.values()].map(({ proc }) => (proc.exitCode === null ? new Promise((r) => proc.once('exit', r)) : undefined)));
    // Whatever the agents left running (their processes outlive them by design) goes too.
    for (const agentDir of HOSTS.map((h) => join(dir, 'agents', h))) {
      await killManaged(join(agentDir, 'run'));
    }
    await hub?.close();
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    say('\nInterrupted: stopping the agents and everything they started…');
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);

  try {
    say(`Kaidu demo: everything runs on 127.0.0.1, files in ${dir}`);
    step(1, 'A hub repository, served by git http-backend');
    // The example's data goes in the demo folder, removed at the end with everything else.
    const files = withDemoDataRoot(await filesOf(example), join(dir, 'data'));
    await mkdir(join(dir, 'hub'), { recursive: true });
    await createBareRepo(join(dir, 'hub'), 'hub.git', { files });
    hub = await startHubServer({
      root: join(dir, 'hub'),
      onPush: (push) => {
        for (const l of listeners) l();
        listeners = [];
        for (const a of agents.values()) void deliverPushWebhook(a.url, secret, { ref: push.ref, before: push.before, after: push.after });
      },
    });
    const url = hub.repoUrl('hub.git');
    say(`   ${url}  (${Object.keys(files).length} files from ${relative(process.cwd(), example) || example})`);

    step(2, 'What the templates describe');
    const graph = await exec(process.execPath, [BIN, 'graph', '--format', 'text'], { cwd: example });
    say(graph.stdout.replace(/^/gm, '   ').trimEnd());

    step(3, 'Two agents start, each for its own host');
    await writeFile(join(dir, 'secret'), secret + '\n', { mode: 0o600 });
    for (const host of HOSTS) {
      const port = await freePort();
      const agentDir = join(dir, 'agents', host);
      await mkdir(agentDir, { recursive: true });
      const log = join(agentDir, 'agent.log');
      const fd = openSync(log, 'a');
      const proc = spawn(process.execPath, [BIN, 'agent', '--repo', url, '--host', host, '--listen', `127.0.0.1:${port}`, '--data-dir', agentDir, '--webhook-secret-file', join(dir, 'secret')], { stdio: ['ignore', fd, fd] });
      agents.set(host, { proc, url: `http://127.0.0.1:${port}`, log });
      say(`   ${host}: http://127.0.0.1:${port}  (log: ${log})`);
    }
    say(`   the fleet page (topology, status, passes; live while the demo runs): ${agents.get(HOSTS[0]!)!.url}/`);
    say('   waiting for both hosts to converge (each reacts to the other\'s state commit)…');
    const allRunning = (s: Awaited<ReturnType<typeof readState>>) =>
      HOSTS.every((h) => s[h] && Object.values(s[h]!).every((svc) => Object.values(svc).length > 0 && Object.values(svc).every((n) => n.status === 'running')));
    const state = await until('both hosts to run their nodes', (s) => allRunning(s) || failedNode(s) !== undefined);
    const failed = failedNode(state);
    if (failed) throw new Error(`${failed} failed; see the agent logs in ${dir}/agents`);
    say(await statusTable(url));

    step(4, 'The web process found the database through discovered attributes');
    const webPort = findPort(state['host-a']);
    if (webPort) {
      const res = await fetch(`http://127.0.0.1:${webPort}/`);
      say(`   GET http://127.0.0.1:${webPort}/ → ${res.status}`);
      say((await res.text()).trim().replace(/^/gm, '   '));
    }

    step(5, 'A change is pushed with git; the webhook makes host-a apply it');
    const work = join(dir, 'work');
    await git(dir, 'clone', '-q', url, work);
    const svcFile = (await readdir(join(work, 'services'))).find((f) => f.endsWith('.yaml'))!;
    const text = await readFile(join(work, 'services', svcFile), 'utf8');
    const changed = text.replace(/(GREETING:\s*)(.*)/, '$1"Hello again, from a git push"');
    if (changed === text) throw new Error(`the example has no GREETING to change in services/${svcFile}`);
    await writeFile(join(work, 'services', svcFile), changed);
    await git(work, 'commit', '-qam', 'Change the greeting');
    await git(work, 'pull', '-q', '--rebase', 'origin', 'main');
    await git(work, 'push', '-q', 'origin', 'HEAD:main');
    const { stdout: head } = await git(work, 'rev-parse', 'HEAD');
    say(`   pushed ${head.trim().slice(0, 12)}: GREETING → "Hello again, from a git push"`);
    const after = await until('host-a to apply the change', (s) => Object.values(s['host-a'] ?? {}).some((svc) => Object.values(svc).some((n) => JSON.stringify(n).includes(head.trim()))));
    const port2 = findPort(after['host-a']);
    if (port2) {
      const res = await fetch(`http://127.0.0.1:${port2}/`);
      say((await res.text()).trim().replace(/^/gm, '   '));
    }

    step(6, 'kaidu status (read from the hub, no agent asked)');
    say(await statusTable(url));

    step(7, 'Clean up: the service is removed with a push, the agents delete what they run');
    await git(work, 'pull', '-q', '--rebase', 'origin', 'main');
    await git(work, 'rm', '-q', `services/${svcFile}`);
    await git(work, 'commit', '-qm', 'Remove the demo service');
    await git(work, 'push', '-q', 'origin', 'HEAD:main');
    await until('the hosts to delete everything', (s) => HOSTS.every((h) => Object.keys(s[h] ?? {}).length === 0));
    say('   every node deleted; stopping the agents and the hub.');
    return 0;
  } catch (err) {
    if (!interrupted) say(`\ndemo failed: ${(err as Error).message}`);
    for (const a of agents.values()) {
      const tail = await readFile(a.log, 'utf8').catch(() => '');
      say(`--- last lines of ${a.log}\n${tail.split('\n').slice(-15).join('\n')}`);
    }
    return 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (!interrupted) await cleanup();
    if (!interrupted) say('Done: nothing left running.');
  }
}

function failedNode(s: Record<string, Record<string, Record<string, StateNode>>>): string | undefined {
  for (const [h, svcs] of Object.entries(s)) for (const [svc, nodes] of Object.entries(svcs)) for (const [n, st] of Object.entries(nodes)) if (st.status === 'failed') return `${svc}/${n} on ${h} (${st.error?.split('\n')[0] ?? ''})`;
  return undefined;
}

/** The port of the web process: the Port node its host serves on. */
function findPort(services: Record<string, Record<string, StateNode>> | undefined): number | undefined {
  for (const nodes of Object.values(services ?? {})) for (const n of Object.values(nodes)) if (n.type === 'kaidu:Port' && typeof n.attributes.port === 'number') return n.attributes.port;
  return undefined;
}

async function statusTable(url: string): Promise<string> {
  const { stdout } = await exec(process.execPath, [BIN, 'status', '--repo', url]);
  return stdout.replace(/^/gm, '   ').trimEnd();
}
