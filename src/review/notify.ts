/**
 * `kaidu notify`, run by a bare hub's post-receive hook: tells the agents that the branch (or a
 * host's state branch, `kaidu/state/<host>`) moved, with the generic webhook `{ref, after, before}`.
 * With a `fleet:` section in kaidu.yaml only the roots of the relay tree are called (they pass the
 * event on, as for a forge's webhook); without one, every agent listed under `agents:`.
 * An agent that cannot be reached is reported and skipped: the push has happened already, and the
 * agent catches up on its next event or start.
 */
import { buildRelayTree } from '../events/relay-tree.js';
import { stateHostOfRef } from '../events/state-ref.js';
import { openHub } from '../git/index.js';
import { agentUrl, resolveFleet } from '../repository/fleet.js';
import { loadRepository } from '../repository/load.js';
import { parseSettings, type AgentEndpoint, type RepoSettings } from '../repository/settings.js';
import type { SourceReader } from '../tosca/model.js';
import { readFileAtRevision, resolveRevision, type RepoLocation } from './git-revision.js';
import { post } from './trigger.js';

export interface NotifyOptions {
  repo: RepoLocation;
  /** The pushed revision (a commit id or a ref). */
  rev: string;
  /** The updated ref; other refs than the configured branch are ignored. Default: the branch. */
  ref?: string;
  /** The ref's previous revision (the hook's oldrev): receivers tell this push from a later one back to the same commit. */
  before?: string;
  token?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** The profiles to compile with, when the fleet's hosts must be read from the templates (no `fleet.roots`, or `{address}` URLs). */
  profiles?: SourceReader;
}

export interface AgentNotice {
  host: string;
  url: string;
  ok: boolean;
  /** HTTP status, or the reason it failed. */
  detail: string;
}

export interface NotifyResult {
  /** Why nobody was notified, when so. */
  skipped?: string;
  ref: string;
  after: string;
  agents: AgentNotice[];
  /** With `fleet:`: the relay tree whose roots were called. */
  fleet?: { hosts: number; roots: string[] };
}

const DELETED = /^0+$/;

const OBJECT_ID = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

export async function notifyAgents(opts: NotifyOptions): Promise<NotifyResult> {
  if (DELETED.test(opts.rev)) return { skipped: 'the ref was deleted', ref: opts.ref ?? '', after: opts.rev, agents: [] };
  const after = await resolveRevision(opts.repo, opts.rev);
  // A state branch holds only its host's state: the settings are those of the templates at HEAD.
  const stateHost = stateHostOfRef(opts.ref);
  const settingsAt = stateHost ? await resolveRevision(opts.repo, 'HEAD') : after;
  const text = await readFileAtRevision(opts.repo, settingsAt, 'kaidu.yaml');
  const { settings, diagnostics } = parseSettings(text);
  const branchRef = `refs/heads/${settings.branch}`;
  const ref = opts.ref ?? branchRef;
  if (ref !== branchRef && !stateHost) return { skipped: `${ref} is not the deployed branch (${branchRef}) nor a host's state branch`, ref, after, agents: [] };
  if (diagnostics.some((d) => d.severity === 'error')) {
    return { skipped: `kaidu.yaml at ${settingsAt.slice(0, 12)} is invalid: ${diagnostics[0]!.message}`, ref, after, agents: [] };
  }
  const before = opts.before && OBJECT_ID.test(opts.before) ? opts.before : undefined;
  const body = JSON.stringify({ ref, after, ...(before ? { before } : {}) });
  if (settings.fleet) {
    const { targets, hosts, roots } = await fleetRoots(opts, settings, settingsAt);
    if (targets.length === 0) return { skipped: 'the fleet has no host with an agent URL', ref, after, agents: [] };
    const agents = await Promise.all(targets.map((agent) => notifyOne(agent, body, opts)));
    return { ref, after, agents, fleet: { hosts, roots } };
  }
  if (settings.agents.length === 0) return { skipped: 'kaidu.yaml lists no agents', ref, after, agents: [] };
  const agents = await Promise.all(settings.agents.filter((a) => a.host !== stateHost).map((agent) => notifyOne(agent, body, opts)));
  return { ref, after, agents };
}

/**
 * The roots of the relay tree and their URLs. Named roots with their own URL (or a `{host}`
 * pattern) need nothing else; otherwise the templates are compiled to learn the hosts (as every
 * agent does), so that `kaidu notify` picks the same default roots the agents relay from.
 */
async function fleetRoots(opts: NotifyOptions, settings: RepoSettings, revision: string): Promise<{ targets: AgentEndpoint[]; hosts: number; roots: string[] }> {
  const fleet = settings.fleet!;
  const listed = new Map(settings.agents.map((a) => [a.host, a.url]));
  const direct = fleet.roots.map((host) => ({ host, url: agentUrl({ name: host, node: host, labels: {} }, fleet.hosts[host]?.url ?? listed.get(host), fleet.url?.includes('{address}') ? undefined : fleet.url) }));
  if (direct.length > 0 && direct.every((r) => 'url' in r.url)) {
    return { targets: direct.map((r) => ({ host: r.host, url: (r.url as { url: string }).url })), hosts: 0, roots: fleet.roots };
  }
  if (!opts.profiles) throw new Error('the fleet\'s roots need the templates compiled, and no profiles were given');
  const hub = await openHub({ url: opts.repo.gitdir, dataDir: opts.repo.gitdir, branch: settings.branch });
  const repo = await loadRepository(hub.reader(revision), { profiles: opts.profiles, revision, stateHost: '-' });
  const resolved = resolveFleet(repo.topology.hosts, settings)!;
  const tree = buildRelayTree(resolved.hosts, resolved.roots, { fanout: resolved.fanout });
  return { targets: tree.roots.map((host) => ({ host, url: resolved.urls.get(host)! })), hosts: resolved.hosts.length, roots: tree.roots };
}

/** `<agent url>/hooks/generic`, keeping a path prefix the agent is served under. */
export function genericHookUrl(agentUrl: string): string {
  const base = agentUrl.replace(/\/+$/, '');
  return base.endsWith('/hooks/generic') ? base : `${base}/hooks/generic`;
}

async function notifyOne(agent: AgentEndpoint, body: string, opts: NotifyOptions): Promise<AgentNotice> {
  const url = genericHookUrl(agent.url);
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'kaidu-notify' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  try {
    const res = await post(url, headers, body, opts.timeoutMs ?? 10_000, opts.fetch);
    await res.body?.cancel().catch(() => undefined);
    return { host: agent.host, url, ok: res.ok, detail: String(res.status) };
  } catch (err) {
    return { host: agent.host, url, ok: false, detail: (err as Error).message };
  }
}
