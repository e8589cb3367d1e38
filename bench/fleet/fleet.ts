/**
 * A fleet on one machine, for the fleet benchmark and the cross-host tests: N hosts, each a network
 * namespace with its own address (netns.ts), one hub (`git http-backend`, startHubServer) on the
 * bridge address, and `kaidu agent` per host run inside its namespace with its webhook on its own
 * address. The hub plays the forge: after a push it delivers signed webhooks to the agents that
 * `deliver` chooses. Torn down by `close()`, and also on Ctrl-C or when the process exits.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createBareRepo, startHubServer, type HubRequest, type HubServer, type PushNotice } from '../../src/git/hub-server.js';
import { deliverPushWebhook } from '../../src/demo/webhook-relay.js';
import { killManaged } from '../../src/demo/kill-managed.js';
import { cleanNetworkSync, createNetwork, type FleetNetwork } from './netns.js';

const exec = promisify(execFile);
/** bin/kaidu.js, from bench/fleet (tests, via vitest) or dist-bench/bench/fleet (the bench). */
function binPath(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return join(here, here.includes('/dist-bench/') ? '../../../bin/kaidu.js' : '../../bin/kaidu.js');
}

export const AGENT_PORT = 7070;

export interface FleetAgent {
  host: string;
  ns: string;
  address: string;
  url: string;
  dataDir: string;
  log: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
}

export interface FleetOptions {
  /** Interface/namespace prefix and /16 base (e.g. `kfb`, `10.77`): distinct per concurrent fleet. */
  prefix: string;
  base: string;
  hosts: string[];
  /** The hub's first commit. */
  files: Record<string, string>;
  /** Which agents get a webhook for this push: all (default), or the hosts named. */
  deliver?: (push: PushNotice) => 'all' | 'none' | string[];
  /** Extra agent arguments per host. */
  agentArgs?: (host: string, address: string) => string[];
  logLevel?: 'debug' | 'info' | 'warn';
  onPush?: (push: PushNotice) => void;
  onRequest?: (r: HubRequest) => void;
}

export interface Fleet {
  dir: string;
  net: FleetNetwork;
  hub: HubServer;
  /** The hub repository's URL (on the bridge address) and its folder on disk. */
  url: string;
  gitdir: string;
  secret: string;
  agents: FleetAgent[];
  byAddress: Map<string, FleetAgent>;
  startAgents(): Promise<void>;
  /** Resolves when every agent answers /readyz 200; rejects when one exits. */
  waitReady(timeoutMs: number): Promise<void>;
  /** Commit `files` on top of the hub's main and push it over HTTP; the new commit's id. `beforePush` runs once the id is known. */
  push(files: Record<string, string>, message: string, beforePush?: (oid: string) => void): Promise<string>;
  /** A webhook for `push` to these hosts now (a second event). */
  deliver(push: PushNotice, hosts: string[]): Promise<number[]>;
  metrics(agent: FleetAgent): Promise<Map<string, number>>;
  close(): Promise<void>;
}

const git = (cwd: string, ...args: string[]) => exec('git', ['-c', 'user.name=Fleet', '-c', 'user.email=fleet@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd, maxBuffer: 64 * 1024 * 1024 });

/** Prometheus text → `name{labels}` → value (labels as printed). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const net = await createNetwork({ prefix: opts.prefix, base: opts.base, count: opts.hosts.length });
  const dir = await mkdtemp(join(tmpdir(), `kaidu-fleet-${opts.prefix}-`));
  // Ctrl-C or a crash must not leave namespaces, agents (killed with their namespace) or files behind.
  const onExit = () => {
    cleanNetworkSync(opts.prefix);
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    onExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const secret = 'fleet-' + Math.random().toString(36).slice(2);
  await writeFile(join(dir, 'secret'), secret);
  const gitdir = await createBareRepo(join(dir, 'hub'), 'hub.git', { files: opts.files });
  const agents: FleetAgent[] = [];
  const byHost = new Map<string, FleetAgent>();
  const byAddress = new Map<string, FleetAgent>();
  const deliverTo = (push: PushNotice, targets: FleetAgent[]) => Promise.all(targets.map((a) => deliverPushWebhook(a.url, secret, push)));
  let hub: HubServer;
  try {
    hub = await startHubServer({
      root: join(dir, 'hub'),
      host: net.hubAddress,
      ...(opts.onRequest ? { onRequest: opts.onRequest } : {}),
      onPush: (push) => {
        opts.onPush?.(push);
        const who = opts.deliver ? opts.deliver(push) : 'all';
        const targets = who === 'all' ? agents : who === 'none' ? [] : who.map((h) => byHost.get(h)).filter((a): a is FleetAgent => a !== undefined);
        void deliverTo(push, targets);
      },
    });
  } catch (err) {
    await net.destroy();
    throw err;
  }
  const url = hub.repoUrl('hub.git');
  const bin = binPath();
  const fleet: Fleet = {
    dir,
    net,
    hub,
    url,
    gitdir,
    secret,
    agents,
    byAddress,
    async startAgents() {
      for (const [i, host] of opts.hosts.entries()) {
        const { ns, address } = net.hosts[i]!;
        const dataDir = join(dir, 'agents', host);
        await mkdir(dataDir, { recursive: true });
        const log = join(dataDir, 'agent.log');
        const fd = openSync(log, 'a');
        const argv = net.inNs(ns, [process.execPath, bin, 'agent', '--repo', url, '--host', host, '--listen', `${address}:${AGENT_PORT}`, '--data-dir', dataDir, '--webhook-secret-file', join(dir, 'secret'), '--log-level', opts.logLevel ?? 'debug', '--json', ...(opts.agentArgs?.(host, address) ?? [])]);
        // `ip netns exec` execs the command: the child's pid is the agent's.
        const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd] });
        closeSync(fd);
        const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
        const agent: FleetAgent = { host, ns, address, url: `http://${address}:${AGENT_PORT}`, dataDir, log, proc, exited };
        agents.push(agent);
        byHost.set(host, agent);
        byAddress.set(address, agent);
      }
    },
    async waitReady(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const pending = new Set(agents);
      while (pending.size > 0) {
        for (const a of [...pending]) {
          if (a.proc.exitCode !== null || a.proc.signalCode !== null) throw new Error(`agent ${a.host} exited (${a.proc.exitCode ?? a.proc.signalCode}):\n${(await readFile(a.log, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n')}`);
          const res = await fetch(`${a.url}/readyz`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
          if (res?.status === 200) pending.delete(a);
          await res?.arrayBuffer();
        }
        if (pending.size === 0) break;
        if (Date.now() > deadline) throw new Error(`agents not ready after ${timeoutMs} ms: ${[...pending].map((a) => a.host).join(', ')}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    async push(files, message, beforePush) {
      const work = await mkdtemp(join(dir, 'work-'));
      try {
        await git(dir, 'clone', '-q', url, work);
        for (const [path, content] of Object.entries(files)) {
          await mkdir(join(work, path, '..'), { recursive: true });
          await writeFile(join(work, path), content);
        }
        await git(work, 'add', '-A');
        await git(work, 'commit', '-qm', message);
        const oid = (await git(work, 'rev-parse', 'HEAD')).stdout.trim();
        beforePush?.(oid);
        await git(work, 'push', '-q', 'origin', 'HEAD:main');
        return oid;
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    deliver: (push, hosts) => deliverTo(push, hosts.map((h) => byHost.get(h)!).filter(Boolean)),
    async metrics(agent) {
      const res = await fetch(`${agent.url}/metrics`, { signal: AbortSignal.timeout(30_000) });
      if (res.status !== 200) throw new Error(`${agent.host} /metrics answered ${res.status}`);
      return parseMetrics(await res.text());
    },
    async close() {
      for (const a of agents) if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGTERM');
      await Promise.all(agents.map((a) => Promise.race([a.exited, new Promise((r) => setTimeout(r, 15_000))])));
      for (const a of agents) if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGKILL');
      await killManaged(dir);
      await hub.close();
      await net.destroy();
      process.off('exit', onExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
  return fleet;
}
