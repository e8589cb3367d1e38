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
    else if (!sameJson(a[key], b[key])) out.push({ path, old: a[key]!, new: b[key]! });
  }
  return out;
}

/** Equal as JSON (what a state file can tell apart), without serializing either side. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // only numbers differ in value but not in JSON (NaN and Infinity are both null there)
    return (typeof a === 'number' || typeof b === 'number') && canonicalJson(a) === canonicalJson(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  const ka = definedKeys(a);
  const kb = definedKeys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!Object.prototype.hasOwnProperty.call(b, k) || !sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

function definedKeys(o: object): string[] {
  return Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
}
