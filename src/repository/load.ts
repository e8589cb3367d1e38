import type { Diagnostic } from '../tosca/diagnostic.js';
import { hasErrors } from '../tosca/diagnostic.js';
import { compileService, type CompileCache } from '../tosca/index.js';
import type { CompiledService, SourceFile, SourceReader } from '../tosca/model.js';
import { loadState, type LoadedState } from '../state/load.js';
import { buildTopology } from '../topology/build.js';
import type { Topology } from '../topology/model.js';
import { filesOf } from '../plan/plan.js';
import { parseSettings, type RepoSettings } from './settings.js';

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
}

/**
 * Remembers each service's compile result with the ids of every file it read, so a commit that
 * changes one file of 10,000 recompiles only the services that read it.
 */
export class ServiceMemo {
  private readonly entries = new Map<string, { files: Map<string, string | undefined>; result: Awaited<ReturnType<typeof compileService>> }>();

  async get(path: string, reader: SourceReader): Promise<Awaited<ReturnType<typeof compileService>> | undefined> {
    const e = this.entries.get(path);
    if (!e) return undefined;
    for (const [file, id] of e.files) {
      const now = reader.fileId ? await reader.fileId(file) : (await reader.readFile(file))?.id;
      if (now !== id) return undefined;
    }
    return e.result;
  }

  set(path: string, files: Map<string, string | undefined>, result: Awaited<ReturnType<typeof compileService>>): void {
    this.entries.set(path, { files, result });
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Records what a compile reads, for the memo. */
function recording(reader: SourceReader): { reader: SourceReader; files: Map<string, string | undefined> } {
  const files = new Map<string, string | undefined>();
  return {
    files,
    reader: {
      async readFile(path: string): Promise<SourceFile | undefined> {
        const f = await reader.readFile(path);
        files.set(path, f?.id);
        return f;
      },
      listDir: (path: string) => reader.listDir(path),
      ...(reader.fileId ? { fileId: (path: string) => reader.fileId!(path) } : {}),
    },
  };
}

/** Service template files: `<services_dir>/*.yaml` (sub-folders hold artifacts and imports). */
export async function listServiceFiles(reader: SourceReader, settings: RepoSettings): Promise<string[]> {
  const entries = await reader.listDir(settings.servicesDir);
  return entries
    .filter((e) => e.kind === 'file' && /\.ya?ml$/.test(e.name))
    .map((e) => `${settings.servicesDir}/${e.name}`)
    .sort();
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
  for (const path of await listServiceFiles(reader, settings)) {
    const name = path.slice(settings.servicesDir.length + 1).replace(/\.ya?ml$/, '');
    const inputs = { ...(settings.inputs[name] ?? {}), ...(opts.inputs ?? {}) };
    const memoKey = `${path}\0${JSON.stringify(inputs)}`;
    let result = await opts.memo?.get(memoKey, reader);
    if (!result) {
      const rec = recording(reader);
      result = await compileService(path, rec.reader, { profiles: opts.profiles, inputs, ...(opts.cache ? { cache: opts.cache } : {}) });
      opts.memo?.set(memoKey, rec.files, result);
    }
    diagnostics.push(...result.diagnostics);
    if (result.typesOnly) continue;
    if (!result.service || hasErrors(result.diagnostics)) failedServices.push(name);
    else services.push({ ...result.service, name });
  }
  const topology = buildTopology(services);
  const state = await loadState(reader, settings.stateDir, opts.stateHost);
  const fileIds: Record<string, string> = {};
  const wanted = new Set<string>();
  for (const n of Object.values(topology.nodes)) for (const f of filesOf(n)) wanted.add(f);
  for (const f of [...wanted].sort()) {
    const id = reader.fileId ? await reader.fileId(f) : (await reader.readFile(f))?.id;
    if (id) fileIds[f] = id;
  }
  return { settings, services, failedServices, topology, state, diagnostics: [...diagnostics, ...state.diagnostics], fileIds };
}
