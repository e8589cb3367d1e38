/**
 * Git blob ids of working-tree files, without hashing every file every time: like git's index, a
 * file whose size, mtime, ctime and inode are the ones recorded keeps the id recorded with them.
 * Anything else is read and hashed. The index lives in the cache folder and is only an
 * accelerator: a missing, damaged or foreign index is ignored and rebuilt.
 */
import { nodeCrypto } from './lazy-crypto.js';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { statSync, type Stats } from 'node:fs';
import { readCacheFile, writeCacheFile } from './cache-file.js';

/** sha1("blob <length>\0" + content): the id git gives the same bytes. */
export function gitBlobId(content: Uint8Array): string {
  return nodeCrypto().createHash('sha1').update(`blob ${content.byteLength}\0`).update(content).digest('hex');
}

interface Entry {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  id: string;
}

/** A file changed within this long of being hashed could change again unseen in the same mtime tick. */
const RACY_MS = 2000;
const INDEX_KIND = 'stat-index';

function sameStat(e: Entry, st: Stats & { mtimeNs?: bigint }): boolean {
  return e.size === Number(st.size) && e.mtimeNs === String(stNs(st, 'mtime')) && e.ctimeNs === String(stNs(st, 'ctime')) && e.ino === String(st.ino);
}

function stNs(st: Stats, which: 'mtime' | 'ctime'): bigint {
  const big = st as unknown as { mtimeNs?: bigint; ctimeNs?: bigint };
  const ns = which === 'mtime' ? big.mtimeNs : big.ctimeNs;
  if (typeof ns === 'bigint') return ns;
  return BigInt(Math.round((which === 'mtime' ? st.mtimeMs : st.ctimeMs) * 1e6));
}

export class BlobIdIndex {
  private entries = new Map<string, Entry>();
  private dirty = false;
  /** Files read and hashed by this process (for callers that also want the content). */
  hashed = 0;

  private constructor(private readonly root: string, private readonly file: string | undefined, private readonly racyMs: number) {}

  /** The index of `root`, persisted in `file` when given (read now, written by `save`). */
  static async open(root: string, file?: string, opts: { racyMs?: number } = {}): Promise<BlobIdIndex> {
    const index = new BlobIdIndex(root, file, opts.racyMs ?? RACY_MS);
    if (file) {
      const payload = await readCacheFile(file, INDEX_KIND);
      if (payload) {
        try {
          const data = JSON.parse(payload.toString('utf8')) as { root: string; entries: Record<string, Entry> };
          if (data.root === root) index.entries = new Map(Object.entries(data.entries));
        } catch {
          // ignored: rebuilt
        }
      }
    }
    return index;
  }

  /** The blob id of the file at `path` (relative to the root), or undefined when it is not a regular file. */
  async id(path: string): Promise<string | undefined> {
    let st: Stats | undefined;
    try {
      // Synchronous: one stat per file of a 10,000-template repository, each cheaper than a trip through libuv's thread pool.
      st = statSync(join(this.root, path), { bigint: true, throwIfNoEntry: false }) as unknown as Stats | undefined;
    } catch {
      return undefined;
    }
    if (!st || !st.isFile()) return undefined;
    const known = this.entries.get(path);
    if (known && sameStat(known, st)) return known.id;
    const content = await readFile(join(this.root, path)).catch(() => undefined);
    if (!content) return undefined;
    return this.remember(path, st, content);
  }

  /** Records the id of content just read, when the file did not change while it was read. */
  async remember(path: string, before: Stats | undefined, content: Buffer): Promise<string> {
    const id = gitBlobId(content);
    this.hashed++;
    let st = before;
    if (!st) {
      try {
        st = await stat(join(this.root, path), { bigint: true } as never);
      } catch {
        return id;
      }
    }
    const mtimeMs = Number(stNs(st, 'mtime') / 1_000_000n);
    const ctimeMs = Number(stNs(st, 'ctime') / 1_000_000n);
    // Racily clean files are not recorded: a write in the same timestamp tick would go unseen.
    if (Number(st.size) !== content.byteLength || Date.now() - Math.max(mtimeMs, ctimeMs) < this.racyMs) {
      if (this.entries.delete(path)) this.dirty = true;
      return id;
    }
    this.entries.set(path, { size: Number(st.size), mtimeNs: String(stNs(st, 'mtime')), ctimeNs: String(stNs(st, 'ctime')), ino: String(st.ino), id });
    this.dirty = true;
    return id;
  }

  /** Writes the index back when it changed (atomically; a concurrent run's copy may win, which is fine). */
  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    const data = { root: this.root, entries: Object.fromEntries([...this.entries].sort(([a], [b]) => (a < b ? -1 : 1))) };
    await writeCacheFile(this.file, INDEX_KIND, Buffer.from(JSON.stringify(data)));
    this.dirty = false;
  }
}
