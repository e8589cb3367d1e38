/**
 * The imperative escape hatch: TOSCA `Standard` lifecycle operations implemented by scripts in the
 * repository.
 *
 * Which operations run:
 *   create  → `create` script, the built-in delegate's create (unless create, configure and start
 *             are all scripts), then `configure` and `start` scripts
 *   update  → `stop` script, the built-in delegate's update (same rule), `configure`, `start`
 *   delete  → `stop` script, the built-in delegate's delete (unless stop and delete are both
 *             scripts), `delete` script
 * A node with scripts but no built-in delegate (a standard `tosca:SoftwareComponent`) is its
 * scripts alone.
 *
 * How a script runs: copied from the repository to `<dataDir>/run/scripts/<service>/<node>/` with
 * mode 0700 and run directly (its shebang decides the interpreter; without one, `/bin/sh`), in that
 * folder, through the CommandRunner. Its environment is a minimal PATH/HOME, the variables injected
 * by ConnectsTo, then the interface's and the operation's inputs as UPPER_SNAKE names (strings as
 * they are, other values JSON-encoded), and KAIDU_NODE, KAIDU_SERVICE, KAIDU_HOST,
 * KAIDU_OPERATION, KAIDU_OUTPUTS.
 *
 * Outputs: like GitHub Actions' GITHUB_OUTPUT, a script appends lines to the file named by
 * `$KAIDU_OUTPUTS`: `name=value`, or for a multi-line value
 *     name<<EOF
 *     line 1
 *     line 2
 *     EOF
 * Each becomes an attribute of the node (values are strings). A TOSCA 2.0 operation `outputs`
 * mapping (`port: [SELF, http_port]`) renames an output to the attribute it names.
 *
 * Every script of the interface is copied at create and update, with a manifest, so a later delete
 * (when the node is gone from the templates) and a re-adoption after an agent restart still find
 * the `stop` and `delete` scripts the node was made with.
 */
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { isFunctionCall, type CompiledInterface, type CompiledOperation, type Value } from '../tosca/model.js';
import { writeFileAtomic } from '../state/write-file.js';
import { commandFailed } from './command-runner.js';
import { safeName } from './process.js';
import { dataPath } from './data-dir.js';
import type { Delegate, DelegateContext, DelegateResult, DesiredNode, InspectResult } from './types.js';

export const SCRIPT_DELEGATE = 'script';
const LIFECYCLE = ['create', 'configure', 'start', 'stop', 'delete'] as const;
type Lifecycle = (typeof LIFECYCLE)[number];

/** The Standard lifecycle interface of a node, whatever the TOSCA version named it. */
export function standardInterface(interfaces: Record<string, CompiledInterface>): CompiledInterface | undefined {
  for (const [name, i] of Object.entries(interfaces)) {
    if (name === 'Standard' || i.types.some((t) => /(^|[:.])(lifecycle\.)?Standard$/.test(t))) return i;
  }
  return undefined;
}

const isScript = (op: CompiledOperation | undefined): op is CompiledOperation & { implementation: string } => Boolean(op?.implementation && !/^[a-z][a-z0-9+.-]*:\/\//i.test(op.implementation));

/**
 * Whether a node (or an interfaces map) has Standard operations implemented by repository scripts:
 * apply then runs them instead of (or around) the built-in delegate's steps.
 */
export function hasScriptOperations(nodeOrInterfaces: Pick<DesiredNode, 'interfaces'> | Record<string, CompiledInterface>): boolean {
  const interfaces = isNodeLike(nodeOrInterfaces) ? nodeOrInterfaces.interfaces : (nodeOrInterfaces as Record<string, CompiledInterface>);
  const std = standardInterface(interfaces ?? {});
  return Boolean(std && Object.values(std.operations).some(isScript));
}

function isNodeLike(x: object): x is Pick<DesiredNode, 'interfaces'> {
  const i = (x as { interfaces?: unknown }).interfaces;
  return typeof i === 'object' && i !== null && 'types' in x;
}

/** `http-port` → `HTTP_PORT`. */
export const inputEnvName = (s: string): string => s.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').toUpperCase();

/** Parses a `$KAIDU_OUTPUTS` file: `name=value` lines and `name<<DELIM` … `DELIM` blocks. */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const heredoc = /^([^=<\s][^=<]*)<<(\S+)$/.exec(line);
    if (heredoc) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i]!.replace(/\r$/, '') !== heredoc[2]; i++) body.push(lines[i]!.replace(/\r$/, ''));
      out[heredoc[1]!.trim()] = body.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return out;
}

interface StoredOperation {
  implementation: string;
  file: string;
  inputs: Record<string, PlainValue>;
  timeout?: number;
  outputs: Record<string, string[]>;
}
interface Manifest {
  inputs: Record<string, PlainValue>;
  operations: Partial<Record<Lifecycle, StoredOperation>>;
}

function plainInputs(ctx: DelegateContext, where: string, inputs: Record<string, Value>): Record<string, PlainValue> {
  const out: Record<string, PlainValue> = {};
  for (const [k, v] of Object.entries(inputs)) {
    if (containsFunction(v)) {
      throw new KaiduError('E_DELEGATE', `${ctx.node.id}: input "${k}" of ${where} is a function call, which operation inputs cannot use`, { hint: 'put the value in a property and read that property in the input, or read it from $KAIDU_* in the script' });
    }
    out[k] = v as PlainValue;
  }
  return out;
}

function containsFunction(v: Value): boolean {
  if (isFunctionCall(v)) return true;
  if (Array.isArray(v)) return v.some(containsFunction);
  if (v && typeof v === 'object') return Object.values(v as Record<string, Value>).some(containsFunction);
  return false;
}

export class ScriptDelegate implements Delegate {
  readonly name: string;
  readonly handles: readonly string[] = [];

  /**
   * @param inner the built-in delegate for the node's type, if it has one
   * @param iface the Standard interface to use; default the node's own (`ctx.node.interfaces`),
   *   or the copy stored at create when the node no longer has one (delete, re-adoption)
   */
  constructor(
    private readonly inner: Delegate | undefined,
    private readonly iface?: CompiledInterface,
  ) {
    this.name = inner ? `${SCRIPT_DELEGATE}+${inner.name}` : SCRIPT_DELEGATE;
  }

  /** The node's script folder, or a file in it. */
  private dir(ctx: DelegateContext, file?: string): string {
    return dataPath(ctx.dataDir, 'run', 'scripts', safeName(ctx.node.service), safeName(ctx.node.key), ...(file === undefined ? [] : [file]));
  }

  /** Copies every script of the node's Standard interface next to a manifest; returns the manifest. */
  private async prepare(ctx: DelegateContext): Promise<Manifest> {
    const iface = this.iface ?? standardInterface(ctx.node.interfaces);
    if (!iface || !Object.values(iface.operations).some(isScript)) return this.stored(ctx);
    const dir = this.dir(ctx);
    await mkdir(dir, { recursive: true });
    const manifest: Manifest = { inputs: plainInputs(ctx, 'the Standard interface', iface.inputs), operations: {} };
    for (const opName of LIFECYCLE) {
      const op = iface.operations[opName];
      if (!isScript(op)) continue;
      const script = await ctx.readRepoFile(op.implementation);
      if (!script) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: the ${opName} script ${op.implementation} is not in the repository`);
      const file = this.dir(ctx, `${opName}-${safeName(op.implementation.split('/').pop()!)}`);
      await writeFileAtomic(file, script, 0o700);
      await chmod(file, 0o700);
      manifest.operations[opName] = { implementation: op.implementation, file, inputs: plainInputs(ctx, `the ${opName} operation`, op.inputs), ...(op.timeout ? { timeout: op.timeout } : {}), outputs: op.outputs };
    }
    await writeFileAtomic(this.dir(ctx, 'operations.json'), JSON.stringify(manifest, null, 2) + '\n', 0o600);
    return manifest;
  }

  /** The manifest written at the last create or update (nothing to run if there is none). */
  private async stored(ctx: DelegateContext): Promise<Manifest> {
    try {
      return JSON.parse(await readFile(this.dir(ctx, 'operations.json'), 'utf8')) as Manifest;
    } catch {
      return { inputs: {}, operations: {} };
    }
  }

  private async run(ctx: DelegateContext, manifest: Manifest, opName: Lifecycle): Promise<Record<string, PlainValue>> {
    const op = manifest.operations[opName];
    if (!op) return {};
    const dir = this.dir(ctx);
    const outputs = this.dir(ctx, `${opName}.outputs`);
    await rm(outputs, { force: true });
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...ctx.node.env };
    for (const [k, v] of Object.entries({ ...manifest.inputs, ...op.inputs })) env[inputEnvName(k)] = typeof v === 'string' ? v : JSON.stringify(v);
    Object.assign(env, { KAIDU_NODE: ctx.node.id, KAIDU_SERVICE: ctx.node.service, KAIDU_HOST: ctx.host, KAIDU_OPERATION: opName, KAIDU_OUTPUTS: outputs });
    const head = await readFile(op.file).catch(() => undefined);
    if (!head) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: the ${opName} script ${op.implementation} is missing from ${dir}`);
    const argv = head.subarray(0, 2).toString() === '#!' ? [op.file] : ['/bin/sh', op.file];
    const spec = { argv, env, cwd: dir, timeoutMs: (op.timeout ?? 300) * 1000, signal: ctx.signal };
    ctx.logger.info({ operation: opName, script: op.implementation }, 'running operation script');
    const result = await ctx.runner.run(spec);
    if (result.exitCode !== 0) {
      const err = commandFailed(result, spec);
      throw new KaiduError('E_COMMAND_FAILED', `${ctx.node.id}: the ${opName} script ${op.implementation} ${err.message.slice(err.message.indexOf('exited with'))}`, { details: err.details });
    }
    const attrs: Record<string, PlainValue> = {};
    for (const [name, value] of Object.entries(parseOutputs(await readFile(outputs, 'utf8').catch(() => '')))) {
      const mapped = op.outputs[name];
      attrs[mapped && mapped.length >= 2 && mapped[0] === 'SELF' ? mapped[mapped.length - 1]! : name] = value;
    }
    return attrs;
  }

  /** Scripted steps before and after the inner delegate's step, which runs unless `replacedBy` are all scripts. */
  private async sequence(ctx: DelegateContext, manifest: Manifest, before: Lifecycle[], replacedBy: Lifecycle[], after: Lifecycle[], innerStep?: () => Promise<DelegateResult | void>): Promise<Record<string, PlainValue>> {
    let attrs: Record<string, PlainValue> = {};
    for (const n of before) attrs = { ...attrs, ...(await this.run(ctx, manifest, n)) };
    if (innerStep && !replacedBy.every((n) => manifest.operations[n])) {
      const r = await innerStep();
      if (r) attrs = { ...attrs, ...r.attributes };
    }
    for (const n of after) attrs = { ...attrs, ...(await this.run(ctx, manifest, n)) };
    return attrs;
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const m = await this.prepare(ctx);
    const inner = this.inner;
    return { attributes: await this.sequence(ctx, m, ['create'], ['create', 'configure', 'start'], ['configure', 'start'], inner ? () => inner.create(ctx) : undefined), status: 'running' };
  }

  async update(ctx: DelegateContext): Promise<DelegateResult> {
    const m = await this.prepare(ctx);
    const inner = this.inner;
    const attrs = await this.sequence(ctx, m, ['stop'], ['create', 'configure', 'start'], ['configure', 'start'], inner ? () => inner.update(ctx) : undefined);
    return { attributes: { ...(ctx.previous?.attributes ?? {}), ...attrs }, status: 'running' };
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const m = this.iface || hasScriptOperations(ctx.node.interfaces ?? {}) ? await this.prepare(ctx) : await this.stored(ctx);
    const inner = this.inner;
    await this.sequence(ctx, m, ['stop'], ['stop', 'delete'], ['delete'], inner ? () => inner.delete(ctx) : undefined);
    await rm(this.dir(ctx), { recursive: true, force: true });
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    // A script cannot be asked whether its work still exists: the built-in delegate can.
    return this.inner ? this.inner.inspect(ctx) : { exists: true, status: ctx.previous?.status ?? 'running', attributes: ctx.previous?.attributes ?? {} };
  }
}
