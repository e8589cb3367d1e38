/**
 * Kaidu's own profiles read once, at build time, instead of parsed and walked through the grammar
 * on every run (most of a small `validate`'s own work, issue 16). The store holds, per profile file,
 * its record (record-codec.ts) and what the loader needs besides (version, line starts). Nothing in it
 * is trusted unless all of these match: the store's key (the build that wrote it and V8's version,
 * whose serialization format it is), the file's text, which must be the one read now, byte for
 * byte, and the checksum of the entry's bytes (a damaged store), checked when the entry is first
 * used. Anything else (missing, stale, corrupt) reads the YAML. Nothing here loads node:crypto:
 * loading it costs more start-up time than these checks.
 */
import { deserialize, serialize } from 'node:v8';
import { parse as parseYamlText } from 'yaml';
import type { Unit } from '../loader.js';
import { Loader, ParseCache } from '../loader.js';
import type { SourceReader } from '../model.js';
import { decodeRecord, encodeRecord, RecordCodecError } from './record-codec.js';
import type { FileRecord } from './records.js';

const FORMAT = 'kaidu-profile-records/3';

/** One file: the text its reading was made from, and the reading, serialized apart and checksummed. */
interface Entry {
  text: string;
  bytes: Uint8Array;
  sum: string;
}

/** A TOSCA file's reading (an entry's bytes). */
interface Reading {
  versionText: string;
  lineStarts: number[];
  record: Uint8Array;
}

interface Stored {
  format: string;
  key: string;
  /** TOSCA files' readings. */
  tosca: Record<string, Entry>;
  /** Other YAML files (the profiles' index) as plain data. */
  data: Record<string, Entry>;
}

/** A profile file's prebuilt reading. */
export interface PrebuiltFile {
  versionText: string;
  lineStarts: number[];
  /** Its record, linked to `unit`; throws if the bytes cannot be decoded (the caller reads the YAML). */
  record(unit: Unit): FileRecord;
}

export interface PrebuiltRecords {
  /** The prebuilt reading of the profile file at `path` (relative to the profiles folder), if it was made from exactly `text`. */
  lookup(path: string, text: string): PrebuiltFile | undefined;
  /** A YAML file that is not TOSCA (the profiles' index.yaml) as plain data, if it was read from exactly `text`. */
  data(path: string, text: string): unknown;
  /** Files found in the store and files looked up but not found (or not sound): what `KAIDU_CACHE_STATS=1` prints. */
  readonly stats: { used: number; missed: number };
}

/**
 * Catches damage, not forgery (whoever can write dist/ can change the code too): over the bytes as
 * 32-bit words, a running sum, a sum of the sums (a word moved changes it) and a rotate-xor lane;
 * a change of one word changes the first. Adds, shifts and xors only: it runs once per process,
 * in V8's interpreter, where the multiply-xor lanes it replaced (two `Math.imul` calls per word,
 * each a call there) cost ~4 ms of a one-node validate for the ~120 KB of entries it reads.
 */
export function checksum(bytes: Uint8Array): string {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes); // a copy starts at 0
  const words = new Int32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 2);
  let a = 0;
  let b = bytes.byteLength;
  let c = 0x811c9dc5 | 0;
  const n = words.length;
  for (let i = 0; i < n; i++) {
    const w = words[i]!;
    a = (a + w) | 0;
    b = (b + a) | 0;
    c = ((c << 5) | (c >>> 27)) ^ w;
  }
  for (let i = n * 4; i < bytes.byteLength; i++) {
    a = (a + bytes[i]!) | 0;
    b = (b + a) | 0;
    c = ((c << 5) | (c >>> 27)) ^ bytes[i]!;
  }
  return `${(a >>> 0).toString(16)}.${(b >>> 0).toString(16)}.${(c >>> 0).toString(16)}`;
}

/** The entry's bytes deserialized, if `text` is its text and its bytes are whole; undefined otherwise. */
function open(entries: Record<string, Entry>, path: string, text: string): unknown {
  const e = Object.prototype.hasOwnProperty.call(entries, path) ? entries[path] : undefined;
  if (!e || e.text !== text || !(e.bytes instanceof Uint8Array)) return undefined;
  try {
    return checksum(e.bytes) === e.sum ? deserialize(e.bytes) : undefined;
  } catch {
    return undefined;
  }
}

function entry(text: string, value: unknown): Entry {
  const bytes = serialize(value);
  return { text, bytes, sum: checksum(bytes) };
}

/** The key a store must carry to be used: the build's id and V8's version. */
export function recordStoreKey(buildId: string): string {
  return `${buildId}|v8 ${process.versions.v8}`;
}

/** The store in `bytes`, if it is one and was written for `key`; undefined otherwise (never throws). */
export function openRecordStore(bytes: Uint8Array, key: string): PrebuiltRecords | undefined {
  let stored: Stored;
  try {
    stored = deserialize(bytes) as Stored;
  } catch {
    return undefined;
  }
  if (!stored || typeof stored !== 'object' || stored.format !== FORMAT || stored.key !== key || !stored.tosca || typeof stored.tosca !== 'object' || !stored.data || typeof stored.data !== 'object') return undefined;
  const { tosca, data } = stored;
  const stats = { used: 0, missed: 0 };
  const counted = <T>(v: T | undefined): T | undefined => {
    if (v === undefined) stats.missed++;
    else stats.used++;
    return v;
  };
  return {
    lookup(path, text) {
      const r = open(tosca, path, text) as Reading | undefined;
      const sound = r && typeof r.versionText === 'string' && Array.isArray(r.lineStarts) && r.record instanceof Uint8Array;
      return counted(sound ? { versionText: r.versionText, lineStarts: r.lineStarts, record: (unit: Unit) => decodeRecord(r.record, unit) } : undefined);
    },
    data: (path, text) => counted(open(data, path, text)),
    stats,
  };
}

/**
 * Reads every profile named in the profiles' `index.yaml` (and what they import) as the loader
 * does, and stores each file's reading under `key`. A file whose record is not plain data, or that
 * has problems of its own, is left out (and named in `skipped`): it will be read from its YAML.
 */
export async function buildRecordStore(profiles: SourceReader, key: string): Promise<{ bytes: Buffer; files: string[]; skipped: string[] }> {
  const empty: SourceReader = { readFile: async () => undefined, listDir: async () => [] };
  const loader = new Loader(empty, profiles, new ParseCache());
  await loader.init();
  for (const name of loader.profileNames()) await loader.profile(name);
  const stored: Stored = { format: FORMAT, key, tosca: {}, data: {} };
  const index = await profiles.readFile('index.yaml');
  if (index) stored.data['index.yaml'] = entry(index.text, parseYamlText(index.text));
  const skipped: string[] = [];
  for (const unit of loader.loadedUnits()) {
    const path = unit.src.path.replace(/^profiles\//, '');
    const text = (await profiles.readFile(path))?.text;
    if (text === undefined || !unit.src.root || unit.src.diagnostics.length || unit.src.late?.length || !/^(tosca_2_0|tosca_simple_yaml_1_[0-3])$/.test(unit.versionText)) {
      skipped.push(`${path}: not read cleanly`);
      continue;
    }
    let record: Buffer;
    try {
      record = encodeRecord(unit.record, unit);
    } catch (err) {
      if (!(err instanceof RecordCodecError)) throw err;
      skipped.push(`${path}: ${err.message}`);
      continue;
    }
    const lineStarts = Array.from((unit.src.lines as unknown as { lineStarts: ArrayLike<number> }).lineStarts);
    stored.tosca[path] = entry(text, { versionText: unit.versionText, lineStarts, record } satisfies Reading);
  }
  return { bytes: serialize(stored), files: Object.keys(stored.tosca), skipped };
}
