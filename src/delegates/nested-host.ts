/**
 * Nesting: a node hosted on a workload (a Container, an Nspawn machine, a Distrobox) runs and is
 * written *inside* it. One interface, "run a command on this host",
 * implemented per hosting runtime; the Process, ConfigFile, Directory and Port delegates use it
 * instead of the outer machine when a node is nested.
 */
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import type { CommandResult, CommandRunner, DelegateContext, HostedOn } from './types.js';

export interface ExecOptions {
  /** Environment of the command inside (besides what the workload sets itself). */
  env?: Record<string, string>;
  /** Working directory inside; default the workload's own. */
  cwd?: string;
  /** User inside; default the workload's own. */
  user?: string;
  /** Text on the command's stdin. */
  input?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Whether the workload can run a command now: running, stopped (its processes all ended), or gone. */
export type NestState = 'running' | 'stopped' | 'absent';

export interface NestedHost {
  /** For messages: `podman container kaidu-shop-web`. */
  readonly description: string;
  /** What the node's state records (attribute `inside`), so delete and inspect reach the same workload when the templates no longer say. */
  readonly record: Record<string, PlainValue>;
  /** The argv that runs `argv` inside (also what a command readiness probe runs). */
  execArgv(argv: readonly string[], opts?: Omit<ExecOptions, 'input' | 'timeoutMs' | 'signal'>): string[];
  /** Runs `argv` inside; resolves whatever the exit code (callers decide, then ask `state` why). */
  exec(runner: CommandRunner, argv: readonly string[], opts?: ExecOptions): Promise<CommandResult>;
  /** Asks the runtime (never infers it from a failed exec's text). */
  state(runner: CommandRunner): Promise<NestState>;
  /** The host-side address and port a port inside is reached at, or undefined when it is not published. */
  published?(runner: CommandRunner, port: number, protocol: 'tcp' | 'udp'): Promise<{ address: string; port: number } | undefined>;
  /**
   * Whether something serves `port` in the workload's network namespace, read from the outside (its
   * /proc tables through `runner`: nothing needed inside). A process is ready only when its port
   * listens inside, not merely because a proxy accepts on the published port. Hosts without it are
   * probed by grepping /proc/net/tcp through `exec`.
   */
  listening?(runner: CommandRunner, port: number, protocol: 'tcp' | 'udp'): Promise<boolean>;
  /**
   * Where a path inside is seen from the outer machine, so the agent can watch a file there with
   * native file events (a nested process's exit); undefined when the workload does not run.
   */
  hostPath?(runner: CommandRunner, path: string): Promise<string | undefined>;
}

/** Makes a NestedHost from the hosting node (at create) or from the record in the nested node's state (delete, inspect). */
export interface NestedHostFactory {
  fromHostedOn(hostedOn: HostedOn, ctx: DelegateContext): NestedHost;
  fromRecord(record: Record<string, PlainValue>): NestedHost | undefined;
}

const factories = new Map<string, NestedHostFactory>();

/**
 * Registers how nodes hosted on nodes of `type` run inside them (nested-container.ts,
 * nested-nspawn.ts, nested-distrobox.ts); `kind` is the `kind` field of the records their hosts write.
 */
export function registerNestedHost(type: string, kind: string, factory: NestedHostFactory): void {
  factories.set(type, factory);
  factories.set(`kind:${kind}`, factory);
}

/** Types a node can be nested in (others host nothing, or, like a kaidu:Host, are the machine itself). */
export function nestingTypes(): string[] {
  return [...factories.keys()].filter((k) => !k.startsWith('kind:'));
}

/**
 * Types that can host nodes in the profile but whose runner is not registered: a node hosted on
 * one must fail, not quietly run on the outer machine. (None today: every hosting type has one.)
 */
const NOT_NESTABLE_YET: string[] = [];

/** True when nodes hosted on a node of these types run inside it (or must fail because they cannot yet). */
export function isNestingHost(types: readonly string[]): boolean {
  return types.some((t) => factories.has(t) || NOT_NESTABLE_YET.includes(t));
}

/**
 * Where the node of `ctx` is to be made (create, update): inside the workload it is hosted on, or
 * undefined for the machine itself. Delete and inspect use `recordedInside` (the node's state).
 */
export function insideOf(ctx: DelegateContext): NestedHost | undefined {
  const hostedOn = ctx.node.hostedOn;
  if (hostedOn) {
    const type = [hostedOn.type, ...hostedOn.types].find((t) => factories.has(t));
    if (type) return factories.get(type)!.fromHostedOn(hostedOn, ctx);
    const unsupported = [hostedOn.type, ...hostedOn.types].find((t) => NOT_NESTABLE_YET.includes(t));
    if (unsupported) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: running a node inside a ${unsupported} (${hostedOn.node}) is not supported yet`, { hint: 'host it on the kaidu:Host, or on a Container, Nspawn machine or Distrobox' });
  }
  return undefined;
}

/** The workload the node's state says it was made in (delete, inspect). */
export function recordedInside(ctx: Pick<DelegateContext, 'previous' | 'node'>): NestedHost | undefined {
  const rec = ctx.previous?.attributes.inside;
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return undefined;
  const kind = typeof rec.kind === 'string' ? rec.kind : '';
  const host = factories.get(`kind:${kind}`)?.fromRecord(rec);
  if (!host) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: its state says it runs inside a "${kind}" workload, which this agent cannot reach`);
  return host;
}

/**
 * Why a command inside failed when its exit code alone cannot say: the workload is gone or
 * stopped (undefined then means "running: the command itself failed").
 */
export async function whyFailed(host: NestedHost, runner: CommandRunner): Promise<'absent' | 'stopped' | undefined> {
  const s = await host.state(runner);
  return s === 'running' ? undefined : s;
}

/** An error for a command inside that failed while the workload runs. */
export function execFailed(host: NestedHost, what: string, r: CommandResult): KaiduError {
  const out = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-15).join('\n');
  return new KaiduError('E_COMMAND_FAILED', `${what} in ${host.description} exited with ${r.exitCode}${out ? `\n${out}` : ''}`, { details: { exitCode: r.exitCode, stderr: out } });
}

/** Error when the workload a nested node needs is not there to act in. */
export function notThere(host: NestedHost, state: 'absent' | 'stopped', what: string): KaiduError {
  return new KaiduError('E_DELEGATE', `${what}: ${host.description} ${state === 'absent' ? 'does not exist' : 'is not running'}`);
}
