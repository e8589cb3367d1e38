import * as fs from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import type { Logger } from 'pino';
import { KaiduError } from '../errors/kaidu-error.js';
import type { SourceFile, SourceReader } from '../tosca/model.js';
import { gitError } from './errors.js';
import { parseTrailers, withTrailers } from './trailers.js';
import { TreeCache } from './tree.js';

export interface GitAuth {
  token?: string;
  /** Name of an environment variable holding the token. */
  tokenEnv?: string;
  /** A file holding the token. */
  tokenFile?: string;
  username?: string;
}

export interface HubOptions {
  /** A smart-HTTP(S) URL, or a local path to a bare or non-bare repository (opened directly). */
  url: string;
  /** The bare mirror of a remote hub lives in `<dataDir>/hub.git`. */
  dataDir: string;
  branch: string;
  auth?: GitAuth;
  logger?: Logger;
}

export interface CommitChange {
  /** Repository path → new content, or null to delete the file. */
  files: Record<string, string | null>;
  message: string;
  author: { name: string; email: string };
  trailers?: Record<string, string>;
}

export interface CommitInfo {
  message: string;
  author: { name: string; email: string; timestamp: number };
  trailers: Record<string, string>;
  parents: string[];
  tree: string;
}

/** The one narrow door to git for the agent and the CLI. Never a checkout, never the index. */
export interface Hub {
  readonly gitdir: string;
  /** Fetch the branch (remote hub) or re-read its ref (local hub); the tip oid. */
  fetch(): Promise<string>;
  /** The tip last fetched, without the network. */
  tip(): Promise<string | undefined>;
  /** A branch, tag, `HEAD`, full or abbreviated oid → commit oid. */
  resolve(ref: string): Promise<string>;
  /** Paths added, modified or deleted between two commits (`from` undefined: every path). */
  changedPaths(from: string | undefined, to: string): Promise<string[]>;
  /** Files at a commit, for the compiler (id = blob oid). */
  reader(commit: string): SourceReader;
  readBlob(commit: string, path: string): Promise<Uint8Array | undefined>;
  commitInfo(commit: string): Promise<CommitInfo>;
  /**
   * Write `files` on top of the branch tip and push. A rejected push (someone pushed first) is
   * retried on the new tip with jittered backoff. No commit when nothing changes.
   */
  commitAndPush(change: CommitChange, opts?: { maxRetries?: number }): Promise<{ oid: string | undefined; retries: number }>;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

async function tokenOf(auth: GitAuth | undefined): Promise<string | undefined> {
  if (!auth) return undefined;
  if (auth.token) return auth.token;
  if (auth.tokenEnv) {
    const t = process.env[auth.tokenEnv];
    if (!t) throw new KaiduError('E_GIT_AUTH', `the environment variable ${auth.tokenEnv} (git token) is empty or unset`);
    return t;
  }
  if (auth.tokenFile) {
    try {
      return (await readFile(auth.tokenFile, 'utf8')).trim();
    } catch (err) {
      throw new KaiduError('E_GIT_AUTH', `cannot read the git token file ${auth.tokenFile}: ${(err as Error).message}`);
    }
  }
  return undefined;
}

export async function openHub(opts: HubOptions): Promise<Hub> {
  const token = await tokenOf(opts.auth);
  const secrets = token ? [token] : [];
  const cache = {};
  const remote = isUrl(opts.url);
  let gitdir: string;
  if (remote) {
    gitdir = join(opts.dataDir, 'hub.git');
    if (!fs.existsSync(join(gitdir, 'HEAD'))) {
      await mkdir(gitdir, { recursive: true });
      await git.init({ fs, gitdir, bare: true, defaultBranch: opts.branch });
    }
    await git.setConfig({ fs, gitdir, path: 'remote.origin.url', value: opts.url });
    await git.setConfig({ fs, gitdir, path: 'remote.origin.fetch', value: `+refs/heads/${opts.branch}:refs/remotes/origin/${opts.branch}` });
  } else {
    const dotGit = join(opts.url, '.git');
    gitdir = fs.existsSync(dotGit) && fs.statSync(dotGit).isDirectory() ? dotGit : opts.url;
    if (!fs.existsSync(join(gitdir, 'HEAD'))) throw new KaiduError('E_GIT_NOT_FOUND', `${opts.url} is not a git repository`);
  }
  const trees = new TreeCache(gitdir, cache);
  const onAuth = token ? () => ({ username: opts.auth?.username ?? 'x-access-token', password: token }) : undefined;
  const branchRef = opts.branch === 'HEAD' ? 'HEAD' : `refs/heads/${opts.branch}`;
  const trackingRef = remote ? `refs/remotes/origin/${opts.branch}` : branchRef;

  const resolve = async (ref: string): Promise<string> => {
    for (const candidate of [ref, `refs/remotes/origin/${ref}`]) {
      try {
        return await git.resolveRef({ fs, gitdir, ref: candidate });
      } catch {
        // next
      }
    }
    try {
      return await git.expandOid({ fs, gitdir, oid: ref, cache });
    } catch {
      throw new KaiduError('E_GIT_NOT_FOUND', `unknown revision "${ref}"`);
    }
  };

  const fetchTip = async (): Promise<string> => {
    if (!remote) return resolve(branchRef);
    try {
      const res = await git.fetch({ fs, http, gitdir, remote: 'origin', url: opts.url, ref: opts.branch, singleBranch: true, tags: false, cache, ...(onAuth ? { onAuth } : {}) });
      if (res.fetchHead) {
        await git.writeRef({ fs, gitdir, ref: trackingRef, value: res.fetchHead, force: true });
        return res.fetchHead;
      }
      return resolve(trackingRef);
    } catch (err) {
      throw gitError(err, `fetching ${opts.branch}`, secrets);
    }
  };

  /** Local hub: move the branch with git's own lock-file protocol, only if it still points at `expected`. */
  const compareAndSwap = async (expected: string, next: string): Promise<boolean> => {
    const refPath = join(gitdir, ...branchRef.split('/'));
    const lock = `${refPath}.lock`;
    await mkdir(join(refPath, '..'), { recursive: true });
    let handle;
    try {
      handle = await open(lock, 'wx');
    } catch {
      return false; // someone else is updating it: treat as a rejected push
    }
    try {
      const current = await resolve(branchRef).catch(() => undefined);
      if (current !== expected) return false;
      await handle.writeFile(`${next}\n`);
      await handle.sync();
      await handle.close();
      handle = undefined;
      await rename(lock, refPath);
      return true;
    } finally {
      if (handle) await handle.close();
      await rm(lock, { force: true });
    }
  };

  const hub: Hub = {
    gitdir,
    fetch: fetchTip,
    async tip() {
      try {
        return await git.resolveRef({ fs, gitdir, ref: trackingRef });
      } catch {
        return undefined;
      }
    },
    resolve,
    async changedPaths(from, to) {
      const a = from ? await trees.rootTree(from) : undefined;
      return trees.diff(a, await trees.rootTree(to));
    },
    reader(commit) {
      let root: Promise<string> | undefined;
      const rootTree = () => (root ??= trees.rootTree(commit));
      return {
        async readFile(path): Promise<SourceFile | undefined> {
          const entry = await trees.lookup(await rootTree(), path);
          if (!entry || entry.type !== 'blob') return undefined;
          const { blob } = await git.readBlob({ fs, gitdir, oid: entry.oid, cache });
          return { path, text: Buffer.from(blob).toString('utf8'), id: entry.oid };
        },
        async listDir(path) {
          const entry = await trees.lookup(await rootTree(), path);
          if (!entry || entry.type !== 'tree') return [];
          return (await trees.entries(entry.oid)).filter((e) => e.type !== 'commit').map((e) => ({ name: e.path, kind: e.type === 'tree' ? ('dir' as const) : ('file' as const) }));
        },
        async fileId(path) {
          const entry = await trees.lookup(await rootTree(), path);
          return entry?.type === 'blob' ? entry.oid : undefined;
        },
      };
    },
    async readBlob(commit, path) {
      const entry = await trees.lookup(await trees.rootTree(commit), path);
      if (!entry || entry.type !== 'blob') return undefined;
      return (await git.readBlob({ fs, gitdir, oid: entry.oid, cache })).blob;
    },
    async commitInfo(commit) {
      const { commit: c } = await git.readCommit({ fs, gitdir, oid: commit, cache });
      return { message: c.message, author: { name: c.author.name, email: c.author.email, timestamp: c.author.timestamp }, trailers: parseTrailers(c.message), parents: c.parent, tree: c.tree };
    },
    async commitAndPush(change, o = {}) {
      const maxRetries = o.maxRetries ?? 5;
      const changes = new Map(Object.entries(change.files));
      for (let attempt = 0; ; attempt++) {
        const parent = await (attempt === 0 ? hub.tip().then((t) => t ?? fetchTip()) : fetchTip());
        const parentTree = await trees.rootTree(parent);
        const tree = (await trees.update(parentTree, changes)) ?? (await git.writeTree({ fs, gitdir, tree: [] }));
        if (tree === parentTree) return { oid: undefined, retries: attempt };
        const now = Math.floor(Date.now() / 1000);
        const who = { name: change.author.name, email: change.author.email, timestamp: now, timezoneOffset: 0 };
        const oid = await git.writeCommit({ fs, gitdir, commit: { message: withTrailers(change.message, change.trailers), tree, parent: [parent], author: who, committer: who } });
        let accepted: boolean;
        if (remote) {
          await git.writeRef({ fs, gitdir, ref: 'refs/heads/kaidu-push', value: oid, force: true });
          try {
            const res = await git.push({ fs, http, gitdir, url: opts.url, ref: 'refs/heads/kaidu-push', remoteRef: `refs/heads/${opts.branch}`, cache, ...(onAuth ? { onAuth } : {}) });
            accepted = res.ok;
            if (!accepted) opts.logger?.debug({ error: res.error }, 'push not accepted');
          } catch (err) {
            const code = (err as { code?: string }).code;
            if (code !== 'PushRejectedError' && code !== 'GitPushError') throw gitError(err, `pushing to ${opts.branch}`, secrets);
            accepted = false;
          }
          if (accepted) await git.writeRef({ fs, gitdir, ref: trackingRef, value: oid, force: true });
        } else {
          accepted = await compareAndSwap(parent, oid);
        }
        if (accepted) return { oid, retries: attempt };
        if (attempt >= maxRetries) {
          throw new KaiduError('E_GIT_PUSH_REJECTED', `the hub rejected the push ${attempt + 1} times (the branch keeps moving)`, { hint: 'the state is kept in the journal and pushed with the next event' });
        }
        opts.logger?.info({ attempt: attempt + 1 }, 'push rejected: rebuilding on the new tip');
        // Jittered backoff so agents that collided do not collide again in step.
        const delay = Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random());
        await new Promise((r) => setTimeout(r, delay));
      }
    },
  };
  return hub;
}
