/**
 * Values many compiled nodes share: what is the same for every template of a type is made once,
 * frozen, and handed to each (100,000 nodes must not carry 100,000 copies of their type's defaults).
 */
import type { Value } from '../model.js';
import { containsCall } from '../values.js';
import { keepCallSite } from '../functions/call-sites.js';

export const EMPTY_MAP: Readonly<Record<string, never>> = Object.freeze({});
export const EMPTY_LIST: readonly never[] = Object.freeze([]);

/**
 * A plain object (`{}`, Object's prototype) made by a constructor: V8 then sizes it for as many
 * properties as such records were given (slack tracking). A `{}` literal has room for four; a node's
 * capabilities record has six or more, and the rest went into an array of their own, one more
 * object kept per node.
 */
function SizedRecord(): void {}
SizedRecord.prototype = Object.prototype;

export function sizedRecord<T>(): Record<string, T> {
  return new (SizedRecord as unknown as new () => Record<string, T>)();
}

export function isEmptyRecord(r: object): boolean {
  for (const _ in r) return false;
  return true;
}

/**
 * What is the same for every template of a type (defaults nothing overrides): made once and shared,
 * frozen. A value holding a call (`$get_property: [SELF, ..]`) is evaluated per node: not shared.
 */
export function sharedPerType<T extends object>(cache: Map<string, T>, key: string, make: () => T): T {
  const known = cache.get(key);
  if (known) return known;
  const made = shareable(make());
  if (Object.isFrozen(made)) cache.set(key, made);
  return made;
}

/** `made`, frozen all the way down when it holds no call (so it may be shared); as made otherwise. */
export function shareable<T extends object>(made: T): T {
  return containsCall(made as unknown as Value) ? made : deepFreeze(made);
}

/**
 * Frozen all the way down: what several templates share can never be changed through one of them
 * (a change would throw, not leak into every other node).
 */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

/** A copy of plain data, so templates never share a mutable value. */
export function copyValue(v: Value): Value {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copyValue);
  const out: Record<string, Value> = {};
  for (const k of Object.keys(v)) out[k] = copyValue((v as Record<string, Value>)[k]!);
  return keepCallSite(v, out as Value);
}
