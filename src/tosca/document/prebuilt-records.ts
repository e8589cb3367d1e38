/**
 * Kaidu's own profiles read once, at build time, instead of parsed and walked through the grammar
 * on every run (most of a small `validate`'s own work, issue 16). The store holds, per profile file,
 * its record (record-codec.ts) and what the loader needs besides (version, line starts). Nothing in it
 * is trusted unless all of these match: the store's key (the build that wrote it and V8's version,
 * whose serialization format it is), the checksum of the store's bytes (a damaged store), and the
 * file's text, which must be the one read now, byte for byte. Anything else (missing, stale,
 * corrupt) reads the YAML. Nothing here loads node:crypto: loading it alone costs more than the
 * checks (a checksum against damage; a changed file is found by comparing its whole text).
 */
import { deserialize, serialize } from 'node:v8';
import { parse as parseYamlText } from 'yaml';
import type { Unit } from '../loader.js';
import { Loader, ParseCache } from '../loader.js';
import type { SourceReader } from '../model.js';
import { decodeRecord, encodeRecord, RecordCodecError } from './record-codec.js';
import type { FileRecord } from './records.js';

const FORMAT = 'kaidu-profile-records/1';

interface StoredFile {
  /** The text the reading was made from. */
  text: string;
  versionText: string;
  lineStarts: number[];
  payload: Uint8Array;
}

/** The files are serialized apart, so their bytes are checked against a digest before being read at all. */
interface Stored {
  format: string;
  key: string;
  filesChecksum: string;
  files: Uint8Array;
}

/** The serialized files: TOSCA files' readings, and other YAML files (the profiles' index) as plain data. */
interface StoredFiles {
  tosca: Record<string, StoredFile>;
  data: Record<string, { text: string; value: unknown }>;
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
}

/** Two 32-bit FNV-1a lanes over the bytes, four at a time: a damaged store is found with ~2^-64 odds of missing it. */
export function checksum(bytes: Uint8Array): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ bytes.byteLength;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength & ~3;
  for (let i = 0; i < end; i += 4) {
    const w = view.getUint32(i, true);
    a = Math.imul(a ^ w, 0x01000193);
    b = Math.imul(b ^ w, 0x5bd1e995) ^ (b >>> 13);
  }
  for (let i = end; i < bytes.byteLength; i++) {
    a = Math.imul(a ^ bytes[i]!, 0x01000193);
    b = Math.imul(b ^ bytes[i]!, 0x5bd1e995) ^ (b >>> 13);
  }
  return `${(a >>> 0).toString(16)}.${(b >>> 0).toString(16)}`;
}

const own = <T>(m: Record<string, T>, k: string): T | undefined => (Object.prototype.hasOwnProperty.call(m, k) ? m[k] : undefined);

/** The key a store must carry to be used: the build's id and V8's version. */
export function recordStoreKey(buildId: string): string {
  return `${buildId}|v8 ${process.versions.v8}`;
}

/** The store in `bytes`, if it is one and was written for `key`; undefined otherwise (never throws). */
export function openRecordStore(bytes: Uint8Array, key: string): PrebuiltRecords | undefined {
  let files: StoredFiles;
  try {
    const stored = deserialize(bytes) as Stored;
    if (!stored || typeof stored !== 'object' || stored.format !== FORMAT || stored.key !== key || !(stored.files instanceof Uint8Array) || checksum(stored.files) !== stored.filesChecksum) return undefined;
    files = deserialize(stored.files) as StoredFiles;
  } catch {
    return undefined;
  }
  if (!files || typeof files !== 'object' || !files.tosca || !files.data) return undefined;
  return {
    lookup(path, text) {
      const f = own(files.tosca, path);
      if (!f || f.text !== text) return undefined;
      return { versionText: f.versionText, lineStarts: f.lineStarts, record: (unit) => decodeRecord(f.payload, unit) };
    },
    data(path, text) {
      const f = own(files.data, path);
      return f && f.text === text ? f.value : undefined;
    },
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
  const files: StoredFiles = { tosca: {}, data: {} };
  const index = await profiles.readFile('index.yaml');
  if (index) files.data['index.yaml'] = { text: index.text, value: parseYamlText(index.text) as unknown };
  const skipped: string[] = [];
  for (const unit of loader.loadedUnits()) {
    const path = unit.src.path.replace(/^profiles\//, '');
    const text = (await profiles.readFile(path))?.text;
    if (text === undefined || !unit.src.root || unit.src.diagnostics.length || unit.src.late?.length || !/^(tosca_2_0|tosca_simple_yaml_1_[0-3])$/.test(unit.versionText)) {
      skipped.push(`${path}: not read cleanly`);
      continue;
    }
    let payload: Buffer;
    try {
      payload = encodeRecord(unit.record, unit);
    } catch (err) {
      if (!(err instanceof RecordCodecError)) throw err;
      skipped.push(`${path}: ${err.message}`);
      continue;
    }
    const lineStarts = Array.from((unit.src.lines as unknown as { lineStarts: ArrayLike<number> }).lineStarts);
    files.tosca[path] = { text, versionText: unit.versionText, lineStarts, payload };
  }
  const body = serialize(files);
  return { bytes: serialize({ format: FORMAT, key, filesChecksum: checksum(body), files: body } satisfies Stored), files: Object.keys(files.tosca), skipped };
}
