import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { applyPlan } from '../../src/apply/index.js';
import { builtinRegistry, SystemCommandRunner } from '../../src/delegates/index.js';
import { plan } from '../../src/plan/index.js';
import type { StateSnapshot } from '../../src/state/model.js';
import { buildTopology } from '../../src/topology/index.js';
import { killManaged } from '../support/agent-harness.js';
import { getAttribute, host, node, service } from '../support/compiled.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kaidu-rerender-'));
});
afterEach(async () => {
  await killManaged(dir);
  await rm(dir, { recursive: true, force: true });
});

it('re-renders a config file when an upstream attribute on another host changes, and restarts what uses it', async () => {
  const conf = join(dir, 'app.conf');
  const topology = buildTopology([
    service('app', [
      host('a'),
      host('b'),
      node('db-port', { type: 'kaidu:Port', host: 'b' }),
      node('cfg', { type: 'kaidu:ConfigFile', host: 'a', properties: { path: conf, template: 'app.tmpl', variables: { port: getAttribute('db-port', 'port') } } }),
      node('app', { host: 'a', dependsOn: ['cfg'], properties: { command: ['node', '-e', 'setInterval(()=>{},1e6)'] } }),
    ]),
  ]);
  const remote = (port: number): StateSnapshot['b'] => ({
    app: { schema: 'kaidu/state/v1', host: 'b', service: 'app', revision: 'r', updatedAt: 'x', nodes: { 'db-port': { type: 'kaidu:Port', status: 'running', fingerprint: 'f', properties: {}, attributes: { port }, revision: 'r', appliedAt: 'x' } } },
  });
  const runner = new SystemCommandRunner();
  const delegates = builtinRegistry({ dataDir: join(dir, 'agent-data'), runner });
  const run = async (snapshot: StateSnapshot) => {
    const p = plan(topology, snapshot, { revision: 'r', host: 'a' });
    const result = await applyPlan({ plan: p, host: 'a', topology, snapshot, revision: 'r', delegates, runner, dataDir: join(dir, 'agent-data'), readRepoFile: async (f) => (f === 'app.tmpl' ? Buffer.from('port={{ port }}\n') : undefined), logger: pino({ level: 'silent' }) });
    expect(result.ok).toBe(true);
    return { p, state: result.states.app! };
  };
  const first = await run({ b: remote(5432) });
  expect(await readFile(conf, 'utf8')).toBe('port=5432\n');
  const pid1 = first.state.nodes.app!.attributes.pid;
  const second = await run({ b: remote(6543), a: { app: first.state } });
  const kinds = Object.fromEntries(second.p.hosts[0]!.waves.flat().map((x) => [x.node, x.kind]));
  expect(kinds).toEqual({ 'app/cfg': 'update', 'app/app': 'update' });
  expect(await readFile(conf, 'utf8')).toBe('port=6543\n');
  expect(second.state.nodes.app!.attributes.pid).not.toBe(pid1);
});
