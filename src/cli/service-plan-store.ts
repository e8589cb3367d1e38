/**
 * What one service contributes to a plan, kept on disk between runs: per service a small header
 * (what the entry was computed from, and what a text plan shows: counts and changed actions) and
 * a body (every action, the placement) in a second file, named by the header's checksum of it. A
 * warm text `kaidu plan` reads the headers only, `--json` the bodies too. Each file is whole or
 * ignored (cache-file.ts).
 *
 * The headers a run used are also kept together in one index file, read first: a warm plan of 100
 * services opens one file instead of 100 (each open, read and close costs more than its check).
 * An index entry is the header file's content, checked the same way; one missing from the index
 * is looked up in its own file. Concurrent runs each write a whole index (the last one wins).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { readCacheFile, writeCacheFile } from './cache-file.js';

const KIND = 'service-plan';
const BODY_KIND = 'service-plan-body';
const INDEX_KIND = 'service-plan-index';

type Entry = { header: unknown; bodySum: string };

export interface StoredEntry<H, B> {
  header: H;
  /** The body, read on first call; undefined when it is missing or is not the one written with this header. */
  body(): Promise<B | undefined>;
}

export class ServicePlanStore<H, B> {
  private readonly writes: Promise<void>[] = [];
  /** The index as read (full key → entry), loaded on first `get`. */
  private index: Promise<Map<string, Entry>> | undefined;
  /** What this run found or stored, for the next index. */
  private readonly used = new Map<string, Entry>();
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

  private get indexFile(): string {
    return join(this.dir, INDEX_KIND, `${createHash('sha256').update(this.buildId).digest('hex').slice(0, 32)}.bin`);
  }

  private async readIndex(): Promise<Map<string, Entry>> {
    const payload = await readCacheFile(this.indexFile, INDEX_KIND);
    if (!payload) return new Map();
    try {
      const entries = deserialize(payload) as unknown;
      if (!Array.isArray(entries)) return new Map();
      return new Map((entries as Array<[string, Entry]>).filter((e) => Array.isArray(e) && typeof e[0] === 'string' && e[1] && typeof e[1].bodySum === 'string'));
    } catch {
      return new Map(); // damaged: each header is read from its own file
    }
  }

  async get(key: string): Promise<StoredEntry<H, B> | undefined> {
    const at = this.locate(key);
    const listed = (await (this.index ??= this.readIndex())).get(at.full);
    let entry: { key: string; header: unknown; bodySum: unknown } | undefined = listed ? { key: at.full, ...listed } : undefined;
    if (!entry || !this.check(entry.header)) {
      const payload = await readCacheFile(at.header, KIND);
      try {
        entry = payload ? (deserialize(payload) as { key: string; header: unknown; bodySum: unknown }) : undefined;
      } catch {
        entry = undefined; // damaged: treated as absent, rewritten after the work is done again
      }
    }
    if (entry && entry.key === at.full && typeof entry.bodySum === 'string' && this.check(entry.header)) {
      this.hits++;
      this.used.set(at.full, { header: entry.header, bodySum: entry.bodySum });
      return { header: entry.header as H, body: () => this.body(at, entry.bodySum as string) };
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
    this.used.set(at.full, { header, bodySum: createHash('sha256').update(b).digest('hex') });
    // The body first: a header is never found before the body it names.
    this.writes.push(
      writeCacheFile(at.body, BODY_KIND, b)
        .then(() => writeCacheFile(at.header, KIND, h))
        .catch(() => undefined),
    );
  }

  /**
   * Waits for the writes, then writes the index of what this run used when it differs from the
   * one read (the header files first: an index never names an entry that is not stored).
   */
  async flush(): Promise<void> {
    await Promise.all(this.writes.splice(0));
    if (this.used.size === 0) return;
    const before = this.index ? await this.index : new Map<string, Entry>();
    const same = before.size === this.used.size && [...this.used].every(([k, e]) => before.get(k)?.bodySum === e.bodySum && before.get(k)!.header === e.header);
    if (same) return;
    let payload: Buffer;
    try {
      payload = serialize([...this.used]);
    } catch {
      return;
    }
    await writeCacheFile(this.indexFile, INDEX_KIND, payload).catch(() => undefined);
  }
}
