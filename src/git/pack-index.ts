/**
 * Indexes a received pack with node's zlib and crypto: one sequential pass inflates each entry
 * (zlib reports where its stream ended, so the next entry's offset is known), deltas are applied
 * to their bases, every object's id is its SHA-1, and a version-2 `.idx` is written that
 * isomorphic-git (and git) read. isomorphic-git's own indexer inflates in JavaScript; on a
 * 10,000-file first clone this is most of the time.
 *
 * Nothing is trusted: the pack's trailing checksum is verified, each entry's inflated size must be
 * the one its header states, a delta's base must be in the pack, and sizes and counts are bounded.
 */
import { createHash } from 'node:crypto';
import { crc32, inflateSync } from 'node:zlib';
import { KaiduError } from '../errors/kaidu-error.js';

export type PackObjectType = 'commit' | 'tree' | 'blob' | 'tag';
const TYPES: Record<number, PackObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
/** The largest output buffer allocated up front for one entry; bigger objects grow in chunks of this size. */
const CHUNK_CAP = 1024 * 1024;

export interface IndexedPack {
  /** The pack's checksum (hex), its name in `objects/pack/pack-<sha>.pack`. */
  sha: string;
  /** The `.idx` (version 2) for it. */
  idx: Buffer;
  /** Each object's id → its type and content, while the caller keeps them (see `keepBytes`). */
  objects: Map<string, { type: PackObjectType; data: Buffer }>;
  /** Every object's id and type. */
  types: Map<string, PackObjectType>;
}

interface Entry {
  offset: number;
  end: number;
  type: number;
  /** Inflated data: the object, or a delta. */
  data: Buffer;
  baseOffset?: number;
  baseOid?: string;
  oid?: string;
  resolvedType?: PackObjectType;
}

function bad(message: string): never {
  throw new KaiduError('E_GIT', `the hub sent a damaged pack: ${message}`);
}

/**
 * The pack's objects indexed. `keepBytes` bounds how much object content is handed back in
 * `objects` (for the first pass's reads); beyond it, only the index is made.
 */
export function indexPack(pack: Buffer, opts: { keepBytes?: number; maxObjects?: number } = {}): IndexedPack {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK') bad('no PACK header');
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) bad(`version ${version}`);
  const count = pack.readUInt32BE(8);
  if (count > (opts.maxObjects ?? 10_000_000)) bad(`${count} objects`);
  const bodyEnd = pack.length - 20;
  const sha = pack.subarray(bodyEnd).toString('hex');
  if (createHash('sha1').update(pack.subarray(0, bodyEnd)).digest('hex') !== sha) bad('its checksum does not match');

  const entries: Entry[] = [];
  const byOffset = new Map<number, Entry>();
  let at = 12;
  for (let i = 0; i < count; i++) {
    if (at >= bodyEnd) bad('it ends early');
    const offset = at;
    let byte = pack[at++]!;
    const type = (byte >> 4) & 7;
    let size = byte & 15;
    let shift = 4;
    while (byte & 0x80) {
      if (at >= bodyEnd || shift > 49) bad(`entry at ${offset} has a bad size`);
      byte = pack[at++]!;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }
    const entry: Entry = { offset, end: 0, type, data: Buffer.alloc(0) };
    if (type === OFS_DELTA) {
      byte = pack[at++]!;
      let rel = byte & 0x7f;
      while (byte & 0x80) {
        if (at >= bodyEnd || rel > 2 ** 45) bad(`entry at ${offset} has a bad delta offset`);
        byte = pack[at++]!;
        rel = (rel + 1) * 128 + (byte & 0x7f);
      }
      entry.baseOffset = offset - rel;
      if (entry.baseOffset < 12) bad(`entry at ${offset} points before the pack`);
    } else if (type === REF_DELTA) {
      if (at + 20 > bodyEnd) bad('it ends early');
      entry.baseOid = pack.toString('hex', at, at + 20);
      at += 20;
    } else if (!TYPES[type]) bad(`entry at ${offset} has type ${type}`);
    let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
    try {
      // chunkSize: the output buffer fits the object (zlib's default, 16 KiB, would be allocated
      // for each entry and kept alive by the slice returned: 160 MB for 10,000 small files);
      // capped, as the stated size is the sender's word until the stream confirms it.
      inflated = inflateSync(pack.subarray(at, bodyEnd), { info: true, maxOutputLength: Math.max(size, 1), chunkSize: Math.min(Math.max(64, size + 1), CHUNK_CAP) }) as unknown as typeof inflated;
    } catch (err) {
      bad(`entry at ${offset} does not inflate (${(err as Error).message})`);
    }
    if (inflated.buffer.length !== size) bad(`entry at ${offset} inflates to ${inflated.buffer.length} bytes, not ${size}`);
    entry.data = inflated.buffer;
    at += inflated.engine.bytesWritten;
    entry.end = at;
    entries.push(entry);
    byOffset.set(offset, entry);
  }
  if (at !== bodyEnd) bad('data after its last object');

  const byOid = new Map<string, Entry>();
  const name = (e: Entry, type: PackObjectType, data: Buffer) => {
    e.resolvedType = type;
    e.data = data;
    e.oid = createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex');
    byOid.set(e.oid, e);
  };
  for (const e of entries) if (TYPES[e.type]) name(e, TYPES[e.type]!, e.data);
  // Deltas, each once its base is known (a ref-delta's base may come later in the pack).
  const resolve = (e: Entry, depth: number): void => {
    if (e.oid) return;
    if (depth > 10_000) bad('a delta chain too long');
    const base = e.baseOffset !== undefined ? byOffset.get(e.baseOffset) : byOid.get(e.baseOid!);
    if (!base) bad(e.baseOffset !== undefined ? `entry at ${e.offset} has no base at ${e.baseOffset}` : `entry at ${e.offset} needs object ${e.baseOid}, which the pack does not hold`);
    if (!base.oid) resolve(base, depth + 1);
    name(e, base.resolvedType!, applyDelta(base.data, e.data, e.offset));
  };
  let pending = entries.filter((e) => !e.oid);
  while (pending.length > 0) {
    const before = pending.length;
    for (const e of pending) if (e.baseOffset !== undefined || byOid.has(e.baseOid!)) resolve(e, 0);
    pending = pending.filter((e) => !e.oid);
    if (pending.length === before) bad(`object ${pending[0]!.baseOid} is missing (a thin pack)`);
  }

  const idx = writeIdx(entries, pack, sha);
  const objects = new Map<string, { type: PackObjectType; data: Buffer }>();
  const types = new Map<string, PackObjectType>();
  for (const e of entries) types.set(e.oid!, e.resolvedType!);
  let kept = 0;
  const keep = opts.keepBytes ?? 0;
  for (const e of entries) {
    if (kept + e.data.length > keep) continue;
    kept += e.data.length;
    objects.set(e.oid!, { type: e.resolvedType!, data: e.data });
  }
  return { sha, idx, objects, types };
}

/** git's delta format: base size, result size, then copy-from-base and insert instructions. */
function applyDelta(base: Buffer, delta: Buffer, offset: number): Buffer {
  let at = 0;
  const varint = () => {
    let n = 0;
    let shift = 0;
    let byte: number;
    do {
      if (at >= delta.length) bad(`delta at ${offset} ends early`);
      byte = delta[at++]!;
      n += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return n;
  };
  if (varint() !== base.length) bad(`delta at ${offset} is for a base of another size`);
  const size = varint();
  const out = Buffer.allocUnsafe(size);
  let written = 0;
  while (at < delta.length) {
    const op = delta[at++]!;
    if (op & 0x80) {
      let copyOffset = 0;
      let copySize = 0;
      for (let b = 0; b < 4; b++) if (op & (1 << b)) copyOffset += delta[at++]! * 2 ** (8 * b);
      for (let b = 0; b < 3; b++) if (op & (16 << b)) copySize += delta[at++]! * 2 ** (8 * b);
      if (copySize === 0) copySize = 0x10000;
      if (copyOffset + copySize > base.length || written + copySize > size) bad(`delta at ${offset} copies out of range`);
      base.copy(out, written, copyOffset, copyOffset + copySize);
      written += copySize;
    } else if (op > 0) {
      if (at + op > delta.length || written + op > size) bad(`delta at ${offset} inserts out of range`);
      delta.copy(out, written, at, at + op);
      at += op;
      written += op;
    } else bad(`delta at ${offset} has a reserved instruction`);
  }
  if (written !== size) bad(`delta at ${offset} makes ${written} bytes, not ${size}`);
  return out;
}

/** A version-2 pack index: fan-out, sorted ids, CRC-32s, offsets (large ones in a 64-bit table), checksums. */
function writeIdx(entries: Entry[], pack: Buffer, packSha: string): Buffer {
  const sorted = [...entries].sort((a, b) => (a.oid! < b.oid! ? -1 : a.oid! > b.oid! ? 1 : 0));
  const n = sorted.length;
  const large = sorted.filter((e) => e.offset >= 0x80000000);
  const out = Buffer.alloc(8 + 256 * 4 + n * 20 + n * 4 + n * 4 + large.length * 8 + 40);
  out.write('\xfftOc', 0, 'latin1');
  out.writeUInt32BE(2, 4);
  let at = 8;
  const fanout = new Array<number>(256).fill(0);
  for (const e of sorted) fanout[Number.parseInt(e.oid!.slice(0, 2), 16)]!++;
  let total = 0;
  for (let i = 0; i < 256; i++) {
    total += fanout[i]!;
    out.writeUInt32BE(total, at);
    at += 4;
  }
  for (const e of sorted) {
    out.write(e.oid!, at, 'hex');
    at += 20;
  }
  for (const e of sorted) {
    out.writeUInt32BE(crc32(pack.subarray(e.offset, e.end)) >>> 0, at);
    at += 4;
  }
  let li = 0;
  for (const e of sorted) {
    out.writeUInt32BE(e.offset >= 0x80000000 ? (0x80000000 | li++) >>> 0 : e.offset, at);
    at += 4;
  }
  for (const e of large) {
    out.writeBigUInt64BE(BigInt(e.offset), at);
    at += 8;
  }
  out.write(packSha, at, 'hex');
  at += 20;
  createHash('sha1').update(out.subarray(0, at)).digest().copy(out, at);
  return out;
}
