/**
 * One JSON request to a code-review API (GitHub, GitLab), with the failure cases a CI user needs to
 * tell apart turned into KaiduErrors. The token travels only in the request headers: it is never
 * part of a message, a detail or a cause.
 */
import { KaiduError } from '../errors/kaidu-error.js';

export type FetchLike = typeof fetch;

export interface ApiClient {
  /** Base URL, e.g. `https://api.github.com` or `https://gitlab.example.com/api/v4`. */
  apiUrl: string;
  /** Headers sent with every request (authentication, media type). */
  headers: Record<string, string>;
  /** `fetch`, replaceable in tests. */
  fetch?: FetchLike;
  /** What a 404 means in words, e.g. `pull request acme/web#12`. */
  subject: string;
  /** Hint for a rejected token, e.g. which variable it was read from. */
  authHint?: string;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT';

/** `https://api/x` + `/repos/a/b` without doubling or losing a slash. */
export function apiUrlOf(base: string, path: string): string {
  return base.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '');
}

export async function apiRequest<T>(client: ApiClient, method: HttpMethod, url: string, body?: unknown): Promise<ApiResponse<T>> {
  const doFetch = client.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method,
      headers: { ...client.headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw unreachable(origin(url), err, 'check --api-url and the network');
  }
  const text = await res.text();
  if (!res.ok) throw httpError(client, method, url, res, text);
  let parsed: unknown = undefined;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new KaiduError('E_API', `${method} ${pathOf(url)} answered ${res.status} with a body that is not JSON`, {
        hint: 'is --api-url the API root (GitHub Enterprise: https://HOST/api/v3, GitLab: https://HOST/api/v4)?',
      });
    }
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/**
 * Every page of a list, following `Link: <...>; rel="next"` (GitHub and GitLab both send it).
 * A next link on another origin is not followed, so the token never leaves the API host.
 */
export async function apiList<T>(client: ApiClient, firstUrl: string): Promise<T[]> {
  const items: T[] = [];
  let url: string | undefined = firstUrl;
  for (let page = 0; url && page < 1000; page++) {
    const res: ApiResponse<T[]> = await apiRequest<T[]>(client, 'GET', url);
    if (!Array.isArray(res.body)) throw new KaiduError('E_API', `GET ${pathOf(url)} did not answer with a list`);
    items.push(...res.body);
    const next = nextLink(res.headers.get('link'));
    url = next && origin(next) === origin(firstUrl) ? next : undefined;
  }
  return items;
}

/** The `rel="next"` target of an RFC 8288 Link header. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;(.*)/.exec(part.trim());
    if (m && /\brel="?([^";]*\s)?next(\s[^";]*)?"?/.test(m[2]!)) return m[1];
  }
  return undefined;
}

function httpError(client: ApiClient, method: HttpMethod, url: string, res: Response, text: string): KaiduError {
  const said = apiMessage(text);
  const where = `${method} ${pathOf(url)}`;
  const details = { status: res.status, method, path: pathOf(url), ...(said ? { apiMessage: said } : {}) };
  const suffix = said ? `: ${said}` : '';
  if (res.status === 401) {
    return new KaiduError('E_API_AUTH', `the token was rejected by ${origin(url)} (401 on ${where})${suffix}`, {
      hint: client.authHint ?? 'check that the token is set and has not expired',
      details,
    });
  }
  const remaining = res.headers.get('x-ratelimit-remaining') ?? res.headers.get('ratelimit-remaining');
  if (res.status === 429 || (res.status === 403 && (remaining === '0' || res.headers.has('retry-after')))) {
    const reset = resetTime(res.headers);
    return new KaiduError('E_API_RATE_LIMIT', `API rate limit exceeded at ${origin(url)}${reset ? `; it resets at ${reset.toISOString()}` : ''}`, {
      hint: 'wait for the reset, or use a token with a higher limit',
      details: { ...details, ...(reset ? { resetAt: reset.toISOString() } : {}) },
    });
  }
  if (res.status === 403) {
    return new KaiduError('E_API_AUTH', `the token is not allowed to do ${where} on ${client.subject} (403)${suffix}`, {
      hint: 'GitHub Actions: grant `permissions: { pull-requests: write, statuses: write }`; GitLab: the token needs the api scope and Developer role',
      details,
    });
  }
  if (res.status === 404) {
    return new KaiduError('E_API_NOT_FOUND', `${client.subject} was not found at ${origin(url)} (or the token cannot see it)`, {
      hint: 'check --repo, --pr and --api-url',
      details,
    });
  }
  if (res.status >= 500) return new KaiduError('E_API', `${origin(url)} failed with ${res.status} on ${where}${suffix}; try again later`, { details });
  return new KaiduError('E_API', `${where} was refused with ${res.status}${suffix}`, { details });
}

/** GitHub: `{message}`; GitLab: `{message}` or `{error}` (the message may itself be an object). */
function apiMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    const m = body.message ?? body.error;
    if (m === undefined) return undefined;
    const s = typeof m === 'string' ? m : JSON.stringify(m);
    return s.length > 300 ? s.slice(0, 297) + '...' : s;
  } catch {
    return undefined;
  }
}

/** GitHub: `x-ratelimit-reset` (epoch seconds); GitLab: `ratelimit-reset`; both may send `retry-after` (seconds). */
function resetTime(headers: Headers): Date | undefined {
  const epoch = Number(headers.get('x-ratelimit-reset') ?? headers.get('ratelimit-reset'));
  if (Number.isFinite(epoch) && epoch > 0) return new Date(epoch * 1000);
  const after = Number(headers.get('retry-after'));
  if (Number.isFinite(after) && after >= 0 && headers.has('retry-after')) return new Date(Date.now() + after * 1000);
  return undefined;
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** Path without the query string (which carries nothing secret, but is noise in a message). */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/** A request that got no HTTP answer (refused, DNS, TLS, timeout) as a KaiduError naming `where`. */
export function unreachable(where: string, err: unknown, hint: string): KaiduError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why =
    (err as Error).name === 'TimeoutError' ? 'no answer in time' : (cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)));
  return new KaiduError('E_API', `cannot reach ${where}: ${why}`, { hint });
}
