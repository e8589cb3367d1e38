/** Distroboxes: `distrobox create/rm/list` through the CommandRunner. */
import { KaiduError } from '../errors/kaidu-error.js';
import { runChecked } from './command-runner.js';
import { appliedProperties, list, notFound, recreate, str, workloadName } from './runtime-common.js';
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

  async delete(ctx: DelegateContext): Promise<void> {
    const r = await ctx.runner.run({ argv: ['distrobox', 'rm', '--force', this.nameOf(ctx, appliedProperties(ctx))] });
    if (r.exitCode !== 0 && !notFound(r.stderr + r.stdout)) throw new KaiduError('E_COMMAND_FAILED', `distrobox rm: ${r.stderr.trim()}`);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const r = await ctx.runner.run({ argv: ['distrobox', 'list', '--no-color'] });
    const name = this.nameOf(ctx, appliedProperties(ctx));
    const line = r.stdout.split('\n').find((l) => l.split('|').map((x) => x.trim()).includes(name));
    return line ? { exists: true, status: 'running', attributes: { status: line.split('|')[2]?.trim() ?? 'unknown' } } : { exists: false, status: 'stopped', attributes: {} };
  }
}
