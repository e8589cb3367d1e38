import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceFile, SourceReader } from '../tosca/model.js';
import { gitBlobId, type BlobIdIndex } from './blob-ids.js';

/**
 * Files of a working tree for the compiler; ids are git blob ids, as a git revision's reader gives
 * (so a checkout and `--head` agree), looked up in `index` by stat data when one is given.
 */
export function fsReader(root: string, index?: BlobIdIndex): SourceReader {
  const read = async (path: string): Promise<SourceFile | undefined> => {
    try {
      const content = await readFile(join(root, path));
      const id = index ? await index.remember(path, undefined, content) : gitBlobId(content);
      return { path, text: content.toString('utf8'), id };
    } catch {
      return undefined;
    }
  };
  return {
    readFile: read,
    async listDir(path) {
      try {
        const items = await readdir(join(root, path), { withFileTypes: true });
        return items.filter((d) => d.isFile() || d.isDirectory()).map((d) => ({ name: d.name, kind: d.isDirectory() ? ('dir' as const) : ('file' as const) }));
      } catch {
        return [];
      }
    },
    async fileId(path) {
      return index ? index.id(path) : (await read(path))?.id;
    },
  };
}

let profiles: SourceReader | undefined;

/** The standard profiles that ship with Kaidu (`profiles/` of the package), read once. */
export function profilesReader(): SourceReader {
  profiles ??= readOnce(fsReader(fileURLToPath(new URL('../../profiles/', import.meta.url))));
  return profiles;
}

/** Files that do not change while the process runs (the shipped profiles): each read once, then kept. */
export function readOnce(inner: SourceReader): SourceReader {
  const cache = new Map<string, Promise<SourceFile | undefined>>();
  return {
    readFile: (path) => cache.get(path) ?? (cache.set(path, inner.readFile(path)), cache.get(path)!),
    listDir: (path) => inner.listDir(path),
  };
}
