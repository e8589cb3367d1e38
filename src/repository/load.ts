import type { Diagnostic, SourceLocation } from '../tosca/diagnostic.js';
import { hasErrors } from '../tosca/diagnostic.js';
import { compileService, type CompileCache } from '../tosca/index.js';
import type { CompiledService, SourceFile, SourceReader } from '../tosca/model.js';
import { loadState, type LoadedState, type StateStore } from '../state/load.js';
import { buildTopology, ownFragment, rememberFragment, type ServiceFragment } from '../topology/build.js';
import type { Topology } from '../topology/model.js';
import { nodeList } from '../topology/lookup.js';
import { filesOf, ownFingerprint, rememberOwnFingerprint } from '../plan/plan.js';
import { parseSettings, type RepoSettings } from './settings.js';
import { listServiceFiles, serviceName } from './service-files.js';

export interface LoadedRepository {
  settings: RepoSettings;
  /** Services that compiled without errors (only these are in the topology). */
  services: CompiledService[];
  /** Services whose templates have errors: left alone by the planner. */
  failedServices: string[];
  topology: Topology;
  state: LoadedState;
  /** kaidu.yaml and compile diagnostics, in file order. */
  diagnostics: Diagnostic[];
  /** Content ids of the files nodes use (scripts, templates), for fingerprints. */
  fileIds: Record<string, string>;
}

export interface LoadOptions {
  profiles: SourceReader;
  cache?: CompileCache;
  /** Per-service cache of whole compiled services (see `ServiceMemo`). */
  memo?: ServiceMemo;
  /** Inputs for every service, over kaidu.yaml's `inputs`. */
  inputs?: Record<string, unknown>;
  /** Only state of this host is read when set (an agent reads all: it needs other hosts' attributes). */
  stateHost?: string;
  /** The revision the reader shows (recorded in the memo). */
  revision?: string;
  /** Paths changed since `revision` (a tree diff): when it is the memo's last revision, only memo entries reading them are checked. */
  changedSince?: { revision: string; paths: readonly string[] };
  /** Compile results kept between runs (on disk, for the CLI), checked file by file before use. */
  store?: CompileStore;
  /** Parsed state files kept between runs (on disk, for the CLI), by path and blob id. */
  stateStore?: StateStore;
  /**
   * Reads the recorded state instead of `<stateDir>/` in the reader: the fleet's state branches
   * (`state/fleet-state.ts`). Without it, the templates tree's `<stateDir>/` is read.
   */
  readState?: (stateDir: string) => Promise<LoadedState>;
}

/** A compile result with what it read: each file's id (null: absent) and each folder listing. */
export interface StoredCompile {
  files: Array<[path: string, id: string | null]>;
  dirs: Array<[path: string, listing: string]>;
  result: Awaited<ReturnType<typeof compileService>>;
  /** Each template's own fingerprint (see `ownFingerprint`), so a warm plan hashes none again. */
  fingerprints?: Array<[node: string, fingerprint: string]>;
  /** The service placed, when that depends on it alone (see `ownFragment`): a warm plan places none again. */
  fragment?: ServiceFragment;
}

/** Where `loadRepository` keeps compile results between runs; keys name the service, its inputs and its file's id. */
export interface CompileStore {
  get(key: string): Promise<StoredCompile | undefined>;
  set(key: string, stored: StoredCompile): void;
}

const listingOf = (entries: Array<{ name: string; kind: string }>) => entries.map((e) => `${e.kind}:${e.name}`).sort().join('\n');
const idOf = async (reader: SourceReader, path: string) => (reader.fileId ? await reader.fileId(path) : (await reader.readFile(path))?.id) ?? null;

/** A stored result still holds when every file it read has the same id and every folder it listed the same entries. */
async function stillValid(reader: SourceReader, stored: StoredCompile): Promise<boolean> {
  for (const [path, id] of stored.files) if ((await idOf(reader, path)) !== id) return false;
  for (const [dir, listing] of stored.dirs) if (listingOf(await reader.listDir(dir)) !== listing) return false;
  return true;
}

/**
 * Remembers each service's compile result with the ids of every file it read, so a commit that
 * changes one file of 10,000 recompiles only the services that read it. Told the paths a tree
 * diff found changed since the revision it last loaded, it trusts every entry that read none of
 * them without looking up a single file id; otherwise it compares the ids one by one.
 */
export class ServiceMemo {
  private readonly entries = new Map<string, { files: Map<string, string | undefined>; dirs: ReadonlySet<string>; result: Awaited<ReturnType<typeof compileService>> }>();
  /** Revision of the last load that went through this memo (when the caller named it). */
  revision: string | undefined;

  async get(path: string, reader: SourceReader, changed?: ReadonlySet<string>): Promise<Awaited<ReturnType<typeof compileService>> | undefined> {
    const e = this.entries.get(path);
    if (!e) return undefined;
    if (changed) {
      for (const file of e.files.keys()) if (changed.has(file)) return undefined;
      if (e.dirs.size > 0) for (const p of changed) for (const d of e.dirs) if (p.startsWith(d)) return undefined;
      return e.result;
    }
    for (const [file, id] of e.files) {
      const now = reader.fileId ? await reader.fileId(file) : (await reader.readFile(file))?.id;
      if (now !== id) return undefined;
    }
    return e.result;
  }

  set(path: string, files: Map<string, string | undefined>, result: Awaited<ReturnType<typeof compileService>>, dirs: ReadonlySet<string> = new Set()): void {
    this.entries.set(path, { files, dirs, result });
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Records what a compile reads, for the memo. */
function recording(reader: SourceReader): { reader: SourceReader; files: Map<string, string | undefined>; dirs: Set<string>; listings: Map<string, string> } {
  const files = new Map<string, string | undefined>();
  const dirs = new Set<string>();
  const listings = new Map<string, string>();
  return {
    files,
    dirs,
    listings,
    reader: {
      async readFile(path: string): Promise<SourceFile | undefined> {
        const f = await reader.readFile(path);
        files.set(path, f?.id);
        return f;
      },
      listDir: (path: string) => {
        // a folder listed (searching for a profile) is read too: a file added there matters
        dirs.add(path === '' || path === '.' ? '' : `${path.replace(/\/$/, '')}/`);
        return reader.listDir(path).then((entries) => {
          listings.set(path, listingOf(entries));
          return entries;
        });
      },
      ...(reader.fileId ? { fileId: (path: string) => reader.fileId!(path) } : {}),
    },
  };
}

// (kept apart so that listing services does not load the compiler)
export { listServiceFiles, serviceName };

/** One service compiled (or taken from the memo or the store), with every file and folder it read. */
export interface LoadedService {
  result: Awaited<ReturnType<typeof compileService>>;
  /** What the compile read (null id: absent); undefined when the result came from the in-memory memo. */
  read?: { files: Array<[path: string, id: string | null]>; dirs: Array<[path: string, listing: string]> };
}

/** Compiles one service file, or takes a still-valid result from the memo or the store (see `loadRepository`). */
export async function loadService(reader: SourceReader, path: string, name: string, inputs: Record<string, unknown>, opts: Pick<LoadOptions, 'profiles' | 'cache' | 'memo' | 'store'>, changed?: ReadonlySet<string>): Promise<LoadedService> {
  const memoKey = `${path}\0${JSON.stringify(inputs)}`;
  const memoized = await opts.memo?.get(memoKey, reader, changed);
  if (memoized) return { result: memoized };
  const storeKey = opts.store ? `${memoKey}\0${await idOf(reader, path)}` : '';
  if (opts.store) {
    const stored = await opts.store.get(storeKey);
    if (stored && (await stillValid(reader, stored))) {
      const result = stored.result;
      const nodes = result.service?.nodes;
      if (nodes && Array.isArray(stored.fingerprints)) for (const [node, fp] of stored.fingerprints) if (Object.hasOwn(nodes, node)) rememberOwnFingerprint(nodes[node]!, fp);
      if (result.service && stored.fragment) rememberFragment(result.service, stored.fragment);
      return { result, read: { files: stored.files, dirs: stored.dirs } };
    }
  }
  const rec = recording(reader);
  const result = await compileService(path, rec.reader, { profiles: opts.profiles, inputs, ...(opts.cache ? { cache: opts.cache } : {}) });
  opts.memo?.set(memoKey, rec.files, result, rec.dirs);
  const read = { files: [...rec.files].map(([f, id]): [string, string | null] => [f, id ?? null]), dirs: [...rec.listings] };
  if (opts.store) {
    const usable = result.service && !hasErrors(result.diagnostics) ? result.service : undefined;
    const fingerprints = usable ? Object.entries(usable.nodes).map(([key, n]): [string, string] => [key, ownFingerprint(n)]) : [];
    // placed under the name it is planned as only (a renamed copy is placed apart)
    const fragment = usable && usable.name === name ? ownFragment(usable) : undefined;
    opts.store.set(storeKey, { ...read, result, fingerprints, ...(fragment ? { fragment } : {}) });
  }
  return { result, read };
}

/**
 * A user repository as one value: settings, every service compiled, the placed topology, and
 * the recorded state. Pure over the reader: a working tree or a git revision give the same.
 */
export async function loadRepository(reader: SourceReader, opts: LoadOptions): Promise<LoadedRepository> {
  const settingsFile = await reader.readFile('kaidu.yaml');
  const { settings, diagnostics } = parseSettings(settingsFile?.text);
  const services: CompiledService[] = [];
  const failedServices: string[] = [];
  const since = opts.changedSince;
  const changed = since && opts.memo?.revision !== undefined && since.revision === opts.memo.revision ? new Set(since.paths) : undefined;
  for (const path of await listServiceFiles(reader, settings)) {
    const name = serviceName(path, settings);
    const inputs = { ...(settings.inputs[name] ?? {}), ...(opts.inputs ?? {}) };
    const { result } = await loadService(reader, path, name, inputs, opts, changed);
    diagnostics.push(...result.diagnostics);
    if (result.typesOnly) continue;
    if (!result.service || hasErrors(result.diagnostics)) failedServices.push(name);
    // the compiled object itself when its name already fits, so the topology reuses its placement
    else services.push(result.service.name === name ? result.service : { ...result.service, name });
  }
  if (opts.memo) opts.memo.revision = opts.revision;
  const topology = buildTopology(services);
  const state = opts.readState ? await opts.readState(settings.stateDir) : await loadState(reader, settings.stateDir, opts.stateHost, opts.stateStore);
  const fileIds: Record<string, string> = {};
  const wanted = new Map<string, SourceLocation>();
  for (const n of nodeList(topology)) for (const f of filesOf(n)) if (!wanted.has(f)) wanted.set(f, n.template.source);
  for (const [f, usedAt] of [...wanted].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // A linked artifact would run or render whatever the link points at on the host.
    if (await reader.isSymlink?.(f)) {
      diagnostics.push(symlinkedArtifact(f, usedAt));
      continue;
    }
    const id = reader.fileId ? await reader.fileId(f) : (await reader.readFile(f))?.id;
    if (id) fileIds[f] = id;
  }
  return { settings, services, failedServices, topology, state, diagnostics: [...diagnostics, ...state.diagnostics], fileIds };
}

function symlinkedArtifact(path: string, usedAt: SourceLocation): Diagnostic {
  return {
    severity: 'error',
    code: 'E_REPO_SYMLINK',
    message: `${path} is a symbolic link (or lies in a linked folder): Kaidu does not follow links for scripts and templates`,
    file: usedAt.file,
    line: usedAt.line,
    column: usedAt.column,
    hint: 'commit the file itself instead of a link to it',
  };
}
