import { readFile } from 'node:fs/promises';
import { KaiduError } from '../errors/kaidu-error.js';

/**
 * How to authenticate to a smart-HTTP hub. The token comes from the value, an environment
 * variable or a file (in that order of preference); it is never logged and is redacted from
 * every error message. GitHub, GitLab and Gitea all accept a token as the Basic password.
 */
export interface GitAuth {
  token?: string;
  /** Name of an environment variable holding the token. */
  tokenEnv?: string;
  /** A file holding the token (surrounding whitespace ignored). */
  tokenFile?: string;
  /** Basic-auth user name sent with the token; `x-access-token` by default. */
  username?: string;
}

export interface Credentials {
  username: string;
  password: string;
}

export async function resolveCredentials(auth: GitAuth | undefined): Promise<Credentials | undefined> {
  if (!auth) return undefined;
  const username = auth.username ?? 'x-access-token';
  if (auth.token) return { username, password: auth.token };
  if (auth.tokenEnv) {
    const t = process.env[auth.tokenEnv]?.trim();
    if (!t) throw new KaiduError('E_GIT_AUTH', `the environment variable ${auth.tokenEnv} (git token) is empty or unset`);
    return { username, password: t };
  }
  if (auth.tokenFile) {
    let t: string;
    try {
      t = (await readFile(auth.tokenFile, 'utf8')).trim();
    } catch (err) {
      throw new KaiduError('E_GIT_AUTH', `cannot read the git token file ${auth.tokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!t) throw new KaiduError('E_GIT_AUTH', `the git token file ${auth.tokenFile} is empty`);
    return { username, password: t };
  }
  return undefined;
}

export function basicAuthHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
