import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KaiduError } from '../errors/kaidu-error.js';

/**
 * Atomic replace: write a temp file beside the target, fsync, rename. A reader sees the old file
 * or the new one, never half of either; a crash leaves at most a stray temp file.
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new KaiduError('E_STATE_WRITE', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}
