/**
 * Per-host state branches: host H writes its state only to `kaidu/state/H` (a branch, which
 * GitHub, GitLab, Gitea and plain git all accept, with protection rules of its own), so its
 * pushes never race another host's. This file knows the naming and reads the branches' tips
 * through a `Hub`: which exist, which must be fetched, what each state commit records.
 */
import type { SourceReader } from '../tosca/model.js';
import type { Hub } from './hub.js';

/** Branch name prefix of the state branches (`refs/heads/kaidu/state/<host>`). */
export const STATE_BRANCH_PREFIX = 'kaidu/state/';

/** The trailer a state commit names its templates revision with. */
export const REVISION_TRAILER = 'Kaidu-Revision';

export function stateBranch(host: string): string {
  return `${STATE_BRANCH_PREFIX}${host}`;
}

/**
 * Why `host`'s state branch would be a name git (and so GitHub, GitLab, Gitea) refuses, or
 * undefined. Safe host names pass, except the two git forbids at a name's end: `.lock` and `.`.
 */
export function stateBranchProblem(host: string): string | undefined {
  if (host.endsWith('.lock')) return 'git refuses a branch name ending in ".lock" (its state branch would be kaidu/state/' + host + ')';
  if (host.endsWith('.')) return 'git refuses a branch name ending in "." (its state branch would be kaidu/state/' + host + ')';
  return undefined;
}

/** The host a state branch (`kaidu/state/H` or `refs/heads/kaidu/state/H`) belongs to; undefined for any other ref. */
export function hostOfStateBranch(ref: string): string | undefined {
  const name = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
  if (!name.startsWith(STATE_BRANCH_PREFIX)) return undefined;
  const host = name.slice(STATE_BRANCH_PREFIX.length);
  return host && !host.includes('/') ? host : undefined;
}

/** One host's state branch as read: its tip, the templates revision it records, its files. */
export interface StateBranchTip {
  host: string;
  commit: string;
  /** The `Kaidu-Revision` trailer of the tip (null when the commit has none: a hand-made commit). */
  templatesRevision: string | null;
  reader: SourceReader;
}

export interface ReadStateBranchesOptions {
  /** Only these hosts' branches (an agent: itself and the hosts it depends on); default every one. */
  hosts?: Iterable<string>;
  /** Fetch the branches into the mirror first (one listing, then only branches whose tip is new). Default true. */
  fetch?: boolean;
  /**
   * The hub's `kaidu/state/*` branches as `hub.listBranches(STATE_BRANCH_PREFIX)` gave them, when
   * the caller listed them already (an agent lists them while it fetches the templates branch:
   * one round trip less per pass).
   */
  listed?: Map<string, string>;
}

/**
 * The state branches' tips. With `fetch`, one listing of the hub's `kaidu/state/*` branches
 * (one request, whatever the fleet's size), then a fetch of each wanted branch the mirror does
 * not hold at that tip: an agent that depends on two hosts fetches at most two branches, never
 * the other 998. Without `fetch`, the branches the repository already holds.
 */
export async function readStateBranches(hub: Hub, opts: ReadStateBranchesOptions = {}): Promise<StateBranchTip[]> {
  const wanted = opts.hosts ? new Set(opts.hosts) : undefined;
  const listed = opts.listed ?? (await hub.listBranches(STATE_BRANCH_PREFIX));
  const out: StateBranchTip[] = [];
  for (const [name, oid] of [...listed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const host = hostOfStateBranch(name);
    if (!host || (wanted && !wanted.has(host))) continue;
    const commit = opts.fetch === false ? oid : await hub.fetchBranch(name, oid);
    if (!commit) continue; // deleted between the listing and the fetch
    out.push(await tipOf(hub, host, commit));
  }
  return out;
}

/** What a state commit records: its templates revision, and its tree as a reader. */
export async function tipOf(hub: Hub, host: string, commit: string): Promise<StateBranchTip> {
  const { trailers } = await hub.commitMessage(commit);
  return { host, commit, templatesRevision: trailers[REVISION_TRAILER] ?? null, reader: hub.reader(commit) };
}

/**
 * How many commits a templates revision lags behind the branch tip, counted along first parents
 * (the branch's own history: each push or merge to it is one): a count, or null when `revision`
 * is not on that history within `limit` commits (a force-push, a revision of another branch).
 */
export async function commitsBehind(hub: Hub, revision: string, tip: string, limit = 10_000): Promise<number | null> {
  let oid = tip;
  for (let n = 0; n <= limit; n++) {
    if (oid === revision) return n;
    let parents: string[];
    try {
      parents = (await hub.commitMessage(oid)).parents;
    } catch {
      return null; // history cut short (a shallow mirror): unknown, never a guess
    }
    if (parents.length === 0) return null;
    oid = parents[0]!;
  }
  return null;
}
