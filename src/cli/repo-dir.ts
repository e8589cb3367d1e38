import { resolve } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import type { CommandContext } from './context.js';

/** The help text of `-C, --dir`, the same for every command that reads a repository (as git -C). */
export const DIR_OPTION = ['-C, --dir <path>', 'repository folder (default: the current one)'] as const;

/**
 * The repository folder of a command: `-C DIR`, or (deprecated, still accepted) a positional PATH,
 * else the current folder.
 */
export function repoDir(ctx: CommandContext, command: string, dir: string | undefined, positional: string | undefined): string {
  if (dir !== undefined && positional !== undefined) throw new KaiduError('E_USAGE', `give the repository once: -C ${dir} or ${positional}, not both`);
  if (positional !== undefined) {
    ctx.stderr.write(`kaidu: "kaidu ${command} PATH" is deprecated; use "kaidu ${command} -C PATH"\n`);
    return resolve(ctx.cwd, positional);
  }
  return resolve(ctx.cwd, dir ?? '.');
}
