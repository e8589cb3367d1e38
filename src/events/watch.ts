import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { watch as chokidarWatch } from 'chokidar';
import type { Logger } from 'pino';
import type { RepoEvent } from './event.js';

/** The git directory of a path: a bare repository itself, or the `.git` of a working repository. */
export function gitDirOf(path: string): string {
  const dotGit = join(path, '.git');
  if (existsSync(dotGit) && statSync(dotGit).isDirectory()) return dotGit;
  return path;
}

/**
 * Watches a local (or shared-filesystem) repository's branch ref with native file events. Each
 * event means only "look again": chokidar may fold two quick changes into one, so the consumer
 * re-reads the ref after every pass instead of trusting the event.
 */
export async function watchRepository(opts: { path: string; branch: string; onEvent: (e: RepoEvent) => void; logger?: Logger }): Promise<{ close(): Promise<void> }> {
  const gitDir = gitDirOf(opts.path);
  const refFile = join(gitDir, 'refs', 'heads', ...opts.branch.split('/'));
  const packed = join(gitDir, 'packed-refs');
  const watcher = chokidarWatch([join(gitDir, 'refs', 'heads'), packed], {
    ignoreInitial: true,
    usePolling: false,
    depth: 8,
    awaitWriteFinish: false,
  });
  const relevant = (p: string) => p === refFile || p === packed;
  const fire = (p: string) => {
    if (!relevant(p)) return;
    opts.onEvent({ source: 'watch', ref: `refs/heads/${opts.branch}`, receivedAt: new Date().toISOString(), detail: { path: p } });
  };
  watcher.on('add', fire).on('change', fire).on('unlink', fire);
  watcher.on('error', (err) => opts.logger?.warn({ err: (err as Error).message }, 'watcher error'));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { close: () => watcher.close() };
}
