import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality. `timingSafeEqual` throws on buffers of different lengths, so the lengths
 * are compared first; that only tells an attacker the length of a public format (64 hex digits).
 */
function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function hmacHex(body: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** The `X-Hub-Signature-256` value GitHub sends: `sha256=<hex HMAC-SHA256 of the raw body>`. */
export function signGithub(body: Buffer | string, secret: string): string {
  return `sha256=${hmacHex(body, secret)}`;
}

/**
 * Checks GitHub's `X-Hub-Signature-256` over the raw body bytes (never re-serialized JSON).
 * False for a missing header, an empty secret, or a header of the wrong length (no throw).
 */
export function verifyGithub(body: Buffer | string, secret: string, header: string | undefined): boolean {
  if (!header || !secret) return false;
  return safeEqual(Buffer.from(header.trim().toLowerCase()), Buffer.from(signGithub(body, secret)));
}

/**
 * Checks Gitea's `X-Gitea-Signature`: the hex HMAC-SHA256 of the raw body, without a prefix.
 * A `sha256=` prefix (Forgejo's GitHub-style header) is tolerated.
 */
export function verifyGitea(body: Buffer | string, secret: string, header: string | undefined): boolean {
  if (!header || !secret) return false;
  const hex = header.trim().toLowerCase().replace(/^sha256=/, '');
  return safeEqual(Buffer.from(hex), Buffer.from(hmacHex(body, secret)));
}

/** A shared token (GitLab's `X-Gitlab-Token`, a bearer token), compared in constant time. */
export function verifyToken(given: string | undefined, expected: string | undefined): boolean {
  if (!given || !expected) return false;
  return safeEqual(Buffer.from(given), Buffer.from(expected));
}
