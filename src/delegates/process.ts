import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { chown, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { runChecked, tail } from './command-runner.js';
import { cmdline, isOurs, startTime } from './proc-info.js';
import { dataPath } from './data-dir.js';
import { NodeCgroups, openCgroups } from './cgroup.js';
import { SUPERVISOR_SOURCE } from './process-supervisor.js';
import { inspectUserUnit, startUserUnit, stopUserUnit } from './systemd-user-unit.js';
import { attempt, connectAddress, waitUntilReady, type ReadinessCheck } from './readiness.js';
import { holdsListeningPort, nodeProcesses } from './port-holder.js';
import { insideOf, recordedInside } from './nesting.js';
import { NestedProcess } from './nested-process.js';
import type { CommandRunner, Delegate, DelegateContext, DelegateResult, ExitEvent, InspectResult } from './types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A process that is gone this soon after start failed to start. */
const STARTUP_CHECK_MS = 300;
/** A process that serves a port and does not accept connections within this long failed to start. */
const READINESS_TIMEOUT_MS = 30_000;
/** How long the supervisor may take to report the child's pid (node itself starts slowly under load). */
const SPAWN_REPORT_MS = 15_000;

/**
 * A service name or node key as a file or folder name. Names are safe names (see
 * tosca/safe-name.ts) and kept as they are; an instance's `#` becomes `@`, which no name contains,
 * so `web#0` and a template named `web_0` never share a pid file or a cgroup. Anything else that
 * slipped through becomes `_` (and dataPath still refuses `..`).
 */
export function safeName(s: string): string {
  return s.replace(/#/g, '@').replace(/[^\p{L}\p{N}\p{M}_.@-]+/gu, '_');
}

/** Stringifies environment values: numbers and booleans from `$get_attribute` arrive as JSON. */
export function envValue(v: PlainValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export interface ProcessPaths {
  runDir: string;
  /** `<supervisorPid> <childPid> <childStartTime>` (see process-supervisor.ts). */
  pidFile: string;
  /** JSON `{pid, code, signal, at}` written by the supervisor when the child ends. */
  exitFile: string;
  /** Hash of what was started (argv, env, cwd, user): decides adoption after a crash. */
  specFile: string;
  out: string;
  err: string;
  workDir: string;
}

export function processPaths(dataDir: string, service: string, key: string): ProcessPaths {
  const svc = safeName(service);
  const k = safeName(key);
  const runDir = dataPath(dataDir, 'run', svc);
  return {
    runDir,
    pidFile: dataPath(dataDir, 'run', svc, `${k}.pid`),
    exitFile: dataPath(dataDir, 'run', svc, `${k}.exit`),
    specFile: dataPath(dataDir, 'run', svc, `${k}.spec`),
    out: dataPath(dataDir, 'logs', svc, `${k}.out.log`),
    err: dataPath(dataDir, 'logs', svc, `${k}.err.log`),
    workDir: dataPath(dataDir, 'work', svc, k),
  };
}

export interface PidRecord {
  /** The supervisor: leader of the process group. */
  leader: number;
  /** The real service. */
  pid: number;
  /** Field 22 of /proc/<pid>/stat when it started. */
  startTime?: string;
}

export async function readPidFile(file: string): Promise<PidRecord | undefined> {
  try {
    const [leader, pid, start] = (await readFile(file, 'utf8')).trim().split(/\s+/);
    const l = Number(leader);
    const p = Number(pid);
    if (!Number.isInteger(l) || !Number.isInteger(p) || l <= 1 || p <= 1) return undefined;
    return { leader: l, pid: p, ...(start && start !== '0' ? { startTime: start } : {}) };
  } catch {
    return undefined;
  }
}

interface ExitInfo {
  pid: number | null;
  code: number | null;
  signal: string | null;
  at: string;
}

export interface ProcessDelegateOptions {
  dataDir: string;
  runner: CommandRunner;
  /** A process gone within this window fails its create (default 300 ms); not used when it serves a port. */
  startupCheckMs?: number;
  /** How long a process that serves a port may take to accept connections (default 30 s). */
  readinessTimeoutMs?: number;
  /**
   * Where the nodes' cgroups go: a folder in a cgroup2 hierarchy; default `<cgroup2 mount>/kaidu`;
   * false: never use cgroups (a process group only). See cgroup.ts.
   */
  cgroupRoot?: string | false;
}

/**
 * Bare processes, detached in their own process group under a small supervisor (see
 * process-supervisor.ts), stdout and stderr appended to `<dataDir>/logs/<service>/<node>.{out,err}.log`,
 * re-adopted by pid *and* start time. Exits are noticed through the supervisor's exit file and
 * `fs.watch`, never by polling. With `systemd: true` the process is a user-mode transient unit.
 */
export class ProcessDelegate implements Delegate {
  readonly name = 'process';
  readonly handles = ['kaidu:Process'];
  private readonly watchers = new Map<string, FSWatcher>();
  /** Exit file path → the node it belongs to and where to report. */
  private readonly sinks = new Map<string, { id: string; onExit?: (e: ExitEvent) => void }>();
  /** Node id → pid of the copy currently managed: an exit of an older copy is not news. */
  private readonly current = new Map<string, number>();
  /** Pids we stopped ourselves, or already reported: never reported (again). */
  private readonly quiet = new Set<number>();
  /** Data dir → its cgroups (undefined where the agent cannot make any), looked up once. */
  private readonly cgroupsByDataDir = new Map<string, Promise<NodeCgroups | undefined>>();

  /** The same node inside a container (or another workload) it is hosted on. */
  private readonly nested = new NestedProcess();

  constructor(private readonly opts: ProcessDelegateOptions) {}

  private paths(ctx: DelegateContext): ProcessPaths {
    return processPaths(ctx.dataDir, ctx.node.service, ctx.node.key);
  }

  /** The node's cgroup folder (not created), with the data dir's cgroups; undefined without cgroups. */
  private async cgroup(ctx: DelegateContext): Promise<{ cgroups: NodeCgroups; dir: string } | undefined> {
    let open = this.cgroupsByDataDir.get(ctx.dataDir);
    if (!open) this.cgroupsByDataDir.set(ctx.dataDir, (open = openCgroups(ctx.dataDir, this.opts.cgroupRoot)));
    const cgroups = await open;
    return cgroups ? { cgroups, dir: cgroups.dir(safeName(ctx.node.service), safeName(ctx.node.key)) } : undefined;
  }

  unitName(ctx: DelegateContext): string {
    return `kaidu-${safeName(ctx.node.service)}-${safeName(ctx.node.key)}`.replace(/[^A-Za-z0-9:_.\\-]/g, '-');
  }

  private ownEnv(ctx: DelegateContext, props = ctx.node.properties): Record<string, string> {
    const own = props.env && typeof props.env === 'object' && !Array.isArray(props.env) ? (props.env as Record<string, PlainValue>) : {};
    const out: Record<string, string> = { ...ctx.node.env };
    for (const [k, v] of Object.entries(own)) if (v !== null && v !== undefined) out[k] = envValue(v);
    return out;
  }

  /** Minimal agent environment, then ConnectsTo variables, then the node's own `env` (wins). */
  private env(ctx: DelegateContext): Record<string, string> {
    const base: Record<string, string> = {};
    for (const k of ['PATH', 'HOME', 'LANG', 'TZ', 'USER', 'LOGNAME']) if (process.env[k]) base[k] = process.env[k]!;
    return { KAIDU_NODE: ctx.node.id, KAIDU_HOST: ctx.host, ...base, ...this.ownEnv(ctx) };
  }

  private command(ctx: DelegateContext): string[] {
    const cmd = ctx.node.properties.command;
    if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((c) => typeof c === 'string' || typeof c === 'number')) {
      throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "command" must be a non-empty list of strings`);
    }
    return cmd.map(String);
  }

  private cwd(ctx: DelegateContext, p: ProcessPaths): string {
    return typeof ctx.node.properties.cwd === 'string' && ctx.node.properties.cwd ? ctx.node.properties.cwd : p.workDir;
  }

  private specHash(ctx: DelegateContext, p: ProcessPaths): string {
    const user = typeof ctx.node.properties.user === 'string' ? ctx.node.properties.user : null;
    const spec = { argv: this.command(ctx), env: Object.entries(this.ownEnv(ctx)).sort(), cwd: this.cwd(ctx, p), user };
    return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
  }

  private grace(ctx: DelegateContext): number {
    const g = ctx.node.properties.stop_grace ?? ctx.previous?.properties.stop_grace;
    return typeof g === 'number' && g >= 0 ? g : 10;
  }

  /** Watches a service's run folder once: the supervisor's exit files appear there. */
  private watchRun(ctx: DelegateContext, p: ProcessPaths, pid?: number): void {
    this.sinks.set(p.exitFile, { id: ctx.node.id, ...(ctx.onExit ? { onExit: ctx.onExit } : {}) });
    if (pid) this.current.set(ctx.node.id, pid);
    if (this.watchers.has(p.runDir)) return;
    try {
      const w = watch(p.runDir, (_event, filename) => {
        if (!filename || !String(filename).endsWith('.exit')) return;
        void this.onExitFile(join(p.runDir, String(filename)));
      });
      w.on('error', () => {
        w.close();
        this.watchers.delete(p.runDir);
      });
      w.unref();
      this.watchers.set(p.runDir, w);
    } catch {
      // No folder yet: watched from the first start on.
    }
  }

  private async onExitFile(file: string): Promise<void> {
    const sink = this.sinks.get(file);
    if (!sink?.onExit) return;
    let info: ExitInfo;
    try {
      info = JSON.parse(await readFile(file, 'utf8')) as ExitInfo;
    } catch {
      return; // removed again, or a half-seen rename: the next event reads it
    }
    const pid = info.pid ?? -1;
    if (this.quiet.has(pid) || this.current.get(sink.id) !== pid) return;
    this.quiet.add(pid);
    this.current.delete(sink.id);
    sink.onExit({ nodeId: sink.id, exitCode: info.code, signal: info.signal, at: info.at });
  }

  /** Stops whatever this node's pid file names, if it is really ours. */
  private async stopRecorded(ctx: DelegateContext, rec: PidRecord | undefined): Promise<void> {
    if (rec && (await isOurs(rec.pid, rec.startTime))) await this.stop(rec, this.grace(ctx));
  }

  async create(ctx: DelegateContext): Promise<DelegateResult> {
    const inside = insideOf(ctx);
    if (inside) return this.nested.create(ctx, inside);
    if (ctx.node.properties.systemd === true) return this.createUnit(ctx);
    const p = this.paths(ctx);
    const argv = this.command(ctx);
    const hash = this.specHash(ctx, p);
    // A copy this node already runs (an agent that crashed before recording it, or a create
    // retried): adopted when it runs the same thing, stopped otherwise. Never two copies.
    const existing = await readPidFile(p.pidFile);
    if (existing && (await isOurs(existing.pid, existing.startTime))) {
      const recordedHash = (await readFile(p.specFile, 'utf8').catch(() => '')).trim();
      const running = await cmdline(existing.pid);
      const same = recordedHash ? recordedHash === hash : Boolean(running && running.join('\0') === argv.join('\0'));
      if (same) {
        ctx.logger.info({ node: ctx.node.id, pid: existing.pid }, 'adopting the copy that already runs');
        this.watchRun(ctx, p, existing.pid);
        return { attributes: await this.attributes(existing) };
      }
      ctx.logger.info({ node: ctx.node.id, pid: existing.pid }, 'stopping a leftover copy that runs something else');
      await this.stop(existing, this.grace(ctx));
    }
    // Whatever an earlier copy left in the node's cgroup (a daemon it forked, a failed start's
    // children) is stopped before a new copy starts: never one more after every retry.
    const cg = await this.cgroup(ctx);
    if (cg) {
      await cg.cgroups.stop(cg.dir, this.grace(ctx) * 1000);
      await cg.cgroups.make(safeName(ctx.node.service), safeName(ctx.node.key));
    }
    const cwd = this.cwd(ctx, p);
    await Promise.all([mkdir(p.runDir, { recursive: true }), mkdir(dirname(p.out), { recursive: true }), mkdir(cwd, { recursive: true })]);
    await Promise.all([rm(p.exitFile, { force: true }), rm(p.pidFile, { force: true })]);
    await writeFile(p.specFile, `${hash}\n`);
    const supervisor = await this.supervisorScript(ctx.dataDir);
    this.watchRun(ctx, p);
    const env = this.env(ctx);
    if (cg) env.KAIDU_SUPERVISOR_CGROUP = cg.dir;
    const user = typeof ctx.node.properties.user === 'string' && ctx.node.properties.user ? ctx.node.properties.user : undefined;
    if (user) {
      // The supervisor stays the agent's user (it writes the pid, exit and log files under the
      // data dir); only the real command switches, which the supervisor does from these two.
      const ids = await this.userIds(ctx, user);
      env.KAIDU_SUPERVISOR_UID = String(ids.uid);
      env.KAIDU_SUPERVISOR_GID = String(ids.gid);
      const own = this.ownEnv(ctx);
      if (!own.USER) env.USER = user;
      if (!own.LOGNAME) env.LOGNAME = user;
      if (!own.HOME && ids.home) env.HOME = ids.home;
      if (cwd === p.workDir) await chown(cwd, ids.uid, ids.gid);
    }
    const spawnOpts: Parameters<typeof spawn>[2] = { cwd, env, detached: true, stdio: 'ignore' };
    const sup = spawn(process.execPath, [supervisor, p.pidFile, p.exitFile, p.out, p.err, '--', ...argv], spawnOpts);
    sup.on('error', () => undefined);
    sup.unref();
    // Wait for the pid file (the child started) or the exit file (it could not).
    let rec: PidRecord | undefined;
    let exit: string | undefined;
    for (const deadline = Date.now() + SPAWN_REPORT_MS; !rec && Date.now() < deadline; ) {
      rec = await readPidFile(p.pidFile);
      exit = await readFile(p.exitFile, 'utf8').catch(() => undefined);
      if (exit) break;
      if (!rec) await sleep(15);
    }
    // A process gone within the startup window failed to start: reported by this create's
    // rejection, not as an exit event. So the node's exits are news only from here on, and one
    // that slipped in just before is caught by the last look at the exit file.
    // With a port it serves, the process is started when the port accepts connections (readiness.ts);
    // without one, when it is still there after the startup window.
    const tcp = (ctx.node.ports ?? []).filter((x) => x.protocol === 'tcp');
    if (rec && !exit && tcp.length) {
      const readExit = () => readFile(p.exitFile, 'utf8').catch(() => undefined);
      const leader = sup.pid;
      // Ready when the port accepts a connection *and* the listening socket is this node's: a
      // connection to another program that holds the port must not read as this node serving.
      const served = (x: { port: number; address: string }): ReadinessCheck => ({
        kind: 'probe',
        what: `${connectAddress(x.address)}:${x.port}`,
        probe: async () => {
          const refused = await attempt({ kind: 'tcp', host: connectAddress(x.address), port: x.port });
          if (refused !== undefined) return refused;
          if (leader === undefined) return `cannot tell who holds port ${x.port}: the process has no pid`;
          const pids = await nodeProcesses(leader, cg ? await cg.cgroups.members(cg.dir) : []);
          const holding = await holdsListeningPort(pids, x.port);
          if (holding.held) return undefined;
          if (!holding.listening) return `${connectAddress(x.address)}:${x.port} accepted a connection, but no socket listens on port ${x.port} here`;
          return holding.readable
            ? `${connectAddress(x.address)}:${x.port} accepts connections, but not from a process of ${ctx.node.id}: another program holds port ${x.port}`
            : `cannot read the sockets of ${ctx.node.id}'s processes to tell who holds port ${x.port}`;
        },
      });
      const ready = await waitUntilReady(tcp.map(served), { timeoutMs: this.opts.readinessTimeoutMs ?? READINESS_TIMEOUT_MS, gone: readExit, signal: ctx.signal });
      if (!ready.ready && 'gone' in ready) exit = ready.gone;
      else if (!ready.ready) {
        this.quiet.add(rec.pid);
        await this.stop(rec, 0);
        const stderr = await readFile(p.err, 'utf8').catch(() => '');
        throw new KaiduError('E_PROCESS_NOT_READY', `${ctx.node.id} did not accept connections on ${tcp.map((x) => `${connectAddress(x.address)}:${x.port}`).join(', ')} within ${Math.round(ready.ms / 1000)} s (${ready.lastError}); stopped it: ${argv.join(' ')}${stderr.trim() ? `\nstderr:\n${tail(stderr, 15)}` : ''}`, {
          details: { stderrLog: p.err },
          hint: `does it listen on the port of ${tcp.map((x) => x.node).join(', ')}? see ${p.err}`,
        });
      }
    }
    for (const until = Date.now() + (tcp.length ? 0 : (this.opts.startupCheckMs ?? STARTUP_CHECK_MS)); !exit && Date.now() < until; ) {
      await sleep(25);
      exit = await readFile(p.exitFile, 'utf8').catch(() => undefined);
    }
    if (rec && !exit) {
      this.current.set(ctx.node.id, rec.pid);
      exit = await readFile(p.exitFile, 'utf8').catch(() => undefined);
    }
    if (exit || !rec) {
      if (rec) this.quiet.add(rec.pid);
      this.current.delete(ctx.node.id);
      if (!exit && sup.pid) {
        try {
          process.kill(-sup.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      // A failed start leaves nothing behind, not even a daemon it forked before it ended.
      if (cg) await cg.cgroups.stop(cg.dir, 0);
      let info: ExitInfo = { pid: null, code: null, signal: null, at: '' };
      try {
        if (exit) info = JSON.parse(exit) as ExitInfo;
      } catch {
        // keep the unknowns
      }
      const stderr = await readFile(p.err, 'utf8').catch(() => '');
      const how = !exit ? 'did not start' : info.signal ? `exited at once (signal ${info.signal})` : `exited at once (exit code ${info.code})`;
      throw new KaiduError('E_PROCESS_EXITED', `${ctx.node.id} ${how}: ${argv.join(' ')}${stderr.trim() ? `\nstderr:\n${tail(stderr, 15)}` : ''}`, {
        details: { exitCode: info.code, signal: info.signal, stderrLog: p.err },
        hint: `see ${p.err}`,
      });
    }
    return { attributes: { ...(await this.attributes(rec)), ...(cg ? { cgroup: cg.dir } : {}) } };
  }

  private async supervisorScript(dataDir: string): Promise<string> {
    const file = dataPath(dataDir, 'run', 'supervisor.cjs');
    const current = await readFile(file, 'utf8').catch(() => undefined);
    if (current !== SUPERVISOR_SOURCE) {
      await mkdir(dataPath(dataDir, 'run'), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, SUPERVISOR_SOURCE, { mode: 0o644 });
      await rename(tmp, file);
    }
    return file;
  }

  private async attributes(rec: PidRecord): Promise<Record<string, PlainValue>> {
    return {
      pid: rec.pid,
      supervisor_pid: rec.leader,
      status: 'running',
      started_at: new Date().toISOString(),
      exit_code: null,
      start_time: rec.startTime ?? (await startTime(rec.pid)) ?? null,
    };
  }

  private async userIds(ctx: DelegateContext, user: string): Promise<{ uid: number; gid: number; home?: string }> {
    const lookup = async (flag: string): Promise<number> => {
      const r = await ctx.runner.run({ argv: ['id', flag, user] });
      const n = Number(r.stdout.trim());
      if (r.exitCode !== 0 || !r.stdout.trim() || !Number.isInteger(n)) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: no user "${user}" on ${ctx.host}${r.stderr.trim() ? ` (${r.stderr.trim()})` : ''}`);
      return n;
    };
    const uid = await lookup('-u');
    const gid = await lookup('-g');
    if (process.getuid && process.getuid() !== 0 && process.getuid() !== uid) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: running as user "${user}" needs an agent running as root`);
    const passwd = await ctx.runner.run({ argv: ['getent', 'passwd', user] }).catch(() => undefined);
    const home = passwd?.exitCode === 0 ? passwd.stdout.trim().split(':')[5] : undefined;
    return { uid, gid, ...(home ? { home } : {}) };
  }

  /** Stop, then start with the new configuration. */
  async update(ctx: DelegateContext): Promise<DelegateResult> {
    await this.delete(ctx);
    return this.create(ctx);
  }

  /** SIGTERM to the process group, SIGKILL after `stop_grace`. Idempotent. */
  async delete(ctx: DelegateContext): Promise<void> {
    // Where the running copy was made (its state says), not where the templates now put it.
    const inside = recordedInside(ctx);
    if (inside) return this.nested.delete(ctx, inside);
    if (ctx.previous?.properties.systemd === true || (!ctx.previous && ctx.node.properties.systemd === true)) return this.deleteUnit(ctx);
    const p = this.paths(ctx);
    const fromFile = await readPidFile(p.pidFile);
    const a = ctx.previous?.attributes;
    const fromState: PidRecord | undefined =
      a && typeof a.pid === 'number' && a.pid > 1
        ? { pid: a.pid, leader: typeof a.supervisor_pid === 'number' && a.supervisor_pid > 1 ? a.supervisor_pid : a.pid, ...(typeof a.start_time === 'string' ? { startTime: a.start_time } : {}) }
        : undefined;
    const cg = await this.cgroup(ctx);
    if (cg) {
      // Everything the node started, daemons included, is in its cgroup: stopped all together.
      for (const rec of [fromFile, fromState]) if (rec && (await isOurs(rec.pid, rec.startTime))) this.quiet.add(rec.pid);
      await cg.cgroups.stop(cg.dir, this.grace(ctx) * 1000);
    }
    // Without cgroups (or for a copy started before the agent had them): the process group.
    await this.stopRecorded(ctx, fromFile);
    if (fromState && fromState.pid !== fromFile?.pid) await this.stopRecorded(ctx, fromState);
    this.current.delete(ctx.node.id);
    await Promise.all([rm(p.pidFile, { force: true }), rm(p.specFile, { force: true })]);
  }

  private async stop(rec: PidRecord, graceSeconds: number): Promise<void> {
    this.quiet.add(rec.pid);
    const alive = async () => (await isOurs(rec.pid, rec.startTime)) || (rec.leader !== rec.pid && (await isOurs(rec.leader, undefined)) && (await sameGroup(rec.leader)));
    const signal = (sig: NodeJS.Signals) => {
      // The group exists while its member (the child, checked ours) lives: its id cannot be recycled.
      for (const target of [-rec.leader, rec.pid]) {
        try {
          process.kill(target, sig);
        } catch {
          // already gone
        }
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + graceSeconds * 1000;
    while (Date.now() < deadline && (await alive())) await sleep(50);
    if (await alive()) {
      signal('SIGKILL');
      for (let i = 0; i < 80 && (await isOurs(rec.pid, rec.startTime)); i++) await sleep(25);
    }
  }

  /**
   * Running only if /proc/<pid> exists and its start time is the recorded one: a recycled pid is
   * never mistaken for ours. Also (re)starts watching for its exit.
   */
  async inspect(ctx: DelegateContext): Promise<InspectResult> {
    const inside = recordedInside(ctx);
    if (inside) return this.nested.inspect(ctx, inside);
    if (ctx.previous?.properties.systemd === true) return this.inspectUnit(ctx);
    const p = this.paths(ctx);
    const a = ctx.previous?.attributes ?? {};
    const rec = await readPidFile(p.pidFile);
    const pid = typeof a.pid === 'number' ? a.pid : rec?.pid;
    const recorded = typeof a.start_time === 'string' ? a.start_time : rec?.pid === pid ? rec?.startTime : undefined;
    if (typeof pid !== 'number') return { exists: false, status: 'stopped', attributes: {} };
    if (await isOurs(pid, recorded)) {
      this.watchRun(ctx, p, pid);
      const cg = await this.cgroup(ctx);
      const tracked = cg && (await cg.cgroups.populated(cg.dir));
      return { exists: true, status: 'running', attributes: { pid, status: 'running', ...(tracked ? { cgroup: cg.dir } : {}) } };
    }
    let code: number | null = null;
    try {
      const info = JSON.parse(await readFile(p.exitFile, 'utf8')) as ExitInfo;
      if (info.pid === pid) code = info.code;
    } catch {
      // no exit recorded
    }
    return { exists: false, status: 'stopped', attributes: { status: 'exited', exit_code: code } };
  }

  // --- systemd user units -------------------------------------------------------------------

  private async createUnit(ctx: DelegateContext): Promise<DelegateResult> {
    const cwd = typeof ctx.node.properties.cwd === 'string' && ctx.node.properties.cwd ? ctx.node.properties.cwd : undefined;
    return startUserUnit(ctx, { unit: this.unitName(ctx), command: this.command(ctx), env: this.ownEnv(ctx), graceSeconds: this.grace(ctx), ...(cwd ? { cwd } : {}), ...unitUser(ctx.node.properties) });
  }

  private async deleteUnit(ctx: DelegateContext): Promise<void> {
    await stopUserUnit(ctx, this.unitName(ctx), unitUser(ctx.previous?.properties ?? ctx.node.properties).user, this.grace(ctx));
  }

  private async inspectUnit(ctx: DelegateContext): Promise<InspectResult> {
    return inspectUserUnit(ctx, this.unitName(ctx), unitUser(ctx.previous?.properties ?? ctx.node.properties).user);
  }
}

/** The user whose manager runs a `systemd: true` process (none: the agent's own). */
function unitUser(props: Record<string, PlainValue>): { user?: string } {
  return typeof props.user === 'string' && props.user ? { user: props.user } : {};
}

/** The process leads its own group (it is one of our supervisors, not a recycled pid). */
async function sameGroup(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2] === String(pid);
  } catch {
    return false;
  }
}
