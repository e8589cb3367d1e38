import { createHmac } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyToken } from '../events/index.js';

/**
 * The optional bearer token of the read-only API (`/status`, `/metrics`, the fleet page and its
 * data). Without one these are open, which is why the agent listens on 127.0.0.1 by default.
 *
 * A browser cannot send a header on navigation, so `/?token=T` once sets a cookie (HttpOnly,
 * SameSite=Strict) holding an HMAC of the token, not the token itself, and redirects to `/` so the
 * token leaves the address bar and the history.
 */
export class ApiToken {
  private readonly cookieValue: string;

  constructor(private readonly token: string) {
    this.cookieValue = createHmac('sha256', token).update('kaidu-ui-cookie-v1').digest('hex');
  }

  /** Browsers share cookies between ports of one host: each listener gets its own cookie name. */
  cookieName(req: FastifyRequest): string {
    return `kaidu_ui_${req.socket.localPort ?? 0}`;
  }

  allows(req: FastifyRequest): boolean {
    const header = req.headers.authorization ?? '';
    if (header.startsWith('Bearer ')) return verifyToken(header.slice(7), this.token);
    const cookie = readCookie(req.headers.cookie, this.cookieName(req));
    return cookie !== undefined && verifyToken(cookie, this.cookieValue);
  }

  /** `?token=` on the page: a right token becomes the cookie; the caller redirects. */
  exchange(req: FastifyRequest, reply: FastifyReply, given: string): boolean {
    if (!verifyToken(given, this.token)) return false;
    reply.header('set-cookie', `${this.cookieName(req)}=${this.cookieValue}; Path=/; HttpOnly; SameSite=Strict`);
    return true;
  }
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A fastify onRequest hook refusing what `token` does not allow (no token: everything passes). */
export function requireApiToken(token: ApiToken | undefined) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (!token || token.allows(req)) return undefined;
    // An async hook that answers returns the reply, so fastify runs no handler after it.
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="kaidu"')
      .send({ error: 'this endpoint needs the API token: send "Authorization: Bearer <token>" (in a browser, open /?token=<token> once)' });
  };
}
