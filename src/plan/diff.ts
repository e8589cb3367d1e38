import type { PlainValue } from '../state/model.js';
import { canonicalJson } from '../state/fingerprint.js';
import type { PropertyChange } from './model.js';

function isMap(v: unknown): v is Record<string, PlainValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Property-level diff, old → new, descending into maps; lists compare as a whole. Sorted by path. */
export function diffProperties(oldProps: Record<string, PlainValue> | undefined, newProps: Record<string, PlainValue> | undefined, prefix = ''): PropertyChange[] {
  const out: PropertyChange[] = [];
  const a = oldProps ?? {};
  const b = newProps ?? {};
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const path = prefix ? `${prefix}.${key}` : key;
    const has = (o: object) => Object.prototype.hasOwnProperty.call(o, key);
    if (!has(a)) out.push({ path, new: b[key]! });
    else if (!has(b)) out.push({ path, old: a[key]! });
    else if (isMap(a[key]) && isMap(b[key])) out.push(...diffProperties(a[key] as Record<string, PlainValue>, b[key] as Record<string, PlainValue>, path));
    else if (canonicalJson(a[key]) !== canonicalJson(b[key])) out.push({ path, old: a[key]!, new: b[key]! });
  }
  return out;
}
