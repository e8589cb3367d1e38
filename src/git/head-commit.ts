/**
 * The commit a working tree's HEAD names, read from the files git keeps (`HEAD`, loose refs,
 * `packed-refs`) without loading a git library: `kaidu plan` only needs the revision to print, and
 * loading isomorphic-git for it cost more CPU than a warm plan's own work. Anything it does not
 * understand is reported as unknown (`undefined`), and the caller then asks the library.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const REF = /^refs\/[A-Za-z0-9._\/-]+$/;

export type HeadCommit = { oid: string } | { unborn: true } | undefined;

async function text(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The git folder of a working tree: `.git` itself, or where a `.git` file (`gitdir: …`) points. */
async function gitDirOf(workTree: string): Promise<{ gitdir: string; common: string } | undefined> {
  const dotGit = join(workTree, '.git');
  const asFile = await text(dotGit);
  let gitdir = dotGit;
  if (asFile !== undefined) {
    const m = /^gitdir: (.+)\n?$/.exec(asFile);
    if (!m) return undefined;
    gitdir = isAbsolute(m[1]!) ? m[1]! : resolve(workTree, m[1]!);
  }
  // A linked worktree keeps its HEAD here and its refs in the common folder.
  const common = (await text(join(gitdir, 'commondir')))?.trim();
  return { gitdir, common: common ? resolve(gitdir, common) : gitdir };
}

async function packedRef(common: string, ref: string): Promise<string | undefined> {
  const packed = await text(join(common, 'packed-refs'));
  if (!packed) return undefined;
  for (const line of packed.split('\n')) {
    if (line.startsWith('#') || line.startsWith('^')) continue;
    const space = line.indexOf(' ');
    if (space > 0 && line.slice(space + 1) === ref) return line.slice(0, space);
  }
  return undefined;
}

/** HEAD's commit; `{ unborn }` on a branch with no commit yet; undefined when it cannot tell. */
export async function headCommit(workTree: string): Promise<HeadCommit> {
  const dirs = await gitDirOf(workTree);
  if (!dirs) return undefined;
  let content = (await text(join(dirs.gitdir, 'HEAD')))?.trim();
  // A symbolic ref may point at another (rare); a few steps, never a loop.
  for (let step = 0; step < 5 && content !== undefined; step++) {
    if (OID.test(content)) return { oid: content };
    const m = /^ref: (.+)$/.exec(content);
    if (!m || !REF.test(m[1]!) || m[1]!.split('/').includes('..')) return undefined;
    const ref = m[1]!;
    // Per-worktree refs (bisect, rewritten) live beside HEAD; branches in the common folder.
    const loose = (await text(join(dirs.gitdir, ref))) ?? (dirs.common !== dirs.gitdir ? await text(join(dirs.common, ref)) : undefined);
    if (loose !== undefined) {
      content = loose.trim();
      continue;
    }
    const packed = await packedRef(dirs.common, ref);
    if (packed !== undefined) return OID.test(packed) ? { oid: packed } : undefined;
    // Refs in a reftable are not files: not knowing is not "no commit".
    return (await exists(join(dirs.common, 'reftable'))) ? undefined : { unborn: true };
  }
  return undefined;
}

/**
 * Whether the repository may hold hosts' state branches (`kaidu/state/*`, local or origin's), read
 * from git's files like `headCommit`: `kaidu plan` opens the git library for them only when so.
 * Anything it cannot tell (a reftable repository, an odd `.git`) answers true: look with the library.
 */
export async function mayHaveStateBranches(workTree: string): Promise<boolean> {
  const dirs = await gitDirOf(workTree);
  if (!dirs) return true;
  if (await exists(join(dirs.common, 'reftable'))) return true;
  for (const dir of ['refs/heads/kaidu/state', 'refs/remotes/origin/kaidu/state']) {
    if (await exists(join(dirs.common, dir))) return true;
  }
  const packed = await text(join(dirs.common, 'packed-refs'));
  return packed !== undefined && /^[0-9a-f]+ refs\/(?:heads|remotes\/origin)\/kaidu\/state\//m.test(packed);
}
