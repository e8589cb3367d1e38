/**
 * A file's record as bytes and back (the profiles' records prebuilt at build time, issue 16). Generic:
 * whatever fields the readers put in a `FileRecord` are kept, so a change of its shape needs no change
 * here. V8's serializer keeps what JSON would lose (undefined, NaN, shared and cyclic references, Map,
 * Set); what is not plain data (a class instance, a function) is refused when encoding, never
 * silently flattened. Two things are not data and are carried beside it, by reference: the records'
 * links to their own `Unit`, and the call sites of function calls (a weak map, see call-sites.ts).
 */
import { deserialize, serialize } from 'node:v8';
import type { SourceLocation } from '../diagnostic.js';
import type { Unit } from '../loader.js';
import type { Value } from '../model.js';
import { callSite, rememberCallSite } from '../functions/call-sites.js';
import type { FileRecord } from './records.js';

/** The payload: the record, where it links to its unit, and its calls' sites. */
interface Payload {
  record: FileRecord;
  unitLinks: Array<[object, string | number]>;
  sites: Array<[object, SourceLocation]>;
}

export class RecordCodecError extends Error {}

const PLAIN = new Set<unknown>([Object.prototype, Array.prototype, null, Map.prototype, Set.prototype]);

/** The record of `unit` as bytes; throws `RecordCodecError` if it holds something that is not data. */
export function encodeRecord(record: FileRecord, unit: Unit): Buffer {
  const unitLinks: Payload['unitLinks'] = [];
  const sites: Payload['sites'] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, where: string): void => {
    if (typeof v === 'function' || typeof v === 'symbol') throw new RecordCodecError(`${where}: a ${typeof v} is not data`);
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (!PLAIN.has(Object.getPrototypeOf(v))) throw new RecordCodecError(`${where}: a ${v.constructor?.name ?? 'object'} is not plain data`);
    const at = callSite(v as Value);
    if (at) sites.push([v, at]);
    if (v instanceof Map) {
      for (const [k, x] of v) {
        if (x === unit || k === unit) throw new RecordCodecError(`${where}: a unit inside a Map`);
        walk(k, `${where}.<key>`);
        walk(x, `${where}.${String(k)}`);
      }
      return;
    }
    if (v instanceof Set) {
      for (const x of v) {
        if (x === unit) throw new RecordCodecError(`${where}: a unit inside a Set`);
        walk(x, `${where}[]`);
      }
      return;
    }
    for (const k of Object.keys(v)) {
      const x = (v as Record<string, unknown>)[k];
      if (x === unit) unitLinks.push([v, Array.isArray(v) ? Number(k) : k]);
      else walk(x, `${where}.${k}`);
    }
  };
  walk(record, 'record');
  // The links are cut for serializing (the unit is not data) and put back at once.
  for (const [holder, key] of unitLinks) (holder as Record<string | number, unknown>)[key] = null;
  try {
    return serialize({ record, unitLinks, sites } satisfies Payload);
  } finally {
    for (const [holder, key] of unitLinks) (holder as Record<string | number, unknown>)[key] = unit;
  }
}

/** The record `encodeRecord` wrote, linked to `unit` (a new one each time: records are per compile). */
export function decodeRecord(bytes: Uint8Array, unit: Unit): FileRecord {
  const p = deserialize(bytes) as Payload;
  if (!p || typeof p !== 'object' || !p.record || !Array.isArray(p.unitLinks) || !Array.isArray(p.sites)) throw new RecordCodecError('not an encoded record');
  for (const [holder, key] of p.unitLinks) (holder as Record<string | number, unknown>)[key] = unit;
  for (const [call, at] of p.sites) rememberCallSite(call as Value, at);
  return p.record;
}
