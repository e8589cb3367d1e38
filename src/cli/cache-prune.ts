/**
 * Keeps `.kaidu/cache` bounded: every entry is named by what it was computed from, so each edit
 * adds entries and nothing else removes them. Once an hour at most (a stamp file says when), the
 * least recently used entries (by modification time, which a read refreshes once a day:
 * cache-file.ts) are removed until the cache is well under its bounds. Removing an entry only
 * costs the work of making it again; a concurrent run that finds it gone treats it as absent.
 */
import { readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CacheLimits {
  maxBytes: number;
  maxFiles: number;
}

/** Room for the compile results, plans and state of several 10,000-template repositories' histories. */
export const DEFAULT_CACHE_LIMITS: CacheLimits = { maxBytes: 512 * 1024 * 1024, maxFiles: 50_000 };
const STAMP = '.pruned';
const EVERY_MS = 3600 * 1000;
/** A temporary file this old is left over from a run that died while writing. */
const STALE_TMP_MS = 3600 * 1000;

export interface PruneResult {
  removed: number;
  files: number;
  bytes: number;
}

/** Removes the oldest entries (and stale temporary files) until the cache is within 80% of its bounds. */
export async function pruneCache(dir: string, limits: CacheLimits = DEFAULT_CACHE_LIMITS, now = Date.now()): Promise<PruneResult> {
  const files: Array<{ path: string; size: number; mtime: number }> = [];
  let removed = 0;
  const walk = async (d: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      // Our layout is at most kind/xx/entry: nothing deeper is walked (a link is never followed).
      if (e.isDirectory() && depth < 2) await walk(p, depth + 1);
      else if (e.isFile() && !(depth === 0 && (e.name === STAMP || e.name === '.gitignore'))) {
        const st = await stat(p).catch(() => undefined);
        if (!st) continue;
        if (e.name.endsWith('.tmp') && now - st.mtimeMs > STALE_TMP_MS) {
          if (await rm(p, { force: true }).then(() => true, () => false)) removed++;
          continue;
        }
        files.push({ path: p, size: st.size, mtime: st.mtimeMs });
      }
    }
  };
  await walk(dir, 0);
  let bytes = files.reduce((n, f) => n + f.size, 0);
  let count = files.length;
  if (bytes > limits.maxBytes || count > limits.maxFiles) {
    files.sort((a, b) => a.mtime - b.mtime || (a.path < b.path ? -1 : 1));
    for (const f of files) {
      if (bytes <= limits.maxBytes * 0.8 && count <= limits.maxFiles * 0.8) break;
      if (await rm(f.path, { force: true }).then(() => true, () => false)) {
        removed++;
        bytes -= f.size;
        count--;
      }
    }
  }
  return { removed, files: count, bytes };
}

/** The limits, with `KAIDU_CACHE_MAX_MB` (a number of MiB) over the default size. */
export function cacheLimits(env: NodeJS.ProcessEnv): CacheLimits {
  const raw = env.KAIDU_CACHE_MAX_MB?.trim();
  const mb = raw ? Number(raw) : NaN;
  return Number.isFinite(mb) && mb >= 0 ? { ...DEFAULT_CACHE_LIMITS, maxBytes: mb * 1024 * 1024 } : DEFAULT_CACHE_LIMITS;
}

/** Prunes when the last pruning is an hour old or more (or never happened); errors only cost disk space. */
export async function pruneIfDue(dir: string, env: NodeJS.ProcessEnv, now = Date.now()): Promise<PruneResult | undefined> {
  const stamp = join(dir, STAMP);
  const last = await stat(stamp).then((s) => s.mtimeMs, () => undefined);
  if (last !== undefined && now - last < EVERY_MS && last <= now) return undefined;
  try {
    await writeFile(stamp, '');
    await utimes(stamp, now / 1000, now / 1000);
    return await pruneCache(dir, cacheLimits(env), now);
  } catch {
    return undefined;
  }
}
