/**
 * Values kept on disk between runs under a key, one cache file each (cache-file.ts: whole or
 * ignored). The file is named by a hash of the key and the build, and holds the full key, so a
 * file of another build or copied under another name is never used. Writes start at `set` and are
 * awaited by `flush`; a write that fails only costs time next run.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { readCacheFile, writeCacheFile } from './cache-file.js';

export class DiskKeyedStore<T> {
  private readonly writes: Promise<void>[] = [];
  hits = 0;
  misses = 0;

  /** `check` tells a value of the expected shape from a damaged one. */
  constructor(private readonly dir: string, private readonly kind: string, private readonly buildId: string, private readonly check: (value: unknown) => boolean) {}

  private locate(key: string): { file: string; full: string } {
    const full = `${this.buildId}\0${key}`;
    const name = createHash('sha256').update(full).digest('hex');
    return { file: join(this.dir, this.kind, name.slice(0, 2), `${name.slice(2)}.bin`), full };
  }

  async get(key: string): Promise<T | undefined> {
    const { file, full } = this.locate(key);
    const payload = await readCacheFile(file, this.kind);
    if (payload) {
      try {
        const entry = deserialize(payload) as { key: string; value: unknown };
        if (entry.key === full && this.check(entry.value)) {
          this.hits++;
          return entry.value as T;
        }
      } catch {
        // damaged: treated as absent, rewritten after the work is done again
      }
    }
    this.misses++;
    return undefined;
  }

  set(key: string, value: T): void {
    const { file, full } = this.locate(key);
    let payload: Buffer;
    try {
      payload = serialize({ key: full, value });
    } catch {
      return; // something not storable: done again next time
    }
    this.writes.push(writeCacheFile(file, this.kind, payload).catch(() => undefined));
  }

  async flush(): Promise<void> {
    await Promise.all(this.writes.splice(0));
  }
}
