/**
 * systemd-nspawn machines: a transient unit runs systemd-nspawn; machinectl inspects and powers off.
 * Needs systemd as PID 1 where the commands run (the host, or a booted container reached through a
 * MachineCommandRunner, see machine-runner.ts); without it every command fails, and so does the node.
 */
import { KaiduError } from '../errors/kaidu-error.js';
import { commandFailed, runChecked, tail } from './command-runner.js';
import { saysAbsent } from './not-found.js';
import { appliedProperties, list, recreate, str, workloadName } from './runtime-common.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

/** How long a machine may take from `systemd-run` until machinectl knows it as running. */
const REGISTER_TIMEOUT_MS = 60_000;
/** How long stopping the unit (an orderly poweroff of the machine) may take. */
const STOP_TIMEOUT_MS = 120_000;
/** What machined accepts as a machine name (a host name); it also names the unit. */
const MACHINE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class NspawnDelegate implements Delegate {
  readonly name = 'nspawn';
  readonly handles = ['kaidu:Nspawn'];

  private machine(ctx: DelegateContext, props = ctx.node.properties): string {
    // machined refuses "_" (host names): the default name uses "-" instead.
    const name = str(props.machine) ?? workloadName(ctx).replace(/_/g, '-');
    if (!MACHINE_NAME.test(name) || name.includes('..')) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: machine name ${JSON.stringify(name)} is not a valid host name (letters, digits, "-" and ".", at most 64)`);
    return name;
  }

  private unit(machine: string): string {
    return `kaidu-nspawn-${machine}.service`;
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const p = ctx.node.properties;
    const machine = this.machine(ctx);
    const unit = this.unit(machine);
    // A transient unit runs systemd-nspawn, so machinectl and journalctl see it like any machine;
    // --collect: a unit that failed does not block the next create under the same name.
    const argv = ['systemd-run', `--unit=${unit}`, '--collect', '--property=KillMode=mixed', '--', 'systemd-nspawn', `--machine=${machine}`, '--quiet', '--keep-unit'];
    if (str(p.directory)) argv.push(`--directory=${str(p.directory)}`);
    else if (str(p.image)) argv.push(`--image=${str(p.image)}`);
    else throw new KaiduError('E_DELEGATE', `${ctx.node.id}: give a "directory" or an "image"`);
    for (const b of list(p.bind)) argv.push(`--bind=${b}`);
    if (p.boot !== false) argv.push('--boot');
    await runChecked(ctx.runner, { argv, signal: ctx.signal });
    const seen = await this.awaitRunning(ctx, machine, unit);
    return { attributes: { machine, ...seen.attributes }, status: seen.status };
  }

  /**
   * `systemd-run` returns once systemd-nspawn was forked: the machine counts as created when
   * machinectl reports it running. A unit that ended first is a failure, with its journal.
   */
  private async awaitRunning(ctx: DelegateContext, machine: string, unit: string): Promise<InspectResult> {
    const deadline = Date.now() + REGISTER_TIMEOUT_MS;
    for (let wait = 50; ; wait = Math.min(wait * 2, 500)) {
      const seen = await this.show(ctx, machine);
      if (seen.exists && seen.attributes.status === 'running') return seen;
      const u = await runChecked(ctx.runner, { argv: ['systemctl', 'show', '--property=ActiveState,Result', unit], signal: ctx.signal });
      const state = /^ActiveState=(\S*)/m.exec(u.stdout)?.[1] ?? '';
      if (state !== 'active' && state !== 'activating') {
        const journal = await ctx.runner.run({ argv: ['journalctl', '--no-pager', '--quiet', '-n', '20', '-u', unit] });
        throw new KaiduError('E_DELEGATE', `${ctx.node.id}: machine ${machine} did not start: ${unit} is ${state || 'gone'} (${/^Result=(\S*)/m.exec(u.stdout)?.[1] ?? 'no result'})${journal.stdout.trim() ? `\n${tail(journal.stdout)}` : ''}`);
      }
      if (Date.now() > deadline) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: machine ${machine} was not running within ${REGISTER_TIMEOUT_MS / 1000}s (machinectl: ${seen.exists ? String(seen.attributes.status) : 'unknown machine'})`);
      if (ctx.signal.aborted) throw new KaiduError('E_APPLY_CANCELLED', `${ctx.node.id}: cancelled while machine ${machine} was starting`);
      await sleep(wait);
    }
  }

  update(ctx: DelegateContext): Promise<DelegateResult> {
    return recreate(this, ctx);
  }

  /** Power off, stop the unit (which waits for systemd-nspawn to end), then see that it is gone. */
  async delete(ctx: DelegateContext): Promise<void> {
    const machine = this.machine(ctx, appliedProperties(ctx));
    const unit = this.unit(machine);
    const poweroff = { argv: ['machinectl', 'poweroff', machine] };
    const r = await ctx.runner.run(poweroff);
    if (r.exitCode !== 0 && !saysAbsent('machinectl', 'machine', machine, r.stderr)) throw commandFailed(r, poweroff);
    const stop = { argv: ['systemctl', 'stop', unit], timeoutMs: STOP_TIMEOUT_MS };
    const s = await ctx.runner.run(stop);
    if (s.exitCode !== 0 && !saysAbsent('systemctl', 'unit', unit, s.stderr)) throw commandFailed(s, stop);
    const after = await this.show(ctx, machine);
    if (after.exists) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: machine ${machine} is still there after its unit stopped (machinectl: ${String(after.attributes.status)}); it was not started by Kaidu's ${unit}?`);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    return this.show(ctx, this.machine(ctx, appliedProperties(ctx)));
  }

  private async show(ctx: DelegateContext, machine: string): Promise<InspectResult> {
    const spec = { argv: ['machinectl', 'show', machine, '--property=State', '--property=Leader'] };
    const r = await ctx.runner.run(spec);
    if (r.exitCode !== 0) {
      if (saysAbsent('machinectl', 'machine', machine, r.stderr)) return { exists: false, status: 'stopped', attributes: {} };
      throw commandFailed(r, spec);
    }
    const state = /^State=(\S+)/m.exec(r.stdout)?.[1];
    if (!state) throw new KaiduError('E_COMMAND_FAILED', `machinectl show ${machine} printed no State: ${tail(r.stdout) || '(nothing)'}`);
    return { exists: true, status: state === 'running' ? 'running' : 'stopped', attributes: { status: state, machine } };
  }
}
