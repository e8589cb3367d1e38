import { chmod, chown, mkdir, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { homedir } from 'node:os';
import { KaiduError } from '../errors/kaidu-error.js';
import { runChecked } from './command-runner.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

/** A directory with a mode and owner. Its data stays on delete unless `purge: true`. */
export class DirectoryDelegate implements Delegate {
  readonly name = 'directory';
  readonly handles = ['kaidu:Directory'];

  private path(ctx: DelegateContext, props = ctx.node.properties): string {
    if (typeof props.path !== 'string' || !props.path) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "path" is required`);
    return resolve(props.path);
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const path = this.path(ctx);
    const mode = parseInt(typeof ctx.node.properties.mode === 'string' ? ctx.node.properties.mode : '0755', 8);
    if (Number.isNaN(mode)) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: mode must be octal like "0755"`);
    await mkdir(path, { recursive: true, mode });
    await chmod(path, mode);
    const { owner, group } = ctx.node.properties;
    if (typeof owner === 'string' || typeof group === 'string') {
      const uid = typeof owner === 'string' ? Number((await runChecked(ctx.runner, { argv: ['id', '-u', owner] })).stdout.trim()) : -1;
      const gid = typeof group === 'string' ? Number((await runChecked(ctx.runner, { argv: ['getent', 'group', group] })).stdout.split(':')[2]) : -1;
      await chown(path, uid, gid);
    }
    return { attributes: { path } };
  }

  update(ctx: DelegateContext): Promise<DelegateResult> {
    return this.create(ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const props = ctx.previous?.properties ?? ctx.node.properties;
    if (props.purge !== true) return;
    const path = this.path(ctx, props);
    const forbidden = ['/', resolve(homedir()), '/home', '/root', '/etc', '/usr', '/var', '/tmp', '/opt', '/srv', '/boot', '/proc', '/sys', '/dev', '/run', '/mnt', '/media', '/var/lib', '/var/tmp', '/usr/local'];
    const dataDir = resolve(ctx.dataDir);
    // Never the data directory, nor a folder that contains it (that would delete the agent's own state).
    const holdsDataDir = dataDir === path || dataDir.startsWith(`${path}/`);
    if (forbidden.includes(path) || holdsDataDir || path.split('/').filter(Boolean).length < 2) {
      throw new KaiduError('E_DELEGATE', `${ctx.node.id}: refusing to purge ${path}`, { hint: 'purge only removes a directory at least two levels deep, never a system or home directory' });
    }
    await rm(path, { recursive: true, force: true });
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const path = typeof ctx.previous?.attributes.path === 'string' ? ctx.previous.attributes.path : undefined;
    const exists = path ? Boolean(await stat(path).catch(() => undefined)) : false;
    return { exists, status: exists ? 'running' : 'stopped', attributes: path ? { path } : {} };
  }
}
