import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { watch as chokidarWatch } from 'chokidar';
import { KaiduError } from '../errors/kaidu-error.js';
import type { EventLogger, RepoEvent } from './event.js';

export interface WatchOptions {
  /** A git directory (bare, or a working repository's `.git`), or a working repository. */
  path: string;
  branch: string;
  /** Folders of branches watched as well (`kaidu/state`: the hosts' state branches); each move of one is an event with its ref. */
  branchFolders?: string[];
  onEvent: (e: RepoEvent) => void;
  logger?: EventLogger;
}

export interface RepositoryWatch {
  /** Stops watching and releases every file handle; no event is emitted afterwards. */
  close(): Promise<void>;
}

/** Where a repository keeps `HEAD` (per worktree) and its refs (shared by worktrees). */
export interface GitDirs {
  gitDir: string;
  commonDir: string;
}

/**
 * The git directories of a path: a bare repository itself, the `.git` directory of a working
 * repository, or what a `.git` file (`gitdir: ...`, a linked worktree) points to.
 */
export function resolveGitDirs(path: string): GitDirs {
  const root = resolve(path);
  const dotGit = join(root, '.git');
  let gitDir = root;
  if (existsSync(dotGit)) {
    if (statSync(dotGit).isDirectory()) gitDir = dotGit;
    else {
      const pointer = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, 'utf8'))?.[1];
      if (!pointer) throw new KaiduError('E_GIT_NOT_FOUND', `${dotGit} is a file without a "gitdir:" line`);
      gitDir = resolve(root, pointer);
    }
  }
  if (!existsSync(join(gitDir, 'HEAD'))) {
    throw new KaiduError('E_GIT_NOT_FOUND', `${path} is not a git repository (no HEAD in ${gitDir})`, {
      hint: 'give the path of a bare repository or of a working repository',
    });
  }
  const commondir = join(gitDir, 'commondir');
  const commonDir = existsSync(commondir) ? resolve(gitDir, readFileSync(commondir, 'utf8').trim()) : gitDir;
  return { gitDir, commonDir };
}

/** The git directory of a path (see `resolveGitDirs`). */
export function gitDirOf(path: string): string {
  return resolveGitDirs(path).gitDir;
}

/**
 * Watches a local (or shared-filesystem) repository with native file events (no polling):
 * `refs/heads/<branch>`, `packed-refs` and `HEAD`. Git replaces those files by renaming a
 * lockfile over them, so the directories are watched and their entries filtered.
 *
 * Each event means only "look again". chokidar drops a second change on one path within 50 ms,
 * so the raw file-system notifications are reported as well; still, the consumer must re-read the
 * ref after every pass rather than trust any single event to carry the change.
 */
export async function watchRepository(opts: WatchOptions): Promise<RepositoryWatch> {
  // The branch becomes a path under refs/heads: it must not climb out of it.
  if (!opts.branch || opts.branch.split('/').some((part) => part === '' || part === '.' || part === '..' || part.endsWith('.lock'))) {
    throw new KaiduError('E_CONFIG', `"${opts.branch}" is not a branch name git accepts`);
  }
  const { gitDir, commonDir } = resolveGitDirs(opts.path);
  const headsDir = join(commonDir, 'refs', 'heads');
  const refFile = join(headsDir, ...opts.branch.split('/'));
  const ref = `refs/heads/${opts.branch}`;
  const relevant = new Set([refFile, join(commonDir, 'packed-refs'), join(gitDir, 'HEAD')]);

  // Everything else is ignored, so chokidar neither descends into objects/ nor watches the index.
  const traversed = new Set([gitDir, commonDir, join(commonDir, 'refs')]);
  for (let dir = dirname(refFile); dir.startsWith(headsDir); dir = dirname(dir)) traversed.add(dir);
  // Branch folders (which may not exist yet): the folder and its parents are traversed, the branches in it are events.
  const folders = new Set<string>();
  for (const f of opts.branchFolders ?? []) {
    if (f.split('/').some((part) => part === '' || part === '.' || part === '..')) throw new KaiduError('E_CONFIG', `"${f}" is not a branch folder`);
    const folder = join(headsDir, ...f.split('/'));
    folders.add(folder);
    for (let dir = folder; dir.startsWith(headsDir); dir = dirname(dir)) traversed.add(dir);
  }
  const inFolder = (p: string) => folders.has(dirname(p)) && !p.endsWith('.lock');
  const allowed = (p: string) => relevant.has(p) || traversed.has(p) || inFolder(p);

  let closed = false;
  const fire = (path: string, kind: string) => {
    if (closed || !(relevant.has(path) || inFolder(path))) return;
    opts.logger?.debug({ path, kind }, 'repository changed');
    const moved = relevant.has(path) ? ref : `refs/heads/${path.slice(headsDir.length + 1).split('\\').join('/')}`;
    opts.onEvent({ source: 'watch', ref: moved, receivedAt: new Date().toISOString(), detail: { path, kind } });
  };

  const watcher = chokidarWatch([...new Set([gitDir, commonDir])], {
    ignoreInitial: true,
    usePolling: false,
    // No delayed unlink-then-add merging (chokidar does it with a timer): every event is "look again".
    atomic: false,
    ignored: (p: string) => !allowed(resolve(p)),
  });
  watcher.on('all', (kind, path) => fire(resolve(path), kind));
  // Raw notifications are not throttled. A directory's own notifications cover every write,
  // rename and removal of its entries, so those of the files' watchers would only repeat them.
  watcher.on('raw', (kind: string, entry: string | null, info: unknown) => {
    const watchedPath = (info as { watchedPath?: unknown } | undefined)?.watchedPath;
    if (typeof watchedPath !== 'string') return;
    const dir = resolve(watchedPath);
    if (!traversed.has(dir)) return;
    if (entry) fire(join(dir, entry), `raw:${kind}`);
    else for (const path of relevant) if (dirname(path) === dir) fire(path, `raw:${kind}`);
  });
  watcher.on('error', (err) => opts.logger?.warn({ err: err instanceof Error ? err.message : String(err), gitDir }, 'repository watcher error'));
  await new Promise<void>((ready) => watcher.once('ready', () => ready()));

  let closing: Promise<void> | undefined;
  return {
    close: () => {
      closed = true;
      closing ??= watcher.close();
      return closing;
    },
  };
}
