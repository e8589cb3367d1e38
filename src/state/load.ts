import type { Diagnostic } from '../tosca/diagnostic.js';
import type { SourceReader } from '../tosca/model.js';
import type { StateSnapshot } from './model.js';
import { parseServiceState, type ParsedState } from './parse.js';
import { compareNames } from '../tosca/name-order.js';

/**
 * Parsed state files kept between runs (on disk, for the CLI), found by the file's path and blob
 * id: a file whose id is unchanged parses to the same result.
 */
export interface StateStore {
  get(path: string, id: string): Promise<ParsedState | undefined>;
  set(path: string, id: string, parsed: ParsedState): void;
}

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
export async function loadState(reader: SourceReader, stateDir = 'state', onlyHost?: string, store?: StateStore): Promise<LoadedState> {
  const snapshot: StateSnapshot = {};
  const diagnostics: Diagnostic[] = [];
  const invalidFiles: string[] = [];
  const frozen: Record<string, string[]> = {};
  const hosts = (await reader.listDir(stateDir)).filter((e) => e.kind === 'dir' && (!onlyHost || e.name === onlyHost));
  for (const hostEntry of hosts.sort((a, b) => compareNames(a.name, b.name))) {
    const host = hostEntry.name;
    const files = (await reader.listDir(`${stateDir}/${host}`)).filter((e) => e.kind === 'file' && e.name.endsWith('.yaml'));
    for (const f of files.sort((a, b) => compareNames(a.name, b.name))) {
      const path = `${stateDir}/${host}/${f.name}`;
      const service = f.name.slice(0, -'.yaml'.length);
      // With a store, the id (from stat data in a working tree) finds the parse of an unchanged file.
      const known = store && reader.fileId ? await reader.fileId(path) : undefined;
      let parsed = known ? await store!.get(path, known) : undefined;
      if (!parsed) {
        const file = await reader.readFile(path);
        if (!file) continue;
        parsed = parseServiceState(file.text, path, { host, service });
        store?.set(path, file.id, parsed);
      }
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
