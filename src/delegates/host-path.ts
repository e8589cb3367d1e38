import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import type { DelegateContext } from './types.js';

/**
 * The path as the kernel will reach it: the real path of its longest existing prefix (symlinks
 * and `..` resolved) followed by the parts that do not exist yet.
 */
export async function realPathOf(path: string): Promise<string> {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    try {
      return join(await realpath(at), ...missing.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Only a missing part is walked past: anything else (EACCES, ELOOP) must not read as "fine".
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const up = dirname(at);
      if (up === at) return join(at, ...missing.reverse());
      missing.push(basename(at));
      at = up;
    }
  }
}

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/**
 * A host path a node may write or delete (a Directory, a ConfigFile): absolute, and not inside
 * the agent's data directory or the hub's git directory, neither as written nor once symlinks and
 * `..` are resolved. Returns the path as written, normalized.
 */
export async function hostPath(ctx: Pick<DelegateContext, 'dataDir' | 'protectedPaths'> & { node: { id: string } }, raw: unknown, what: string): Promise<string> {
  if (typeof raw !== 'string' || !raw) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "${what}" is required`);
  if (raw.includes('\0')) throw new KaiduError('E_PATH_CONFINED', `${ctx.node.id}: "${what}" contains a NUL character`);
  if (!isAbsolute(raw)) {
    throw new KaiduError('E_PATH_CONFINED', `${ctx.node.id}: "${what}" must be an absolute path, not ${JSON.stringify(raw)}`, { hint: 'a relative path would depend on the folder the agent was started in' });
  }
  const path = resolve(raw);
  const real = await realPathOf(path);
  for (const guarded of [ctx.dataDir, ...(ctx.protectedPaths ?? [])]) {
    const g = resolve(guarded);
    const gReal = await realPathOf(g);
    if (within(path, g) || within(real, gReal) || within(real, g) || within(path, gReal)) {
      throw new KaiduError('E_PATH_CONFINED', `${ctx.node.id}: refusing ${what} ${path}${real !== path ? ` (really ${real})` : ''}: it is inside the agent's own ${g === resolve(ctx.dataDir) ? 'data directory' : 'git directory'} ${g}`, {
        hint: 'the agent keeps its state, logs and git mirror there; choose a path outside it',
      });
    }
  }
  return path;
}
