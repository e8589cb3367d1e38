/** Distroboxes: `distrobox create/rm/list` through the CommandRunner. */
import { KaiduError } from '../errors/kaidu-error.js';
import { commandFailed, runChecked } from './command-runner.js';
import { appliedProperties, list, recreate, str, workloadName } from './runtime-common.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

export class DistroboxDelegate implements Delegate {
  readonly name = 'distrobox';
  readonly handles = ['kaidu:Distrobox'];

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.box_name) ?? workloadName(ctx);
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const p = ctx.node.properties;
    const image = str(p.image);
    if (!image) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "image" is required`);
    const argv = ['distrobox', 'create', '--yes', '--name', this.nameOf(ctx), '--image', image];
    if (p.init === true) argv.push('--init');
    const pkgs = list(p.additional_packages);
    if (pkgs.length) argv.push('--additional-packages', pkgs.join(' '));
    await runChecked(ctx.runner, { argv, timeoutMs: 15 * 60_000 });
    return { attributes: { status: 'created', box_name: this.nameOf(ctx) } };
  }

  update(ctx: DelegateContext): Promise<DelegateResult> {
    return recreate(this, ctx);
  }

  /** A box `distrobox list` does not show is already gone; removing one it shows must succeed. */
  async delete(ctx: DelegateContext): Promise<void> {
    if (!(await this.inspect(ctx)).exists) return;
    await runChecked(ctx.runner, { argv: ['distrobox', 'rm', '--force', this.nameOf(ctx, appliedProperties(ctx))] });
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const spec = { argv: ['distrobox', 'list', '--no-color'] };
    const r = await ctx.runner.run(spec);
    // A list that failed says nothing about the box: never read it as "gone".
    if (r.exitCode !== 0) throw commandFailed(r, spec);
    const name = this.nameOf(ctx, appliedProperties(ctx));
    const line = r.stdout.split('\n').find((l) => l.split('|').map((x) => x.trim()).includes(name));
    return line ? { exists: true, status: 'running', attributes: { status: line.split('|')[2]?.trim() ?? 'unknown' } } : { exists: false, status: 'stopped', attributes: {} };
  }
}
