/**
 * The fleet's state for the commands that read a repository (`plan`, `status`, `ui`,
 * `pr-comment`, the demo): the hosts' state branches in the repository at hand, through the one
 * module that owns "the state of the fleet at revision R" (`state/fleet-state.ts`).
 *
 * Which branches: a hub (`--repo`, or a bare repository) has `kaidu/state/<host>` branches; a
 * clone has them as `origin/kaidu/state/<host>` after `git fetch`, which win over a local branch
 * of the same name (a checkout of one, likely stale). A host with neither falls back to
 * `<stateDir>/<host>/` in the templates tree.
 */
import { commitsBehind, hostOfStateBranch, readStateBranches, STATE_BRANCH_PREFIX, tipOf, type Hub, type StateBranchTip } from '../git/index.js';
import { readFleetState, type FleetState } from '../state/fleet-state.js';
import type { SourceReader } from '../tosca/model.js';

/** State branches a local repository holds (a clone's tracking branches of origin over its own branches). */
export async function localStateBranches(hub: Hub, hosts?: ReadonlySet<string>): Promise<StateBranchTip[]> {
  const tips = new Map<string, string>();
  for (const [name, oid] of await hub.listBranches(STATE_BRANCH_PREFIX)) {
    const host = hostOfStateBranch(name);
    if (host) tips.set(host, oid);
  }
  for (const [name, oid] of await hub.listBranches(STATE_BRANCH_PREFIX, { remote: 'origin' })) {
    const host = hostOfStateBranch(name);
    if (host) tips.set(host, oid);
  }
  const out: StateBranchTip[] = [];
  for (const [host, oid] of [...tips].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!hosts || hosts.has(host)) out.push(await tipOf(hub, host, oid));
  }
  return out;
}

export interface FleetSource {
  /** Where the branches come from: a local repository's refs, or a remote hub (fetched). */
  hub: Hub;
  remote: boolean;
}

/** A `loadRepository` `readState` for the templates `reader`: the fleet's state through its branches. */
export function fleetStateReader(source: FleetSource | undefined, templates: SourceReader, hosts?: ReadonlySet<string>): (stateDir: string) => Promise<FleetState> {
  return async (stateDir) => {
    const branches = !source ? [] : source.remote ? await readStateBranches(source.hub, hosts ? { hosts } : {}) : await localStateBranches(source.hub, hosts);
    return readFleetState({ templates, stateDir, branches, ...(hosts ? { hosts } : {}) });
  };
}

/** One host's last state commit and how far its templates revision lags behind the templates tip. */
export interface HostLag {
  host: string;
  /** `branch`: its state branch; `templates`: state/<host>/ on the templates branch (not migrated yet). */
  source: 'branch' | 'templates';
  stateCommit: string | null;
  /** The templates revision that state was computed from (null: unknown). */
  templatesRevision: string | null;
  /** Commits of the templates branch since that revision; null when it is not in the branch's history (unknown). */
  behind: number | null;
}

export async function fleetLag(fleet: FleetState, hub: Hub | undefined, templatesTip: string | undefined): Promise<HostLag[]> {
  const out: HostLag[] = [];
  for (const host of Object.keys(fleet.origins).sort()) {
    const o = fleet.origins[host]!;
    const behind = hub && templatesTip && o.templatesRevision ? await commitsBehind(hub, o.templatesRevision, templatesTip).catch(() => null) : null;
    out.push({ host, source: o.source, stateCommit: o.commit, templatesRevision: o.templatesRevision, behind });
  }
  return out;
}
