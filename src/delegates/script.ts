import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import type { CompiledInterface, CompiledOperation } from '../tosca/model.js';
import { commandFailed } from './command-runner.js';
import { safeName } from './process.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

/** The Standard lifecycle interface of a node, whatever the TOSCA version named it. */
export function standardInterface(interfaces: Record<string, CompiledInterface>): CompiledInterface | undefined {
  for (const [name, i] of Object.entries(interfaces)) {
    if (name === 'Standard' || i.types.some((t) => /(^|[:.])(lifecycle\.)?Standard$/.test(t))) return i;
  }
  return undefined;
}

export function hasScriptOperations(interfaces: Record<string, CompiledInterface>): boolean {
  const std = standardInterface(interfaces);
  return Boolean(std && Object.values(std.operations).some((o) => o.implementation && !/^[a-z]+:\/\//i.test(o.implementation)));
}

const envName = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').toUpperCase();

/**
 * "Just run my script": Standard operations implemented by scripts in the repository. create runs
 * create, configure, start; update runs stop, configure, start; delete runs stop, delete. Steps
 * without a script fall to the built-in delegate, if there is one. Inputs arrive as environment
 * variables; a script reports attributes by writing `name=value` lines to the file $KAIDU_OUTPUTS.
 */
export class ScriptDelegate implements Delegate {
  readonly name = 'script';
  readonly handles: readonly string[] = [];

  constructor(
    private readonly inner: Delegate | undefined,
    private readonly iface: CompiledInterface,
  ) {}

  private async run(ctx: DelegateContext, opName: string, op: CompiledOperation): Promise<Record<string, PlainValue>> {
    const script = await ctx.readRepoFile(op.implementation!);
    if (!script) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: the ${opName} script ${op.implementation} is not in the repository`);
    const dir = join(ctx.dataDir, 'run', 'scripts', safeName(ctx.node.service), safeName(ctx.node.key));
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${opName}-${safeName(op.implementation!.split('/').pop()!)}`);
    await writeFile(file, script);
    await chmod(file, 0o700);
    const outputs = join(dir, `${opName}.outputs`);
    await rm(outputs, { force: true });
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', KAIDU_NODE: ctx.node.id, KAIDU_SERVICE: ctx.node.service, KAIDU_HOST: ctx.host, KAIDU_OUTPUTS: outputs, KAIDU_OPERATION: opName };
    for (const [k, v] of Object.entries({ ...this.iface.inputs, ...op.inputs })) env[envName(k)] = typeof v === 'string' ? v : JSON.stringify(v);
    const argv = script.subarray(0, 2).toString() === '#!' ? [file] : ['/bin/sh', file];
    const spec = { argv, env, cwd: dir, timeoutMs: (op.timeout ?? 300) * 1000, signal: ctx.signal };
    const result = await ctx.runner.run(spec);
    if (result.exitCode !== 0) throw commandFailed(result, spec);
    const attrs: Record<string, PlainValue> = {};
    const text = await readFile(outputs, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) attrs[line.slice(0, i).trim()] = line.slice(i + 1);
    }
    return attrs;
  }

  private async steps(ctx: DelegateContext, names: string[], fallback?: () => Promise<DelegateResult | void>): Promise<Record<string, PlainValue>> {
    let attrs: Record<string, PlainValue> = {};
    const scripted = names.filter((n) => this.iface.operations[n]?.implementation);
    if (scripted.length < names.length && fallback) {
      const r = await fallback();
      if (r) attrs = { ...attrs, ...r.attributes };
    }
    for (const n of scripted) attrs = { ...attrs, ...(await this.run(ctx, n, this.iface.operations[n]!)) };
    return attrs;
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    return { attributes: await this.steps(ctx, ['create', 'configure', 'start'], this.inner ? () => this.inner!.create(ctx) : undefined) };
  }

  async update(ctx: DelegateContext): Promise<DelegateResult> {
    const attrs = await this.steps(ctx, ['stop', 'configure', 'start'], this.inner ? () => this.inner!.update(ctx) : undefined);
    return { attributes: { ...(ctx.previous?.attributes ?? {}), ...attrs } };
  }

  async delete(ctx: DelegateContext): Promise<void> {
    await this.steps(ctx, ['stop', 'delete'], this.inner ? () => this.inner!.delete(ctx) : undefined);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    return this.inner ? this.inner.inspect(ctx) : { exists: true, status: 'running', attributes: ctx.previous?.attributes ?? {} };
  }
}
