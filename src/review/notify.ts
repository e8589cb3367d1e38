/**
 * `kaidu notify`, run by a bare hub's post-receive hook: tells every agent listed in kaidu.yaml (at
 * the pushed revision) that the branch moved, with the generic webhook `{ref, after}`.
 * An agent that cannot be reached is reported and skipped: the push has happened already, and the
 * agent catches up on its next event or start.
 */
import { parseSettings, type AgentEndpoint } from '../repository/settings.js';
import { readFileAtRevision, resolveRevision, type RepoLocation } from './git-revision.js';
import { post } from './trigger.js';
import { hostOfStateBranch } from '../git/state-refs.js';

export interface NotifyOptions {
  repo: RepoLocation;
  /** The pushed revision (a commit id or a ref). */
  rev: string;
  /** The updated ref; other refs than the configured branch are ignored. Default: the branch. */
  ref?: string;
  token?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
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
}

const DELETED = /^0+$/;

export async function notifyAgents(opts: NotifyOptions): Promise<NotifyResult> {
  if (DELETED.test(opts.rev)) return { skipped: 'the ref was deleted', ref: opts.ref ?? '', after: opts.rev, agents: [] };
  const after = await resolveRevision(opts.repo, opts.rev);
  // A host's state commit (its own branch, which holds no kaidu.yaml) is news for the other hosts: the agents are those of the hub's HEAD.
  const stateHost = opts.ref ? hostOfStateBranch(opts.ref) : undefined;
  const settingsAt = stateHost ? await resolveRevision(opts.repo, 'HEAD') : after;
  const text = await readFileAtRevision(opts.repo, settingsAt, 'kaidu.yaml');
  const { settings, diagnostics } = parseSettings(text);
  const branchRef = `refs/heads/${settings.branch}`;
  const ref = opts.ref ?? branchRef;
  if (ref !== branchRef && !stateHost) return { skipped: `${ref} is not the deployed branch (${branchRef})`, ref, after, agents: [] };
  if (diagnostics.some((d) => d.severity === 'error')) {
    return { skipped: `kaidu.yaml at ${after.slice(0, 12)} is invalid: ${diagnostics[0]!.message}`, ref, after, agents: [] };
  }
  if (settings.agents.length === 0) return { skipped: 'kaidu.yaml lists no agents', ref, after, agents: [] };
  const body = JSON.stringify({ ref, after });
  const agents = await Promise.all(settings.agents.filter((a) => a.host !== stateHost).map((agent) => notifyOne(agent, body, opts)));
  return { ref, after, agents };
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
