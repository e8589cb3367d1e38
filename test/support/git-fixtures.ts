/**
 * A real hub for other modules' tests: a bare repository served by git http-backend on
 * 127.0.0.1, plus a native-git "someone else" who pushes to it.
 *
 *   const h = await makeHub({ 'kaidu.yaml': 'branch: main\n' });
 *   const hub = await openHub({ url: h.url, dataDir: join(h.dir, 'agent'), branch: 'main' });
 *   await h.push({ 'services/web.yaml': '...', 'old.yaml': null }, 'add web');
 *   ...
 *   await h.cleanup();
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { HubServer, PushNotice } from '../../src/git/hub-server.js';
import { startTestGitServer } from './git-server.js';

const exec = promisify(execFile);

export interface LogEntry {
  oid: string;
  parents: string[];
  subject: string;
  /** The whole message, trailers included. */
  message: string;
  author: { name: string; email: string };
}

export interface GitFixture {
  server: HubServer;
  /** The hub's smart-HTTP URL. */
  url: string;
  /** Folder of the bare repositories; the hub itself is `gitdir`. */
  root: string;
  /** The bare hub repository on disk (also usable as a local-path hub). */
  gitdir: string;
  /** A temp folder for the test's own files (removed by cleanup). */
  dir: string;
  branch: string;
  pushes: PushNotice[];
  /** Commit `files` (content, or null to delete) with native git and push; the new commit oid. */
  push(files: Record<string, string | null>, message: string): Promise<string>;
  /** The hub branch's tip. */
  tip(): Promise<string>;
  /** The branch's history, newest first. */
  log(): Promise<LogEntry[]>;
  /** A file's content at a revision (default: the tip); undefined if absent. */
  show(path: string, rev?: string): Promise<string | undefined>;
  /** Every file path at a revision (default: the tip), sorted. */
  files(rev?: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

const SEP = '\u001e';
const FIELD = '\u001f';

export async function makeHub(
  files: Record<string, string> = { 'kaidu.yaml': 'branch: main\n' },
  opts: { branch?: string; name?: string; token?: string } = {},
): Promise<GitFixture> {
  const branch = opts.branch ?? 'main';
  const name = opts.name ?? 'hub.git';
  const t = await startTestGitServer(opts.token ? { token: opts.token } : {});
  const url = await t.createRepo(name, files, branch);
  const gitdir = join(t.root, name);
  const auth = opts.token ? ['-c', `http.extraHeader=Authorization: Bearer ${opts.token}`] : [];
  const git = async (cwd: string, ...args: string[]) =>
    (await exec('git', ['-c', 'user.name=Someone Else', '-c', 'user.email=someone@example.invalid', ...auth, ...args], { cwd, maxBuffer: 64 * 1024 * 1024 })).stdout;
  const scratch = join(t.dir, 'native-work');
  let cloned = false;
  // Pushes from one scratch clone, one at a time (a test may fire several without awaiting).
  let queue: Promise<unknown> = Promise.resolve();

  const pushNow = async (changes: Record<string, string | null>, message: string): Promise<string> => {
    if (!cloned) {
      // Over HTTP, like any other client of the hub (so the server reports the push).
      await git(t.dir, 'clone', '-q', '-b', branch, url, scratch);
      cloned = true;
    } else {
      await git(scratch, 'fetch', '-q', 'origin', branch);
      await git(scratch, 'reset', '-q', '--hard', `origin/${branch}`);
    }
    for (const [path, content] of Object.entries(changes)) {
      const file = join(scratch, path);
      if (content === null) await rm(file, { force: true });
      else {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, content);
      }
    }
    await git(scratch, 'add', '-A');
    await git(scratch, 'commit', '-q', '--allow-empty', '-m', message);
    await git(scratch, 'push', '-q', 'origin', `HEAD:refs/heads/${branch}`);
    return (await git(scratch, 'rev-parse', 'HEAD')).trim();
  };

  return {
    server: t.server,
    url,
    root: t.root,
    gitdir,
    dir: t.dir,
    branch,
    pushes: t.pushes,
    push(changes, message) {
      const run = queue.then(() => pushNow(changes, message));
      queue = run.catch(() => undefined);
      return run;
    },
    async tip() {
      return (await git(gitdir, 'rev-parse', `refs/heads/${branch}`)).trim();
    },
    async log() {
      const out = await git(gitdir, 'log', `--format=%H${FIELD}%P${FIELD}%an${FIELD}%ae${FIELD}%B${SEP}`, `refs/heads/${branch}`);
      return out
        .split(SEP)
        .map((r) => r.replace(/^\n/, ''))
        .filter((r) => r.trim())
        .map((r) => {
          const [oid = '', parents = '', an = '', ae = '', message = ''] = r.split(FIELD);
          return { oid, parents: parents.split(' ').filter(Boolean), subject: message.split('\n')[0] ?? '', message, author: { name: an, email: ae } };
        });
    },
    async show(path, rev = `refs/heads/${branch}`) {
      try {
        return await git(gitdir, 'show', `${rev}:${path}`);
      } catch {
        return undefined;
      }
    },
    async files(rev = `refs/heads/${branch}`) {
      return (await git(gitdir, 'ls-tree', '-r', '--name-only', rev)).split('\n').filter(Boolean).sort();
    },
    cleanup: () => t.cleanup(),
  };
}
