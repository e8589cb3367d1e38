import { gitFs as fs, registerGitdir } from './git-fs.js';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import type { Logger } from 'pino';
import { KaiduError } from '../errors/kaidu-error.js';
import type { SourceFile, SourceReader } from '../tosca/model.js';
import { basicAuthHeader, resolveCredentials, type GitAuth } from './auth.js';
import { gitError } from './errors.js';
import { splitUrlCredentials } from './remote-url.js';
import { compareAndSwapRef } from './local-ref.js';
import { resolveRevisionExpression } from './revision.js';
import { parseTrailers, withTrailers } from './trailers.js';
import { TreeCache } from './tree.js';
import { firstClone, type ClonedObjects } from './first-clone.js';
import { phaseClock } from './phase-clock.js';
import { ZERO_OID, advertiseReceivePack, httpClient, receivePack, type PushTarget } from './transport.js';

export interface HubOptions {
  /** A smart-HTTP(S) URL, or a local path to a bare or non-bare repository (opened directly). */
  url: string;
  /** The bare mirror of a remote hub lives in `<dataDir>/hub.git` (unused for a local path). */
  dataDir: string;
  /** The branch the hub is about; `HEAD` (local paths only) follows whatever HEAD names. */
  branch: string;
  auth?: GitAuth;
  logger?: Logger;
  /** A network request whose socket stays idle this long fails with E_GIT_UNREACHABLE. Default 30 s. */
  idleTimeoutMs?: number;
}

export interface CommitChange {
  /** Repository path (POSIX, relative) → new content, or null to delete the file. */
  files: Record<string, string | null>;
  message: string;
  author: { name: string; email: string };
  /** Appended as git trailers (`Kaidu-Host: host-a`) in the message's last paragraph. */
  trailers?: Record<string, string>;
}

export interface CommitMessage {
  message: string;
  author: { name: string; email: string; timestamp: number };
  trailers: Record<string, string>;
  parents: string[];
  tree: string;
}

export interface CommitResult {
  /** The new commit; undefined when the change was a no-op (same tree as the tip). */
  oid: string | undefined;
  /** How many rejected pushes were rebuilt on a newer tip before one was accepted. */
  retries: number;
}

/** The one narrow door to git for the agent and the CLI. Never a checkout, never the index. */
export interface Hub {
  /** The git directory read and written: the bare mirror, or the local hub itself. */
  readonly gitdir: string;
  /** Fetch the branch (remote hub: the first call clones) or re-read its ref (local hub); the tip oid. */
  fetch(): Promise<string>;
  /** The tip last fetched or pushed, without the network; undefined before the first fetch. */
  tip(): Promise<string | undefined>;
  /** git revision syntax (a branch, tag, `HEAD`, `origin/main`, a short oid, `~N`, `^N`, `^{commit}`) → commit oid (E_GIT_NOT_FOUND if unknown). */
  resolve(ref: string): Promise<string>;
  /** Paths added, modified or deleted between two commits (`from` undefined: every path), sorted. */
  changedPaths(from: string | undefined, to: string): Promise<string[]>;
  /** Files at a commit, for the compiler (id = blob oid). */
  reader(commit: string): SourceReader;
  /** A file's bytes at a commit; undefined if there is no such file. */
  readBlob(commit: string, path: string): Promise<Uint8Array | undefined>;
  /** A commit's message, author, parents and trailers. */
  commitMessage(commit: string): Promise<CommitMessage>;
  /**
   * Write `files` on top of the branch tip and push. A rejected push (someone pushed first) is
   * rebuilt on the new tip and retried with jittered backoff, at most `maxRetries` times (default
   * 8), then E_GIT_PUSH_REJECTED. No commit when the tree does not change. `branch` writes
   * another branch than the hub's (a host's state branch); a branch that does not exist yet is
   * created with a root commit holding only `files`.
   */
  commitAndPush(change: CommitChange, opts?: { maxRetries?: number; branch?: string }): Promise<CommitResult>;
  /**
   * The hub's branches whose name starts with `prefix` (`kaidu/state/`), name → tip, read in one
   * request. A local repository: its branches, or with `remote` its tracking branches of that
   * remote (`refs/remotes/origin/kaidu/state/…` in a clone).
   */
  listBranches(prefix: string, opts?: { remote?: string }): Promise<Map<string, string>>;
  /**
   * Bring one more branch into the mirror (remote hub) and return its tip, or undefined when the
   * hub has no such branch. `known`: the tip a listing just gave; when the mirror already holds
   * it, nothing travels. A local hub only reads its ref.
   */
  fetchBranch(name: string, known?: string): Promise<string | undefined>;
  /** A branch's tip in the mirror (or the local hub), without the network. */
  branchTip(name: string): Promise<string | undefined>;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Open a hub. A remote hub is mirrored into `<dataDir>/hub.git`: a bare repository whose
 * `refs/heads/<branch>` is the hub's branch as last fetched or pushed (so each fetch tells the
 * server what we have and only new objects travel). Nothing touches the network until `fetch()`,
 * so an agent can start while the hub is down.
 */
export async function openHub(opts: HubOptions): Promise<Hub> {
  const remote = isUrl(opts.url);
  // Credentials written into the URL stay in memory: the mirror's config, logs and errors get the bare URL.
  const { url, credentials: inUrl } = remote ? splitUrlCredentials(opts.url) : { url: opts.url, credentials: undefined };
  const creds = (await resolveCredentials(opts.auth)) ?? inUrl;
  const secrets = creds ? [creds.password, ...(creds.password ? [] : [creds.username]), basicAuthHeader(creds).slice('Basic '.length)].filter((s) => s.length >= 4) : [];
  const cache = {};
  const log = opts.logger;
  const http = httpClient(opts.idleTimeoutMs ?? 30_000);
  const headers: Record<string, string> = creds ? { authorization: basicAuthHeader(creds) } : {};
  const onAuth = creds ? () => ({ username: creds.username, password: creds.password }) : undefined;
  let gitdir: string;
  if (remote) {
    if (opts.branch === 'HEAD') throw new KaiduError('E_USAGE', 'a remote hub needs a branch name, not HEAD');
    gitdir = join(opts.dataDir, 'hub.git');
    try {
      if (!fs.existsSync(join(gitdir, 'HEAD'))) {
        await mkdir(gitdir, { recursive: true });
        await git.init({ fs, gitdir, bare: true, defaultBranch: opts.branch });
      }
      // A mirror from before refs/heads/<branch> was kept: start from its tracking ref.
      const tracking = await git.resolveRef({ fs, gitdir, ref: `refs/remotes/origin/${opts.branch}` }).catch(() => undefined);
      if (tracking && !(await git.resolveRef({ fs, gitdir, ref: `refs/heads/${opts.branch}` }).catch(() => undefined))) {
        await git.writeRef({ fs, gitdir, ref: `refs/heads/${opts.branch}`, value: tracking, force: true });
      }
      // The URL never carries the token (onAuth / header supply it), so the config holds no secret;
      // a mirror written by an older Kaidu may hold one: the URL is replaced and the file made private.
      await git.setConfig({ fs, gitdir, path: 'remote.origin.url', value: url });
      // Every branch maps to a tracking ref: the templates branch and the hosts' state branches are fetched one by one.
      await git.setConfig({ fs, gitdir, path: 'remote.origin.fetch', value: '+refs/heads/*:refs/remotes/origin/*' });
      await chmod(join(gitdir, 'config'), 0o600);
    } catch (err) {
      throw new KaiduError('E_IO', `cannot create the hub mirror in ${gitdir}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    const dotGit = join(opts.url, '.git');
    gitdir = fs.existsSync(dotGit) && fs.statSync(dotGit).isDirectory() ? dotGit : opts.url;
    if (!fs.existsSync(join(gitdir, 'HEAD')) || !fs.existsSync(join(gitdir, 'objects'))) {
      throw new KaiduError('E_GIT_NOT_FOUND', `${opts.url} is not a git repository`, { hint: 'a hub is an http(s) URL or the path of a git repository' });
    }
  }
  registerGitdir(gitdir);
  // Objects a first clone received, until the next fetch: the first pass reads its commit, trees
  // and blobs from here (each blob handed out once: the first pass reads every file once).
  const cloned: ClonedObjects = new Map();
  const trees = new TreeCache(gitdir, cache, cloned);
  const readBlobOnce = async (oid: string): Promise<Uint8Array> => {
    const kept = cloned.get(oid);
    if (kept?.type === 'blob') {
      cloned.delete(oid);
      return kept.data;
    }
    return (await git.readBlob({ fs, gitdir, oid, cache })).blob;
  };
  const branchRef = opts.branch === 'HEAD' ? 'HEAD' : `refs/heads/${opts.branch}`;
  const pushTarget: PushTarget = { http, url, headers };

  const resolve = (ref: string): Promise<string> =>
    resolveRevisionExpression(gitdir, ref, cache, remote ? 'fetch first: only the hub branch is mirrored' : undefined);

  const readRef = async (ref: string): Promise<string | undefined> => {
    try {
      return await git.resolveRef({ fs, gitdir, ref });
    } catch {
      return undefined;
    }
  };
  const readTip = (): Promise<string | undefined> => readRef(branchRef);

  /** A branch's tip after fetching it into the mirror, or undefined when the hub has no such branch (yet). */
  const fetchOrEmpty = async (branch: string = opts.branch): Promise<string | undefined> => {
    const ref = branch === opts.branch ? branchRef : `refs/heads/${branch}`;
    if (!remote) return readRef(ref);
    const started = Date.now();
    if (branch === opts.branch) cloned.clear();
    try {
      // A first fetch: our own upload-pack request and pack indexer (first-clone.ts).
      if (!(await readRef(ref))) {
        const first = await firstClone({ http, url, headers }, gitdir, branch);
        if (first.supported) {
          if (!first.tip) return undefined;
          for (const [oid, o] of first.objects ?? []) cloned.set(oid, o);
          const refsWritten = phaseClock(first.phases);
          await git.writeRef({ fs, gitdir, ref: `refs/remotes/origin/${branch}`, value: first.tip, force: true });
          await git.writeRef({ fs, gitdir, ref, value: first.tip, force: true });
          refsWritten('refs');
          log?.debug({ branch, tip: first.tip, ms: Date.now() - started, phases: first.phases }, 'cloned the hub');
          return first.tip;
        }
      }
      const res = await git.fetch({ fs, http, gitdir, remote: 'origin', url, ref, remoteRef: `refs/heads/${branch}`, singleBranch: true, tags: false, cache, headers, ...(onAuth ? { onAuth } : {}) });
      const oid = res.fetchHead ?? undefined;
      if (!oid) return readRef(ref);
      // Our mirror's branch is the hub's branch: later fetches announce it as a "have".
      await git.writeRef({ fs, gitdir, ref, value: oid, force: true });
      log?.debug({ branch, tip: oid, ms: Date.now() - started }, 'fetched the hub');
      return oid;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'NotFoundError' || code === 'EmptyServerResponseError' || code === 'NoRefspecError') {
        // Distinguish "no such branch" (an empty hub, which a first commit fixes) from other failures.
        const refs = await advertiseReceivePack(pushTarget).catch((e: unknown) => {
          throw gitError(e, `fetching ${branch}`, secrets);
        });
        if (!refs.refs.has(`refs/heads/${branch}`)) return undefined;
      }
      throw gitError(err, `fetching ${branch} from the hub`, secrets);
    }
  };

  const fetchTip = async (): Promise<string> => {
    const tip = await fetchOrEmpty();
    if (!tip) throw new KaiduError('E_GIT_NOT_FOUND', `the hub has no branch "${opts.branch}"`, { hint: 'push a first commit to it (kaidu init creates one)' });
    return tip;
  };

  /** Offer the commit to the hub; false when the hub's branch is no longer `parent`. */
  const publish = async (ref: string, parent: string | undefined, oid: string, objects: string[]): Promise<boolean> => {
    if (!remote) {
      const swap = await compareAndSwapRef(gitdir, ref === 'HEAD' ? await headTarget() : ref, parent, oid);
      if (!swap.ok && swap.reason === 'locked' && (swap.lockAgeMs ?? 0) > 60_000) {
        log?.warn({ ref, lockAgeMs: swap.lockAgeMs }, 'the hub branch has an old lock file; a crashed writer may have left it');
      }
      return swap.ok;
    }
    try {
      const adv = await advertiseReceivePack(pushTarget);
      const current = adv.refs.get(ref);
      if (current !== parent) {
        log?.debug({ ref, hub: current, ours: parent }, 'the hub moved before our push');
        return false;
      }
      const res = await receivePack(pushTarget, gitdir, cache, { ref, oldOid: parent ?? ZERO_OID, newOid: oid, oids: objects }, adv.capabilities);
      if (!res.ok) {
        log?.debug({ ref, reason: res.reason }, 'push rejected');
        return false;
      }
      await git.writeRef({ fs, gitdir, ref, value: oid, force: true });
      return true;
    } catch (err) {
      throw gitError(err, `pushing to ${ref.replace(/^refs\/heads\//, '')} on the hub`, secrets);
    }
  };

  /** For a local hub opened with branch HEAD: the branch HEAD names (a detached HEAD is itself). */
  const headTarget = async (): Promise<string> => {
    try {
      return await git.resolveRef({ fs, gitdir, ref: 'HEAD', depth: 2 });
    } catch {
      return 'HEAD';
    }
  };

  const lookupBlob = async (commit: string, path: string) => {
    const entry = await trees.lookup(await trees.rootTree(commit), path);
    return entry?.type === 'blob' ? entry : undefined;
  };

  const wrapRead = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw gitError(err, what, secrets);
    }
  };

  const hub: Hub = {
    gitdir,
    fetch: fetchTip,
    tip: readTip,
    resolve,
    changedPaths: (from, to) =>
      wrapRead(`comparing ${from?.slice(0, 10) ?? 'nothing'} with ${to.slice(0, 10)}`, async () => {
        const a = from ? await trees.rootTree(from) : undefined;
        return trees.diff(a, await trees.rootTree(to));
      }),
    reader(commit) {
      let root: Promise<string> | undefined;
      const rootTree = () => (root ??= trees.rootTree(commit));
      rootTree().catch(() => undefined); // start early; errors surface on use
      return {
        readFile: (path) =>
          wrapRead(`reading ${path} at ${commit.slice(0, 10)}`, async (): Promise<SourceFile | undefined> => {
            const entry = await trees.lookup(await rootTree(), path);
            if (!entry || entry.type !== 'blob') return undefined;
            const blob = await readBlobOnce(entry.oid);
            const text = (Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength)).toString('utf8');
            return { path, text, id: entry.oid };
          }),
        listDir: (path) =>
          wrapRead(`listing ${path || '/'} at ${commit.slice(0, 10)}`, async () => {
            const entry = await trees.lookup(await rootTree(), path);
            if (!entry || entry.type !== 'tree') return [];
            return (await trees.entries(entry.oid))
              .filter((e) => e.type !== 'commit')
              .map((e) => ({ name: e.path, kind: e.type === 'tree' ? ('dir' as const) : ('file' as const) }));
          }),
        isSymlink: (path) => wrapRead(`looking up ${path} at ${commit.slice(0, 10)}`, async () => (await trees.linkOnPath(await rootTree(), path)) !== undefined),
        fileId: (path) =>
          wrapRead(`looking up ${path} at ${commit.slice(0, 10)}`, async () => {
            const entry = await trees.lookup(await rootTree(), path);
            return entry?.type === 'blob' ? entry.oid : undefined;
          }),
      };
    },
    readBlob: (commit, path) =>
      wrapRead(`reading ${path} at ${commit.slice(0, 10)}`, async () => {
        const link = await trees.linkOnPath(await trees.rootTree(commit), path);
        if (link) throw symlinkRefused(path, link, commit);
        const entry = await lookupBlob(commit, path);
        return entry ? await readBlobOnce(entry.oid) : undefined;
      }),
    commitMessage: (commit) =>
      wrapRead(`reading commit ${commit.slice(0, 10)}`, async () => {
        const { commit: c } = await git.readCommit({ fs, gitdir, oid: commit, cache });
        return {
          message: c.message,
          author: { name: c.author.name, email: c.author.email, timestamp: c.author.timestamp },
          trailers: parseTrailers(c.message),
          parents: c.parent,
          tree: c.tree,
        };
      }),
    async commitAndPush(change, o = {}) {
      const maxRetries = o.maxRetries ?? 8;
      const branch = o.branch ?? opts.branch;
      if (o.branch !== undefined) checkBranchName(o.branch);
      const ref = branch === opts.branch ? branchRef : `refs/heads/${branch}`;
      const changes = new Map(Object.entries(change.files).map(([p, c]) => [normalizePath(p), c] as const));
      const message = withTrailers(change.message, change.trailers);
      for (let attempt = 0; ; attempt++) {
        // First try on the tip we already know (the agent has just fetched); after a rejection, fetch.
        const parent = attempt === 0 ? ((await readRef(ref)) ?? (await fetchOrEmpty(branch))) : await fetchOrEmpty(branch);
        const parentTree = parent ? await wrapRead('reading the tip', () => trees.rootTree(parent)) : undefined;
        const written: string[] = [];
        let tree = await wrapRead('writing the change', () => trees.update(parentTree, changes, written));
        if (tree === parentTree && parentTree !== undefined) return { oid: undefined, retries: attempt };
        if (tree === undefined) {
          tree = await git.writeTree({ fs, gitdir, tree: [] });
          written.push(tree);
        }
        const now = Math.floor(Date.now() / 1000);
        const who = { name: change.author.name, email: change.author.email, timestamp: now, timezoneOffset: 0 };
        const oid = await git.writeCommit({ fs, gitdir, commit: { message, tree, parent: parent ? [parent] : [], author: who, committer: who } });
        written.push(oid);
        const started = Date.now();
        if (await publish(ref, parent, oid, written)) {
          log?.debug({ branch, oid, parent, objects: written.length, retries: attempt, ms: Date.now() - started }, 'pushed');
          return { oid, retries: attempt };
        }
        if (attempt >= maxRetries) {
          throw new KaiduError('E_GIT_PUSH_REJECTED', `the hub rejected the push ${attempt + 1} times: the branch ${branch} kept moving`, {
            hint: 'the agent keeps the change (in its journal) and pushes it again after a backoff delay',
            details: { attempts: attempt + 1 },
          });
        }
        log?.info({ attempt: attempt + 1 }, 'push rejected: rebuilding the change on the new tip');
        // Jittered exponential backoff so writers that collided do not collide again in step.
        await sleep(Math.min(2000, 25 * 2 ** attempt) * (0.5 + Math.random()));
      }
    },
    async listBranches(prefix, o = {}) {
      if (!remote || o.remote) {
        const names = await wrapRead('listing branches', () => git.listBranches({ fs, gitdir, ...(o.remote ? { remote: o.remote } : {}) }));
        const out = new Map<string, string>();
        for (const name of names) {
          if (!name.startsWith(prefix) || name.endsWith('.lock')) continue;
          const oid = await readRef(o.remote ? `refs/remotes/${o.remote}/${name}` : `refs/heads/${name}`);
          if (oid) out.set(name, oid);
        }
        return out;
      }
      try {
        // Protocol v1: one GET of info/refs, which every smart-HTTP server (forges, http-backend) answers.
        const refs = await git.listServerRefs({ http, url, headers, protocolVersion: 1, prefix: `refs/heads/${prefix}`, ...(onAuth ? { onAuth } : {}) });
        const listed = new Map(refs.filter((r) => r.ref.startsWith(`refs/heads/${prefix}`)).map((r) => [r.ref.slice('refs/heads/'.length), r.oid]));
        // The mirror forgets a branch the hub no longer has: a write must not take its old tip for the hub's.
        for (const name of await git.listBranches({ fs, gitdir })) {
          if (name.startsWith(prefix) && !listed.has(name) && name !== opts.branch) await git.deleteRef({ fs, gitdir, ref: `refs/heads/${name}` });
        }
        return listed;
      } catch (err) {
        throw gitError(err, `listing the branches ${prefix}* on the hub`, secrets);
      }
    },
    async fetchBranch(name, known) {
      checkBranchName(name);
      const ref = `refs/heads/${name}`;
      if (!remote) return readRef(ref);
      if (known !== undefined && (await readRef(ref)) === known) return known;
      return fetchOrEmpty(name);
    },
    branchTip: (name) => readRef(name === opts.branch ? branchRef : `refs/heads/${name}`),
  };
  return hub;
}

/** A branch name that stays a path below refs/heads (no climbing out, no lock files). */
function checkBranchName(name: string): void {
  if (!name || name.endsWith('.') || name.includes('..') || name.includes('@{') || name.split('/').some((part) => part === '' || part.endsWith('.lock') || part.startsWith('.')) || /[\x00-\x20\x7f~^:?*[\\]/.test(name)) {
    throw new KaiduError('E_GIT', `"${name}" is not a branch name git accepts`);
  }
}

function normalizePath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..' || p === '.git')) {
    throw new KaiduError('E_GIT', `cannot commit the path "${path}": it must be a relative path inside the repository`);
  }
  return parts.join('/');
}

/** An artifact that is a symbolic link (or lies in a linked folder): refused, never followed. */
function symlinkRefused(path: string, link: string, commit: string): KaiduError {
  return new KaiduError('E_REPO_SYMLINK', `${path} is ${link === path ? 'a symbolic link' : `in ${link}, a symbolic link,`} at ${commit.slice(0, 10)}: Kaidu does not follow links in the repository`, {
    hint: 'commit the file itself instead of a link to it',
  });
}
