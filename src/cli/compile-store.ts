/**
 * Compiled services on disk, so `kaidu plan` after a one-file change recompiles that file only.
 * An entry is found by the service file's git blob id (with its path, inputs and the compiler's
 * build), so a checkout, a CI job that restored the folder, and `--base/--head` all find it; it
 * is used only when every other file it read still has the blob id recorded (see
 * `loadRepository`). Entries are whole or ignored (cache-file.ts).
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import type { CompileStore, StoredCompile } from '../repository/load.js';
import { readCacheFile, writeCacheFile } from './cache-file.js';

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

/** Identifies this compiler and these profiles: entries made by another build are never used. */
export function compilerBuildId(): string {
  if (!build) {
    const parts: string[] = [];
    // dist/cli/ → the package root; the compiler is everything under dist/tosca and profiles/.
    const root = fileURLToPath(new URL('../../', import.meta.url));
    treeStamp(join(root, 'dist', 'tosca'), parts);
    treeStamp(join(root, 'profiles'), parts);
    treeStamp(join(root, 'package.json'), parts);
    build = createHash('sha256').update(parts.join('\n')).digest('hex');
  }
  return build;
}

export class DiskCompileStore implements CompileStore {
  /** Writes started by `set`, awaited by `flush`. */
  private readonly writes: Promise<void>[] = [];
  hits = 0;
  misses = 0;

  constructor(private readonly dir: string, private readonly buildId = compilerBuildId()) {}

  private locate(key: string): { file: string; full: string } {
    const full = `${this.buildId}\0${key}`;
    const name = createHash('sha256').update(full).digest('hex');
    return { file: join(this.dir, 'compile', name.slice(0, 2), `${name.slice(2)}.bin`), full };
  }

  async get(key: string): Promise<StoredCompile | undefined> {
    const { file, full } = this.locate(key);
    const payload = await readCacheFile(file, KIND);
    if (payload) {
      try {
        const entry = deserialize(payload) as { key: string; stored: StoredCompile };
        // The full key inside, not only its hash in the name: a file copied under another name is not used.
        if (entry.key === full && entry.stored && Array.isArray(entry.stored.files)) {
          this.hits++;
          return entry.stored;
        }
      } catch {
        // damaged: treated as absent, rewritten after the compile
      }
    }
    this.misses++;
    return undefined;
  }

  set(key: string, stored: StoredCompile): void {
    const { file, full } = this.locate(key);
    let payload: Buffer;
    try {
      payload = serialize({ key: full, stored });
    } catch {
      return; // something not storable: compiled again next time
    }
    // A cache that cannot be written only costs time next run: not an error of this one.
    this.writes.push(writeCacheFile(file, KIND, payload).catch(() => undefined));
  }

  async flush(): Promise<void> {
    await Promise.all(this.writes.splice(0));
  }
}
