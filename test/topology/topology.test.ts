import { describe, expect, it } from 'vitest';
import { buildTopology, dependencyLevels, renderGraph, spreadInstances } from '../../src/topology/index.js';
import { host, node, policy, service } from '../support/compiled.js';

describe('topology', () => {
  it('places nodes by following HostedOn chains to a kaidu:Host', () => {
    const t = buildTopology([
      service('web', [
        host('host-a'),
        node('box', { type: 'kaidu:Directory', host: 'host-a' }),
        node('app', { host: 'box' }),
        node('lost', {}),
      ]),
    ]);
    expect(t.nodes['web/app']!.host).toBe('host-a');
    expect(t.nodes['web/box']!.host).toBe('host-a');
    expect(t.nodes['web/lost']!.host).toBeUndefined();
    expect(t.diagnostics.map((d) => d.code)).toContain('W_TOPOLOGY_UNPLACED');
    expect(t.hosts['host-a']).toMatchObject({ name: 'host-a', node: 'web/host-a' });
  });

  it('spells out a dependency cycle at the requirement', () => {
    const t = buildTopology([
      service('svc', [host('h'), node('a', { host: 'h', dependsOn: ['b'] }), node('b', { host: 'h', dependsOn: ['c'] }), node('c', { host: 'h', dependsOn: ['a'] })]),
    ]);
    const cycle = t.diagnostics.find((d) => d.code === 'E_TOPOLOGY_CYCLE')!;
    expect(cycle.message).toBe('dependency cycle: svc/a → svc/b → svc/c → svc/a');
    expect(cycle.file).toBe('services/svc.yaml');
  });

  it('orders dependencies into levels', () => {
    const levels = dependencyLevels(['a', 'b', 'c', 'd'], (id) => ({ a: ['b', 'c'], b: ['d'], c: ['d'], d: [] })[id]!);
    expect(levels).toEqual([['d'], ['b', 'c'], ['a']]);
  });

  it('places by policy (name or labels) and spreads instances', () => {
    const hosts = [host('h1', { zone: 'a' }), host('h2', { zone: 'b' }), host('h3', { zone: 'b' })];
    const t = buildTopology([
      service('svc', [...hosts, node('one', {}), node('many', {})], [
        policy('pin', 'kaidu:Placement', ['one'], { labels: { zone: 'a' } }),
        policy('wide', 'kaidu:Spread', ['many'], { count: 3 }),
      ]),
    ]);
    expect(t.nodes['svc/one']!.host).toBe('h1');
    const spreadHosts = [0, 1, 2].map((i) => t.nodes[`svc/many#${i}`]!.host);
    expect(new Set(spreadHosts)).toEqual(new Set(['h1', 'h2', 'h3']));
  });

  it('spreading is stable: adding or removing a host moves few instances', () => {
    const hosts = Array.from({ length: 10 }, (_, i) => `host-${i}`);
    const moved = (a: string[], b: string[]) => a.filter((h, i) => h !== b[i]).length;
    for (const key of ['svc/web', 'svc/api', 'other/worker']) {
      const before = spreadInstances(key, 4, hosts);
      expect(new Set(before).size).toBe(4); // spread: one per host while there is room
      const added = spreadInstances(key, 4, [...hosts, 'host-10']);
      expect(moved(before, added)).toBeLessThanOrEqual(1);
      const removed = spreadInstances(key, 4, hosts.filter((h) => h !== before[0]));
      expect(removed).not.toContain(before[0]);
      expect(moved(before, removed)).toBeLessThanOrEqual(2); // the instance that lost its host, and at most one it displaces
      const unrelated = spreadInstances(key, 4, hosts.filter((h) => !before.includes(h)).slice(1).concat(before));
      expect(moved(before, unrelated)).toBe(0);
      // Deterministic whatever the order hosts are listed in: every agent computes the same answer.
      expect(spreadInstances(key, 4, [...hosts].reverse())).toEqual(before);
    }
    // More instances than hosts: still even.
    const many = spreadInstances('svc/web', 25, hosts);
    const perHost = hosts.map((h) => many.filter((x) => x === h).length);
    expect(Math.max(...perHost)).toBeLessThanOrEqual(3);
  });

  it('reuses an unchanged service between builds, and re-places policy targets when the hosts change', () => {
    const app = service('app', [node('one', {}), node('web', { host: 'h1' })], [policy('pin', 'kaidu:Placement', ['one'], { labels: { zone: 'b' } })]);
    const plain = service('plain', [host('h1', { zone: 'a' }), node('db', { host: 'h1' }), node('api', { host: 'h1', dependsOn: ['db'] })]);
    const first = buildTopology([app, plain]);
    expect(first.nodes['app/one']!.host).toBeUndefined();
    expect(first.diagnostics.map((d) => d.code)).toContain('E_TOPOLOGY_NO_HOST');

    // another service now declares a zone-b host: the unchanged `app` must see it
    const hostsB = service('hosts', [host('h2', { zone: 'b' })]);
    const second = buildTopology([app, plain, hostsB]);
    expect(second.nodes['app/one']!.host).toBe('h2');
    expect(second.diagnostics.map((d) => d.code)).not.toContain('E_TOPOLOGY_NO_HOST');
    // a service whose placement depends only on itself is not placed again
    expect(second.nodes['plain/api']).toBe(first.nodes['plain/api']);
    expect(second.edges.filter((e) => e.source === 'plain/api')).toEqual(first.edges.filter((e) => e.source === 'plain/api'));

    // and the answer is the one a fresh build gives
    const fresh = buildTopology([structuredClone(app), structuredClone(plain), structuredClone(hostsB)]);
    expect(JSON.parse(JSON.stringify(second))).toEqual(JSON.parse(JSON.stringify(fresh)));
    // a cycle found in a reused service is still reported
    const cyclic = service('cyc', [host('h'), node('a', { host: 'h', dependsOn: ['b'] }), node('b', { host: 'h', dependsOn: ['a'] })]);
    buildTopology([cyclic]);
    expect(buildTopology([cyclic, plain]).diagnostics.filter((d) => d.code === 'E_TOPOLOGY_CYCLE')).toHaveLength(1);
  });

  it('renders mermaid, dot, json and text', () => {
    const t = buildTopology([service('svc', [host('h'), node('db', { host: 'h' }), node('web', { host: 'h', connectsTo: ['db'] })])]);
    expect(renderGraph(t, 'mermaid')).toContain('n_svc_2f_web -.->|"connection"| n_svc_2f_db');
    expect(renderGraph(t, 'dot')).toContain('"svc/web" -> "svc/db"');
    expect(JSON.parse(renderGraph(t, 'json')).nodes).toHaveLength(3);
    expect(renderGraph(t, 'text')).toContain('⇢ connection: svc/db');
  });
});
