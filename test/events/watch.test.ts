import { execFile } from 'node:child_process';
import { mkdtemp, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { isKaiduError } from '../../src/errors/kaidu-error.js';
import { PassQueue, resolveGitDirs, watchRepository, type RepoEvent, type RepositoryWatch } from '../../src/events/index.js';

const exec = promisify(execFile);
const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.invalid' };

let dirs: string[] = [];
let watches: RepositoryWatch[] = [];
afterEach(async () => {
  await Promise.all(watches.map((w) => w.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  watches = [];
  dirs = [];
});

async function tempDir(): Promise<string> {
  const d = await realpath(await mkdtemp(join(tmpdir(), 'kaidu-watch-')));
  dirs.push(d);
  return d;
}

function gitIn(cwd: string) {
  return async (...args: string[]) => (await exec('git', args, { cwd, env: GIT_ENV })).stdout.trim();
}

async function workingRepo(branch = 'main') {
  const dir = await tempDir();
  const git = gitIn(dir);
  await git('init', '-q', '-b', branch);
  await git('commit', '-q', '--allow-empty', '-m', 'one');
  return { dir, git };
}

async function watch(path: string, branch: string, onEvent: (e: RepoEvent) => void) {
  const w = await watchRepository({ path, branch, onEvent });
  watches.push(w);
  return w;
}

/** Resolves when `accept` first returns true for a value, whether already seen or yet to come. */
function observer<T>() {
  const seen: T[] = [];
  const waiters: Array<{ accept: (v: T) => boolean; resolve: () => void }> = [];
  return {
    seen,
    add(v: T) {
      seen.push(v);
      for (const w of [...waiters]) if (w.accept(v)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
    },
    until(accept: (v: T) => boolean, what: string, ms = 15_000): Promise<void> {
      if (seen.some(accept)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; seen: ${JSON.stringify(seen)}`)), ms);
        waiters.push({ accept, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

const fsWatchHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;

/** libuv releases a closed handle on a later turn of the loop: give it a moment. */
async function handlesSettleAt(expected: number): Promise<number> {
  for (let i = 0; i < 100 && fsWatchHandles() !== expected; i++) await new Promise((r) => setTimeout(r, 10));
  return fsWatchHandles();
}

describe('watchRepository', () => {
  it('branch folders: a state branch created (its folders did not exist) and moved is an event naming its ref', async () => {
    const { dir, git } = await workingRepo();
    const events = observer<RepoEvent>();
    const w = await watchRepository({ path: dir, branch: 'main', branchFolders: ['kaidu/state'], onEvent: (e) => events.add(e) });
    watches.push(w);
    const head = await git('rev-parse', 'HEAD');
    await git('update-ref', 'refs/heads/kaidu/state/host-b', head);
    await events.until((e) => e.ref === 'refs/heads/kaidu/state/host-b', 'the new state branch');
    await git('commit', '-q', '--allow-empty', '-m', 'two');
    const two = await git('rev-parse', 'HEAD');
    await git('update-ref', 'refs/heads/kaidu/state/host-c', two);
    await events.until((e) => e.ref === 'refs/heads/kaidu/state/host-c', 'a second state branch');
    expect(events.seen.every((e) => e.ref === 'refs/heads/main' || e.ref!.startsWith('refs/heads/kaidu/state/'))).toBe(true);
    expect(events.seen.some((e) => e.ref!.endsWith('.lock'))).toBe(false);
  });

  it('two quick commits: after the events settle, re-reading the ref gives the last commit', async () => {
    const { dir, git } = await workingRepo();
    const reads = observer<string>();
    const events: RepoEvent[] = [];
    // The consumer's contract: every event only means "look again"; each pass re-reads the ref.
    const queue = new PassQueue(async () => reads.add(await git('rev-parse', 'refs/heads/main')));
    await watch(dir, 'main', (e) => {
      events.push(e);
      queue.push(e);
    });
    await git('commit', '-q', '--allow-empty', '-m', 'two');
    await git('commit', '-q', '--allow-empty', '-m', 'three');
    const last = await git('rev-parse', 'HEAD');
    await reads.until((v) => v === last, 'a pass that reads the last commit');
    await queue.idle();
    expect(reads.seen.at(-1)).toBe(last);
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]).toMatchObject({ source: 'watch', ref: 'refs/heads/main' });
    expect(events.every((e) => e.detail?.path === join(dir, '.git', 'refs', 'heads', 'main'))).toBe(true);
    await queue.close();
  });

  it('a rapid series of ref updates: an event still comes after the last one (no trailing change is lost)', async () => {
    const { dir, git } = await workingRepo();
    const commits: string[] = [];
    let parent = await git('rev-parse', 'HEAD');
    const tree = await git('rev-parse', 'HEAD^{tree}');
    for (let i = 0; i < 15; i++) commits.push((parent = await git('commit-tree', tree, '-p', parent, '-m', `c${i}`)));
    const refFile = join(dir, '.git', 'refs', 'heads', 'main');
    const reads = observer<string>();
    // Read at the moment of each event: only an event after the last write can see the last commit.
    await watch(dir, 'main', () => void readFile(refFile, 'utf8').then((v) => reads.add(v.trim()), () => undefined));
    // As git writes a ref (a lockfile renamed over it), far faster than chokidar's 50 ms throttle.
    for (const c of commits) {
      await writeFile(`${refFile}.lock`, `${c}\n`);
      await rename(`${refFile}.lock`, refFile);
    }
    await reads.until((v) => v === commits.at(-1), 'an event after the last update');
  });

  it('a bare repository: packed refs, a loose ref written again, and a branch with a slash created later', async () => {
    const dir = await tempDir();
    const git = gitIn(dir);
    await git('init', '-q', '--bare', '-b', 'main');
    const tree = await git('hash-object', '-t', 'tree', '-w', '/dev/null');
    const c1 = await git('commit-tree', tree, '-m', 'one');
    await git('update-ref', 'refs/heads/main', c1);
    expect(resolveGitDirs(dir)).toEqual({ gitDir: dir, commonDir: dir });

    const events = observer<string>();
    await watch(dir, 'main', (e) => events.add(String(e.detail?.path)));
    await git('pack-refs', '--all');
    await events.until((p) => p === join(dir, 'packed-refs'), 'packed-refs');
    const c2 = await git('commit-tree', tree, '-p', c1, '-m', 'two');
    await git('update-ref', 'refs/heads/main', c2);
    await events.until((p) => p === join(dir, 'refs', 'heads', 'main'), 'the loose ref written again');

    const nested = observer<RepoEvent>();
    await watch(dir, 'env/prod', (e) => nested.add(e));
    await git('update-ref', 'refs/heads/env/prod', c2);
    await nested.until((e) => e.detail?.path === join(dir, 'refs', 'heads', 'env', 'prod'), 'refs/heads/env/prod');
    expect(nested.seen[0]).toMatchObject({ source: 'watch', ref: 'refs/heads/env/prod' });
    expect(await git('rev-parse', 'env/prod')).toBe(c2);
  });

  it('HEAD moving is reported; tags and the index are not', async () => {
    const { dir, git } = await workingRepo();
    const events = observer<string>();
    await watch(dir, 'main', (e) => events.add(String(e.detail?.path)));
    await writeFile(join(dir, 'file.txt'), 'x');
    await git('add', 'file.txt');
    await git('tag', 'v1');
    await git('checkout', '-q', '-b', 'other');
    await events.until((p) => p === join(dir, '.git', 'HEAD'), 'HEAD');
    expect(new Set(events.seen)).toEqual(new Set([join(dir, '.git', 'HEAD')]));
  });

  it('a linked worktree: HEAD from its own git dir, refs from the shared one', async () => {
    const { dir, git } = await workingRepo();
    const wt = join(await tempDir(), 'wt');
    await git('worktree', 'add', '-q', '-b', 'side', wt);
    const dirs = resolveGitDirs(wt);
    expect(dirs).toEqual({ gitDir: join(dir, '.git', 'worktrees', 'wt'), commonDir: join(dir, '.git') });
    const events = observer<string>();
    await watch(wt, 'main', (e) => events.add(String(e.detail?.path)));
    await git('commit', '-q', '--allow-empty', '-m', 'two');
    await events.until((p) => p === join(dir, '.git', 'refs', 'heads', 'main'), 'main moved in the main worktree');
  });

  it('refuses a path that is not a git repository', async () => {
    const dir = await tempDir();
    const err = await watchRepository({ path: dir, branch: 'main', onEvent: () => undefined }).catch((e: unknown) => e);
    expect(isKaiduError(err, 'E_GIT_NOT_FOUND')).toBe(true);
  });

  it('refuses a branch name that would leave refs/heads', async () => {
    const { dir } = await workingRepo();
    for (const branch of ['', '../../config', 'a//b', 'main.lock']) {
      const err = await watchRepository({ path: dir, branch, onEvent: () => undefined }).catch((e: unknown) => e);
      expect(isKaiduError(err, 'E_CONFIG'), branch).toBe(true);
    }
  });

  it('close() releases every file handle and nothing is emitted afterwards', async () => {
    const { dir, git } = await workingRepo();
    const before = fsWatchHandles();
    const events = observer<RepoEvent>();
    const w = await watchRepository({ path: dir, branch: 'main', onEvent: (e) => events.add(e) });
    expect(fsWatchHandles()).toBeGreaterThan(before);
    await git('commit', '-q', '--allow-empty', '-m', 'two');
    await events.until(() => true, 'an event');
    await w.close();
    await w.close(); // idempotent
    expect(await handlesSettleAt(before)).toBe(before);
    const count = events.seen.length;
    await git('commit', '-q', '--allow-empty', '-m', 'three');
    await new Promise((r) => setTimeout(r, 300));
    expect(events.seen).toHaveLength(count);
  });
});
