import { createServer, connect, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProcessDelegate, RecordingRunner } from '../../src/delegates/index.js';
import { connectAddress, waitUntilReady } from '../../src/delegates/readiness.js';
import { SystemCommandRunner } from '../../src/delegates/command-runner.js';
import { servedPorts } from '../../src/apply/served-ports.js';
import type { StateSnapshot } from '../../src/state/model.js';
import type { NodeInstance, Topology, TopologyEdge } from '../../src/topology/model.js';
import { killManaged } from '../support/agent-harness.js';
import { context, desired } from '../support/delegate-context.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-ready-'));
});
afterEach(async () => {
  await killManaged(dir);
  await rm(dir, { recursive: true, force: true });
});

/** A port nothing listens on (bound by the kernel's choice, then released). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

describe('waitUntilReady', () => {
  it('passes a TCP check once the port is opened', async () => {
    const port = await freePort();
    let server: Server | undefined;
    let openedAt = 0;
    const waiting = waitUntilReady([{ kind: 'tcp', host: '127.0.0.1', port }], {
      timeoutMs: 30_000,
      // The second look finds the port closed, then the server opens it: event-driven, no timing.
      gone: async () => {
        if (!server) {
          server = createServer((s) => s.destroy());
          await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
          openedAt = Date.now();
        }
        return undefined;
      },
    });
    const outcome = await waiting;
    expect(outcome.ready).toBe(true);
    expect(openedAt).toBeGreaterThan(0);
    await new Promise<void>((r) => server!.close(() => r()));
  });

  it('reports the workload gone, and a timeout with the last error', async () => {
    const port = await freePort();
    const gone = await waitUntilReady([{ kind: 'tcp', host: '127.0.0.1', port }], { timeoutMs: 30_000, gone: async () => 'exit code 3' });
    expect(gone).toMatchObject({ ready: false, gone: 'exit code 3' });
    const timedOut = await waitUntilReady([{ kind: 'tcp', host: '127.0.0.1', port }], { timeoutMs: 200 });
    expect(timedOut).toMatchObject({ ready: false, timedOut: true });
    expect((timedOut as { lastError: string }).lastError).toContain('ECONNREFUSED');
  });

  it('http and command checks', async () => {
    const srv = createHttpServer((q, s) => s.writeHead(q.url === '/ok' ? 200 : 503).end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    expect(await waitUntilReady([{ kind: 'http', url: `http://127.0.0.1:${port}/ok` }], { timeoutMs: 10_000 })).toMatchObject({ ready: true });
    const bad = await waitUntilReady([{ kind: 'http', url: `http://127.0.0.1:${port}/down` }], { timeoutMs: 200 });
    expect(bad).toMatchObject({ ready: false, timedOut: true, lastError: expect.stringContaining('503') });
    await new Promise<void>((r) => srv.close(() => r()));
    const runner = new SystemCommandRunner();
    expect(await waitUntilReady([{ kind: 'command', argv: ['true'] }], { timeoutMs: 10_000, runner })).toMatchObject({ ready: true });
    expect(await waitUntilReady([{ kind: 'command', argv: ['false'] }], { timeoutMs: 200, runner })).toMatchObject({ ready: false, timedOut: true });
  });

  it('a wildcard bind is reached on loopback', () => {
    expect(connectAddress('0.0.0.0')).toBe('127.0.0.1');
    expect(connectAddress('::')).toBe('::1');
    expect(connectAddress('10.0.0.5')).toBe('10.0.0.5');
  });
});

describe('process readiness by port', () => {
  const port = (n: number) => [{ node: 'svc/p', port: n, address: '127.0.0.1', protocol: 'tcp' as const }];

  it('create returns once the port accepts connections (a server that listens late)', async () => {
    const p = await freePort();
    const d = new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner() });
    // Listens only after 1.5 s: the old fixed 300 ms window reported it running before it served.
    const node = desired('kaidu:Process', { command: ['node', '-e', `setTimeout(()=>require('net').createServer(s=>s.end()).listen(${p},'127.0.0.1'),1500)`] }, { ports: port(p) });
    const created = await d.create(context(dir, node));
    expect(alive(created.attributes.pid as number)).toBe(true);
    expect(await accepts(p)).toBe(true);
  });

  it('a process that exits before it listens fails its create, with its exit code', async () => {
    const p = await freePort();
    const d = new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner() });
    // Exits after a second: past the old 300 ms window, so it used to be recorded as running.
    const node = desired('kaidu:Process', { command: ['node', '-e', 'console.error("cannot bind"); setTimeout(()=>process.exit(4),1000)'] }, { ports: port(p) });
    const err = (await d.create(context(dir, node)).catch((e: unknown) => e)) as { code?: string; message: string };
    expect(err.code).toBe('E_PROCESS_EXITED');
    expect(err.message).toContain('exit code 4');
    expect(err.message).toContain('cannot bind');
  });

  it('a process that never listens fails after the readiness timeout and is stopped', async () => {
    const p = await freePort();
    const d = new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner(), readinessTimeoutMs: 1500 });
    const node = desired('kaidu:Process', { command: ['node', '-e', 'console.log("started"); setInterval(()=>{},1e6)'] }, { ports: port(p) });
    const err = (await d.create(context(dir, node)).catch((e: unknown) => e)) as { code?: string; message: string };
    expect(err.code).toBe('E_PROCESS_NOT_READY');
    expect(err.message).toContain(`127.0.0.1:${p}`);
    const pidFile = readFileSync(join(dir, 'run', 'svc', 'n1.pid'), 'utf8').trim().split(/\s+/);
    expect(alive(Number(pidFile[1]))).toBe(false);
  });
});

describe('process readiness: the port must be held by the node\'s own process', () => {
  const port = (n: number) => [{ node: 'svc/p', port: n, address: '127.0.0.1', protocol: 'tcp' as const }];
  let foreign: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (foreign ? foreign.close(() => r()) : r()));
    foreign = undefined;
  });

  it('another program listening on the port does not make a process that failed to bind it ready', async () => {
    const p = await freePort();
    // Another program took the reserved port (another agent on this machine, anything else).
    foreign = createServer((s) => s.destroy());
    await new Promise<void>((r) => foreign!.listen(p, '127.0.0.1', r));
    const d = new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner(), readinessTimeoutMs: 1500 });
    // Fails to bind, says so, and lingers: a connection to the port reached the other program,
    // and this node was recorded running.
    const node = desired('kaidu:Process', { command: ['node', '-e', `require('net').createServer().listen(${p},'127.0.0.1').on('error',(e)=>console.error(e.code)); setInterval(()=>{},1e6)`] }, { ports: port(p) });
    const err = (await d.create(context(dir, node)).catch((e: unknown) => e)) as { code?: string; message: string };
    expect(err.code).toBe('E_PROCESS_NOT_READY');
    expect(err.message).toContain(`another program holds port ${p}`);
    expect(err.message).toContain('EADDRINUSE');
    const pidFile = readFileSync(join(dir, 'run', 'svc', 'n1.pid'), 'utf8').trim().split(/\s+/);
    expect(alive(Number(pidFile[1]))).toBe(false);
  });

  it('a listener in a new session under the process counts as the node\'s own', async () => {
    const p = await freePort();
    const d = new ProcessDelegate({ dataDir: dir, runner: new RecordingRunner(), readinessTimeoutMs: 30_000 });
    // setsid leaves the process group; the listener is still a descendant of the node's process.
    const server = `require('net').createServer((s)=>s.end()).listen(${p},'127.0.0.1')`;
    const node = desired('kaidu:Process', { command: ['sh', '-c', `setsid node -e "${server}"; :`] }, { ports: port(p) });
    const created = await d.create(context(dir, node));
    expect(alive(created.attributes.pid as number)).toBe(true);
    expect(await accepts(p)).toBe(true);
  });
});

describe('servedPorts', () => {
  const inst = (name: string, types: string[], host = 'h'): NodeInstance =>
    ({ id: `s/${name}`, service: 's', name, host, template: { type: types[0]!, types } }) as unknown as NodeInstance;
  const edge = (source: string, target: string, kind: TopologyEdge['kind']): TopologyEdge => ({ source: `s/${source}`, target: `s/${target}`, requirement: kind, kind, relationship: {} as TopologyEdge['relationship'] });

  it('counts Ports on its host it depends on, not those it connects to or on other hosts', () => {
    const nodes: Record<string, NodeInstance> = {};
    for (const n of [inst('srv', ['kaidu:Process']), inst('own', ['kaidu:Port']), inst('peer', ['kaidu:Port']), inst('far', ['kaidu:Port'], 'g')]) nodes[n.id] = n;
    const topology = { nodes, edges: [edge('srv', 'own', 'depends'), edge('srv', 'peer', 'connects'), edge('srv', 'far', 'depends')] } as unknown as Topology;
    const st = (port: number) => ({ type: 'kaidu:Port', fingerprint: '', status: 'running' as const, properties: {}, attributes: { port, address: '0.0.0.0' }, revision: 'r', appliedAt: 'x' });
    const snapshot: StateSnapshot = {
      h: { s: { schema: 'kaidu/state/v1', host: 'h', service: 's', revision: 'r', updatedAt: 'x', nodes: { own: st(2001), peer: st(2002) } } },
      g: { s: { schema: 'kaidu/state/v1', host: 'g', service: 's', revision: 'r', updatedAt: 'x', nodes: { far: st(2003) } } },
    };
    expect(servedPorts(nodes['s/srv']!, topology, snapshot)).toEqual([{ node: 's/own', port: 2001, address: '0.0.0.0', protocol: 'tcp' }]);
  });
});
