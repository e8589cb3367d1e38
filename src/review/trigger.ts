/**
 * `kaidu trigger`: tells an agent about a new revision from CI, exactly as the git host would:
 * a signed GitHub push event, or the generic `{ref, after}` with a bearer token.
 */
import { randomUUID } from 'node:crypto';
import { KaiduError } from '../errors/kaidu-error.js';
import { signGithub } from '../events/signature.js';
import { unreachable } from './api-request.js';
import type { CommitSummary } from './git-revision.js';

export type TriggerProvider = 'github' | 'generic';

const ZERO_OID = '0000000000000000000000000000000000000000';

export interface PushEventInput {
  ref: string;
  after: string;
  before?: string;
  /** `OWNER/NAME`. */
  repository: string;
  headCommit?: CommitSummary;
  /** e.g. https://github.com, for the links GitHub puts in the payload. */
  serverUrl?: string;
  pusher?: string;
}

/** The fields of a GitHub `push` event payload that receivers read, with GitHub's names. */
export function githubPushEvent(input: PushEventInput): Record<string, unknown> {
  const [owner = input.repository, name = input.repository] = input.repository.split('/');
  const server = (input.serverUrl ?? 'https://github.com').replace(/\/+$/, '');
  const htmlUrl = `${server}/${input.repository}`;
  const before = input.before ?? input.headCommit?.parent ?? ZERO_OID;
  const c = input.headCommit;
  const headCommit = c
    ? {
        id: c.id,
        tree_id: c.treeId,
        distinct: true,
        message: c.message.trimEnd(),
        timestamp: c.timestamp,
        url: `${htmlUrl}/commit/${c.id}`,
        author: { name: c.author.name, email: c.author.email },
        committer: { name: c.committer.name, email: c.committer.email },
        added: [],
        removed: [],
        modified: [],
      }
    : { id: input.after, distinct: true, message: '', timestamp: new Date().toISOString(), url: `${htmlUrl}/commit/${input.after}` };
  return {
    ref: input.ref,
    before,
    after: input.after,
    created: before === ZERO_OID,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `${htmlUrl}/compare/${before.slice(0, 12)}...${input.after.slice(0, 12)}`,
    commits: [headCommit],
    head_commit: headCommit,
    repository: {
      name,
      full_name: input.repository,
      owner: { login: owner, name: owner },
      html_url: htmlUrl,
      clone_url: `${htmlUrl}.git`,
      default_branch: input.ref.replace(/^refs\/heads\//, ''),
      master_branch: input.ref.replace(/^refs\/heads\//, ''),
    },
    pusher: { name: input.pusher ?? 'kaidu-trigger', email: null },
    sender: { login: input.pusher ?? 'kaidu-trigger' },
  };
}

export interface TriggerOptions {
  /** The agent's hook URL, or its base URL (then `/hooks/github` or `/hooks/generic` is added). */
  url: string;
  provider: TriggerProvider;
  /** Webhook secret (github) or bearer token (generic). */
  secret: string;
  event: PushEventInput;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface TriggerResult {
  url: string;
  status: number;
  /** The `X-GitHub-Delivery` id sent (github). */
  delivery?: string;
  /** First part of the reply, for the log. */
  reply: string;
}

export function hookUrl(url: string, provider: TriggerProvider): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new KaiduError('E_USAGE', `--url must be an http(s) URL, not "${url}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new KaiduError('E_USAGE', `--url must be an http(s) URL, not "${url}"`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = `/hooks/${provider}`;
  return u.toString();
}

export async function sendTrigger(opts: TriggerOptions): Promise<TriggerResult> {
  const url = hookUrl(opts.url, opts.provider);
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'kaidu-trigger' };
  let body: string;
  let delivery: string | undefined;
  if (opts.provider === 'github') {
    body = JSON.stringify(githubPushEvent(opts.event));
    delivery = randomUUID();
    headers['X-GitHub-Event'] = 'push';
    headers['X-GitHub-Delivery'] = delivery;
    headers['X-Hub-Signature-256'] = signGithub(body, opts.secret);
  } else {
    body = JSON.stringify({ ref: opts.event.ref, after: opts.event.after });
    headers.Authorization = `Bearer ${opts.secret}`;
  }
  const res = await post(url, headers, body, opts.timeoutMs ?? 30_000, opts.fetch ?? fetch);
  const reply = (await res.text().catch(() => '')).slice(0, 500);
  if (!res.ok) {
    const why = res.status === 401 || res.status === 403 ? ' (is the secret the one the agent was given?)' : '';
    throw new KaiduError('E_API', `${url} answered ${res.status}${why}${reply ? `: ${reply.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`, {
      details: { status: res.status },
    });
  }
  return { url, status: res.status, reply, ...(delivery ? { delivery } : {}) };
}

/** POST with a timeout; a connection failure becomes a KaiduError naming the URL (never the secret). */
export async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, doFetch: typeof fetch = fetch): Promise<Response> {
  try {
    return await doFetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (err) {
    throw unreachable(url, err, 'is the agent running, and the URL reachable from here?');
  }
}
