/**
 * The `fs` isomorphic-git is given. Every object read by isomorphic-git stats the gitdir, probes
 * the loose object file (a failed open: an exception for each packed object) and lists
 * `objects/pack`. Here those answers are kept while the folder they come from is unchanged: a
 * listing is reused while its folder's mtime is the one seen when it was listed, and only when that
 * mtime is older than the listing by more than the timestamp granularity could hide (like git's
 * racily-clean rule). So a pack or loose object added by a fetch, a push into a local hub or native
 * git is seen at once; nothing is trusted that the file system has not confirmed.
 */
import * as nodeFs from 'node:fs';
import { promises as fsp, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';

/** A listing is trusted only when its folder changed at least this long before it was taken. */
const RACY_MS = 2000;

interface Listing {
  mtimeNs: bigint;
  names: ReadonlySet<string>;
  list: readonly string[];
}

const listings = new Map<string, Listing>();
const gitdirStats = new Map<string, Stats>();
const gitdirs = new Set<string>();

/** Counters, for tests and the bench. */
export const gitFsStats = { readdirs: 0, looseProbesAnswered: 0, gitdirStatsAnswered: 0 };

/** Paths isomorphic-git is pointed at as gitdirs: their own stat is kept (a gitdir is not swapped for a file under a running agent). */
export function registerGitdir(gitdir: string): void {
  gitdirs.add(gitdir.replace(/\/+$/, ''));
}

function notFound(path: string): NodeJS.ErrnoException {
  // No stack: isomorphic-git only reads `code` (and this is the common path for packed objects).
  const err = Object.create(Error.prototype) as NodeJS.ErrnoException;
  err.message = `ENOENT: no such file or directory, open '${path}'`;
  err.code = 'ENOENT';
  err.errno = -2;
  err.syscall = 'open';
  err.path = path;
  return err;
}

/** The folder's entries, from the cache when its mtime says nothing changed; undefined when it does not exist. */
async function listing(dir: string): Promise<Listing | undefined> {
  let st: nodeFs.BigIntStats;
  try {
    st = await fsp.stat(dir, { bigint: true });
  } catch {
    listings.delete(dir);
    return undefined;
  }
  const known = listings.get(dir);
  if (known && known.mtimeNs === st.mtimeNs) return known;
  gitFsStats.readdirs++;
  const list = await fsp.readdir(dir);
  const entry: Listing = { mtimeNs: st.mtimeNs, names: new Set(list), list };
  // Racily clean: a change in the same timestamp tick would not move the mtime, so do not keep it.
  if (Date.now() - Number(st.mtimeNs / 1_000_000n) > RACY_MS) listings.set(dir, entry);
  else listings.delete(dir);
  return entry;
}

const LOOSE = /^(.*)\/objects\/([0-9a-f]{2})\/([0-9a-f]{38})$/;

const promises = {
  ...fsp,
  async readFile(path: nodeFs.PathLike, options?: unknown) {
    const m = typeof path === 'string' ? LOOSE.exec(path) : null;
    if (m && gitdirs.has(m[1]!)) {
      const objects = await listing(`${m[1]}/objects`);
      const fan = objects?.names.has(m[2]!) ? await listing(`${m[1]}/objects/${m[2]}`) : undefined;
      if (!fan?.names.has(m[3]!)) {
        gitFsStats.looseProbesAnswered++;
        throw notFound(path as string);
      }
    }
    return fsp.readFile(path, options as never);
  },
  async readdir(path: nodeFs.PathLike, options?: unknown) {
    if (typeof path === 'string' && options === undefined && basename(path) === 'pack' && gitdirs.has(dirname(dirname(path)))) {
      const l = await listing(path);
      if (!l) return fsp.readdir(path);
      return [...l.list];
    }
    return fsp.readdir(path, options as never);
  },
  async stat(path: nodeFs.PathLike, options?: unknown) {
    if (typeof path === 'string' && options === undefined && gitdirs.has(path)) {
      const known = gitdirStats.get(path);
      if (known) {
        gitFsStats.gitdirStatsAnswered++;
        return known;
      }
      const st = await fsp.stat(path);
      if (st.isDirectory()) gitdirStats.set(path, st);
      return st;
    }
    return fsp.stat(path, options as never);
  },
};

/** Node's fs with the cached answers above in `promises` (what isomorphic-git uses). */
export const gitFs: typeof nodeFs = Object.create(nodeFs, {
  promises: { value: promises, enumerable: true },
}) as typeof nodeFs;
