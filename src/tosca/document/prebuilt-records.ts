/**
 * Kaidu's own profiles read once, at build time, instead of parsed and walked through the grammar
 * on every run (most of a small `validate`'s own work, issue 16). The store holds, per profile file,
 * its record (record-codec.ts) and what the loader needs besides (version, line starts). Nothing in it
 * is trusted unless all of these match: the store's key (the build that wrote it and V8's version,
 * whose serialization format it is), the digest of the store's bytes (a damaged store), and the
 * digest of the file's text as read now. Anything else (missing, stale, corrupt) reads the YAML.
 */
import { createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import type { Unit } from '../loader.js';
import { Loader, ParseCache } from '../loader.js';
import type { SourceReader } from '../model.js';
import { decodeRecord, encodeRecord, RecordCodecError } from './record-codec.js';
import type { FileRecord } from './records.js';

const FORMAT = 'kaidu-profile-records/1';

interface StoredFile {
  textDigest: string;
  versionText: string;
  lineStarts: number[];
  payload: Uint8Array;
}

/** The files are serialized apart, so their bytes are checked against a digest before being read at all. */
interface Stored {
  format: string;
  key: string;
  filesDigest: string;
  files: Uint8Array;
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
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The key a store must carry to be used: the build's id and V8's version. */
export function recordStoreKey(buildId: string): string {
  return `${buildId}|v8 ${process.versions.v8}`;
}

/** The store in `bytes`, if it is one and was written for `key`; undefined otherwise (never throws). */
export function openRecordStore(bytes: Uint8Array, key: string): PrebuiltRecords | undefined {
  let files: Record<string, StoredFile>;
  try {
    const stored = deserialize(bytes) as Stored;
    if (!stored || typeof stored !== 'object' || stored.format !== FORMAT || stored.key !== key || !(stored.files instanceof Uint8Array) || sha256(stored.files) !== stored.filesDigest) return undefined;
    files = deserialize(stored.files) as Record<string, StoredFile>;
  } catch {
    return undefined;
  }
  if (!files || typeof files !== 'object') return undefined;
  return {
    lookup(path, text) {
      const f = Object.prototype.hasOwnProperty.call(files, path) ? files[path] : undefined;
      if (!f || f.textDigest !== sha256(text)) return undefined;
      return { versionText: f.versionText, lineStarts: f.lineStarts, record: (unit) => decodeRecord(f.payload, unit) };
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
  const files: Record<string, StoredFile> = {};
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
    files[path] = { textDigest: sha256(text), versionText: unit.versionText, lineStarts, payload };
  }
  const body = serialize(files);
  return { bytes: serialize({ format: FORMAT, key, filesDigest: sha256(body), files: body } satisfies Stored), files: Object.keys(files), skipped };
}
