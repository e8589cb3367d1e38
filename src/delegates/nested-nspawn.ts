/**
 * Running inside an nspawn machine: `nsenter` into the machine's leader (its init, as machinectl
 * reports it at that moment), in a transient scope of the outer host's systemd.
 *
 * Why nsenter, not `systemd-run -M <machine> --wait --pipe` or `machinectl shell`: both run the
 * command as a transient unit of the machine's own systemd, and when that unit's main process
 * ends, systemd stops the unit and kills what it left running — the nested Process launcher
 * (which starts the command in the background and returns) would lose its process every time.
 * `machinectl shell` also goes through a terminal (stdin is not passed as-is, stdout and stderr
 * are one stream). nsenter passes stdin, stdout, stderr and the exit code through unchanged, needs
 * no D-Bus in the machine, and works for machines that do not boot systemd (`boot: false`).
 * `systemd-run --scope` puts each command (and what it leaves running) in a scope unit of the
 * outer host, not in the agent's own cgroup, so restarting the agent's service does not kill the
 * processes it started in machines; they end with the machine (its pid namespace goes with it).
 *
 * The leader is looked up by name in the same shell that enters it, so a machine that was
 * restarted is entered through its new leader, and one that is gone makes the command fail (then
 * `state` asks machinectl why). Machines are named, not numbered, in machined: the record names
 * the machine.
 */
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { commandFailed, tail } from './command-runner.js';
import { registerNestedHost, type ExecOptions, type NestedHost, type NestState } from './nested-host.js';
import { saysAbsent } from './not-found.js';
import { listensInNamespaceVia } from './published-port.js';
import type { CommandResult, CommandRunner, HostedOn } from './types.js';

/** What machined accepts as a machine name (as nspawn.ts checks it): never an option or a path. */
const MACHINE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$/;
/** What useradd accepts by default. */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** $1 machine, then nsenter's arguments: enters the machine's current leader. 125: no such leader. */
const ENTER = `l=$(machinectl show --property=Leader --value "$1") || exit 125
case $l in ''|0|*[!0-9]*) echo "machine $1 has no leader" >&2; exit 125;; esac
shift
exec nsenter --target="$l" --all "$@"`;

/** $1 machine: the network namespaces of its leader and of the outer host, one per line. */
const NETNS = `l=$(machinectl show --property=Leader --value "$1") || exit 125
case $l in ''|0|*[!0-9]*) echo "machine $1 has no leader" >&2; exit 125;; esac
readlink "/proc/$l/ns/net" /proc/self/ns/net`;

export class NspawnNest implements NestedHost {
  readonly description: string;
  readonly record: Record<string, PlainValue>;

  constructor(readonly machine: string) {
    if (!MACHINE_NAME.test(machine) || machine.includes('..')) throw new KaiduError('E_DELEGATE', `machine name ${JSON.stringify(machine)} is not a valid host name`);
    this.description = `nspawn machine ${machine}`;
    this.record = { kind: 'nspawn', machine };
  }

  execArgv(argv: readonly string[], opts: Omit<ExecOptions, 'input' | 'timeoutMs' | 'signal'> = {}): string[] {
    const enter: string[] = [];
    if (opts.cwd) enter.push(`--wdns=${opts.cwd}`);
    enter.push('--');
    // The agent's environment means nothing inside: only a PATH and what the node asked for.
    const env = Object.entries(opts.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`);
    enter.push('env', '-i', PATH, ...env);
    if (opts.user) {
      if (!USER_NAME.test(opts.user)) throw new KaiduError('E_DELEGATE', `user ${JSON.stringify(opts.user)} is not a valid user name`);
      // runuser keeps the environment given (HOME, USER, SHELL become the user's): util-linux, in every systemd distribution.
      enter.push('runuser', '-u', opts.user, '--');
    }
    return ['systemd-run', '--scope', '--quiet', '--collect', `--description=kaidu: a command in nspawn machine ${this.machine}`, '--', 'sh', '-c', ENTER, 'kaidu', this.machine, ...enter, ...argv];
  }

  exec(runner: CommandRunner, argv: readonly string[], opts: ExecOptions = {}): Promise<CommandResult> {
    return runner.run({ argv: this.execArgv(argv, opts), input: opts.input ?? '', ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /** machinectl's State: `running` can run commands; `opening` and `closing` cannot (yet, any more). */
  async state(runner: CommandRunner): Promise<NestState> {
    const spec = { argv: ['machinectl', 'show', this.machine, '--property=State'] };
    const r = await runner.run(spec);
    if (r.exitCode !== 0) {
      if (saysAbsent('machinectl', 'machine', this.machine, r.stderr)) return 'absent';
      throw commandFailed(r, spec);
    }
    const state = /^State=(\S+)/m.exec(r.stdout)?.[1];
    if (!state) throw new KaiduError('E_COMMAND_FAILED', `machinectl show ${this.machine} printed no State: ${tail(r.stdout) || '(nothing)'}`);
    return state === 'running' ? 'running' : 'stopped';
  }

  private async leader(runner: CommandRunner): Promise<number> {
    const spec = { argv: ['machinectl', 'show', this.machine, '--property=Leader', '--value'] };
    const r = await runner.run(spec);
    if (r.exitCode !== 0) {
      if (saysAbsent('machinectl', 'machine', this.machine, r.stderr)) throw new KaiduError('E_DELEGATE', `${this.description} does not exist`);
      throw commandFailed(r, spec);
    }
    const pid = Number(r.stdout.trim());
    if (!Number.isInteger(pid) || pid <= 1) throw new KaiduError('E_DELEGATE', `${this.description} has no leader process (machinectl: ${r.stdout.trim() || 'nothing'})`);
    return pid;
  }

  /**
   * A kaidu:Nspawn machine has no private network (the delegate starts none): it shares the outer
   * host's, so a port inside is that port of the host. Checked, not assumed: a machine in a network
   * namespace of its own (started by hand with --private-network) publishes nothing.
   */
  async published(runner: CommandRunner, port: number, _protocol: 'tcp' | 'udp'): Promise<{ address: string; port: number } | undefined> {
    const spec = { argv: ['sh', '-c', NETNS, 'kaidu', this.machine] };
    const r = await runner.run(spec);
    if (r.exitCode !== 0) {
      const s = await this.state(runner);
      if (s !== 'running') throw new KaiduError('E_DELEGATE', `${this.description} ${s === 'absent' ? 'does not exist' : 'is not running'}`);
      throw commandFailed(r, spec);
    }
    const [inside, outside] = r.stdout.trim().split('\n');
    if (!inside || !outside || !/^net:\[\d+\]$/.test(inside)) throw commandFailed({ ...r, exitCode: 1, stderr: `unexpected output: ${r.stdout.trim()}` }, spec);
    return inside === outside ? { address: '0.0.0.0', port } : undefined;
  }

  async listening(runner: CommandRunner, port: number, protocol: 'tcp' | 'udp'): Promise<boolean> {
    return listensInNamespaceVia(runner, await this.leader(runner), port, protocol);
  }
}

function nspawnNest(hostedOn: HostedOn): NspawnNest {
  // The name the machine was created under (its state), else the one the templates give.
  const recorded = hostedOn.attributes.machine;
  const machine = typeof recorded === 'string' && recorded ? recorded : undefined;
  if (!machine) throw new KaiduError('E_DELEGATE', `the nspawn machine ${hostedOn.node} has no machine name in its state: it was not created (yet)`);
  return new NspawnNest(machine);
}

registerNestedHost('kaidu:Nspawn', 'nspawn', {
  fromHostedOn: (h) => nspawnNest(h),
  fromRecord: (r) => (typeof r.machine === 'string' && MACHINE_NAME.test(r.machine) ? new NspawnNest(r.machine) : undefined),
});
