import { KaiduError } from '../errors/kaidu-error.js';

/** Removes credentials from text that may quote a URL or a header. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/(https?:\/\/)[^/@\s]+@/g, '$1[redacted]@');
  out = out.replace(/(authorization:\s*(?:basic|bearer)\s+)\S+/gi, '$1[redacted]');
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** An HTTP status from the hub as a Kaidu error (401/403 auth, 404 missing, 5xx down). */
export function httpStatusError(status: number, statusMessage: string | undefined, what: string): KaiduError {
  const text = `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}`;
  if (status === 401 || status === 403) {
    return new KaiduError('E_GIT_AUTH', `${what}: the hub refused the credentials (${text})`, {
      hint: 'check the token (--git-token-env / --git-token-file) and its permission to read and push',
    });
  }
  if (status === 404) return new KaiduError('E_GIT_NOT_FOUND', `${what}: no such repository on the hub (${text})`);
  if (status >= 500) {
    return new KaiduError('E_GIT_UNREACHABLE', `${what}: the hub is not available (${text})`, {
      hint: 'the agent keeps its state and retries with backoff until the hub answers',
    });
  }
  return new KaiduError('E_GIT', `${what}: the hub answered ${text}`);
}

/**
 * Maps isomorphic-git and network errors onto Kaidu's codes, with no credential in the message.
 * Already-mapped Kaidu errors pass through unchanged.
 */
export function gitError(err: unknown, what: string, secrets: readonly string[] = []): KaiduError {
  if (err instanceof KaiduError) return err;
  const e = err as {
    code?: string;
    message?: string;
    data?: { statusCode?: number; statusMessage?: string };
    cause?: { code?: string };
  } | null;
  const msg = redact(e?.message ?? String(err), secrets);
  const netCode = e?.code && NETWORK_CODES.has(e.code) ? e.code : e?.cause?.code;
  const opts = { cause: err instanceof Error ? sanitized(err, secrets) : undefined };
  if (e?.code === 'HttpError' && e.data?.statusCode) return httpStatusError(e.data.statusCode, e.data.statusMessage, what);
  if (netCode && NETWORK_CODES.has(netCode)) {
    return new KaiduError('E_GIT_UNREACHABLE', `${what}: the hub cannot be reached (${netCode})`, {
      ...opts,
      hint: 'check that the hub URL is right and the server is up; the agent retries with backoff until the hub answers',
    });
  }
  if (/request timed out|socket hang up|fetch failed|ECONNREFUSED|ECONNRESET/i.test(msg)) {
    return new KaiduError('E_GIT_UNREACHABLE', `${what}: the hub cannot be reached (${msg})`, opts);
  }
  if (e?.code === 'NotFoundError') return new KaiduError('E_GIT_NOT_FOUND', `${what}: ${msg}`, opts);
  if (e?.code === 'SmartHttpError' || e?.code === 'EmptyServerResponseError' || e?.code === 'ParseError') {
    return new KaiduError('E_GIT', `${what}: the hub did not answer as a smart-HTTP git server (${msg})`, {
      ...opts,
      hint: 'the URL must be a git smart-HTTP(S) endpoint, e.g. https://host/owner/repo.git',
    });
  }
  return new KaiduError('E_GIT', `${what}: ${msg}`, opts);
}

/** A copy of an error whose message and stack cannot leak a secret when the cause is logged. */
function sanitized(err: Error, secrets: readonly string[]): Error {
  const copy = new Error(redact(err.message, secrets));
  copy.name = err.name;
  copy.stack = redact(err.stack ?? '', secrets);
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) (copy as { code?: unknown }).code = code;
  return copy;
}
