import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PluginSpec } from '../repository/settings.js';
import type { DelegateRegistry } from './registry.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

/**
 * A delegate behind HTTP: each operation is `POST <url>/<operation>` with JSON
 * `{node, previous, host}`, answered with `{attributes, status}`.
 */
export class HttpDelegate implements Delegate {
  readonly name: string;
  constructor(
    private readonly url: string,
    readonly handles: readonly string[],
    private readonly token?: string,
  ) {
    this.name = `http:${url}`;
  }

  private async call(op: string, ctx: DelegateContext): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(`${this.url.replace(/\/$/, '')}/${op}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body: JSON.stringify({ node: ctx.node, previous: ctx.previous ?? null, host: ctx.host }),
        signal: ctx.signal,
      });
    } catch (err) {
      throw new KaiduError('E_DELEGATE', `HTTP delegate ${this.url} cannot be reached for ${op}: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) throw new KaiduError('E_DELEGATE', `HTTP delegate ${this.url} answered ${res.status} to ${op} of ${ctx.node.id}: ${text.slice(0, 500)}`);
    try {
      return text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      throw new KaiduError('E_DELEGATE', `HTTP delegate ${this.url} answered ${op} with something that is not JSON`);
    }
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const r = await this.call('create', ctx);
    return { attributes: (r.attributes ?? {}) as DelegateResult['attributes'], ...(r.status ? { status: r.status as DelegateResult['status'] } : {}) };
  }
  async update(ctx: DelegateContext): Promise<DelegateResult> {
    const r = await this.call('update', ctx);
    return { attributes: (r.attributes ?? {}) as DelegateResult['attributes'], ...(r.status ? { status: r.status as DelegateResult['status'] } : {}) };
  }
  async delete(ctx: DelegateContext): Promise<void> {
    await this.call('delete', ctx);
  }
  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const r = await this.call('inspect', ctx);
    return { exists: r.exists !== false, status: (r.status as InspectResult['status']) ?? 'running', attributes: (r.attributes ?? {}) as InspectResult['attributes'] };
  }
}

/** Loads kaidu.yaml's plugins: in-process modules and HTTP delegates, registered for their types. */
export async function loadPlugins(registry: DelegateRegistry, plugins: PluginSpec[], opts: { baseDir: string; logger?: Logger }): Promise<void> {
  for (const p of plugins) {
    if (p.url) {
      const token = p.token_env ? process.env[p.token_env] : undefined;
      registry.register(new HttpDelegate(p.url, p.types, token), p.types);
      continue;
    }
    if (!p.module) continue;
    const spec = p.module.startsWith('.') || p.module.startsWith('/') ? pathToFileURL(resolve(opts.baseDir, p.module)).href : p.module;
    let mod: { default?: unknown };
    try {
      mod = (await import(spec)) as { default?: unknown };
    } catch (err) {
      throw new KaiduError('E_DELEGATE', `cannot load the plugin ${p.module}: ${(err as Error).message}`);
    }
    const exported = typeof mod.default === 'function' ? await (mod.default as () => unknown)() : mod.default;
    const d = exported as Delegate | undefined;
    if (!d || typeof d.create !== 'function' || typeof d.delete !== 'function' || typeof d.update !== 'function' || typeof d.inspect !== 'function' || typeof d.name !== 'string') {
      throw new KaiduError('E_DELEGATE', `plugin ${p.module} must export (as default) a delegate {name, create, update, delete, inspect} or a function returning one`);
    }
    registry.register(d, p.types);
    opts.logger?.info({ plugin: p.module, types: p.types }, 'plugin loaded');
  }
}
