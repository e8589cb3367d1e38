/** systemd-nspawn machines: a transient unit runs systemd-nspawn; machinectl inspects and powers off. */
import { KaiduError } from '../errors/kaidu-error.js';
import { commandFailed, runChecked } from './command-runner.js';
import { saysAbsent } from './not-found.js';
import { appliedProperties, list, recreate, str, workloadName } from './runtime-common.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

export class NspawnDelegate implements Delegate {
  readonly name = 'nspawn';
  readonly handles = ['kaidu:Nspawn'];

  private machine(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.machine) ?? workloadName(ctx);
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const p = ctx.node.properties;
    const machine = this.machine(ctx);
    // A transient unit runs systemd-nspawn, so machinectl and journalctl see it like any machine.
    const argv = ['systemd-run', `--unit=kaidu-nspawn-${machine}`, '--property=KillMode=mixed', '--', 'systemd-nspawn', `--machine=${machine}`, '--quiet', '--keep-unit'];
    if (str(p.directory)) argv.push(`--directory=${str(p.directory)}`);
    else if (str(p.image)) argv.push(`--image=${str(p.image)}`);
    else throw new KaiduError('E_DELEGATE', `${ctx.node.id}: give a "directory" or an "image"`);
    for (const b of list(p.bind)) argv.push(`--bind=${b}`);
    if (p.boot !== false) argv.push('--boot');
    await runChecked(ctx.runner, { argv });
    return { attributes: { status: 'running', machine, ...(await this.inspect(ctx)).attributes } };
  }

  update(ctx: DelegateContext): Promise<DelegateResult> {
    return recreate(this, ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const machine = this.machine(ctx, appliedProperties(ctx));
    const spec = { argv: ['machinectl', 'poweroff', machine] };
    const r = await ctx.runner.run(spec);
    if (r.exitCode !== 0 && !saysAbsent('machinectl', 'machine', machine, r.stderr)) throw commandFailed(r, spec);
    await ctx.runner.run({ argv: ['systemctl', 'stop', `kaidu-nspawn-${machine}.service`] });
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const machine = this.machine(ctx, appliedProperties(ctx));
    const spec = { argv: ['machinectl', 'show', machine, '--property=State', '--property=Leader'] };
    const r = await ctx.runner.run(spec);
    if (r.exitCode !== 0) {
      if (saysAbsent('machinectl', 'machine', machine, r.stderr)) return { exists: false, status: 'stopped', attributes: {} };
      throw commandFailed(r, spec);
    }
    const state = /State=(\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
    return { exists: true, status: state === 'running' ? 'running' : 'stopped', attributes: { status: state } };
  }
}
