/**
 * A CommandRunner that runs every command inside a booted container (`nsenter --target <leader>
 * --all`), for the delegates that need systemd as PID 1 (machinectl and nspawn machines,
 * `systemd-run --user` units) on a host whose own PID 1 is not systemd. The container is named by
 * the pid of its init ("leader"); a leader that is gone is an error, never an answer from the host.
 */
import { readFile } from 'node:fs/promises';
import { KaiduError } from '../errors/kaidu-error.js';
import { SystemCommandRunner } from './command-runner.js';
import type { CommandResult, CommandRunner, CommandSpec } from './types.js';

export interface MachineRunnerOptions {
  /** Pid (on this host) of the container's init. */
  leader: number;
  /** Runs the wrapped `nsenter` argv; default a SystemCommandRunner. */
  runner?: CommandRunner;
}

export class MachineCommandRunner implements CommandRunner {
  private readonly runner: CommandRunner;
  constructor(private readonly opts: MachineRunnerOptions) {
    if (!Number.isInteger(opts.leader) || opts.leader <= 1) throw new KaiduError('E_USAGE', `a machine's leader must be a pid above 1, not ${String(opts.leader)}`);
    this.runner = opts.runner ?? new SystemCommandRunner();
  }

  /** The argv that runs `argv` inside the machine (cwd and env are the command's own, set there). */
  wrap(spec: CommandSpec): string[] {
    const argv = ['nsenter', `--target=${this.opts.leader}`, '--all'];
    if (spec.cwd) argv.push(`--wdns=${spec.cwd}`);
    argv.push('--');
    // The host's environment means nothing inside: only what the command asked for, with a PATH.
    argv.push('env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`));
    return [...argv, ...spec.argv];
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    if (!(await isInit(this.opts.leader))) {
      throw new KaiduError('E_COMMAND_FAILED', `cannot run ${spec.argv[0] ?? 'a command'} in the machine led by pid ${this.opts.leader}: that process is gone or is not a container's init`);
    }
    const { cwd: _cwd, env: _env, ...rest } = spec;
    return this.runner.run({ ...rest, argv: this.wrap(spec) });
  }
}

/** The process is the first one of its own pid namespace (a container's init). */
export async function isInit(pid: number): Promise<boolean> {
  try {
    const ns = /^NSpid:\s+(.+)$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim().split(/\s+/);
    return !!ns && ns.length > 1 && ns[ns.length - 1] === '1';
  } catch {
    return false;
  }
}
