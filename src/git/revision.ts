/**
 * git's revision syntax, the part people type: a ref (`main`, `origin/main`, `v1.2`, `HEAD`), a
 * full or abbreviated commit id, followed by any of `~N`, `^N`, `~`, `^`, `^{commit}`, `^{}`
 * (see gitrevisions(7)). Resolved through isomorphic-git, no git binary.
 */
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { KaiduError } from '../errors/kaidu-error.js';

/** One step after the base name: `~N` (N-th first parent), `^N` (N-th parent), `^{commit}` (peel). */
export type RevisionStep = { kind: 'ancestor'; n: number } | { kind: 'parent'; n: number } | { kind: 'peel' };

export interface ParsedRevision {
  base: string;
  steps: RevisionStep[];
}

/** Bounds the walk of a hostile `~999999999`: a commit chain longer than this is refused. */
const MAX_WALK = 1_000_000;

/** Splits `main~2^2^{commit}` into `main` and its steps; undefined for syntax git would refuse. */
export function parseRevision(rev: string): ParsedRevision | undefined {
  const m = /^([^~^]+)((?:~\d*|\^\d*|\^\{(?:commit)?\})*)$/.exec(rev);
  if (!m || rev.length > 1024) return undefined;
  const base = m[1]!;
  const steps: RevisionStep[] = [];
  const re = /~(\d*)|\^\{(commit)?\}|\^(\d*)/g;
  for (let s = re.exec(m[2]!); s; s = re.exec(m[2]!)) {
    if (s[0].startsWith('~')) steps.push({ kind: 'ancestor', n: s[1] === '' ? 1 : Number(s[1]) });
    else if (s[0].startsWith('^{')) steps.push({ kind: 'peel' });
    else steps.push({ kind: 'parent', n: s[3] === '' ? 1 : Number(s[3]) });
  }
  if (steps.some((s) => s.kind !== 'peel' && (!Number.isSafeInteger(s.n) || s.n > 1_000_000))) return undefined;
  return { base, steps };
}

/** The commit an annotated tag (or a chain of them) points to. */
async function peel(gitdir: string, oid: string, cache: object, rev: string): Promise<string> {
  for (let depth = 0; depth < 10; depth++) {
    const { type, object } = await git.readObject({ fs, gitdir, oid, cache, format: 'parsed' });
    if (type === 'commit') return oid;
    if (type !== 'tag') break;
    oid = (object as { object: string }).object;
  }
  throw new KaiduError('E_GIT_NOT_FOUND', `revision "${rev}" is not a commit`);
}

async function baseOid(gitdir: string, name: string, cache: object): Promise<string | undefined> {
  // isomorphic-git tries name, refs/name, refs/tags/, refs/heads/, refs/remotes/ and refs/remotes/<name>/HEAD.
  const byRef = await git.resolveRef({ fs, gitdir, ref: name }).catch(() => undefined);
  if (byRef) return byRef;
  if (/^[0-9a-f]{4,64}$/i.test(name)) return git.expandOid({ fs, gitdir, oid: name.toLowerCase(), cache }).catch(() => undefined);
  return undefined;
}

/**
 * A revision expression → commit id. Unknown names, missing parents and ambiguous short ids are
 * E_GIT_NOT_FOUND naming the revision as typed.
 */
export async function resolveRevisionExpression(gitdir: string, rev: string, cache: object = {}, hint?: string): Promise<string> {
  const unknown = (why = '') => new KaiduError('E_GIT_NOT_FOUND', `unknown revision "${rev}"${why}`, hint ? { hint } : {});
  const parsed = parseRevision(rev.trim());
  if (!parsed) throw unknown(' (not git revision syntax)');
  const named = await baseOid(gitdir, parsed.base, cache);
  if (!named) throw unknown();
  let oid: string;
  try {
    oid = await peel(gitdir, named, cache, rev);
  } catch (err) {
    // A full id that names no object: resolveRef hands such ids back unchecked.
    throw err instanceof KaiduError ? err : unknown();
  }
  let walked = 0;
  for (const step of parsed.steps) {
    if (step.kind === 'peel') continue;
    const count = step.kind === 'ancestor' ? step.n : step.n === 0 ? 0 : 1;
    const index = step.kind === 'ancestor' ? 0 : step.n - 1;
    for (let i = 0; i < count; i++) {
      if (++walked > MAX_WALK) throw unknown(' (too deep)');
      const at: string = oid;
      const { commit } = await git.readCommit({ fs, gitdir, oid: at, cache }).catch(() => {
        throw unknown(`: cannot read commit ${at.slice(0, 12)}`);
      });
      const parent: string | undefined = commit.parent[index];
      if (!parent) throw unknown(`: ${oid.slice(0, 12)} has no ${step.kind === 'ancestor' ? 'parent' : `parent ${step.n}`}`);
      oid = parent;
    }
  }
  return oid;
}
