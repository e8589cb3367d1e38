import { KaiduError } from '../errors/kaidu-error.js';
import type { Credentials } from './auth.js';

export interface SplitUrl {
  /** The URL with no user name or password: the only form written to disk or logged. */
  url: string;
  /** What the URL carried, kept in memory and handed to git through onAuth / a header. */
  credentials?: Credentials;
}

/**
 * Separates credentials from a hub URL (`https://user:token@host/repo.git`). A URL holding only a
 * user (`https://TOKEN@host/...`, as some forges document) gives that user with an empty password.
 * The rest of the URL is kept as written (no added slash, no dropped port).
 */
export function splitUrlCredentials(url: string): SplitUrl {
  const m = /^(https?:\/\/)([^/?#]*)@/i.exec(url);
  if (!m) return { url };
  const userinfo = m[2]!;
  const colon = userinfo.indexOf(':');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new KaiduError('E_USAGE', 'the credentials in the hub URL are not valid percent-encoding', { hint: 'give the token with --git-token-file instead of in the URL' });
    }
  };
  const username = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? '' : decode(userinfo.slice(colon + 1));
  return { url: m[1]! + url.slice(m[0].length), credentials: { username, password } };
}
