import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { KaiduError } from '../errors/kaidu-error.js';
import { openHub } from '../git/index.js';
import { plan as makePlan, type Plan } from '../plan/index.js';
import { fingerprint } from '../state/fingerprint.js';
import { loadRepository, type LoadedRepository } from '../repository/index.js';
import type { SourceReader } from '../tosca/model.js';
import { fsReader, profilesReader } from './fs-reader.js';
import { checkHostOption } from './host-option.js';

export interface PlanSourceOptions {
  /** Repository working tree (or any directory inside a git repository). */
  cwd: string;
  /** With base/head: read templates and state from those git revisions, no checkout. */
  base?: string;
  head?: string;
  host?: string;
  inputs?: Record<string, unknown>;
}

/** The repository root: the nearest folder upwards with kaidu.yaml, else with .git, else cwd. */
export function findRepoRoot(cwd: string): string {
  for (const marker of ['kaidu.yaml', '.git']) {
    let dir = resolve(cwd);
    for (;;) {
      if (existsSync(join(dir, marker))) return dir;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return resolve(cwd);
}

/** The git repository holding `root`, if any (the working tree may be a sub-folder of it). */
function findGitDir(root: string): string | undefined {
  let dir = root;
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** A reader rooted at a sub-folder of another reader (a repository inside a bigger git tree). */
function subReader(reader: SourceReader, prefix: string): SourceReader {
  if (!prefix) return reader;
  const p = (path: string) => (path === '.' || path === '' ? prefix : `${prefix}/${path}`);
  return {
    readFile: async (path) => {
      const f = await reader.readFile(p(path));
      return f ? { ...f, path } : undefined;
    },
    listDir: (path) => reader.listDir(p(path)),
    ...(reader.fileId ? { fileId: (path: string) => reader.fileId!(p(path)) } : {}),
  };
}

export interface RepoView {
  root: string;
  reader: SourceReader;
  /** Commit oid, or `working-tree` outside git. */
  revision: string;
}

/** Templates as they are on disk; the revision is HEAD's commit when in a git repository. */
export async function workingTree(cwd: string): Promise<RepoView> {
  const root = findRepoRoot(cwd);
  const gitRoot = findGitDir(root);
  let revision = 'working-tree';
  if (gitRoot) {
    try {
      const hub = await openHub({ url: gitRoot, dataDir: join(tmpdir(), 'kaidu-cli'), branch: 'HEAD' });
      revision = await hub.resolve('HEAD');
    } catch {
      // A repository with no commit yet: plan the files as they are.
    }
  }
  return { root, reader: fsReader(root), revision };
}

/** Templates and state at a git revision, read from the object store (no checkout). */
export async function atRevision(cwd: string, rev: string): Promise<RepoView> {
  const root = findRepoRoot(cwd);
  const gitRoot = findGitDir(root);
  if (!gitRoot) throw new KaiduError('E_USAGE', `--base/--head need a git repository, and ${root} is not in one`);
  const hub = await openHub({ url: gitRoot, dataDir: join(tmpdir(), 'kaidu-cli'), branch: 'HEAD' });
  const oid = await hub.resolve(rev).catch((err: unknown) => {
    throw new KaiduError('E_USAGE', `unknown revision "${rev}"`, { cause: err });
  });
  const prefix = root === gitRoot ? '' : root.slice(gitRoot.length + 1).split('\\').join('/');
  return { root, reader: subReader(hub.reader(oid), prefix), revision: oid };
}

/** Digest of what a plan was computed from, so a saved plan can tell it is stale. */
export function sourceDigest(repo: LoadedRepository): string {
  return fingerprint({ services: repo.services.map((s) => [s.name, s]), state: repo.state.snapshot, files: repo.fileIds });
}

export interface PlannedRepository {
  plan: Plan;
  repo: LoadedRepository;
  view: RepoView;
}

/**
 * Compiles and plans a repository: the working tree, or (for review) templates at `head` against
 * the state recorded at `base`, which is what merging head into base would do.
 */
export async function planRepository(opts: PlanSourceOptions): Promise<PlannedRepository> {
  const profiles = profilesReader();
  const view = opts.head ? await atRevision(opts.cwd, opts.head) : await workingTree(opts.cwd);
  const repo = await loadRepository(view.reader, { profiles, ...(opts.inputs ? { inputs: opts.inputs } : {}) });
  let baseRevision: string | undefined;
  if (opts.base) {
    const base = await atRevision(opts.cwd, opts.base);
    const baseRepo = await loadRepository(base.reader, { profiles });
    repo.state = baseRepo.state;
    baseRevision = base.revision;
  }
  checkHostOption(opts.host, Object.keys(repo.topology.hosts), repo.diagnostics);
  const plan = makePlan(repo.topology, repo.state.snapshot, {
    revision: view.revision,
    ...(baseRevision ? { baseRevision } : {}),
    ...(opts.host ? { host: opts.host } : {}),
    fileIds: repo.fileIds,
    diagnostics: repo.diagnostics,
    failedServices: repo.failedServices,
    frozen: repo.state.frozen,
  });
  plan.sourceDigest = sourceDigest(repo);
  return { plan, repo, view };
}

/** Compile and plan a repository (used by `kaidu plan` and `kaidu pr-comment`). */
export async function loadPlan(opts: PlanSourceOptions): Promise<Plan> {
  return (await planRepository(opts)).plan;
}
