import { constants, existsSync } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { homedir, tmpdir } from 'node:os';
import { KaiduError } from '../errors/kaidu-error.js';
import { headCommit, mayHaveStateBranches } from '../git/head-commit.js';
import type { Hub } from '../git/index.js';
import type { Plan } from '../plan/model.js';
import { sourceDigest } from './source-digest.js';
import type { LoadedRepository } from '../repository/index.js';
import type { FleetState } from '../state/fleet-state.js';
import { BlobIdIndex } from './blob-ids.js';
import { compilerBuildId, DiskCompileStore, DiskStateStore } from './compile-store.js';
import { pruneIfDue } from './cache-prune.js';
import type { SourceReader } from '../tosca/model.js';
import type { ServicePlansInput, ServicePlanStats } from './service-plans.js';
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
  /** Keep compile results and blob ids between runs (default true; `--no-cache` turns it off). */
  cache?: boolean;
  /** Compute `sourceDigest` (only a saved plan, or one compared with a saved plan, needs it). */
  digest?: boolean;
  env?: NodeJS.ProcessEnv;
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
  /** The working tree's blob-id index, saved after the run. */
  index?: BlobIdIndex;
  /** Commit oid, or `working-tree` outside git. */
  revision: string;
  /** The git repository the folder is in (its hosts' state branches are read from it). */
  git?: Hub;
}

/** The fleet's state through the repository's state branches (the git stack is loaded only here). */
async function fleetReader(hub: Hub, templates: SourceReader): Promise<(stateDir: string) => Promise<FleetState>> {
  const { fleetStateReader } = await import('./fleet-source.js');
  return fleetStateReader({ hub, remote: false }, templates);
}

/** Templates as they are on disk; the revision is HEAD's commit when in a git repository. */
export async function workingTree(cwd: string, cacheDir?: string): Promise<RepoView> {
  const root = findRepoRoot(cwd);
  const gitRoot = findGitDir(root);
  let revision = 'working-tree';
  let git: Hub | undefined;
  if (gitRoot) {
    const head = await headCommit(gitRoot);
    if (head && 'oid' in head) revision = head.oid;
    // The git library is loaded only when git's files do not tell HEAD, or for hosts' state branches.
    if (!head || (await mayHaveStateBranches(gitRoot))) {
      try {
        const { openHub } = await import('../git/index.js');
        git = await openHub({ url: gitRoot, dataDir: join(tmpdir(), 'kaidu-cli'), branch: 'HEAD' });
        if (!head) revision = await git.resolve('HEAD');
      } catch {
        // A repository with no commit yet: plan the files as they are.
      }
    }
  }
  const index = cacheDir ? await BlobIdIndex.open(root, join(cacheDir, 'blob-ids')) : undefined;
  return { root, reader: fsReader(root, index ? { index } : {}), revision, ...(index ? { index } : {}), ...(git ? { git } : {}) };
}

/** Templates and state at a git revision, read from the object store (no checkout). */
export async function atRevision(cwd: string, rev: string): Promise<RepoView> {
  const root = findRepoRoot(cwd);
  const gitRoot = findGitDir(root);
  if (!gitRoot) throw new KaiduError('E_USAGE', `--base/--head need a git repository, and ${root} is not in one`);
  const { openHub } = await import('../git/index.js');
  const hub = await openHub({ url: gitRoot, dataDir: join(tmpdir(), 'kaidu-cli'), branch: 'HEAD' });
  const oid = await hub.resolve(rev).catch((err: unknown) => {
    throw new KaiduError('E_USAGE', `unknown revision "${rev}"`, { cause: err });
  });
  const prefix = root === gitRoot ? '' : root.slice(gitRoot.length + 1).split('\\').join('/');
  return { root, reader: subReader(hub.reader(oid), prefix), revision: oid, git: hub };
}

/**
 * Where compile results and blob ids are kept: `$KAIDU_CACHE_DIR`, else `.kaidu/cache` in the
 * repository (git-ignored), else, when that cannot be written, `$XDG_CACHE_HOME/kaidu`.
 */
export async function cacheDirFor(root: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.KAIDU_CACHE_DIR) return resolve(env.KAIDU_CACHE_DIR);
  const inRepo = join(root, '.kaidu', 'cache');
  try {
    await mkdir(inRepo, { recursive: true });
    await access(inRepo, constants.W_OK);
    // Kept out of `git status` even in a repository whose .gitignore does not name .kaidu/.
    await writeFile(join(inRepo, '.gitignore'), '*\n', { flag: 'wx' }).catch(() => undefined);
    return inRepo;
  } catch {
    return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kaidu');
  }
}

/** Remembers the id of every file a load reads or looks up: what a plan was computed from. */
function recordingIds(reader: SourceReader, seen: Map<string, string | null>): SourceReader {
  return {
    readFile: async (path) => {
      const f = await reader.readFile(path);
      seen.set(path, f?.id ?? null);
      return f;
    },
    listDir: (path) => reader.listDir(path),
    fileId: async (path) => {
      const id = reader.fileId ? await reader.fileId(path) : (await reader.readFile(path))?.id;
      seen.set(path, id ?? null);
      return id;
    },
  };
}

export { sourceDigest };

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
  return planFrom(opts, await prepare(opts));
}

interface Prepared {
  store?: DiskCompileStore;
  stateStore?: DiskStateStore;
  cacheDir?: string;
  view: RepoView;
}

async function prepare(opts: PlanSourceOptions): Promise<Prepared> {
  const cacheDir = opts.cache === false ? undefined : await cacheDirFor(findRepoRoot(opts.cwd), opts.env);
  const store = cacheDir ? new DiskCompileStore(cacheDir) : undefined;
  const stateStore = cacheDir ? new DiskStateStore(cacheDir) : undefined;
  const view = opts.head ? await atRevision(opts.cwd, opts.head) : await workingTree(opts.cwd, cacheDir);
  return { view, ...(cacheDir ? { cacheDir } : {}), ...(store ? { store } : {}), ...(stateStore ? { stateStore } : {}) };
}

/**
 * The plan alone (`kaidu plan`, `pr-comment`): service by service through the cache
 * (service-plans.ts), for a working tree or `--head`, with the state in the templates, on the
 * hosts' state branches or at `--base`; with `changesOnly`, the plan's waves hold only the actions
 * that change something (text output). What the per-service planner does not model is planned
 * whole (`planFrom`).
 */
export async function loadPlan(opts: PlanSourceOptions & { changesOnly?: boolean; onStats?: (stats: ServicePlanStats) => void }): Promise<Plan> {
  const prepared = await prepare(opts);
  const { view, store, stateStore, cacheDir } = prepared;
  if (cacheDir && store && stateStore) {
    const [{ openSharesStore, planByService, settingsOf }, { listStateFiles }] = await Promise.all([import('./service-plans.js'), import('./state-files.js')]);
    const { shares, settings } = openSharesStore(cacheDir, compilerBuildId());
    const branchesOf = async (hub: Hub) => (await import('./fleet-source.js')).localStateBranches(hub);
    // The templates' own state: on the hosts' state branches when the repository has them (as `fleetReader` reads it).
    const headState = view.git ? async (stateDir: string) => listStateFiles(view.reader, stateDir, await branchesOf(view.git!)) : undefined;
    let planned: Pick<ServicePlansInput, 'state' | 'reportedState' | 'base'> = headState ? { state: headState } : {};
    if (opts.base) {
      // Planned against the state at base (its templates are not compiled); the head's own state is what problems are reported of.
      const base = await atRevision(opts.cwd, opts.base);
      const settingsId = (base.reader.fileId ? await base.reader.fileId('kaidu.yaml') : (await base.reader.readFile('kaidu.yaml'))?.id) ?? null;
      const { stateDir } = (await settingsOf(base.reader, settings, settingsId)).settings;
      planned = {
        state: async () => listStateFiles(base.reader, stateDir, base.git ? await branchesOf(base.git) : undefined),
        reportedState: headState ?? (async (dir: string) => listStateFiles(view.reader, dir)),
        base: { revision: base.revision, ids: new Map([['kaidu.yaml', settingsId]]) },
      };
    }
    const plan = await planByService({
      reader: view.reader,
      profiles: profilesReader(),
      revision: view.revision,
      compileStore: store,
      stateStore,
      shares,
      settings,
      ...planned,
      ...(opts.inputs ? { inputs: opts.inputs } : {}),
      ...(opts.host ? { host: opts.host } : {}),
      ...(opts.changesOnly ? { changesOnly: true } : {}),
      ...(opts.digest ? { digest: true } : {}),
      ...(opts.onStats ? { onStats: opts.onStats } : {}),
    });
    await Promise.all([store.flush(), stateStore.flush(), shares.flush(), settings.flush(), view.index?.save().catch(() => undefined)]);
    await pruneIfDue(cacheDir, opts.env ?? process.env);
    if (plan) return plan;
  }
  return (await planFrom(opts, prepared)).plan;
}

async function planFrom(opts: PlanSourceOptions, { view, store, stateStore, cacheDir }: Prepared): Promise<PlannedRepository> {
  // Loaded here: a plan from the service cache needs neither the compiler nor the YAML library.
  const [{ plan: makePlan }, { loadRepository }, { parseSettings }, { loadState }] = await Promise.all([import('../plan/plan.js'), import('../repository/index.js'), import('../repository/settings.js'), import('../state/load.js')]);
  const profiles = profilesReader();
  const headIds = new Map<string, string | null>();
  const headReader = opts.digest ? recordingIds(view.reader, headIds) : view.reader;
  // State: the hosts' state branches in this repository, else state/ in the templates (parsed through the cache).
  const readHeadState = view.git ? await fleetReader(view.git, headReader) : undefined;
  const repo = await loadRepository(headReader, { profiles, ...(readHeadState ? { readState: readHeadState } : {}), ...(opts.inputs ? { inputs: opts.inputs } : {}), ...(store ? { store } : {}), ...(stateStore ? { stateStore } : {}) });
  let stateOrigins: FleetState['origins'] = readHeadState ? (repo.state as FleetState).origins : {};
  let baseRevision: string | undefined;
  let baseIds: Map<string, string | null> | undefined;
  if (opts.base) {
    const base = await atRevision(opts.cwd, opts.base);
    baseIds = new Map();
    const baseReader = opts.digest ? recordingIds(base.reader, baseIds) : base.reader;
    // Only the base's state is used: its templates are not compiled.
    const { settings } = parseSettings((await baseReader.readFile('kaidu.yaml'))?.text);
    if (base.git) {
      const baseState = await (await fleetReader(base.git, baseReader))(settings.stateDir);
      repo.state = baseState;
      stateOrigins = baseState.origins;
    } else repo.state = await loadState(baseReader, settings.stateDir, undefined, stateStore);
    baseRevision = base.revision;
  }
  // A state commit is part of what the plan was computed from: a newer one makes a saved plan stale.
  if (opts.digest) for (const [host, o] of Object.entries(stateOrigins)) if (o.commit) headIds.set(`refs/heads/kaidu/state/${host}`, o.commit);
  await Promise.all([store?.flush(), stateStore?.flush(), view.index?.save().catch(() => undefined)]);
  if (cacheDir) await pruneIfDue(cacheDir, opts.env ?? process.env);
  // A host that only state/ names is known too (its services were removed: apply deletes them).
  checkHostOption(opts.host, [...new Set([...Object.keys(repo.topology.hosts), ...Object.keys(repo.state.snapshot)])], repo.diagnostics);
  const plan = makePlan(repo.topology, repo.state.snapshot, {
    revision: view.revision,
    ...(baseRevision ? { baseRevision } : {}),
    ...(opts.host ? { host: opts.host } : {}),
    fileIds: repo.fileIds,
    diagnostics: repo.diagnostics,
    failedServices: repo.failedServices,
    frozen: repo.state.frozen,
  });
  if (baseRevision) {
    const hosts = Object.values(repo.state.snapshot);
    plan.baseState = { hosts: hosts.length, nodes: hosts.reduce((n, services) => n + Object.values(services).reduce((m, s) => m + Object.keys(s.nodes).length, 0), 0) };
  }
  if (opts.digest) plan.sourceDigest = sourceDigest({ head: headIds, ...(baseIds ? { base: baseIds } : {}), ...(opts.inputs ? { inputs: opts.inputs } : {}) });
  return { plan, repo, view };
}

