/**
 * Distroboxes: `distrobox create/rm/list` through the CommandRunner, as the box's user. distrobox
 * refuses to run as root (its boxes live in a user's rootless podman and share that user's home),
 * so an agent running as root needs the node's `user`, and runs distrobox as that user (setpriv);
 * an agent running as a normal user runs its own boxes. Root without `user` is an error before
 * anything runs: never a box made (or "found") in root's podman.
 */
import { KaiduError } from '../errors/kaidu-error.js';
import { commandFailed, runChecked } from './command-runner.js';
import { appliedProperties, list, recreate, str, workloadName } from './runtime-common.js';
import type { CommandSpec, Delegate, DelegateContext, DelegateResult, InspectResult } from './types.js';
import type { PlainValue } from '../state/model.js';

/** What useradd accepts by default: never an option or a path. */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export interface DistroboxDelegateOptions {
  /** The agent's uid (default: this process's): decides whether distrobox runs as `user` through setpriv. */
  uid?: number;
}

export class DistroboxDelegate implements Delegate {
  readonly name = 'distrobox';
  readonly handles = ['kaidu:Distrobox'];
  private readonly uid: number | undefined;

  constructor(opts: DistroboxDelegateOptions = {}) {
    this.uid = opts.uid ?? process.getuid?.();
  }

  private nameOf(ctx: DelegateContext, props = ctx.node.properties): string {
    return str(props.box_name) ?? workloadName(ctx);
  }

  /** `argv` as the box's user: directly when the agent is that user, through setpriv when it is root. */
  private async asUser(ctx: DelegateContext, props: Record<string, PlainValue>, argv: string[]): Promise<string[]> {
    const user = str(props.user);
    if (user === undefined) {
      if (this.uid === 0) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: distrobox does not run as root; give the node a "user" to own the box (it needs rootless podman: subuid/subgid ranges)`);
      return argv;
    }
    if (!USER_NAME.test(user)) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: user ${JSON.stringify(user)} is not a valid user name`);
    const ids: number[] = [];
    for (const flag of ['-u', '-g']) {
      const r = await ctx.runner.run({ argv: ['id', flag, user] });
      const n = Number(r.stdout.trim());
      if (r.exitCode !== 0 || !r.stdout.trim() || !Number.isInteger(n)) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: no user "${user}" on ${ctx.host}${r.stderr.trim() ? ` (${r.stderr.trim()})` : ''}`);
      ids.push(n);
    }
    const [uid, gid] = ids as [number, number];
    if (uid === 0) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: distrobox does not run as root; "user" must be a normal user, not ${user}`);
    if (uid === this.uid) return argv;
    if (this.uid !== 0) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: running distrobox as "${user}" needs an agent running as root or as ${user}`);
    // --reset-env: the user's own HOME, PATH and USER (distrobox and podman read them), nothing of root's.
    return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--reset-env', ...argv];
  }

  private async run(ctx: DelegateContext, props: Record<string, PlainValue>, spec: CommandSpec) {
    const argv = await this.asUser(ctx, props, spec.argv);
    // Its home as working directory: not the agent's, which the user may not even be able to enter.
    return { spec: { ...spec, argv }, result: await ctx.runner.run({ ...spec, argv, ...(argv[0] === 'setpriv' ? { cwd: '/' } : {}) }) };
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const p = ctx.node.properties;
    const image = str(p.image);
    if (!image) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "image" is required`);
    const argv = ['distrobox', 'create', '--yes', '--name', this.nameOf(ctx), '--image', image];
    if (p.init === true) argv.push('--init');
    const pkgs = list(p.additional_packages);
    if (pkgs.length) argv.push('--additional-packages', pkgs.join(' '));
    const { spec, result } = await this.run(ctx, p, { argv, timeoutMs: 15 * 60_000, signal: ctx.signal });
    if (result.exitCode !== 0) throw commandFailed(result, spec);
    // What distrobox list shows now, not what create claimed.
    const seen = await this.look(ctx, p);
    if (!seen.exists) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: distrobox create succeeded but distrobox list does not show ${this.nameOf(ctx)}`);
    return { attributes: { ...seen.attributes, box_name: this.nameOf(ctx) } };
  }

  update(ctx: DelegateContext): Promise<DelegateResult> {
    return recreate(this, ctx);
  }

  /** A box `distrobox list` does not show is already gone; removing one it shows must succeed. */
  async delete(ctx: DelegateContext): Promise<void> {
    const props = appliedProperties(ctx);
    if (!(await this.look(ctx, props)).exists) return;
    const { spec, result } = await this.run(ctx, props, { argv: ['distrobox', 'rm', '--force', this.nameOf(ctx, props)], timeoutMs: 120_000 });
    const still = (await this.look(ctx, props)).exists;
    // A failed rm is fine only when the box is gone anyway (removed meanwhile): what list shows decides.
    if (result.exitCode !== 0 && still) throw commandFailed(result, spec);
    if (still) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: distrobox rm succeeded but distrobox list still shows ${this.nameOf(ctx, props)}`);
  }

  inspect(ctx: DelegateContext): Promise<InspectResult> {
    return this.look(ctx, appliedProperties(ctx));
  }

  /**
   * The box as `distrobox list` shows it (ID | NAME | STATUS | IMAGE). A box counts as running while
   * it exists: distrobox starts its container on `distrobox enter`; `status` says what podman reports.
   */
  private async look(ctx: DelegateContext, props: Record<string, PlainValue>): Promise<InspectResult> {
    const { spec, result: r } = await this.run(ctx, props, { argv: ['distrobox', 'list', '--no-color'] });
    // A list that failed says nothing about the box: never read it as "gone".
    if (r.exitCode !== 0) throw commandFailed(r, spec);
    const name = this.nameOf(ctx, props);
    const rows = r.stdout.split('\n').map((l) => l.split('|').map((x) => x.trim()));
    if (!rows[0] || rows[0][1] !== 'NAME') throw new KaiduError('E_COMMAND_FAILED', `distrobox list printed no table: ${r.stdout.trim().slice(0, 200) || '(nothing)'}`);
    const row = rows.slice(1).find((cols) => cols[1] === name);
    return row ? { exists: true, status: 'running', attributes: { status: row[2] || 'unknown' } } : { exists: false, status: 'stopped', attributes: {} };
  }
}
