import { spawn } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { runChecked, tail } from './command-runner.js';
import { cmdline, isOurs, startTime } from './proc-info.js';
import { SUPERVISOR_SOURCE } from './process-supervisor.js';
import type { CommandRunner, Delegate, DelegateContext, DelegateResult, ExitEvent, InspectResult } from './types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A process that is gone this soon after start failed to start. */
const STARTUP_CHECK_MS = 300;

export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]+/g, '_');
}

interface Paths {
  runDir: string;
  pidFile: string;
  exitFile: string;
  out: string;
  err: string;
  workDir: string;
}

/**
 * Bare processes, detached in their own process group under a small supervisor (see
 * process-supervisor.ts), stdout and stderr in log files, re-adopted by pid *and* start time.
 * With `systemd: true` the process is a user-mode transient unit instead.
 */
export class ProcessDelegate implements Delegate {
  readonly name = 'process';
  readonly handles = ['kaidu:Process'];
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly exitSinks = new Map<string, (e: ExitEvent) => void>();
  /** Exits we caused (stop, restart): not reported as events. */
  private readonly expected = new Set<string>();

  constructor(private readonly opts: { dataDir: string; runner: CommandRunner }) {}

  private paths(ctx: DelegateContext): Paths {
    const svc = safeName(ctx.node.service);
    const key = safeName(ctx.node.key);
    const runDir = join(ctx.dataDir, 'run', svc);
    return {
      runDir,
      pidFile: join(runDir, `${key}.pid`),
      exitFile: join(runDir, `${key}.exit`),
      out: join(ctx.dataDir, 'logs', svc, `${key}.out.log`),
      err: join(ctx.dataDir, 'logs', svc, `${key}.err.log`),
      workDir: join(ctx.dataDir, 'work', svc, key),
    };
  }

  private unit(ctx: DelegateContext): string {
    return `kaidu-${safeName(ctx.node.service)}-${safeName(ctx.node.key)}`.replace(/#/g, '-');
  }

  private env(ctx: DelegateContext): Record<string, string> {
    const base: Record<string, string> = {};
    for (const k of ['PATH', 'HOME', 'LANG', 'TZ', 'USER', 'LOGNAME', 'NODE_EXTRA_CA_CERTS']) if (process.env[k]) base[k] = process.env[k]!;
    const own = (ctx.node.properties.env ?? {}) as Record<string, PlainValue>;
    const out: Record<string, string> = { ...base, ...ctx.node.env };
    for (const [k, v] of Object.entries(own)) if (v !== null && v !== undefined) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
    out.KAIDU_NODE = ctx.node.id;
    out.KAIDU_HOST = ctx.host;
    return out;
  }

  private command(ctx: DelegateContext): string[] {
    const cmd = ctx.node.properties.command;
    if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((c) => typeof c === 'string' || typeof c === 'number')) {
      throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "command" must be a non-empty list of strings`);
    }
    return cmd.map(String);
  }

  /** Starts watching a service's run folder once: exit files appear there. */
  private watchRun(ctx: DelegateContext, p: Paths): void {
    if (ctx.onExit) this.exitSinks.set(ctx.node.id, ctx.onExit);
    if (this.watchers.has(p.runDir)) return;
    try {
      const w = watch(p.runDir, (_event, filename) => {
        if (!filename || !String(filename).endsWith('.exit')) return;
        void this.onExitFile(ctx.node.service, p.runDir, String(filename));
      });
      w.unref();
      this.watchers.set(p.runDir, w);
    } catch {
      // The folder is created at first start; watched from then on.
    }
  }

  private async onExitFile(service: string, runDir: string, filename: string): Promise<void> {
    const key = filename.slice(0, -'.exit'.length);
    const id = [...this.exitSinks.keys()].find((k) => k === `${service}/${key}` || (k.startsWith(`${service}/`) && safeName(k.slice(service.length + 1)) === key));
    if (!id || this.expected.has(id)) return;
    try {
      const info = JSON.parse(await readFile(join(runDir, filename), 'utf8')) as { code: number | null; signal: string | null; at: string };
      this.exitSinks.get(id)?.({ nodeId: id, exitCode: info.code, signal: info.signal, at: info.at });
    } catch {
      // a half-seen rename: the next event reads it
    }
  }

  private async readPidFile(p: Paths): Promise<{ supervisor: number; child: number } | undefined> {
    try {
      const [s, c] = (await readFile(p.pidFile, 'utf8')).trim().split(/\s+/).map(Number);
      return s && c ? { supervisor: s, child: c } : undefined;
    } catch {
      return undefined;
    }
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    if (ctx.node.properties.systemd === true) return this.createUnit(ctx);
    const p = this.paths(ctx);
    const argv = this.command(ctx);
    // A process this node already has (an agent killed before recording it): adopt it when it runs
    // the same command, stop it otherwise. Never two copies.
    const existing = await this.readPidFile(p);
    if (existing && (await isOurs(existing.child, undefined))) {
      const running = await cmdline(existing.child);
      if (running && running.join('\0') === argv.join('\0')) {
        this.watchRun(ctx, p);
        return { attributes: await this.attributes(existing.child, existing.supervisor) };
      }
      await this.stop(ctx, existing.supervisor, existing.child);
    }
    await Promise.all([mkdir(p.runDir, { recursive: true }), mkdir(join(p.out, '..'), { recursive: true })]);
    const cwd = typeof ctx.node.properties.cwd === 'string' ? ctx.node.properties.cwd : p.workDir;
    await mkdir(cwd, { recursive: true });
    await rm(p.exitFile, { force: true });
    await rm(p.pidFile, { force: true });
    const supervisor = join(ctx.dataDir, 'run', 'supervisor.cjs');
    await writeFile(supervisor, SUPERVISOR_SOURCE);
    this.watchRun(ctx, p);
    this.expected.delete(ctx.node.id);
    const spawnOpts: Parameters<typeof spawn>[2] = { cwd, env: this.env(ctx), detached: true, stdio: 'ignore' };
    if (typeof ctx.node.properties.user === 'string' && ctx.node.properties.user) Object.assign(spawnOpts, await this.userIds(ctx, ctx.node.properties.user));
    const sup = spawn(process.execPath, [supervisor, p.pidFile, p.exitFile, p.out, p.err, '--', ...argv], spawnOpts);
    sup.unref();
    // Wait for the pid file (the child started) or the exit file (it could not).
    let ids: { supervisor: number; child: number } | undefined;
    for (let i = 0; i < 100 && !ids; i++) {
      ids = await this.readPidFile(p);
      if (!ids && (await readFile(p.exitFile, 'utf8').catch(() => undefined))) break;
      if (!ids) await sleep(20);
    }
    await sleep(STARTUP_CHECK_MS);
    const exit = await readFile(p.exitFile, 'utf8').catch(() => undefined);
    if (exit || !ids) {
      const info = exit ? (JSON.parse(exit) as { code: number | null; signal: string | null }) : { code: null, signal: null };
      const stderr = await readFile(p.err, 'utf8').catch(() => '');
      this.expected.add(ctx.node.id);
      throw new KaiduError('E_PROCESS_EXITED', `${ctx.node.id} exited at once (${info.signal ? `signal ${info.signal}` : `exit code ${info.code}`})${stderr.trim() ? `\nstderr:\n${tail(stderr, 15)}` : ''}`, { details: { exitCode: info.code } });
    }
    return { attributes: await this.attributes(ids.child, ids.supervisor) };
  }

  private async attributes(child: number, supervisor: number): Promise<Record<string, PlainValue>> {
    return { pid: child, supervisor_pid: supervisor, status: 'running', started_at: new Date().toISOString(), exit_code: null, start_time: (await startTime(child)) ?? null };
  }

  private async userIds(ctx: DelegateContext, user: string): Promise<{ uid: number; gid: number }> {
    const uid = Number((await runChecked(ctx.runner, { argv: ['id', '-u', user] })).stdout.trim());
    const gid = Number((await runChecked(ctx.runner, { argv: ['id', '-g', user] })).stdout.trim());
    if (process.getuid && process.getuid() !== 0 && process.getuid() !== uid) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: running as user "${user}" needs an agent running as root`);
    return { uid, gid };
  }

  async update(ctx: DelegateContext): Promise<DelegateResult> {
    await this.delete(ctx);
    return this.create(ctx);
  }

  async delete(ctx: DelegateContext): Promise<void> {
    if (ctx.previous?.properties.systemd === true || ctx.node.properties.systemd === true) return this.deleteUnit(ctx);
    const p = this.paths(ctx);
    const ids = (await this.readPidFile(p)) ?? (typeof ctx.previous?.attributes.supervisor_pid === 'number' && typeof ctx.previous.attributes.pid === 'number' ? { supervisor: ctx.previous.attributes.supervisor_pid, child: ctx.previous.attributes.pid } : undefined);
    if (ids) await this.stop(ctx, ids.supervisor, ids.child);
    await rm(p.pidFile, { force: true });
  }

  /** SIGTERM to the group, SIGKILL after the grace period. Idempotent. */
  private async stop(ctx: DelegateContext, supervisor: number, child: number): Promise<void> {
    this.expected.add(ctx.node.id);
    const grace = typeof ctx.node.properties.stop_grace === 'number' ? ctx.node.properties.stop_grace : typeof ctx.previous?.properties.stop_grace === 'number' ? ctx.previous.properties.stop_grace : 10;
    const signal = (sig: NodeJS.Signals) => {
      for (const target of [-supervisor, child]) {
        try {
          process.kill(target, sig);
        } catch {
          // already gone
        }
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + grace * 1000;
    while (Date.now() < deadline && ((await isOurs(child, undefined)) || (await isOurs(supervisor, undefined)))) await sleep(50);
    if ((await isOurs(child, undefined)) || (await isOurs(supervisor, undefined))) {
      signal('SIGKILL');
      for (let i = 0; i < 40 && (await isOurs(child, undefined)); i++) await sleep(25);
    }
  }

  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    if (ctx.previous?.properties.systemd === true) return this.inspectUnit(ctx);
    const p = this.paths(ctx);
    this.watchRun(ctx, p);
    const pid = ctx.previous?.attributes.pid;
    const recorded = ctx.previous?.attributes.start_time;
    if (typeof pid !== 'number') return { exists: false, status: 'stopped', attributes: {} };
    const alive = await isOurs(pid, typeof recorded === 'string' ? recorded : undefined);
    if (alive) return { exists: true, status: 'running', attributes: { pid, status: 'running' } };
    const exit = await readFile(p.exitFile, 'utf8').catch(() => undefined);
    const code = exit ? (JSON.parse(exit) as { code: number | null }).code : null;
    return { exists: false, status: 'stopped', attributes: { status: 'exited', exit_code: code } };
  }

  // --- systemd user units -------------------------------------------------------------------

  private async createUnit(ctx: DelegateContext): Promise<DelegateResult> {
    const unit = this.unit(ctx);
    const env = { ...ctx.node.env, ...((ctx.node.properties.env ?? {}) as Record<string, string>) };
    const argv = ['systemd-run', '--user', `--unit=${unit}`, '--collect', '--property=KillMode=mixed', `--property=TimeoutStopSec=${ctx.node.properties.stop_grace ?? 10}`];
    if (typeof ctx.node.properties.cwd === 'string') argv.push(`--working-directory=${ctx.node.properties.cwd}`);
    for (const [k, v] of Object.entries(env).sort()) argv.push(`--setenv=${k}=${String(v)}`);
    argv.push('--', ...this.command(ctx));
    await runChecked(ctx.runner, { argv });
    const show = await runChecked(ctx.runner, { argv: ['systemctl', '--user', 'show', '-p', 'MainPID,ActiveState', `${unit}.service`] });
    const pid = Number(/MainPID=(\d+)/.exec(show.stdout)?.[1] ?? 0);
    return { attributes: { pid, unit: `${unit}.service`, status: /ActiveState=(\w+)/.exec(show.stdout)?.[1] ?? 'unknown', started_at: new Date().toISOString(), exit_code: null } };
  }

  private async deleteUnit(ctx: DelegateContext): Promise<void> {
    const r = await ctx.runner.run({ argv: ['systemctl', '--user', 'stop', `${this.unit(ctx)}.service`] });
    if (r.exitCode !== 0 && !/not loaded|not found/i.test(r.stderr)) throw new KaiduError('E_COMMAND_FAILED', `systemctl --user stop ${this.unit(ctx)}.service: ${tail(r.stderr)}`);
  }

  private async inspectUnit(ctx: DelegateContext): Promise<InspectResult> {
    const r = await ctx.runner.run({ argv: ['systemctl', '--user', 'show', '-p', 'MainPID,ActiveState', `${this.unit(ctx)}.service`] });
    const state = /ActiveState=(\w+)/.exec(r.stdout)?.[1] ?? 'inactive';
    const pid = Number(/MainPID=(\d+)/.exec(r.stdout)?.[1] ?? 0);
    return { exists: state === 'active', status: state === 'active' ? 'running' : 'stopped', attributes: { pid, status: state } };
  }
}
