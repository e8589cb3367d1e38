/**
 * Running inside a Distrobox: the box IS a container in its user's rootless podman, so commands go
 * straight through `podman exec` run as that user (`distrobox enter` would do the same, slowly and
 * through a terminal). Inside, they run as the box's user by default, as `distrobox enter` runs
 * them (the box's root is an unmapped sub-uid on the host, whose files in the shared home would
 * belong to nobody the user knows); a node's `user` may name another user of the box.
 *
 * A box that is not running (distrobox starts boxes on `enter`; a new box is only "Created") is
 * started on the first command of a create, as `distrobox enter` does: `podman start`, then wait
 * until distrobox's init in it says `container_setup_done` (its first start may install packages;
 * an `Error:` line fails the action with it). Reading a box never starts it.
 *
 * Distrobox shares the host's network (and pid namespace) by default, so a Port hosted on a box is
 * the host's port; that is checked (the container's network mode), not assumed.
 */
import { userInfo } from 'node:os';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { commandFailed, tail } from './command-runner.js';
import { registerNestedHost, type ExecOptions, type NestedHost, type NestState } from './nested-host.js';
import { saysAbsent } from './not-found.js';
import { listensInNamespaceVia } from './published-port.js';
import type { CommandResult, CommandRunner, CommandSpec, HostedOn } from './types.js';

/** What useradd accepts by default: never an option or a path. */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
/** A podman container name (distrobox names are podman's). */
const BOX_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** How long a box's first start may take (distrobox's init may install packages). */
const SETUP_TIMEOUT_MS = 10 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** $1 user, then the argv: runs it as that user (primary group and groups from the user database), with the user's own environment, in `/`. */
const AS_USER = `u=$1; shift
g=$(id -g "$u") || exit 125
cd / || exit 125
exec setpriv --reuid="$u" --regid="$g" --init-groups --reset-env "$@"`;

/** $1 user, $2 mode: /run/kaidu inside belongs to the box's user (nested processes keep their pid and logs there). */
const RUN_DIR = `mkdir -p /run/kaidu && chown "$1" /run/kaidu && chmod "$2" /run/kaidu`;

export class DistroboxNest implements NestedHost {
  readonly description: string;
  readonly record: Record<string, PlainValue>;
  /** Started (if need be) and prepared once per action. */
  private prepared: Promise<void> | undefined;

  /**
   * @param box the box's name (its container's)
   * @param user its owner (whose podman holds it)
   * @param viaSetpriv run podman through setpriv (an agent running as root), or directly (the agent is the user)
   */
  constructor(
    readonly box: string,
    readonly user: string,
    readonly viaSetpriv: boolean,
  ) {
    if (!BOX_NAME.test(box)) throw new KaiduError('E_DELEGATE', `box name ${JSON.stringify(box)} is not a valid container name`);
    if (!USER_NAME.test(user)) throw new KaiduError('E_DELEGATE', `user ${JSON.stringify(user)} is not a valid user name`);
    this.description = `distrobox ${box} of ${user}`;
    this.record = { kind: 'distrobox', box_name: box, user };
  }

  /** `argv` (a podman command) as the box's owner. */
  private podman(argv: readonly string[]): string[] {
    return this.viaSetpriv ? ['sh', '-c', AS_USER, 'kaidu', this.user, 'podman', ...argv] : ['podman', ...argv];
  }

  private run(runner: CommandRunner, spec: CommandSpec): Promise<CommandResult> {
    return runner.run({ ...spec, argv: this.podman(spec.argv), ...(this.viaSetpriv ? {} : { cwd: '/' }) });
  }

  execArgv(argv: readonly string[], opts: Omit<ExecOptions, 'input' | 'timeoutMs' | 'signal'> = {}): string[] {
    const out: string[] = ['exec', '-i', '--user', opts.user ?? this.user];
    if (opts.cwd) out.push('--workdir', opts.cwd);
    for (const [k, v] of Object.entries(opts.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out.push('--env', `${k}=${v}`);
    out.push(this.box, ...argv);
    return this.podman(out);
  }

  async exec(runner: CommandRunner, argv: readonly string[], opts: ExecOptions = {}): Promise<CommandResult> {
    await (this.prepared ??= this.prepare(runner, opts.signal));
    return runner.run({ argv: this.execArgv(argv, opts), input: opts.input ?? '', ...(this.viaSetpriv ? {} : { cwd: '/' }), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  private async status(runner: CommandRunner): Promise<string | undefined> {
    const spec = { argv: ['container', 'inspect', '--format', '{{.State.Status}}', this.box] };
    const r = await this.run(runner, spec);
    if (r.exitCode !== 0) {
      if (saysAbsent('podman', 'container', this.box, r.stderr)) return undefined;
      throw commandFailed(r, { argv: this.podman(spec.argv) });
    }
    return r.stdout.trim();
  }

  async state(runner: CommandRunner): Promise<NestState> {
    const s = await this.status(runner);
    return s === undefined ? 'absent' : s === 'running' ? 'running' : 'stopped';
  }

  /**
   * Starts a box that is not running and waits for distrobox's init to finish, as `distrobox enter`
   * does; then makes /run/kaidu the user's. A box that is gone is left to the command to fail.
   */
  private async prepare(runner: CommandRunner, signal: AbortSignal | undefined): Promise<void> {
    const s = await this.status(runner);
    if (s === undefined) return;
    if (s !== 'running') {
      const since = new Date().toISOString();
      const start = { argv: ['start', this.box] };
      const r = await this.run(runner, { ...start, timeoutMs: 120_000 });
      if (r.exitCode !== 0) throw commandFailed(r, { argv: this.podman(start.argv) });
      await this.awaitSetup(runner, since, signal);
    }
    const mk = { argv: ['exec', '--user', 'root', this.box, 'sh', '-c', RUN_DIR, 'kaidu', this.user, '0755'] };
    const r = await this.run(runner, mk);
    if (r.exitCode !== 0) throw commandFailed(r, { argv: this.podman(mk.argv) });
  }

  private async awaitSetup(runner: CommandRunner, since: string, signal: AbortSignal | undefined): Promise<void> {
    const deadline = Date.now() + SETUP_TIMEOUT_MS;
    for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
      const logs = { argv: ['logs', '--since', since, this.box] };
      const r = await this.run(runner, logs);
      if (r.exitCode !== 0) throw commandFailed(r, { argv: this.podman(logs.argv) });
      const lines = `${r.stdout}\n${r.stderr}`.split('\n');
      if (lines.some((l) => l.includes('container_setup_done'))) return;
      const error = lines.find((l) => /^\s*Error:/.test(l));
      if (error) throw new KaiduError('E_DELEGATE', `${this.description} did not start: distrobox's init said ${error.trim()}\n${tail(r.stdout + r.stderr, 15)}`);
      const now = await this.status(runner);
      if (now !== 'running') throw new KaiduError('E_DELEGATE', `${this.description} did not start: it is ${now ?? 'gone'}\n${tail(r.stdout + r.stderr, 15)}`);
      if (Date.now() > deadline) throw new KaiduError('E_DELEGATE', `${this.description}: distrobox's init did not finish within ${SETUP_TIMEOUT_MS / 60_000} minutes`);
      if (signal?.aborted) throw new KaiduError('E_APPLY_CANCELLED', `cancelled while ${this.description} was starting`);
      await sleep(wait);
    }
  }

  /** The box's network mode: `host` (distrobox's default) means a port inside is the host's. */
  async published(runner: CommandRunner, port: number, _protocol: 'tcp' | 'udp'): Promise<{ address: string; port: number } | undefined> {
    const spec = { argv: ['container', 'inspect', '--format', '{{.HostConfig.NetworkMode}}', this.box] };
    const r = await this.run(runner, spec);
    if (r.exitCode !== 0) {
      if (saysAbsent('podman', 'container', this.box, r.stderr)) throw new KaiduError('E_DELEGATE', `${this.description} does not exist`);
      throw commandFailed(r, { argv: this.podman(spec.argv) });
    }
    return r.stdout.trim() === 'host' ? { address: '0.0.0.0', port } : undefined;
  }

  async listening(runner: CommandRunner, port: number, protocol: 'tcp' | 'udp'): Promise<boolean> {
    const spec = { argv: ['container', 'inspect', '--format', '{{.State.Pid}}', this.box] };
    const r = await this.run(runner, spec);
    if (r.exitCode !== 0) throw commandFailed(r, { argv: this.podman(spec.argv) });
    if (r.stdout.trim() === '0') return false;
    // The box shares the host's pid namespace: its pid is a host pid, read as root or as the user who owns it.
    return listensInNamespaceVia(runner, Number(r.stdout.trim()), port, protocol);
  }
}

/** The box's owner as the Distrobox delegate runs it: the node's `user`, else the agent's own (never root). */
function ownerOf(node: string, props: Record<string, PlainValue>, agentUid: number | undefined): { user: string; viaSetpriv: boolean } {
  const user = typeof props.user === 'string' && props.user ? props.user : undefined;
  const me = userInfo().username;
  if (user === undefined || user === me) {
    if (agentUid === 0) throw new KaiduError('E_DELEGATE', `the distrobox ${node} has no "user": boxes do not belong to root`);
    return { user: me, viaSetpriv: false };
  }
  if (agentUid !== 0) throw new KaiduError('E_DELEGATE', `running commands in the distrobox ${node} of "${user}" needs an agent running as root or as ${user}`);
  return { user, viaSetpriv: true };
}

function boxName(hostedOn: HostedOn): string {
  const recorded = hostedOn.attributes.box_name;
  if (typeof recorded === 'string' && recorded) return recorded;
  throw new KaiduError('E_DELEGATE', `the distrobox ${hostedOn.node} has no box name in its state: it was not created (yet)`);
}

registerNestedHost('kaidu:Distrobox', 'distrobox', {
  fromHostedOn: (h) => {
    const { user, viaSetpriv } = ownerOf(h.node, h.properties, process.getuid?.());
    return new DistroboxNest(boxName(h), user, viaSetpriv);
  },
  fromRecord: (r) => {
    if (typeof r.box_name !== 'string' || typeof r.user !== 'string') return undefined;
    const { user, viaSetpriv } = ownerOf(`distrobox ${r.box_name}`, { user: r.user }, process.getuid?.());
    return new DistroboxNest(r.box_name, user, viaSetpriv);
  },
});
