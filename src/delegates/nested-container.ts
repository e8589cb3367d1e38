/**
 * Running inside a Podman or Docker container: `podman exec` / `docker exec` by container id (a
 * recreated container has a new id, so nothing ever runs in a stranger that took the name).
 */
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { commandFailed } from './command-runner.js';
import { registerNestedHost, type ExecOptions, type NestedHost, type NestState } from './nested-host.js';
import { saysAbsent } from './not-found.js';
import { listensInNamespaceVia } from './published-port.js';
import type { CommandResult, CommandRunner, HostedOn } from './types.js';

type Cli = 'podman' | 'docker';

export class ContainerNest implements NestedHost {
  readonly description: string;
  readonly record: Record<string, PlainValue>;

  constructor(
    readonly cli: Cli,
    readonly id: string,
    name: string,
  ) {
    this.description = `${cli} container ${name || id.slice(0, 12)}`;
    this.record = { kind: 'container', runtime: cli, container_id: id, ...(name ? { container_name: name } : {}) };
  }

  execArgv(argv: readonly string[], opts: Omit<ExecOptions, 'input' | 'timeoutMs' | 'signal'> = {}): string[] {
    const out: string[] = [this.cli, 'exec', '-i'];
    if (opts.user) out.push('--user', opts.user);
    if (opts.cwd) out.push('--workdir', opts.cwd);
    for (const [k, v] of Object.entries(opts.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out.push('--env', `${k}=${v}`);
    out.push(this.id, ...argv);
    return out;
  }

  exec(runner: CommandRunner, argv: readonly string[], opts: ExecOptions = {}): Promise<CommandResult> {
    return runner.run({ argv: this.execArgv(argv, opts), input: opts.input ?? '', ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  async state(runner: CommandRunner): Promise<NestState> {
    const spec = { argv: [this.cli, 'container', 'inspect', '--format', '{{.State.Status}}', this.id] };
    const r = await runner.run(spec);
    if (r.exitCode !== 0) {
      if (saysAbsent(this.cli, 'container', this.id, r.stderr)) return 'absent';
      throw commandFailed(r, spec);
    }
    return r.stdout.trim() === 'running' ? 'running' : 'stopped';
  }

  /** Through the container's main process on the host: `/proc/<pid>/root` is its root filesystem, as its processes see it. */
  async hostPath(runner: CommandRunner, path: string): Promise<string | undefined> {
    const spec = { argv: [this.cli, 'container', 'inspect', '--format', '{{.State.Pid}}', this.id] };
    const r = await runner.run(spec);
    if (r.exitCode !== 0) {
      if (saysAbsent(this.cli, 'container', this.id, r.stderr)) return undefined;
      throw commandFailed(r, spec);
    }
    const pid = Number(r.stdout.trim());
    return Number.isInteger(pid) && pid > 0 ? `/proc/${pid}/root${path}` : undefined;
  }

  async published(runner: CommandRunner, port: number, protocol: 'tcp' | 'udp'): Promise<{ address: string; port: number } | undefined> {
    const spec = { argv: [this.cli, 'port', this.id, `${port}/${protocol}`] };
    const r = await runner.run(spec);
    if (r.exitCode !== 0) {
      // "not published" and "no such container" read alike across versions: ask the runtime which.
      const s = await this.state(runner);
      if (s === 'running') return undefined;
      throw new KaiduError('E_DELEGATE', `${this.description} ${s === 'absent' ? 'does not exist' : 'is not running'}`);
    }
    // Podman says nothing (exit 0) for a port it does not publish.
    if (!r.stdout.trim()) return undefined;
    // `127.0.0.1:8080`, `0.0.0.0:8080` or `[::]:8080`, one line per binding.
    const m = /^\[?([^\]\s]*?)\]?:(\d+)$/m.exec(r.stdout.trim());
    if (!m) throw commandFailed({ ...r, exitCode: 1, stderr: `unexpected output: ${r.stdout.trim()}` }, spec);
    return { address: m[1]!, port: Number(m[2]) };
  }

  /** Read from the container's network namespace through its main process: nothing needed in the image. */
  async listening(runner: CommandRunner, port: number, protocol: 'tcp' | 'udp'): Promise<boolean> {
    const spec = { argv: [this.cli, 'container', 'inspect', '--format', '{{.State.Pid}}', this.id] };
    const r = await runner.run(spec);
    if (r.exitCode !== 0) throw commandFailed(r, spec);
    const pid = Number(r.stdout.trim());
    // A stopped container has pid 0: nothing listens in it.
    if (pid === 0 && /^0$/.test(r.stdout.trim())) return false;
    return listensInNamespaceVia(runner, pid, port, protocol);
  }
}

function containerNest(hostedOn: HostedOn): ContainerNest {
  const cli: Cli = hostedOn.properties.runtime === 'docker' ? 'docker' : 'podman';
  const id = hostedOn.attributes.container_id;
  if (typeof id !== 'string' || !id) throw new KaiduError('E_DELEGATE', `the container ${hostedOn.node} has no container id in its state: it was not created (yet)`);
  // The name only labels messages (exec goes by id): the container's own, else the default one.
  const [service = '', key = ''] = hostedOn.node.split('/');
  const name = typeof hostedOn.properties.container_name === 'string' && hostedOn.properties.container_name ? hostedOn.properties.container_name : `kaidu-${service}-${key}`.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-');
  return new ContainerNest(cli, id, name);
}

registerNestedHost('kaidu:Container', 'container', {
  fromHostedOn: (h) => containerNest(h),
  fromRecord: (r) => (typeof r.container_id === 'string' && r.container_id ? new ContainerNest(r.runtime === 'docker' ? 'docker' : 'podman', r.container_id, typeof r.container_name === 'string' ? r.container_name : '') : undefined),
});
