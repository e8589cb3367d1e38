/**
 * Moving a branch in a hub opened directly on the filesystem, safely against other writers
 * (other agents on a shared filesystem, a native `git push` into the same bare repository).
 *
 * Race handling: git's own lock-file protocol. `refs/heads/<b>.lock` is created with O_EXCL
 * (`wx`), so exactly one writer holds it; native git takes the same lock. Holding it, we re-read
 * the ref (loose or packed) and only write when it still equals the tip we built on; the new
 * value is written to the lock file, fsynced and renamed over the ref (atomic on POSIX). Anything
 * else (lock held by someone, ref moved) is reported as a rejected update, which the caller
 * retries on the new tip, exactly as for a push rejected by a server.
 */
import * as fs from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';

export type RefSwap = { ok: true } | { ok: false; reason: 'moved' | 'locked'; lockAgeMs?: number };

async function currentValue(gitdir: string, ref: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, gitdir, ref });
  } catch {
    return undefined;
  }
}

/** Set `ref` to `next` only if it currently is `expected` (undefined: the ref must not exist). */
export async function compareAndSwapRef(gitdir: string, ref: string, expected: string | undefined, next: string): Promise<RefSwap> {
  const refPath = join(gitdir, ...ref.split('/'));
  const lock = `${refPath}.lock`;
  await mkdir(dirname(refPath), { recursive: true });
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await open(lock, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => undefined);
    return { ok: false, reason: 'locked', ...(age === undefined ? {} : { lockAgeMs: age }) };
  }
  let renamed = false;
  try {
    if ((await currentValue(gitdir, ref)) !== expected) return { ok: false, reason: 'moved' };
    await handle.writeFile(`${next}\n`);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(lock, refPath);
    renamed = true;
    return { ok: true };
  } finally {
    if (handle) await handle.close().catch(() => undefined);
    if (!renamed) await rm(lock, { force: true });
  }
}
