/**
 * Which state files a plan reads, and from where, without reading them: each host's files from
 * its state branch when it has one, else from `<stateDir>/<host>/` in the templates tree, in the
 * order `readFleetState` and `loadState` read them (hosts, then files, by name). The per-service
 * planner (service-plans.ts) looks up their ids and parses only what its cache cannot vouch for.
 */
import { compareNames } from '../tosca/name-order.js';
import type { StateBranchInput } from '../state/fleet-state.js';
import type { SourceReader } from '../tosca/model.js';

export interface StateFileRef {
  host: string;
  service: string;
  path: string;
  /** Where the file is read: the host's state branch, or the templates tree. */
  reader: SourceReader;
  /** Read from the templates tree (such files count in a saved plan's `sourceDigest`; a branch counts by its commit). */
  inTemplates: boolean;
}

export interface StateFiles {
  files: StateFileRef[];
  /** The state branches read (host, commit), in host order. */
  branches: Array<[host: string, commit: string]>;
}

/** The state files of `templates` (and of the hosts' state branches, when given), as the whole-topology load reads them. */
export async function listStateFiles(templates: SourceReader, stateDir: string, branchTips?: readonly StateBranchInput[]): Promise<StateFiles> {
  const branches = new Map((branchTips ?? []).map((b) => [b.host, b] as const));
  const fromTemplates = (await templates.listDir(stateDir)).filter((e) => e.kind === 'dir' && !branches.has(e.name)).map((e) => e.name);
  const hosts = [...new Set([...branches.keys(), ...fromTemplates])].sort(compareNames);
  const files: StateFileRef[] = [];
  for (const host of hosts) {
    const branch = branches.get(host);
    const reader = branch ? branch.reader : templates;
    // (as `loadState` finds it: the host's folder among the state folder's sub-folders)
    if (branch && !(await reader.listDir(stateDir)).some((e) => e.kind === 'dir' && e.name === host)) continue;
    const entries = (await reader.listDir(`${stateDir}/${host}`)).filter((e) => e.kind === 'file' && e.name.endsWith('.yaml'));
    for (const f of entries.sort((a, b) => compareNames(a.name, b.name))) {
      files.push({ host, service: f.name.slice(0, -'.yaml'.length), path: `${stateDir}/${host}/${f.name}`, reader, inTemplates: !branch });
    }
  }
  return { files, branches: [...branches.values()].sort((a, b) => compareNames(a.host, b.host)).map((b) => [b.host, b.commit]) };
}
