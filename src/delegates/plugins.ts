import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
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

/** What a plugin module's default-export factory is called with. */
export interface PluginFactoryOptions {
  /** The types kaidu.yaml registers the plugin for. */
  types: readonly string[];
  /** Where the module was resolved from (the repository checkout, or the data dir). */
  baseDir: string;
  logger?: Logger;
}

function isDelegate(d: unknown): d is Delegate {
  const x = d as Partial<Delegate> | undefined;
  return Boolean(x && typeof x.name === 'string' && typeof x.create === 'function' && typeof x.update === 'function' && typeof x.delete === 'function' && typeof x.inspect === 'function');
}

/**
 * A module specifier as `import()` should see it: a path (`./delegates/my.js`, `/opt/x.mjs`) is
 * resolved against `baseDir`; a package name is looked up from `baseDir`'s node_modules first (the
 * repository's own dependencies), then from Kaidu's.
 */
function moduleUrl(module: string, baseDir: string): string {
  if (module.startsWith('.') || isAbsolute(module)) return pathToFileURL(resolve(baseDir, module)).href;
  try {
    return pathToFileURL(createRequire(join(resolve(baseDir), 'package.json')).resolve(module)).href;
  } catch {
    return module;
  }
}

/**
 * Loads kaidu.yaml's `plugins`, registering each for its `types` (a plugin's type wins over a
 * built-in one registered earlier):
 * - `{module, types}`: an in-process ES module whose default export is a `Delegate`, or a function
 *   (sync or async; a class works too) called with `PluginFactoryOptions` that returns one;
 * - `{url, types, token_env?}`: an `HttpDelegate`, with `Authorization: Bearer $<token_env>`.
 */
export async function loadPlugins(registry: DelegateRegistry, plugins: PluginSpec[], opts: { baseDir: string; logger?: Logger }): Promise<Delegate[]> {
  const loaded: Delegate[] = [];
  for (const p of plugins) {
    if (p.url) {
      const token = p.token_env ? process.env[p.token_env] : undefined;
      if (p.token_env && !token) opts.logger?.warn({ plugin: p.url, token_env: p.token_env }, 'the plugin token variable is not set; calling without a token');
      const d = new HttpDelegate(p.url, p.types, token);
      registry.register(d, p.types);
      loaded.push(d);
      continue;
    }
    if (!p.module) continue;
    let mod: { default?: unknown };
    try {
      mod = (await import(moduleUrl(p.module, opts.baseDir))) as { default?: unknown };
    } catch (err) {
      throw new KaiduError('E_DELEGATE', `cannot load the plugin ${p.module} (from ${opts.baseDir}): ${(err as Error).message}`, { cause: err });
    }
    let exported = mod.default;
    if (typeof exported === 'function' && !isDelegate(exported)) {
      const factory = exported as (o: PluginFactoryOptions) => unknown;
      const factoryOpts: PluginFactoryOptions = { types: p.types, baseDir: opts.baseDir, ...(opts.logger ? { logger: opts.logger } : {}) };
      try {
        exported = /^class[\s{]/.test(Function.prototype.toString.call(factory)) ? new (factory as unknown as new (o: PluginFactoryOptions) => unknown)(factoryOpts) : await factory(factoryOpts);
      } catch (err) {
        throw new KaiduError('E_DELEGATE', `the plugin ${p.module} failed to start: ${(err as Error).message}`, { cause: err });
      }
    }
    if (!isDelegate(exported)) {
      throw new KaiduError('E_DELEGATE', `plugin ${p.module} must export (as default) a delegate {name, create, update, delete, inspect} or a function returning one`);
    }
    registry.register(exported, p.types);
    loaded.push(exported);
    opts.logger?.info({ plugin: p.module, types: p.types }, 'plugin loaded');
  }
  return loaded;
}
