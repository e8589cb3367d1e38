import { createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time equality; lengths are compared first because timingSafeEqual throws on a mismatch. */
function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function hmacHex(body: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** `X-Hub-Signature-256` value GitHub sends: `sha256=<hex HMAC of the raw body>`. */
export function signGithub(body: Buffer | string, secret: string): string {
  return `sha256=${hmacHex(body, secret)}`;
}

export function verifyGithub(body: Buffer | string, secret: string, header: string | undefined): boolean {
  if (!header || !secret) return false;
  return safeEqual(Buffer.from(header), Buffer.from(signGithub(body, secret)));
}

/** `X-Gitea-Signature`: the hex HMAC without a prefix. */
export function verifyGitea(body: Buffer | string, secret: string, header: string | undefined): boolean {
  if (!header || !secret) return false;
  return safeEqual(Buffer.from(header.toLowerCase()), Buffer.from(hmacHex(body, secret)));
}

/** A shared token (GitLab's `X-Gitlab-Token`, a bearer token), compared in constant time. */
export function verifyToken(given: string | undefined, expected: string | undefined): boolean {
  if (!given || !expected) return false;
  return safeEqual(Buffer.from(given), Buffer.from(expected));
}
