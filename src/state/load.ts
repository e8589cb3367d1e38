import type { Diagnostic } from '../tosca/diagnostic.js';
import type { SourceReader } from '../tosca/model.js';
import type { StateSnapshot } from './model.js';
import { parseServiceState } from './parse.js';

export interface LoadedState {
  snapshot: StateSnapshot;
  /** Files that failed to parse: they are reported, never silently replaced. */
  diagnostics: Diagnostic[];
  /** Repository paths of the state files that could not be read, so writers can refuse them. */
  invalidFiles: string[];
  /** The same, as host → services, for the planner's `frozen` option. */
  frozen: Record<string, string[]>;
}

/** Reads every `state/<host>/<service>.yaml` through the reader (working tree or git revision). */
export async function loadState(reader: SourceReader, stateDir = 'state', onlyHost?: string): Promise<LoadedState> {
  const snapshot: StateSnapshot = {};
  const diagnostics: Diagnostic[] = [];
  const invalidFiles: string[] = [];
  const frozen: Record<string, string[]> = {};
  const hosts = (await reader.listDir(stateDir)).filter((e) => e.kind === 'dir' && (!onlyHost || e.name === onlyHost));
  for (const hostEntry of hosts.sort((a, b) => a.name.localeCompare(b.name))) {
    const host = hostEntry.name;
    const files = (await reader.listDir(`${stateDir}/${host}`)).filter((e) => e.kind === 'file' && e.name.endsWith('.yaml'));
    for (const f of files.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = `${stateDir}/${host}/${f.name}`;
      const file = await reader.readFile(path);
      if (!file) continue;
      const service = f.name.slice(0, -'.yaml'.length);
      const parsed = parseServiceState(file.text, path, { host, service });
      diagnostics.push(...parsed.diagnostics);
      if (parsed.state) (snapshot[host] ??= {})[service] = parsed.state;
      else {
        invalidFiles.push(path);
        (frozen[host] ??= []).push(service);
      }
    }
  }
  return { snapshot, diagnostics, invalidFiles, frozen };
}
