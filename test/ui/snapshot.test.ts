import { describe, expect, it } from 'vitest';
import { plan } from '../../src/plan/index.js';
import type { NodeState, StateSnapshot } from '../../src/state/model.js';
import { buildTopology } from '../../src/topology/index.js';
import { buildSnapshot, NOT_RECORDED } from '../../src/ui/snapshot.js';
import { host, node, service } from '../support/compiled.js';

const topology = buildTopology([
  service('web-db', [
    host('host-a'),
    host('host-b'),
    node('db-port', { type: 'kaidu:Port', host: 'host-b' }),
    node('db', { host: 'host-b', dependsOn: ['db-port'], properties: { command: ['db'] } }),
    node('web', { host: 'host-a', connectsTo: ['db-port'], properties: { command: ['web'] } }),
  ]),
]);

const st = (status: NodeState['status'], extra: Partial<NodeState> = {}): NodeState => ({ type: 'kaidu:Process', status, fingerprint: 'x', properties: {}, attributes: {}, revision: 'r1', appliedAt: '2026-01-01T00:00:00Z', ...extra });

describe('fleet snapshot', () => {
  it('claims only recorded statuses: a node no state records is "not recorded", and a node waiting on another host says for what', () => {
    const state: StateSnapshot = {
      'host-b': { 'web-db': { schema: 'kaidu/state/v1', host: 'host-b', service: 'web-db', revision: 'r1', updatedAt: 'x', nodes: { 'db-port': st('creating', { type: 'kaidu:Port' }) } } as never },
    };
    const snap = buildSnapshot({ source: { kind: 'checkout', name: 'x', revision: 'r1', live: false }, topology, state, plan: plan(topology, state, { revision: 'r1' }) });
    const byId = Object.fromEntries(snap.nodes.map((n) => [n.id, n]));
    expect(byId['web-db/db-port']!.status).toBe('creating');
    expect(byId['web-db/db']!.status).toBe(NOT_RECORDED);
    expect(byId['web-db/web']!.status).toBe(NOT_RECORDED);
    expect(byId['web-db/web']!.waitingFor).toEqual(['web-db/db-port@host-b']);
    expect(snap.hosts).toEqual(['host-a', 'host-b']);
    expect(snap.nodes.some((n) => n.id === 'host-a' || n.type === 'kaidu:Host')).toBe(false);
  });

  it('labels ConnectsTo and DependsOn edges and draws placement as grouping, not as edges', () => {
    const snap = buildSnapshot({ source: { kind: 'checkout', name: 'x', revision: 'r1', live: false }, topology, state: {} });
    expect(snap.edges).toEqual([
      { source: 'web-db/db', target: 'web-db/db-port', kind: 'depends', label: 'DependsOn (dependency)' },
      { source: 'web-db/web', target: 'web-db/db-port', kind: 'connects', label: 'ConnectsTo (connection)' },
    ]);
  });

  it('keeps what state records but the templates no longer name, with its error, marked as removed', () => {
    const state: StateSnapshot = {
      'host-a': { old: { schema: 'kaidu/state/v1', host: 'host-a', service: 'old', revision: 'r0', updatedAt: 'x', nodes: { gone: st('failed', { error: 'exited with code 1\n<script>x</script>' }) } } as never },
    };
    const snap = buildSnapshot({ source: { kind: 'agent', name: 'host-a', revision: 'r1', live: true }, topology, state });
    const gone = snap.nodes.find((n) => n.id === 'old/gone')!;
    expect(gone).toMatchObject({ host: 'host-a', status: 'failed', inTemplates: false, error: 'exited with code 1\n<script>x</script>' });
  });
});

describe('the page ships in the package', () => {
  it('npm pack includes ui/ (the page) and cytoscape is a runtime dependency', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { ROOT } = await import('../support/agent-harness.js');
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['ui/index.html', 'ui/app.js', 'ui/style.css']));
    const pkg = JSON.parse(await (await import('node:fs/promises')).readFile(`${ROOT}/package.json`, 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.cytoscape).toBeDefined();
  }, 60_000);
});
