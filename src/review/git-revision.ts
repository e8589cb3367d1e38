/**
 * The few reads of a local git repository that trigger and notify need (a commit's id and
 * message, one file at a revision), through isomorphic-git so that no git binary is required.
 * Works on a working tree (`dir`) and on a bare repository (`gitdir`, as in a hub's hooks).
 */
import fs from 'node:fs';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { KaiduError } from '../errors/kaidu-error.js';
import { resolveRevisionExpression } from '../git/revision.js';

export interface RepoLocation {
  /** The git directory: `<worktree>/.git`, or the bare repository itself. */
  gitdir: string;
}

/** The repository around `cwd`: `$GIT_DIR` when git set it (hooks), else the nearest `.git` upwards, else `cwd` if it is bare. */
export async function locateRepository(cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RepoLocation> {
  if (env.GIT_DIR) return { gitdir: join(cwd, env.GIT_DIR) };
  try {
    const root = await git.findRoot({ fs, filepath: cwd });
    return { gitdir: join(root, '.git') };
  } catch {
    if (fs.existsSync(join(cwd, 'HEAD')) && fs.existsSync(join(cwd, 'objects'))) return { gitdir: cwd };
    throw new KaiduError('E_GIT_NOT_FOUND', `${cwd} is not in a git repository`);
  }
}

/** A full commit id for git revision syntax: `HEAD~1`, `origin/main`, a tag, a short id, `main^{commit}`. */
export async function resolveRevision(repo: RepoLocation, rev: string): Promise<string> {
  return resolveRevisionExpression(repo.gitdir, rev);
}

export interface CommitSummary {
  id: string;
  treeId: string;
  parent?: string;
  message: string;
  /** ISO 8601. */
  timestamp: string;
  author: { name: string; email: string };
  committer: { name: string; email: string };
}

export async function readCommitSummary(repo: RepoLocation, oid: string): Promise<CommitSummary> {
  const { commit } = await git.readCommit({ fs, gitdir: repo.gitdir, oid });
  const when = (t: { timestamp: number; timezoneOffset: number }) => new Date(t.timestamp * 1000).toISOString();
  return {
    id: oid,
    treeId: commit.tree,
    ...(commit.parent[0] ? { parent: commit.parent[0] } : {}),
    message: commit.message,
    timestamp: when(commit.committer),
    author: { name: commit.author.name, email: commit.author.email },
    committer: { name: commit.committer.name, email: commit.committer.email },
  };
}

/** A file's text at a commit, or undefined when the commit has no such file. */
export async function readFileAtRevision(repo: RepoLocation, oid: string, filepath: string): Promise<string | undefined> {
  try {
    const { blob } = await git.readBlob({ fs, gitdir: repo.gitdir, oid, filepath });
    return Buffer.from(blob).toString('utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'NotFoundError') return undefined;
    throw new KaiduError('E_GIT', `cannot read ${filepath} at ${oid.slice(0, 12)}`, { cause: err });
  }
}
