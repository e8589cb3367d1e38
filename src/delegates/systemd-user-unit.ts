/**
 * A process as a transient systemd user unit (`kaidu:Process` with `systemd: true`): started with
 * `systemd-run --user`, inspected and stopped with `systemctl --user`. Without `user` it runs under
 * the agent's own user manager; with `user` under that user's manager (`--machine=<user>@.host`,
 * which needs an agent running as root and the user's manager running: `loginctl enable-linger`).
 */
import { KaiduError } from '../errors/kaidu-error.js';
import { commandFailed, runChecked } from './command-runner.js';
import { saysAbsent } from './not-found.js';
import type { DelegateContext, DelegateResult, InspectResult } from './types.js';

export interface UserUnitSpec {
  /** Unit name without `.service`. */
  unit: string;
  command: string[];
  env: Record<string, string>;
  cwd?: string;
  graceSeconds: number;
  user?: string;
}

/** POSIX-ish user names (what useradd accepts by default): never an option or a path. */
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const ACTIVE = new Set(['active', 'activating', 'reloading']);

/** The systemctl/systemd-run options that pick the user manager. */
export function userManager(user: string | undefined, nodeId: string): string[] {
  if (user === undefined) return ['--user'];
  if (!USER_NAME.test(user)) throw new KaiduError('E_DELEGATE', `${nodeId}: user ${JSON.stringify(user)} is not a valid user name`);
  return ['--user', `--machine=${user}@.host`];
}

const service = (unit: string) => `${unit}.service`;

async function show(ctx: DelegateContext, unit: string, user: string | undefined): Promise<Record<string, string>> {
  const r = await runChecked(ctx.runner, { argv: ['systemctl', ...userManager(user, ctx.node.id), 'show', '--property=MainPID,ActiveState,LoadState,Result', service(unit)], signal: ctx.signal });
  const props: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  // Without these the answer was not systemd's: never read it as "stopped".
  if (!props.ActiveState || !props.LoadState) throw new KaiduError('E_COMMAND_FAILED', `systemctl show ${service(unit)} printed no ActiveState/LoadState: ${r.stdout.trim() || '(nothing)'}`);
  return props;
}

export async function startUserUnit(ctx: DelegateContext, spec: UserUnitSpec): Promise<DelegateResult> {
  const argv = ['systemd-run', ...userManager(spec.user, ctx.node.id), `--unit=${spec.unit}`, '--collect', '--property=KillMode=mixed', `--property=TimeoutStopSec=${spec.graceSeconds}`];
  if (spec.cwd) argv.push(`--working-directory=${spec.cwd}`);
  for (const [k, v] of Object.entries(spec.env).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) argv.push(`--setenv=${k}=${v}`);
  argv.push('--', ...spec.command);
  await runChecked(ctx.runner, { argv, signal: ctx.signal });
  const p = await show(ctx, spec.unit, spec.user);
  // --collect forgets a unit whose process already ended: that is a start that failed.
  if (!ACTIVE.has(p.ActiveState!)) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: ${service(spec.unit)} ended right after it started (ActiveState=${p.ActiveState}, LoadState=${p.LoadState}${p.Result ? `, Result=${p.Result}` : ''})`);
  return { attributes: { pid: Number(p.MainPID ?? 0), unit: service(spec.unit), status: p.ActiveState!, started_at: new Date().toISOString(), exit_code: null } };
}

/** Stops the unit and waits for it (up to its TimeoutStopSec); a unit systemd does not know is already gone. */
export async function stopUserUnit(ctx: DelegateContext, unit: string, user: string | undefined, graceSeconds: number): Promise<void> {
  const spec = { argv: ['systemctl', ...userManager(user, ctx.node.id), 'stop', service(unit)], timeoutMs: (graceSeconds + 30) * 1000 };
  const r = await ctx.runner.run(spec);
  if (r.exitCode !== 0 && !saysAbsent('systemctl', 'unit', service(unit), r.stderr)) throw commandFailed(r, spec);
}

export async function inspectUserUnit(ctx: DelegateContext, unit: string, user: string | undefined): Promise<InspectResult> {
  const p = await show(ctx, unit, user);
  const active = ACTIVE.has(p.ActiveState!);
  return { exists: active, status: active ? 'running' : 'stopped', attributes: { pid: Number(p.MainPID ?? 0), status: p.LoadState === 'not-found' ? 'exited' : p.ActiveState! } };
}
