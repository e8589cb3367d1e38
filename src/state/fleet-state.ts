/**
 * The state of the fleet at a templates revision R: every host's state from the tip of its own
 * state branch (`kaidu/state/<host>`, which only that host's agent writes), and for a host that
 * has no such branch yet, from `<stateDir>/<host>/` in the templates tree at R (a repository from
 * before per-host branches: once the host's agent has written its branch, the branch wins).
 *
 * Pure over injected readers: the git side (`git/state-refs.ts`) supplies the branch tips, a
 * working tree or a git revision the templates.
 */
import type { SourceReader } from '../tosca/model.js';
import { loadState, type LoadedState } from './load.js';

/** One host's state branch at its tip (structurally what `git/state-refs.ts` reads). */
export interface StateBranchInput {
  host: string;
  commit: string;
  /** The templates revision the state commit records (`Kaidu-Revision`), null when it records none. */
  templatesRevision: string | null;
  /** The files of the state commit. */
  reader: SourceReader;
}

/** Where one host's state came from. */
export interface HostStateOrigin {
  /** `branch`: its state branch; `templates`: `<stateDir>/<host>/` in the templates tree (before migration). */
  source: 'branch' | 'templates';
  /** The state commit (source `branch`); null for `templates`. */
  commit: string | null;
  /** The templates revision that state was computed from: the commit's trailer, or for `templates` the newest `revision` its files record. */
  templatesRevision: string | null;
}

export interface FleetState extends LoadedState {
  /** Per host that has state (or a state branch): where it came from. */
  origins: Record<string, HostStateOrigin>;
}

export interface FleetStateInput {
  /** The templates tree at R (a working tree or a git revision). */
  templates: SourceReader;
  stateDir: string;
  /** The state branches' tips (hosts without one fall back to the templates tree). */
  branches: readonly StateBranchInput[];
  /** Only these hosts (an agent reads itself and the hosts it depends on); default every host. */
  hosts?: ReadonlySet<string>;
}

/**
 * Every host's state, each read from one place: its branch when it has one, else the templates
 * tree. A state branch is read only below `<stateDir>/<its host>/`: whatever else a foreign
 * commit put there is not that host's to say.
 */
export async function readFleetState(input: FleetStateInput): Promise<FleetState> {
  const { stateDir, hosts: only } = input;
  const branches = new Map(input.branches.filter((b) => !only || only.has(b.host)).map((b) => [b.host, b] as const));
  const fromTemplates = (await input.templates.listDir(stateDir))
    .filter((e) => e.kind === 'dir' && !branches.has(e.name) && (!only || only.has(e.name)))
    .map((e) => e.name);
  const out: FleetState = { snapshot: {}, diagnostics: [], invalidFiles: [], frozen: {}, origins: {} };
  const hosts = [...new Set([...branches.keys(), ...fromTemplates])].sort((a, b) => a.localeCompare(b));
  for (const host of hosts) {
    const branch = branches.get(host);
    const loaded = await loadState(branch ? branch.reader : input.templates, stateDir, host);
    merge(out, loaded);
    out.origins[host] = branch
      ? { source: 'branch', commit: branch.commit, templatesRevision: branch.templatesRevision }
      : { source: 'templates', commit: null, templatesRevision: newestRevision(loaded, host) };
  }
  return out;
}

function merge(into: LoadedState, from: LoadedState): void {
  Object.assign(into.snapshot, from.snapshot);
  into.diagnostics.push(...from.diagnostics);
  into.invalidFiles.push(...from.invalidFiles);
  Object.assign(into.frozen, from.frozen);
}

/** The templates revision a host's state files name when they all agree on one; null (unknown) otherwise. */
function newestRevision(loaded: LoadedState, host: string): string | null {
  const revisions = [...new Set(Object.values(loaded.snapshot[host] ?? {}).map((s) => s.revision))].sort();
  return revisions.length === 1 ? revisions[0]! : null;
}
