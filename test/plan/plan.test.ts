import { describe, expect, it } from 'vitest';
import { plan, renderJson, renderMarkdown, renderText, desiredFingerprint, resolveNode, type Plan } from '../../src/plan/index.js';
import type { NodeState, StateSnapshot } from '../../src/state/model.js';
import { buildTopology } from '../../src/topology/index.js';
import { getAttribute, host, node, service } from '../support/compiled.js';

const webDb = (dbHost = 'host-b', extra: ReturnType<typeof node>[] = []) =>
  buildTopology([
    service('web-db', [
      host('host-a'),
      host('host-b'),
      node('db-port', { type: 'kaidu:Port', host: dbHost, properties: { protocol: 'tcp' } }),
      node('db', { host: dbHost, dependsOn: ['db-port'], properties: { command: ['db'], env: { PORT: getAttribute('db-port', 'port') } } }),
      node('web', { host: 'host-a', connectsTo: ['db-port'], properties: { command: ['web'] } }),
      ...extra,
    ]),
  ]);

function running(type: string, properties: NodeState['properties'], attributes: NodeState['attributes'], fp = 'x', dependsOn?: string[]): NodeState {
  return { type, status: 'running', fingerprint: fp, properties, attributes, revision: 'r0', appliedAt: '2026-01-01T00:00:00Z', ...(dependsOn ? { dependsOn } : {}) };
}

/** The state a perfect apply of `topology` would have recorded, with given attributes. */
function applied(t: ReturnType<typeof webDb>, attrs: Record<string, NodeState['attributes']>): StateSnapshot {
  const snap: StateSnapshot = {};
  // Two rounds: attributes first, then fingerprints that depend on them.
  for (const round of [0, 1]) {
    for (const inst of Object.values(t.nodes)) {
      if (inst.isHost || !inst.host) continue;
      const r = resolveNode(inst, t, snap);
      const svc = ((snap[inst.host] ??= {})[inst.service] ??= { schema: 'kaidu/state/v1', host: inst.host, service: inst.service, revision: 'r0', updatedAt: 'x', nodes: {} });
      svc.nodes[inst.name] = running(inst.template.type, r.display, attrs[inst.name] ?? {}, round ? desiredFingerprint(inst, r) : 'x');
      if (round) svc.nodes[inst.name]!.env = r.env;
    }
  }
  return snap;
}

const actions = (p: Plan, host: string) => p.hosts.find((h) => h.host === host)!.waves.flat();
const kinds = (p: Plan, host: string) => Object.fromEntries(actions(p, host).map((a) => [a.node, a.kind]));

describe('planner', () => {
  it('creates in dependency order and waits for a node on another host', () => {
    const p = plan(webDb(), {}, { revision: 'r1' });
    const b = p.hosts.find((h) => h.host === 'host-b')!;
    expect(b.waves.map((w) => w.map((a) => `${a.kind} ${a.node}`))).toEqual([['create web-db/db-port'], ['create web-db/db']]);
    const web = actions(p, 'host-a')[0]!;
    expect(web.kind).toBe('wait');
    expect(web.waitingFor).toEqual(['web-db/db-port@host-b']);
    expect(web.reason).toContain('web-db/db-port@host-b');
    expect(p.summary).toEqual({ create: 2, update: 0, delete: 0, noop: 0, wait: 1 });
    // A value known only after an earlier wave is shown as such.
    const db = b.waves[1]![0]!;
    expect(db.changes).toContainEqual({ path: 'env', new: { PORT: '(known after apply)' } });
  });

  it('is a noop once everything runs, and injects ConnectsTo variables', () => {
    const t = webDb();
    const snap = applied(t, { 'db-port': { port: 20001, address: '10.0.0.2' } });
    const p = plan(t, snap, { revision: 'r2' });
    expect(p.summary).toEqual({ create: 0, update: 0, delete: 0, noop: 3, wait: 0 });
    const web = actions(p, 'host-a')[0]!;
    expect(web.desired!.env).toEqual({ DB_PORT_HOST: '10.0.0.2', DB_PORT_ADDRESS: '10.0.0.2', DB_PORT_PORT: '20001' });
  });

  it('updates with a property diff when the templates change, and restarts dependents', () => {
    const t = webDb();
    const snap = applied(t, { 'db-port': { port: 20001, address: '10.0.0.2' } });
    const changed = webDb('host-b');
    (changed.nodes['web-db/db-port']!.template.properties as Record<string, unknown>).protocol = 'udp';
    const p = plan(changed, snap, { revision: 'r3' });
    const port = actions(p, 'host-b').find((a) => a.node === 'web-db/db-port')!;
    expect(port.kind).toBe('update');
    expect(port.changes).toEqual([{ path: 'protocol', old: 'tcp', new: 'udp' }]);
    expect(port.destructive).toBe(false);
    const db = actions(p, 'host-b').find((a) => a.node === 'web-db/db')!;
    expect(db.kind).toBe('update');
    expect(db.reason).toBe('web-db/db-port, which it needs, changes');
    expect(db.destructive).toBe(true);
  });

  it('a discovered attribute that changed on another host updates the node that reads it', () => {
    const t = webDb();
    const snap = applied(t, { 'db-port': { port: 20001, address: '10.0.0.2' } });
    snap['host-b']!['web-db']!.nodes['db-port']!.attributes.port = 20002;
    const web = actions(plan(t, snap, { revision: 'r4', host: 'host-a' }), 'host-a')[0]!;
    expect(web.kind).toBe('update');
    expect(web.changes).toEqual([{ path: 'env.DB_PORT_PORT', old: '20001', new: '20002' }]);
  });

  it('deletes removed nodes in reverse dependency order, and moves a node between hosts', () => {
    const t = webDb();
    const snap = applied(t, { 'db-port': { port: 20001 } });
    snap['host-b']!['web-db']!.nodes.db!.dependsOn = ['db-port'];
    snap['host-b']!['web-db']!.nodes.cache = running('kaidu:Process', {}, {});
    const moved = webDb('host-a');
    const p = plan(moved, snap, { revision: 'r5' });
    const b = p.hosts.find((h) => h.host === 'host-b')!;
    expect(b.waves.map((w) => w.map((a) => `${a.kind} ${a.node}`))).toEqual([['delete web-db/cache', 'delete web-db/db'], ['delete web-db/db-port']]);
    expect(b.waves[0]![1]!.reason).toBe('moved to host-a');
    expect(b.waves[0]![0]!.reason).toBe('removed from the templates');
    expect(kinds(p, 'host-a')).toMatchObject({ 'web-db/db-port': 'create', 'web-db/db': 'create', 'web-db/web': 'update' });
    expect(actions(p, 'host-a').find((a) => a.node === 'web-db/web')!.changes).toContainEqual({ path: 'env.DB_PORT_PORT', old: '20001', new: '(known after apply)' });
    expect(p.placement['web-db/db']).toBe('host-a');
  });

  it('never deletes the nodes of a service that failed to compile', () => {
    const t = webDb();
    const snap = applied(t, {});
    const p = plan(buildTopology([]), snap, { revision: 'r6', failedServices: ['web-db'] });
    expect(p.summary.delete).toBe(0);
    const p2 = plan(buildTopology([]), snap, { revision: 'r6' });
    expect(p2.summary.delete).toBe(3);
    expect(actions(p2, 'host-a')[0]!.reason).toBe('service web-db was removed');
  });

  it('retries failed nodes and restarts stopped ones', () => {
    const t = webDb();
    const snap = applied(t, { 'db-port': { port: 1 } });
    snap['host-b']!['web-db']!.nodes.db!.status = 'failed';
    snap['host-b']!['web-db']!.nodes.db!.error = 'exit code 3\nboom';
    snap['host-a']!['web-db']!.nodes.web!.status = 'stopped';
    const p = plan(t, snap, { revision: 'r7' });
    expect(actions(p, 'host-b').find((a) => a.node === 'web-db/db')!.reason).toBe('the last apply failed: exit code 3; trying again');
    expect(actions(p, 'host-a')[0]!.reason).toBe('it stopped; starting it again');
  });

  it('gives byte-identical output for the same inputs', () => {
    const a = plan(webDb(), {}, { revision: 'r1' });
    const b = plan(webDb(), {}, { revision: 'r1' });
    expect(renderJson(a)).toBe(renderJson(b));
    expect(renderMarkdown(a)).toBe(renderMarkdown(b));
    expect(renderText(a, { color: false })).toBe(renderText(b, { color: false }));
  });

  it('renders text with + ~ - and colour only when asked', () => {
    const p = plan(webDb(), {}, { revision: 'r1' });
    const text = renderText(p, { color: false });
    expect(text).toContain('  + web-db/db-port (kaidu:Port): new node');
    expect(text).toContain('  … web-db/web (kaidu:Process): waits for web-db/db-port@host-b to be running');
    expect(text).not.toContain('\x1b[');
    expect(renderText(p, { color: true })).toContain('\x1b[32m');
  });

  it('renders markdown for review: destructive first, per-host counts, details, mermaid, diagnostics', () => {
    const t = webDb();
    const snap = applied(t, { 'db-port': { port: 20001 } });
    snap['host-b']!['web-db']!.nodes.old = running('kaidu:Process', { command: ['x'] }, {});
    const p = plan(t, snap, { revision: 'abcdef1234567890', baseRevision: '1234567890abcdef', diagnostics: [{ severity: 'error', code: 'E_TOSCA_UNKNOWN_TYPE', message: 'unknown type "Foo"', file: 'services/x.yaml', line: 7, column: 11 }] });
    const md = renderMarkdown(p);
    expect(md.indexOf('[!WARNING]')).toBeLessThan(md.indexOf('| host |'));
    expect(md).toContain('`- web-db/old` on **host-b**: removed from the templates');
    expect(md).toContain('| host-b | 0 | 0 | 1 | 0 | 2 |');
    expect(md).toContain('`services/x.yaml:7:11`');
    expect(md).toContain('[!CAUTION]');
    expect(md).toContain('```mermaid');
    expect(md).toContain('| `command` | `["x"]` |  |');
    expect(md).toContain('`1234567890ab` → `abcdef123456`');
  });

  it('folds markdown to fit a length limit', () => {
    const many = Array.from({ length: 400 }, (_, i) => node(`worker-${i}`, { host: 'h', properties: { command: ['run', 'x'.repeat(100)], index: i } }));
    const t = buildTopology([service('big', [host('h'), ...many])]);
    const p = plan(t, {}, { revision: 'r' });
    const full = renderMarkdown(p);
    expect(full.length).toBeGreaterThan(65_535);
    const folded = renderMarkdown(p, { maxLength: 65_535, fullPlanUrl: 'https://ci.example/run/1' });
    expect(folded.length).toBeLessThanOrEqual(65_535);
    expect(folded).toContain('[Full plan](https://ci.example/run/1)');
    const tiny = renderMarkdown(p, { maxLength: 2_000, fullPlanUrl: 'https://ci.example/run/1' });
    expect(tiny.length).toBeLessThanOrEqual(2_000);
  });
});

describe('planner and damaged state', () => {
  it('takes no action for a service whose state file on that host is damaged', () => {
    const p = plan(webDb(), {}, { revision: 'r', frozen: { 'host-b': ['web-db'] } });
    expect(p.hosts.find((h) => h.host === 'host-b')!.waves.flat()).toEqual([]);
    expect(p.hosts.find((h) => h.host === 'host-a')!.summary.wait).toBe(1);
  });
});

describe('desired fingerprints', () => {
  it('are remembered per compiled template only when the template alone decides them', () => {
    const t = webDb();
    const web = t.nodes['web-db/web']!; // wired to db-port: depends on state, never remembered
    const port = t.nodes['web-db/db-port']!; // plain
    const fp = desiredFingerprint(port, resolveNode(port, t, {}));
    expect(desiredFingerprint(port, resolveNode(port, t, {}))).toBe(fp);
    // a new revision compiles a new template object: its own fingerprint, not the remembered one
    const changed = { ...port, template: { ...port.template, properties: { ...port.template.properties, protocol: 'udp' } } };
    expect(desiredFingerprint(changed, resolveNode(changed, t, {}))).not.toBe(fp);
    // the value it equals when computed without remembering anything
    expect(desiredFingerprint(port, { display: resolveNode(port, t, {}).display, env: {} })).toBe(fp);
    const running = applied(t, { 'db-port': { port: 20200, address: '10.0.0.2' } });
    const before = desiredFingerprint(web, resolveNode(web, t, {}));
    expect(desiredFingerprint(web, resolveNode(web, t, running))).not.toBe(before);
  });
});
