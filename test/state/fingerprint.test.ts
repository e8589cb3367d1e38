import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint } from '../../src/state/fingerprint.js';

/** The definition canonicalJson must keep byte for byte: fingerprints in existing state files depend on it. */
function reference(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

const leaves: unknown[] = [
  null, true, false, 0, -0, 1.5, -3, 1e21, 1e-7, NaN, Infinity, -Infinity, '', 'plain', 'quote " and \\ back',
  'line\nbreak\ttab', 'unicode é ☃ 𝄞', '\u0000\u001f\u2028', 'lone \ud800 surrogate', undefined, () => 1,
  new Date(Date.UTC(2026, 10, 24, 7, 0, 0)),
];
const keys = ['b', 'a', '10', '9', '0', '01', '-1', '4294967295', '4294967294', 'A', 'é', '', '$fn', 'z z'];

function objectOf(seed: number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) if ((seed >> i) & 1) out[keys[(i + seed) % keys.length]!] = valueOf(seed * 31 + i, depth + 1);
  return out;
}

function valueOf(seed: number, depth: number): unknown {
  const kind = depth > 3 ? 0 : seed % 4;
  if (kind === 0 || kind === 1) return leaves[seed % leaves.length];
  if (kind === 2) return Array.from({ length: seed % 5 }, (_, i) => valueOf(seed + i * 7, depth + 1));
  return objectOf(seed >> 2, depth);
}

describe('canonicalJson', () => {
  it('gives the same bytes as JSON.stringify over key-sorted copies, on tricky keys and values', () => {
    for (const leaf of leaves) expect(canonicalJson(leaf)).toBe(reference(leaf));
    for (let seed = 0; seed < 3000; seed++) {
      const v = valueOf(seed, 0);
      expect(canonicalJson(v), `seed ${seed}`).toBe(reference(v));
    }
    // array-index keys enumerate numerically before the others, as in any JS object
    expect(canonicalJson({ b: 1, '10': 2, a: 3, '9': 4 })).toBe('{"9":4,"10":2,"a":3,"b":1}');
    expect(canonicalJson([undefined, () => 1, { x: undefined }])).toBe('[null,null,{}]');
  });

  it('keeps fingerprints of recorded state stable', () => {
    // a fixed value and its fingerprint as earlier releases wrote it into state files
    const desired = { type: 'kaidu:Process', properties: { command: ['sleep', '60'], env: { B: '2', A: '1' } }, env: {}, files: { 'scripts/run.sh': null } };
    expect(fingerprint(desired)).toBe('sha256:fc72acaf5cd5fcc3c37196a5579e7b56');
  });
});

