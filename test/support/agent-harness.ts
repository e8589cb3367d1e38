/**
 * Real agents against a real hub: `git http-backend` on 127.0.0.1 (startHubServer), agents as
 * child processes of `bin/kaidu.js agent`, and webhooks delivered the way GitHub delivers them.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openHub, readStateBranches } from '../../src/git/index.js';
import { readFleetState } from '../../src/state/fleet-state.js';
import { createBareRepo, startHubServer, type HubServer } from '../../src/git/hub-server.js';
import { deliverPushWebhook } from '../../src/demo/webhook-relay.js';
import { freePort } from '../../src/demo/run-demo.js';
import { killManaged } from '../../src/demo/kill-managed.js';

const exec = promisify(execFile);
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'kaidu.js');

export { freePort, killManaged };

export interface RunningAgent {
  host: string;
  url: string;
  dataDir: string;
  log: string;
  proc: ChildProcess;
  /** Resolves when the agent process exits. */
  exited: Promise<number | null>;
}

export interface Harness {
  dir: string;
  hub: HubServer;
  url: string;
  secret: string;
  agents: Map<string, RunningAgent>;
  /** Deliver push webhooks to agents automatically after each push (as GitHub would). */
  relay: boolean;
  pushes: { ref: string; before: string; after: string }[];
  startAgent(host: string, extra?: string[], repo?: string): Promise<RunningAgent>;
  waitReady(agent: RunningAgent, timeoutMs?: number): Promise<void>;
  /**
   * `behindTheServer`: straight into the hub's repository on disk, as if pushed while the server is down.
   * `branch`: another branch than main (a host's state branch `kaidu/state/<host>`, created when missing).
   */
  push(files: Record<string, string | null>, message: string, opts?: { behindTheServer?: boolean; branch?: string }): Promise<string>;
  /** Every host's state as the fleet-state module reads it from the hub (state branches, else main's state/). */
  state(): Promise<Record<string, Record<string, { nodes: Record<string, { status: string; attributes: Record<string, unknown>; revision: string; error?: string }> }>>>;
  log(): Promise<string[]>;
  until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

const git = (cwd: string, ...args: string[]) =>
  exec('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd });

export async function startHarness(files: Record<string, string>): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'kaidu-agent-test-'));
  await mkdir(join(dir, 'hub'), { recursive: true });
  await createBareRepo(join(dir, 'hub'), 'hub.git', { files });
  const secret = 'test-secret-' + Math.random().toString(36).slice(2);
  await writeFile(join(dir, 'secret'), secret);
  const agents = new Map<string, RunningAgent>();
  const pushes: Harness['pushes'] = [];
  let waiters: Array<() => void> = [];
  const h: Harness = {
    dir,
    hub: undefined as unknown as HubServer,
    url: '',
    secret,
    agents,
    relay: true,
    pushes,
    async startAgent(host, extra = [], repo) {
      const port = await freePort();
      const dataDir = join(dir, 'agents', host);
      await mkdir(dataDir, { recursive: true });
      const log = join(dataDir, 'agent.log');
      const fd = openSync(log, 'a');
      const proc = spawn(process.execPath, [BIN, 'agent', '--repo', repo ?? h.url, '--host', host, '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--webhook-secret-file', join(dir, 'secret'), '--log-level', 'debug', ...extra], { stdio: ['ignore', fd, fd] });
      closeSync(fd);
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      const agent = { host, url: `http://127.0.0.1:${port}`, dataDir, log, proc, exited };
      agents.set(host, agent);
      return agent;
    },
    async waitReady(agent, timeoutMs = 150_000) {
      await h.until(`${agent.host} ready`, async () => {
        if (agent.proc.exitCode !== null) throw new Error(`agent ${agent.host} exited with ${agent.proc.exitCode}:\n${await readFile(agent.log, 'utf8')}`);
        const res = await fetch(`${agent.url}/readyz`).catch(() => undefined);
        return res?.status === 200;
      }, timeoutMs);
    },
    async push(changes, message, opts) {
      const work = join(dir, `work-${Math.random().toString(36).slice(2)}`);
      const branch = opts?.branch ?? 'main';
      await git(dir, 'clone', '-q', opts?.behindTheServer ? join(dir, 'hub', 'hub.git') : h.url, work);
      if (branch !== 'main') {
        const exists = await git(work, 'rev-parse', '-q', '--verify', `refs/remotes/origin/${branch}`).then(() => true, () => false);
        await git(work, 'checkout', '-q', ...(exists ? ['-b', branch, `origin/${branch}`] : ['--orphan', branch]));
        if (!exists) await git(work, 'rm', '-rqf', '--ignore-unmatch', '.');
      }
      for (const [path, content] of Object.entries(changes)) {
        if (content === null) await git(work, 'rm', '-q', path);
        else {
          await mkdir(join(work, path, '..'), { recursive: true });
          await writeFile(join(work, path), content);
        }
      }
      await git(work, 'add', '-A');
      await git(work, 'commit', '-qm', message);
      await git(work, 'push', '-q', 'origin', `HEAD:refs/heads/${branch}`);
      const { stdout } = await git(work, 'rev-parse', 'HEAD');
      await rm(work, { recursive: true, force: true });
      return stdout.trim();
    },
    async state() {
      // Straight from the hub's repository on disk, through the module every reader of state uses.
      const hub = await openHub({ url: join(dir, 'hub', 'hub.git'), dataDir: dir, branch: 'main' });
      const tip = await hub.fetch();
      const fleet = await readFleetState({ templates: hub.reader(tip), stateDir: 'state', branches: await readStateBranches(hub, { fetch: false }) });
      return fleet.snapshot as unknown as Awaited<ReturnType<Harness['state']>>;
    },
    async log() {
      // The templates branch and every host's state branch, newest first.
      const { stdout } = await git(join(dir, 'hub', 'hub.git'), 'log', '--format=%H %s%n%b', '--branches');
      return stdout.split('\n').filter(Boolean);
    },
    async until(what, check, timeoutMs = 150_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await check();
        if (v) return v as never;
        if (Date.now() > deadline) {
          const logs = await Promise.all([...agents.values()].map(async (a) => `--- ${a.host}\n${(await readFile(a.log, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n')}`));
          throw new Error(`timed out waiting for ${what}\n${logs.join('\n')}`);
        }
        await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 250))]);
      }
    },
    async close() {
      for (const a of agents.values()) if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGTERM');
      await Promise.all([...agents.values()].map((a) => Promise.race([a.exited, new Promise((r) => setTimeout(r, 10_000))])));
      for (const a of agents.values()) if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGKILL');
      await killManaged(dir);
      await h.hub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  h.hub = await startHubServer({
    root: join(dir, 'hub'),
    onPush: (push) => {
      pushes.push(push);
      for (const w of waiters) w();
      waiters = [];
      if (h.relay) for (const a of agents.values()) void deliverPushWebhook(a.url, secret, push);
    },
  });
  h.url = h.hub.repoUrl('hub.git');
  return h;
}

/** Test files run in parallel worker processes on one machine: each gets its own port block. */
const PORT_BLOCK = 20000 + (process.pid % 90) * 100;

/** A service with one Port and one Process that serves HTTP on it, placed on `host`. */
export function webService(host: string, greeting: string, name = 'web', range: [number, number] = [PORT_BLOCK, PORT_BLOCK + 99]): string {
  return `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    ${host}:
      type: kaidu:Host
    ${name}-port:
      type: kaidu:Port${range ? `\n      properties:\n        range: [${range[0]}, ${range[1]}]` : ''}
      requirements:
        - host: ${host}
    ${name}:
      type: kaidu:Process
      properties:
        command: [node, -e, "require('http').createServer((q,s)=>s.end(process.env.GREETING)).listen(+process.env.PORT,'127.0.0.1')"]
        env:
          GREETING: ${JSON.stringify(greeting)}
          PORT: { $get_attribute: [${name}-port, port] }
      requirements:
        - host: ${host}
        - dependency: ${name}-port
`;
}

/** web on host-a connects to db (and its port) on host-b: a cross-host dependency. */
export const WEB_DB_SERVICE = `tosca_definitions_version: tosca_2_0
service_template:
  node_templates:
    host-a: { type: kaidu:Host }
    host-b: { type: kaidu:Host }
    db-port:
      type: kaidu:Port
      requirements: [ { host: host-b } ]
    db:
      type: kaidu:Process
      properties:
        command: [node, -e, "require('http').createServer((q,s)=>s.end('db says hi')).listen(+process.env.PORT,'127.0.0.1')"]
        env: { PORT: { $get_attribute: [db-port, port] } }
      requirements: [ { host: host-b }, { dependency: db-port } ]
    web:
      type: kaidu:Process
      properties:
        command: [node, -e, "setInterval(()=>{},1e6)"]
      requirements: [ { host: host-a }, { connection: db-port } ]
`;

/** The sum of a metric's samples (all label sets) on an agent's /metrics. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}
