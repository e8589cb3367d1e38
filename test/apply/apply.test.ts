import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { applyPlan, type DelegateSelector } from '../../src/apply/index.js';
import type { Delegate, DelegateContext, DelegateResult } from '../../src/delegates/types.js';
import { plan } from '../../src/plan/index.js';
import type { ServiceState, StateSnapshot } from '../../src/state/model.js';
import { buildTopology } from '../../src/topology/index.js';
import { getAttribute, host, node, service } from '../support/compiled.js';

const logger = pino({ level: 'silent' });

/** A delegate that records calls and hands out ports, failing or hanging on request. */
function fakeDelegates(behaviour: { fail?: string[]; hang?: string[]; log: string[] }): DelegateSelector {
  let nextPort = 30000;
  const make = (name: string, handles: string[]): Delegate => ({
    name,
    handles,
    async create(ctx: DelegateContext): Promise<DelegateResult> {
      behaviour.log.push(`create ${ctx.node.id} ${JSON.stringify(ctx.node.properties)} ${JSON.stringify(ctx.node.env)}`);
      if (behaviour.fail?.includes(ctx.node.name)) throw new Error(`boom in ${ctx.node.name}\nstderr: last line`);
      if (behaviour.hang?.includes(ctx.node.name)) await new Promise((r) => setTimeout(r, 5_000));
      return name === 'port' ? { attributes: { port: nextPort++, address: '127.0.0.1' } } : { attributes: { pid: 100 } };
    },
    async update(ctx: DelegateContext): Promise<DelegateResult> {
      behaviour.log.push(`update ${ctx.node.id}`);
      return { attributes: { ...(ctx.previous?.attributes ?? {}), updated: true } };
    },
    async delete(ctx: DelegateContext) {
      behaviour.log.push(`delete ${ctx.node.id}`);
    },
    async inspect() {
      return { exists: true, status: 'running', attributes: {} };
    },
  });
  const port = make('port', ['kaidu:Port']);
  const proc = make('process', ['kaidu:Process']);
  return {
    select: (n) => (n.types.includes('kaidu:Port') ? port : n.types.includes('kaidu:Process') ? proc : undefined),
    byName: (name) => (name === 'port' ? port : name === 'process' ? proc : undefined),
  };
}

const topo = () =>
  buildTopology([
    service('app', [
      host('h'),
      node('port', { type: 'kaidu:Port', host: 'h' }),
      node('server', { host: 'h', dependsOn: ['port'], properties: { command: ['srv'], env: { PORT: getAttribute('port', 'port') } } }),
      node('client', { host: 'h', connectsTo: ['port'], properties: { command: ['cli'] } }),
      node('other', { host: 'h', properties: { command: ['other'] } }),
    ]),
  ]);

async function run(snapshot: StateSnapshot, behaviour: { fail?: string[]; hang?: string[]; log: string[] }, extra: Partial<Parameters<typeof applyPlan>[0]> = {}) {
  const t = extra.topology ?? topo();
  const p = plan(t, snapshot, { revision: 'rev1', host: 'h' });
  const checkpoints: Record<string, ServiceState>[] = [];
  const result = await applyPlan({
    plan: p,
    host: 'h',
    topology: t,
    snapshot,
    revision: 'rev1',
    delegates: fakeDelegates(behaviour),
    runner: { run: async () => ({ exitCode: 0, stdout: '', stderr: '', durationMs: 0 }) },
    dataDir: '/nonexistent',
    readRepoFile: async () => undefined,
    logger,
    persist: async (s) => {
      checkpoints.push(s);
    },
    ...extra,
  });
  return { result, checkpoints, plan: p };
}

describe('apply', () => {
  it('runs waves in order, resolving attributes discovered by earlier waves', async () => {
    const log: string[] = [];
    const { result, checkpoints } = await run({}, { log });
    expect(result.ok).toBe(true);
    expect(log[0]).toMatch(/^create app\/(other|port)/);
    const server = log.find((l) => l.startsWith('create app/server'))!;
    expect(server).toContain('"PORT":30000');
    const client = log.find((l) => l.startsWith('create app/client'))!;
    expect(client).toContain('"PORT_PORT":"30000"');
    const st = result.states.app!;
    expect(st.nodes.server).toMatchObject({ status: 'running', delegate: 'process', dependsOn: ['port'], attributes: { pid: 100 } });
    expect(st.nodes.server!.properties.env).toEqual({ PORT: 30000 });
    expect(checkpoints.length).toBeGreaterThan(4);
    // Once applied, the same templates plan to nothing: the recorded fingerprints match.
    const again = plan(topo(), { h: { app: st } }, { revision: 'rev2', host: 'h' });
    expect(again.summary).toEqual({ create: 0, update: 0, delete: 0, noop: 4, wait: 0 });
  });

  it('marks a failed node with its error, skips what depends on it, and goes on elsewhere', async () => {
    const log: string[] = [];
    const { result } = await run({}, { fail: ['port'], log });
    expect(result.ok).toBe(false);
    const byNode = Object.fromEntries(result.results.map((r) => [r.node, r.outcome]));
    expect(byNode).toMatchObject({ 'app/port': 'failed', 'app/server': 'skipped', 'app/client': 'skipped', 'app/other': 'done' });
    const st = result.states.app!;
    expect(st.nodes.port).toMatchObject({ status: 'failed' });
    expect(st.nodes.port!.error).toContain('boom in port\nstderr: last line');
    expect(st.nodes.server).toMatchObject({ status: 'pending', error: 'skipped: app/port, which it needs, failed' });
    expect(st.nodes.other!.status).toBe('running');
  });

  it('times out an action that hangs', async () => {
    const log: string[] = [];
    const { result } = await run({}, { hang: ['other'], log }, { actionTimeoutMs: 200 });
    const other = result.results.find((r) => r.node === 'app/other')!;
    expect(other.outcome).toBe('failed');
    expect(other.error).toContain('did not finish within');
  }, 10_000);

  it('stops starting actions once cancelled', async () => {
    const log: string[] = [];
    const controller = new AbortController();
    controller.abort();
    const { result } = await run({}, { log }, { signal: controller.signal });
    expect(result.cancelled).toBe(true);
    expect(log).toEqual([]);
    expect(result.ok).toBe(false);
  });

  it('deletes removed nodes through the delegate that made them, and drops an empty service', async () => {
    const log: string[] = [];
    const first = await run({}, { log });
    const snapshot: StateSnapshot = { h: { app: first.result.states.app! } };
    const emptied = buildTopology([service('app', [host('h')])]);
    log.length = 0;
    const { result } = await run(snapshot, { log }, { topology: emptied });
    expect(log.sort()).toEqual(['delete app/client', 'delete app/other', 'delete app/port', 'delete app/server']);
    expect(log.length).toBe(4);
    expect(result.states.app).toBeNull();
  });
});
