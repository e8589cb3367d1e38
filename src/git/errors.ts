import { KaiduError } from '../errors/kaidu-error.js';

/** Removes credentials from text that may quote a URL or a header. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/(https?:\/\/)[^/@\s]+@/g, '$1[redacted]@');
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}

/** Maps isomorphic-git and network errors onto Kaidu's codes, with no credential in the message. */
export function gitError(err: unknown, what: string, secrets: readonly string[] = []): KaiduError {
  const e = err as { code?: string; message?: string; data?: { statusCode?: number; statusMessage?: string }; cause?: { code?: string } };
  const msg = redact(e?.message ?? String(err), secrets);
  const netCode = e?.code ?? e?.cause?.code;
  if (e?.code === 'HttpError' && e.data?.statusCode) {
    const status = e.data.statusCode;
    if (status === 401 || status === 403) return new KaiduError('E_GIT_AUTH', `${what}: the hub refused the credentials (HTTP ${status})`, { hint: 'check the token (--git-token-env / --git-token-file)' });
    if (status === 404) return new KaiduError('E_GIT_NOT_FOUND', `${what}: no such repository (HTTP 404)`);
    if (status >= 500) return new KaiduError('E_GIT_UNREACHABLE', `${what}: the hub answered HTTP ${status} ${e.data.statusMessage ?? ''}`.trim());
    return new KaiduError('E_GIT', `${what}: HTTP ${status} ${e.data.statusMessage ?? ''}`.trim());
  }
  if (netCode && ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'UND_ERR_SOCKET'].includes(netCode)) {
    return new KaiduError('E_GIT_UNREACHABLE', `${what}: the hub cannot be reached (${netCode})`);
  }
  if (e?.code === 'NotFoundError') return new KaiduError('E_GIT_NOT_FOUND', `${what}: ${msg}`);
  if (/fetch failed|socket hang up|ECONNREFUSED/i.test(msg)) return new KaiduError('E_GIT_UNREACHABLE', `${what}: the hub cannot be reached (${msg})`);
  return new KaiduError('E_GIT', `${what}: ${msg}`);
}
