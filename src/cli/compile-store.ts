/**
 * Compiled services on disk, so `kaidu plan` after a one-file change recompiles that file only.
 * An entry is found by the service file's git blob id (with its path, inputs and the compiler's
 * build), so a checkout, a CI job that restored the folder, and `--base/--head` all find it; it
 * is used only when every other file it read still has the blob id recorded (see
 * `loadRepository`). Parsed state files are kept the same way, by path and blob id. Entries are
 * whole or ignored (cache-file.ts).
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompileStore, StoredCompile } from '../repository/load.js';
import type { StateStore } from '../state/load.js';
import type { ParsedState } from '../state/parse.js';
import { DiskKeyedStore } from './keyed-store.js';

const KIND = 'compile';

/** Stat data of a folder's files, recursively: changes whenever the compiler or the profiles do. */
function treeStamp(dir: string, into: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) treeStamp(p, into);
    else into.push(`${p} ${st.size} ${st.mtimeMs}`);
  }
}

let build: string | undefined;

/** Identifies this compiler, state reader, planner and these profiles: entries made by another build are never used. */
export function compilerBuildId(): string {
  if (!build) {
    const parts: string[] = [];
    // dist/cli/ → the package root; the compiler is everything under dist/tosca and profiles/,
    // the state reader dist/state, the fingerprints kept with compile results dist/plan.
    const root = fileURLToPath(new URL('../../', import.meta.url));
    treeStamp(join(root, 'dist', 'tosca'), parts);
    treeStamp(join(root, 'dist', 'state'), parts);
    treeStamp(join(root, 'dist', 'plan'), parts);
    treeStamp(join(root, 'profiles'), parts);
    treeStamp(join(root, 'package.json'), parts);
    build = createHash('sha256').update(parts.join('\n')).digest('hex');
  }
  return build;
}

export class DiskCompileStore implements CompileStore {
  private readonly store: DiskKeyedStore<StoredCompile>;

  constructor(dir: string, buildId = compilerBuildId()) {
    this.store = new DiskKeyedStore(dir, KIND, buildId, (v) => Boolean(v) && Array.isArray((v as StoredCompile).files));
  }

  get hits(): number {
    return this.store.hits;
  }

  get misses(): number {
    return this.store.misses;
  }

  get(key: string): Promise<StoredCompile | undefined> {
    return this.store.get(key);
  }

  set(key: string, stored: StoredCompile): void {
    this.store.set(key, stored);
  }

  flush(): Promise<void> {
    return this.store.flush();
  }
}

/** Parsed state files, found by path and blob id (and this build of the state reader). */
export class DiskStateStore implements StateStore {
  private readonly store: DiskKeyedStore<ParsedState>;

  constructor(dir: string, buildId = compilerBuildId()) {
    this.store = new DiskKeyedStore(dir, 'state', buildId, (v) => Boolean(v) && Array.isArray((v as ParsedState).diagnostics));
  }

  get hits(): number {
    return this.store.hits;
  }

  get(path: string, id: string): Promise<ParsedState | undefined> {
    return this.store.get(`${path}\0${id}`);
  }

  set(path: string, id: string, parsed: ParsedState): void {
    this.store.set(`${path}\0${id}`, parsed);
  }

  flush(): Promise<void> {
    return this.store.flush();
  }
}
