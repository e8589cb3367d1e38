/**
 * The TOSCA 2.0 test functions on strings, lists and maps (§10.2: `$xor`, `$has_suffix`,
 * `$has_prefix`, `$contains`, `$has_entry`, `$has_key`, `$has_all_entries`, `$has_all_keys`,
 * `$has_any_entry`, `$has_any_key`) on known values. Undefined when an argument is not known yet
 * or not of a kind the function reads: the clause is then not decided here (never "passed").
 */
import { isFunctionCall } from '../model.js';

type Verdict = boolean | undefined;

const isMapValue = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !isFunctionCall(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Entries of a list, or values of a map. */
function entriesOf(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (isMapValue(v)) return Object.values(v);
  return undefined;
}

export const COLLECTION_TESTS = new Set(['xor', 'has_suffix', 'has_prefix', 'contains', 'has_entry', 'has_key', 'has_all_entries', 'has_all_keys', 'has_any_entry', 'has_any_key']);

export function collectionTest(op: string, args: readonly unknown[]): Verdict {
  const [x, y] = args;
  switch (op) {
    case 'xor':
      return typeof x === 'boolean' && typeof y === 'boolean' ? x !== y : undefined;
    case 'has_suffix':
      return typeof x === 'string' && typeof y === 'string' ? x.endsWith(y) : undefined;
    case 'has_prefix':
      return typeof x === 'string' && typeof y === 'string' ? x.startsWith(y) : undefined;
    case 'contains':
      if (typeof x === 'string' && typeof y === 'string') return x.includes(y);
      return Array.isArray(x) ? x.some((e) => same(e, y)) : undefined;
    case 'has_entry': {
      const list = entriesOf(x);
      return list ? list.some((e) => same(e, y)) : undefined;
    }
    case 'has_key':
      return isMapValue(x) && (typeof y === 'string' || typeof y === 'number') ? Object.prototype.hasOwnProperty.call(x, String(y)) : undefined;
    case 'has_all_entries':
    case 'has_any_entry': {
      const list = entriesOf(x);
      if (!list || !Array.isArray(y)) return undefined;
      const hit = (w: unknown) => list.some((e) => same(e, w));
      return op === 'has_all_entries' ? y.every(hit) : y.some(hit);
    }
    case 'has_all_keys':
    case 'has_any_key': {
      if (!isMapValue(x) || !Array.isArray(y)) return undefined;
      const hit = (k: unknown) => (typeof k === 'string' || typeof k === 'number') && Object.prototype.hasOwnProperty.call(x, String(k));
      return op === 'has_all_keys' ? y.every(hit) : y.some(hit);
    }
    default:
      return undefined;
  }
}

/** `{ $value: [ key or index, ... ] }`: a part of the value being validated. */
export function valuePart(value: unknown, path: readonly unknown[]): unknown {
  let cur = value;
  for (const k of path) {
    if (Array.isArray(cur) && typeof k === 'number') cur = cur[k];
    else if (isMapValue(cur) && (typeof k === 'string' || typeof k === 'number')) cur = cur[String(k)];
    else return undefined;
  }
  return cur;
}
