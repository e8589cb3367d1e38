/**
 * One file of the on-disk cache: a header naming its kind, the format version, the length and the
 * SHA-256 of the payload, then the payload. A file that is truncated, of another version or kind,
 * or whose checksum does not match is treated as absent (and overwritten by the next write), never
 * trusted. Writes go to a temporary file renamed into place, so concurrent runs each see a whole
 * file, theirs or another's.
 */
import { nodeCrypto } from './lazy-crypto.js';
import { closeSync, fstatSync, futimesSync, openSync, readSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Bump when anything stored changes shape: older files are then ignored. */
export const CACHE_FORMAT = 1;
const MAGIC = 'KAIDU-CACHE';

function header(kind: string, payload: Uint8Array): string {
  return `${MAGIC} ${kind} v${CACHE_FORMAT} ${payload.byteLength} ${nodeCrypto().createHash('sha256').update(payload).digest('hex')}\n`;
}

/** An entry used again counts as recently used for pruning (cache-prune.ts) once its day-old mark is refreshed. */
const TOUCH_AFTER_MS = 24 * 3600 * 1000;
/** Larger than any entry Kaidu writes: a bigger file is not one of ours, and is not read whole. */
const MAX_ENTRY = 512 * 1024 * 1024;

/**
 * Synchronous: a warm plan reads a few hundred small entries, and a trip through libuv's thread
 * pool costs more CPU than the read (the cache is read by the CLI only, never by the agent).
 */
function readWhole(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_ENTRY) throw new Error('not a cache entry');
    const data = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, data, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    const now = Date.now();
    if (now - st.mtimeMs > TOUCH_AFTER_MS) {
      try {
        futimesSync(fd, now / 1000, now / 1000);
      } catch {
        // a read-only cache (restored by CI) is still read
      }
    }
    return data.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The payload, or undefined when the file is missing or not a whole, current file of this kind. */
export async function readCacheFile(file: string, kind: string): Promise<Buffer | undefined> {
  let data: Buffer;
  try {
    data = readWhole(file);
  } catch {
    return undefined;
  }
  const nl = data.indexOf(0x0a);
  if (nl < 0 || nl > 200) return undefined;
  const [magic, k, version, length, sum] = data.subarray(0, nl).toString('latin1').split(' ');
  if (magic !== MAGIC || k !== kind || version !== `v${CACHE_FORMAT}`) return undefined;
  const payload = data.subarray(nl + 1);
  if (String(payload.byteLength) !== length) return undefined;
  if (nodeCrypto().createHash('sha256').update(payload).digest('hex') !== sum) return undefined;
  return payload;
}

/** Writes atomically (temporary file, then rename). Errors are the caller's to ignore or report. */
export async function writeCacheFile(file: string, kind: string, payload: Uint8Array): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, Buffer.concat([Buffer.from(header(kind, payload), 'latin1'), payload]));
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
