/**
 * What one service contributes to a plan, kept on disk between runs: per service a small header
 * (what the entry was computed from, and what a text plan shows: counts and changed actions) and
 * a body (every action, the placement) in a second file, named by the header's checksum of it. A
 * warm text `kaidu plan` reads the headers only, `--json` the bodies too. Each file is whole or
 * ignored (cache-file.ts).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { readCacheFile, writeCacheFile } from './cache-file.js';

const KIND = 'service-plan';
const BODY_KIND = 'service-plan-body';

export interface StoredEntry<H, B> {
  header: H;
  /** The body, read on first call; undefined when it is missing or is not the one written with this header. */
  body(): Promise<B | undefined>;
}

export class ServicePlanStore<H, B> {
  private readonly writes: Promise<void>[] = [];
  hits = 0;
  misses = 0;

  /** `check` tells a header of the expected shape from a damaged one. */
  constructor(private readonly dir: string, private readonly buildId: string, private readonly check: (header: unknown) => boolean) {}

  private locate(key: string): { header: string; body: string; full: string } {
    const full = `${this.buildId}\0${key}`;
    const name = createHash('sha256').update(full).digest('hex');
    const base = join(this.dir, KIND, name.slice(0, 2), name.slice(2));
    return { header: `${base}.bin`, body: `${base}.body.bin`, full };
  }

  async get(key: string): Promise<StoredEntry<H, B> | undefined> {
    const at = this.locate(key);
    const payload = await readCacheFile(at.header, KIND);
    if (payload) {
      try {
        const entry = deserialize(payload) as { key: string; header: unknown; bodySum: unknown };
        if (entry.key === at.full && typeof entry.bodySum === 'string' && this.check(entry.header)) {
          this.hits++;
          return { header: entry.header as H, body: () => this.body(at, entry.bodySum as string) };
        }
      } catch {
        // damaged: treated as absent, rewritten after the work is done again
      }
    }
    this.misses++;
    return undefined;
  }

  /** The body written with the header: a body from another write (a concurrent run, a copy) is never taken for it. */
  private async body(at: { body: string; full: string }, sum: string): Promise<B | undefined> {
    const payload = await readCacheFile(at.body, BODY_KIND);
    if (!payload || createHash('sha256').update(payload).digest('hex') !== sum) return undefined;
    try {
      const v = deserialize(payload) as { key?: unknown; value?: B };
      return v && v.key === at.full ? v.value : undefined;
    } catch {
      return undefined;
    }
  }

  set(key: string, header: H, body: B): void {
    const at = this.locate(key);
    let h: Buffer;
    let b: Buffer;
    try {
      b = serialize({ key: at.full, value: body });
      h = serialize({ key: at.full, header, bodySum: createHash('sha256').update(b).digest('hex') });
    } catch {
      return; // something not storable: done again next time
    }
    // The body first: a header is never found before the body it names.
    this.writes.push(
      writeCacheFile(at.body, BODY_KIND, b)
        .then(() => writeCacheFile(at.header, KIND, h))
        .catch(() => undefined),
    );
  }

  async flush(): Promise<void> {
    await Promise.all(this.writes.splice(0));
  }
}
