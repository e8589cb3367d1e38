import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { serializeServiceState } from '../../src/state/serialize.js';
import { STATE_SCHEMA, type NodeState, type ServiceState } from '../../src/state/model.js';
import { seededRandom } from '../support/seeded-random.js';

/** The state file as one document formatted whole: what the per-node formatting must equal, byte for byte. */
function whole(state: ServiceState): string {
  const order: (keyof NodeState)[] = ['type', 'status', 'fingerprint', 'revision', 'appliedAt', 'error', 'delegate', 'dependsOn', 'properties', 'env', 'attributes'];
  const sortDeep = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sortDeep) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => [k, sortDeep((v as Record<string, unknown>)[k])])) : v;
  const nodes: Record<string, unknown> = {};
  for (const key of Object.keys(state.nodes).sort()) {
    const n = state.nodes[key]!;
    nodes[key] = Object.fromEntries(order.filter((f) => n[f] !== undefined).map((f) => [f, f === 'properties' || f === 'attributes' || f === 'env' ? sortDeep(n[f]) : n[f]]));
  }
  const doc = { schema: STATE_SCHEMA, host: state.host, service: state.service, revision: state.revision, updatedAt: state.updatedAt, nodes };
  return '# Written by the Kaidu agent of this host. Do not edit: the next pass overwrites it.\n' + stringify(doc, { lineWidth: 0, minContentWidth: 0, indent: 2, defaultStringType: 'PLAIN', nullStr: 'null' });
}

describe('state file formatting', () => {
  it('formats each node on its own exactly as the whole document would, whatever the values', () => {
    const rand = seededRandom(7);
    const strings = ['plain', 'two words', 'yes', 'null', '123', '1.5', '', ' lead', 'trail ', 'a: b', '- dash', '# hash', 'line\nbreak\n', 'multi\nline', "quote ' s", 'dq " s', '{x}', '[y]', 'ü', '*star', '&amp', '!bang', '%pct', '@at', '`tick', 'key:', '0o17', '.inf'];
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth > 2 || r < 0.4) return pick<unknown>([...strings, 0, -1, 3.25, true, false, null]);
      if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [pick(strings) || 'k', value(depth + 1)]));
    };
    for (let round = 0; round < 300; round++) {
      const nodes: Record<string, NodeState> = {};
      for (let i = Math.floor(rand() * 5); i > 0; i--) {
        nodes[pick(['web', 'db', 'a b', 'x#1', 'yes', '1'])] = {
          type: 'kaidu:Process', status: 'running', fingerprint: 'sha256:x', revision: 'r1', appliedAt: '2026-11-24T07:00:00.000Z',
          ...(rand() < 0.3 ? { error: pick(strings) } : {}), ...(rand() < 0.3 ? { dependsOn: ['db'] } : {}),
          properties: value(0) as NodeState['properties'], attributes: value(1) as NodeState['attributes'], ...(rand() < 0.3 ? { env: { A: pick(strings) } } : {}),
        } as NodeState;
      }
      const state: ServiceState = { schema: STATE_SCHEMA, host: 'host-a', service: 'web', revision: 'r1', updatedAt: '2026-11-24T07:00:00.000Z', nodes };
      expect(serializeServiceState(state), JSON.stringify(state)).toBe(whole(state));
      expect(serializeServiceState(state)).toBe(whole(state)); // and again, from the cache
    }
  });
});
