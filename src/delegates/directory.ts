import { chmod, chown, mkdir, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { homedir } from 'node:os';
import { KaiduError } from '../errors/kaidu-error.js';
import { runChecked } from './command-runner.js';
import { hostPath, realPathOf } from './host-path.js';
import { insideOf, recordedInside } from './nesting.js';
import { inspectPath, insidePath, NestedDirectory } from './nested-files.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

/** A directory with a mode and owner. Its data stays on delete unless `purge: true`. */
export class DirectoryDelegate implements Delegate {
  readonly name = 'directory';
  readonly handles = ['kaidu:Directory'];
  private readonly nested = new NestedDirectory();

  /** Absolute, and outside the agent's data dir and git mirror (see host-path.ts). */
  private path(ctx: DelegateContext, props = ctx.node.properties): Promise<string> {
    return hostPath(ctx, props.path, 'path');
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const inside = insideOf(ctx);
    const path = inside ? insidePath(ctx, ctx.node.properties.path, 'path') : await this.path(ctx);
    const mode = parseInt(typeof ctx.node.properties.mode === 'string' ? ctx.node.properties.mode : '0755', 8);
    if (Number.isNaN(mode)) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: mode must be octal like "0755"`);
    if (inside) {
      const { owner, group } = ctx.node.properties;
      await this.nested.make(ctx, inside, path, mode, typeof owner === 'string' ? owner : undefined, typeof group === 'string' ? group : undefined);
      return { attributes: { path, inside: inside.record } };
    }
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
    const inside = recordedInside(ctx);
    if (inside) return this.nested.purge(ctx, inside, insidePath(ctx, ctx.previous?.attributes.path ?? props.path, 'path'));
    const path = await this.path(ctx, props);
    const forbidden = ['/', resolve(homedir()), '/home', '/root', '/etc', '/usr', '/var', '/tmp', '/opt', '/srv', '/boot', '/proc', '/sys', '/dev', '/run', '/mnt', '/media', '/var/lib', '/var/tmp', '/usr/local'];
    const real = await realPathOf(path);
    const guarded = [resolve(ctx.dataDir), ...(ctx.protectedPaths ?? []).map((p) => resolve(p))];
    const guardedReal = await Promise.all(guarded.map((g) => realPathOf(g)));
    // Never a folder that holds the data directory or the git mirror (that would delete the
    // agent's own state), whether as written or once symlinks are resolved.
    const holds = (dir: string) => [...guarded, ...guardedReal].some((g) => g === dir || g.startsWith(`${dir}/`));
    if (forbidden.includes(path) || forbidden.includes(real) || holds(path) || holds(real) || path.split('/').filter(Boolean).length < 2 || real.split('/').filter(Boolean).length < 2) {
      throw new KaiduError('E_DELEGATE', `${ctx.node.id}: refusing to purge ${path}${real !== path ? ` (really ${real})` : ''}`, { hint: 'purge only removes a directory at least two levels deep, never a system or home directory, nor one holding the agent\'s data' });
    }
    await rm(path, { recursive: true, force: true });
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const path = typeof ctx.previous?.attributes.path === 'string' ? ctx.previous.attributes.path : undefined;
    const inside = recordedInside(ctx);
    if (inside) return inspectPath(ctx, inside, path);
    const exists = path ? Boolean(await stat(path).catch(() => undefined)) : false;
    return { exists, status: exists ? 'running' : 'stopped', attributes: path ? { path } : {} };
  }
}
