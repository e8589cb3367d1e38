/** Podman and Docker containers, and Podman pods: every step an argv through the CommandRunner. */
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { runChecked } from './command-runner.js';
import { appliedProperties, list, map, notFound, recreate, STOP_TIMEOUT_S, str, workloadName } from './runtime-common.js';
import type { Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';

export class ContainerDelegate implements Delegate {
  readonly name = 'container';
  readonly handles = ['kaidu:Container'];

  private cli(ctx: DelegateContext, props = ctx.node.properties): string {
    return props.runtime === 'docker' ? 'docker' : 'podman';
  }

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.container_name) ?? workloadName(ctx);
  }

  /** The `run` argv: what a sysadmin would type. */
  runArgv(ctx: DelegateContext): string[] {
    const p = ctx.node.properties;
    const image = str(p.image);
    if (!image) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "image" is required`);
    const argv = [this.cli(ctx), 'run', '-d', '--name', this.nameOf(ctx), '--label', `kaidu.node=${ctx.node.id}`, '--label', `kaidu.fingerprint=${ctx.node.fingerprint}`];
    if (str(p.pod)) {
      if (argv[0] === 'docker') throw new KaiduError('E_DELEGATE', `${ctx.node.id}: a container in a pod needs runtime podman (docker has no pods)`);
      argv.push('--pod', str(p.pod)!);
    }
    for (const [k, v] of Object.entries({ ...ctx.node.env, ...map(p.env) }).sort()) argv.push('-e', `${k}=${v}`);
    if (!str(p.pod)) for (const port of list(p.ports)) argv.push('-p', port);
    for (const vol of list(p.volumes)) argv.push('-v', vol);
    argv.push(image, ...list(p.command));
    return argv;
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    return this.replace(ctx, undefined);
  }

  /**
   * Containers are replaced, not mutated: pull the new image first (the old container keeps
   * serving meanwhile), remove the old container (it may have had another name or runtime), run
   * the new one.
   */
  async update(ctx: DelegateContext): Promise<DelegateResult> {
    return this.replace(ctx, ctx.previous?.properties);
  }

  private async replace(ctx: DelegateContext, before: Record<string, PlainValue> | undefined): Promise<DelegateResult> {
    const cli = this.cli(ctx);
    const argv = this.runArgv(ctx);
    await runChecked(ctx.runner, { argv: [cli, 'pull', str(ctx.node.properties.image)!], timeoutMs: 10 * 60_000, signal: ctx.signal });
    if (before && (this.cli(ctx, before) !== cli || this.nameOf(ctx, before) !== this.nameOf(ctx))) await this.delete(ctx);
    // The old container, or a leftover with our name (an interrupted create): replaced, never duplicated.
    await ctx.runner.run({ argv: before ? [cli, 'rm', '-f', '-t', String(STOP_TIMEOUT_S), this.nameOf(ctx)] : [cli, 'rm', '-f', this.nameOf(ctx)] });
    const run = await runChecked(ctx.runner, { argv, signal: ctx.signal });
    const seen = await this.inspect({ ...ctx, previous: undefined });
    return { attributes: { container_id: run.stdout.trim().split('\n').pop() ?? '', ...seen.attributes }, status: seen.status };
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const props = appliedProperties(ctx);
    const r = await ctx.runner.run({ argv: [this.cli(ctx, props), 'rm', '-f', '-t', String(STOP_TIMEOUT_S), this.nameOf(ctx, props)] });
    if (r.exitCode !== 0 && !notFound(r.stderr)) throw new KaiduError('E_COMMAND_FAILED', `${this.cli(ctx, props)} rm ${this.nameOf(ctx, props)}: ${r.stderr.trim()}`);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const props = appliedProperties(ctx);
    const r = await ctx.runner.run({ argv: [this.cli(ctx, props), 'inspect', '--format', '{{.Id}} {{.State.Status}} {{.NetworkSettings.IPAddress}}', this.nameOf(ctx, props)] });
    if (r.exitCode !== 0) return { exists: false, status: 'stopped', attributes: {} };
    const [id = '', status = 'unknown', ip = ''] = r.stdout.trim().split(/\s+/);
    // Rootless podman and pod members have no address of their own: they are reached through the
    // host's published ports.
    const address = ip || str(ctx.node.properties.address) || '127.0.0.1';
    return { exists: true, status: status === 'running' ? 'running' : 'stopped', attributes: { container_id: id, status, address } };
  }
}

export class PodDelegate implements Delegate {
  readonly name = 'pod';
  readonly handles = ['kaidu:Pod'];

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.pod_name) ?? workloadName(ctx);
  }

  private cli(props: Record<string, PlainValue>): string {
    return props.runtime === 'docker' ? 'docker' : 'podman';
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const p = ctx.node.properties;
    if (this.cli(p) === 'docker') throw new KaiduError('E_DELEGATE', `${ctx.node.id}: pods need podman (docker has no pods)`);
    await ctx.runner.run({ argv: ['podman', 'pod', 'rm', '-f', this.nameOf(ctx)] });
    const argv = ['podman', 'pod', 'create', '--name', this.nameOf(ctx), '--label', `kaidu.node=${ctx.node.id}`];
    for (const port of list(p.ports)) argv.push('-p', port);
    const r = await runChecked(ctx.runner, { argv });
    await runChecked(ctx.runner, { argv: ['podman', 'pod', 'start', this.nameOf(ctx)] });
    return { attributes: { pod_id: r.stdout.trim(), pod_name: this.nameOf(ctx) } };
  }

  update(ctx: DelegateContext): Promise<DelegateResult> {
    return recreate(this, ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    const r = await ctx.runner.run({ argv: ['podman', 'pod', 'rm', '-f', this.nameOf(ctx, appliedProperties(ctx))] });
    if (r.exitCode !== 0 && !notFound(r.stderr)) throw new KaiduError('E_COMMAND_FAILED', `podman pod rm: ${r.stderr.trim()}`);
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const r = await ctx.runner.run({ argv: ['podman', 'pod', 'inspect', '--format', '{{.Id}} {{.State}}', this.nameOf(ctx, appliedProperties(ctx))] });
    if (r.exitCode !== 0) return { exists: false, status: 'stopped', attributes: {} };
    const [id = '', state = ''] = r.stdout.trim().split(/\s+/);
    return { exists: true, status: /running/i.test(state) ? 'running' : 'stopped', attributes: { pod_id: id } };
  }
}
