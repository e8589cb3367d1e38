import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level: equal values give equal text. The bytes are exactly
 * those of `JSON.stringify` with keys sorted (fingerprints already recorded in state files stay
 * valid); written directly because a replacer building sorted copies cost most of a 100,000-node plan.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  return write(value, parts) ? parts.join('') : (undefined as unknown as string);
}

/** Appends the JSON of `v`; false when `v` has no JSON form (undefined, a function, a symbol). */
function write(v: unknown, out: string[]): boolean {
  switch (typeof v) {
    case 'string':
      out.push(JSON.stringify(v));
      return true;
    case 'number':
      out.push(Number.isFinite(v) ? String(v) : 'null');
      return true;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return true;
    case 'bigint':
      // as JSON.stringify does
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object': {
      if (v === null) {
        out.push('null');
        return true;
      }
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return write((v as { toJSON(): unknown }).toJSON(), out);
      if (Array.isArray(v)) {
        out.push('[');
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out.push(',');
          if (!write(v[i], out)) out.push('null');
        }
        out.push(']');
        return true;
      }
      const keys = sortedKeys(v);
      out.push('{');
      let first = true;
      for (const k of keys) {
        const x = (v as Record<string, unknown>)[k];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        out.push(first ? '' : ',', JSON.stringify(k), ':');
        first = false;
        write(x, out);
      }
      out.push('}');
      return true;
    }
    default:
      return false;
  }
}

/**
 * Keys in the order JSON.stringify gives a copy whose keys were inserted sorted: array-index keys
 * ("0", "12") always enumerate first in numeric order, the rest in sorted order.
 */
function sortedKeys(v: object): string[] {
  const keys = Object.keys(v);
  if (keys.length < 2) return keys;
  keys.sort();
  let indexKeys = 0;
  for (const k of keys) if (isArrayIndex(k)) indexKeys++;
  if (indexKeys === 0) return keys;
  const index = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
  return [...index, ...keys.filter((k) => !isArrayIndex(k))];
}

function isArrayIndex(k: string): boolean {
  const c = k.charCodeAt(0);
  return c >= 48 && c <= 57 && /^(0|[1-9][0-9]*)$/.test(k) && Number(k) < 4294967295;
}

/** Fingerprint of a desired configuration: `sha256:` + the first 32 hex digits of its canonical JSON. */
export function fingerprint(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 32)}`;
}
