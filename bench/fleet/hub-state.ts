/**
 * "Is host H's state for revision R on the hub?", read straight from the hub's bare repository,
 * for either layout: the host's own branch `kaidu/state/<H>` when it exists (per-host state refs),
 * else the main branch (state committed next to the templates). Read in-process with
 * isomorphic-git, so the reading spawns no git process (the bench counts the hub's child CPU).
 */
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { parse } from 'yaml';

export interface HostStateOnHub {
  layout: 'state-ref' | 'main';
  /** The commit the state was read from. */
  commit: string;
  /** `revision` of `state/<H>/<service>.yaml`, undefined when the file is not there. */
  revision: string | undefined;
  /** The parsed file (shared between calls: do not modify). */
  doc: StateDoc | undefined;
}

export interface StateDoc {
  revision?: string;
  nodes?: Record<string, { status?: string; attributes?: Record<string, unknown>; env?: Record<string, string>; error?: string }>;
}

export class HubStateReader {
  private readonly cache = {};
  private readonly docs = new Map<string, StateDoc | undefined>();

  constructor(
    private readonly gitdir: string,
    private readonly opts: { branch?: string; stateDir?: string } = {},
  ) {}

  private async resolve(ref: string): Promise<string | undefined> {
    try {
      return await git.resolveRef({ fs, gitdir: this.gitdir, ref });
    } catch {
      return undefined;
    }
  }

  async read(host: string, service: string): Promise<HostStateOnHub | undefined> {
    const own = await this.resolve(`refs/heads/kaidu/state/${host}`);
    const commit = own ?? (await this.resolve(`refs/heads/${this.opts.branch ?? 'main'}`));
    if (!commit) return undefined;
    const layout = own ? 'state-ref' : 'main';
    const filepath = `${this.opts.stateDir ?? 'state'}/${host}/${service}.yaml`;
    let oid: string;
    try {
      ({ oid } = await git.readBlob({ fs, gitdir: this.gitdir, oid: commit, filepath, cache: this.cache }));
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return { layout, commit, revision: undefined, doc: undefined };
      throw err;
    }
    // Most hosts' files do not change between two pushes: parse each blob once.
    if (!this.docs.has(oid)) {
      const { blob } = await git.readBlob({ fs, gitdir: this.gitdir, oid, cache: this.cache });
      const doc = parse(Buffer.from(blob).toString('utf8')) as StateDoc | null;
      this.docs.set(oid, doc && typeof doc === 'object' ? doc : undefined);
    }
    const doc = this.docs.get(oid);
    return { layout, commit, revision: typeof doc?.revision === 'string' ? doc.revision : undefined, doc };
  }
}
