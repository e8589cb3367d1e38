import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import { fileURLToPath } from 'node:url';
import type { SourceFile, SourceReader } from '../tosca/model.js';
import { gitBlobId, type BlobIdIndex } from './blob-ids.js';
import { prebuiltProfiles } from './profile-records.js';

/**
 * Files of a working tree for the compiler; ids are git blob ids, as a git revision's reader gives
 * (so a checkout and `--head` agree), looked up in `index` by stat data when one is given. Only
 * files inside `root` are read, also once symbolic links are resolved: a link in a pull request
 * must not make CI read (and quote in its messages) a file elsewhere on the machine. `confined:
 * false` is for a lone file the user named, whose imports may reach beside it.
 */
export function fsReader(root: string, opts: { confined?: boolean; index?: BlobIdIndex } = {}): SourceReader {
  const confined = opts.confined ?? true;
  const index = opts.index;
  const read = async (path: string): Promise<SourceFile | undefined> => {
    try {
      if (confined && !insideRoot(root, path)) return undefined;
      const content = readCapped(join(root, path));
      const text = content.toString('utf8');
      if (index) return { path, text, id: await index.remember(path, undefined, content) };
      // Hashed when first asked for: validating one big file never needs its id.
      let id: string | undefined;
      return {
        path,
        text,
        get id() {
          return (id ??= gitBlobId(content));
        },
      };
    } catch (err) {
      // Only "there is no such file" reads as absent; anything else (no permission, I/O error) is
      // an error the user must see, never a silently missing template.
      if (isAbsent(err)) return undefined;
      throw new KaiduError('E_IO', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    readFile: read,
    async listDir(path) {
      try {
        const items = await readdir(join(root, path), { withFileTypes: true });
        return items.filter((d) => d.isFile() || d.isDirectory()).map((d) => ({ name: d.name, kind: d.isDirectory() ? ('dir' as const) : ('file' as const) }));
      } catch (err) {
        if (isAbsent(err)) return [];
        throw new KaiduError('E_IO', `cannot list ${path || '.'}: ${(err as Error).message}`, { cause: err });
      }
    },
    async fileId(path) {
      return index ? index.id(path) : (await read(path))?.id;
    },
    isSymlink: (path) => throughLink(root, path),
  };
}

const isAbsent = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/**
 * More than any YAML limit allows (`tosca/yaml-limits.ts`, largest 128 MiB; not imported here, as
 * it loads the yaml library): a bigger file is refused by the size check without being read whole.
 */
export const READ_CAP = 128 * 1024 * 1024 + 1;

/**
 * A file's bytes, at most READ_CAP of them: a multi-gigabyte file in a pull request must not be
 * loaded into memory only to be refused as too large.
 * Read with blocking calls: the readers of a command's working tree run in the CLI, where nothing
 * else waits on the event loop, and a file read through the promise API went through libuv's
 * thread pool (its threads started for it) in chunks of 512 KiB, each a round trip (issue 16).
 */
function readCapped(full: string): Buffer {
  // O_NONBLOCK: a FIFO named like a template is opened without waiting for a writer (and then refused as no file).
  const fd = openSync(full, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    // A folder, FIFO or device where a file is named exists: an error to show, not an absent file.
    if (!stat.isFile()) throw new Error(`it is not a regular file but ${kindOf(stat)}`);
    // A byte more than its size: a read that fills it means the file grew since, and it is read on
    // to its end, as a whole-file read would, up to the cap.
    let buf = Buffer.allocUnsafe(Math.min(stat.size + 1, READ_CAP));
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got >= READ_CAP) break;
        const bigger = Buffer.allocUnsafe(Math.min(got * 2, READ_CAP));
        buf.copy(bigger, 0, 0, got);
        buf = bigger;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isSocket()) return 'a socket';
  return 'a device';
}

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** The path is inside root, as written and once links are resolved (a missing file is not: nothing to read). */
function insideRoot(root: string, path: string): boolean {
  const full = resolve(root, path);
  if (!within(full, resolve(root))) return false;
  return within(realpathSync(full), realpathSync(root));
}

/** Whether `path` (under root) is a symbolic link or lies in a linked folder. */
async function throughLink(root: string, path: string): Promise<boolean> {
  const full = resolve(root, path);
  const realRoot = await realpath(root).catch(() => resolve(root));
  try {
    return (await realpath(full)) !== join(realRoot, relative(resolve(root), full));
  } catch {
    // A dangling link has no real path: it is still a link.
    return Boolean(await lstat(full).then((s) => s.isSymbolicLink()).catch(() => false));
  }
}

/**
 * An artifact (operation script, config template) of a working tree, for `kaidu apply`: never a
 * symbolic link nor a file in a linked folder (it would run or render whatever the link points
 * at), never outside the repository. Undefined when there is no such file.
 */
export async function readArtifact(root: string, path: string): Promise<Buffer | undefined> {
  const full = resolve(root, path);
  if (!within(full, resolve(root))) throw new KaiduError('E_PATH_CONFINED', `${path} is outside the repository ${root}`);
  if (await throughLink(root, path)) throw new KaiduError('E_REPO_SYMLINK', `${path} is a symbolic link or lies in a linked folder: Kaidu does not follow links in the repository`, { hint: 'commit the file itself instead of a link to it' });
  let handle;
  try {
    // O_NOFOLLOW: a link swapped in since the check is refused by the kernel, not followed.
    handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') throw new KaiduError('E_REPO_SYMLINK', `${path} is a symbolic link: Kaidu does not follow links in the repository`);
    throw new KaiduError('E_IO', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

let profiles: SourceReader | undefined;

/** The standard profiles that ship with Kaidu (`profiles/` of the package), read once. */
export function profilesReader(): SourceReader {
  if (!profiles) {
    // Not confined: they are Kaidu's own files, and resolving links to prove it cost start-up time.
    profiles = readOnce(fsReader(fileURLToPath(new URL('../../profiles/', import.meta.url)), { confined: false }));
    const prebuilt = prebuiltProfiles();
    if (prebuilt) profiles.prebuilt = prebuilt;
  }
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
