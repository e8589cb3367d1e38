/**
 * A kaidu:Process inside the workload it is hosted on. A small POSIX sh launcher (run by the
 * workload's exec) starts the command in a session of its own, records its pid, waits for it and
 * records its exit code, all in a folder inside the workload; probes read those files and
 * /proc/<pid>/stat there. Only `sh`, `sed`, `kill` and `sleep` are needed inside (busybox has them).
 * User values travel as positional arguments, never as shell text.
 */
import { createHash } from 'node:crypto';
import { KaiduError } from '../errors/kaidu-error.js';
import type { PlainValue } from '../state/model.js';
import { NestedExitWatch } from './nested-exit-watch.js';
import { execFailed, notThere, type NestedHost } from './nested-host.js';
import { readStat, recordedHostPid, runsOnHost, sharesHostPids, stopOnHost, STOP_SESSION } from './nested-host-pids.js';
import { connectAddress, waitUntilReady, type ReadinessCheck } from './readiness.js';
import type { DelegateContext, DelegateResult, InspectResult } from './types.js';

const STARTUP_CHECK_MS = 300;
const READINESS_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** $1 folder, $2 spec hash, then the argv. Prints the pid. */
const LAUNCH = `d=$1; h=$2; shift 2
mkdir -p "$d" || exit 70
rm -f "$d/pid" "$d/exit"
printf '%s\\n' "$h" >"$d/spec"
(
  if command -v setsid >/dev/null 2>&1; then setsid "$@" >>"$d/out" 2>>"$d/err" </dev/null &
  else "$@" >>"$d/out" 2>>"$d/err" </dev/null &
  fi
  c=$!
  echo "$c" >"$d/pid.new" && mv -f "$d/pid.new" "$d/pid"
  wait "$c"; echo "$?" >"$d/exit.new"; mv -f "$d/exit.new" "$d/exit"
) >/dev/null 2>&1 </dev/null &
i=0
while [ ! -s "$d/pid" ]; do i=$((i+1)); [ "$i" -gt 400 ] && exit 71; sleep 0.05 2>/dev/null || sleep 1; done
echo "pid=$(cat "$d/pid")"
echo end=ok`;

/** $1 folder. Prints what the folder and /proc say, then end=ok (so a failed exec is never read as "nothing there"). */
const PROBE = `d=$1
p=$(cat "$d/pid" 2>/dev/null)
echo "pid=$p"
echo "exit=$(cat "$d/exit" 2>/dev/null)"
echo "spec=$(cat "$d/spec" 2>/dev/null)"
if [ -n "$p" ] && [ -r "/proc/$p/stat" ]; then
  echo "stat=$(sed 's/.*) //' "/proc/$p/stat")"
  echo "ns=$(readlink "/proc/$p/ns/pid" 2>/dev/null)"
fi
echo end=ok`;

/** $1 file: its last 15 lines. */
const TAIL = `tail -n 15 "$1" 2>/dev/null; echo end=ok`;

interface Probe {
  pid?: number;
  exit?: number;
  spec: string;
  running: boolean;
  startTime?: string;
  /** Its /proc/<pid>/ns/pid link, where readlink is there to read it. */
  pidNs?: string;
}

const safe = (s: string) => s.replace(/#/g, '@').replace(/[^\p{L}\p{N}\p{M}_.@-]+/gu, '_');

/** Exits 0 when something listens on TCP port $1 (4 hex digits) in the workload's network namespace (needs grep inside). */
const LISTENING_INSIDE = 'grep -qiE "^ *[0-9]+: [0-9A-F]+:$1 [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null';

/**
 * The check that `port` listens inside: asked of the host from the outside (its namespace's /proc
 * tables, nothing needed inside) when it can; else grep through its exec, for hosts that cannot.
 */
function listeningInside(ctx: DelegateContext, host: NestedHost, port: number): ReadinessCheck {
  if (host.listening) {
    const listening = host.listening.bind(host);
    return { kind: 'probe', what: `port ${port} inside ${host.description}`, probe: async () => ((await listening(ctx.runner, port, 'tcp')) ? undefined : `nothing listens on port ${port} inside ${host.description}`) };
  }
  return { kind: 'command', argv: host.execArgv(['sh', '-c', LISTENING_INSIDE, 'kaidu', port.toString(16).toUpperCase().padStart(4, '0')]) };
}

export class NestedProcess {
  /** Exits of the copies running now, reported as events (nested-exit-watch.ts). */
  readonly exits = new NestedExitWatch();

  /** The node's folder inside the workload: pid, exit code, spec hash, stdout and stderr logs. */
  dir(ctx: DelegateContext): string {
    return `/run/kaidu/${safe(ctx.node.service)}/${safe(ctx.node.key)}`;
  }

  private user(props: Record<string, PlainValue>): string | undefined {
    return typeof props.user === 'string' && props.user ? props.user : undefined;
  }

  private async sh(ctx: DelegateContext, host: NestedHost, what: string, script: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; user?: string } = {}): Promise<Record<string, string>> {
    const r = await host.exec(ctx.runner, ['sh', '-c', script, 'kaidu', ...args], { ...opts, signal: ctx.signal });
    const fields: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1);
    }
    if (r.exitCode === 0 && fields.end === 'ok') return fields;
    const s = await host.state(ctx.runner);
    if (s !== 'running') throw notThere(host, s, `${what} for ${ctx.node.id}`);
    throw execFailed(host, `${what} for ${ctx.node.id}`, r);
  }

  private async probe(ctx: DelegateContext, host: NestedHost, user: string | undefined): Promise<Probe> {
    const f = await this.sh(ctx, host, 'reading the process state', PROBE, [this.dir(ctx)], user ? { user } : {});
    const pid = /^\d+$/.test(f.pid ?? '') ? Number(f.pid) : undefined;
    const exit = /^\d+$/.test(f.exit ?? '') ? Number(f.exit) : undefined;
    const stat = readStat(f.stat ?? '');
    const running = pid !== undefined && exit === undefined && stat.running;
    const pidNs = f.ns?.trim();
    return { ...(pid !== undefined ? { pid } : {}), ...(exit !== undefined ? { exit } : {}), spec: f.spec ?? '', running, ...(stat.startTime ? { startTime: stat.startTime } : {}), ...(pidNs ? { pidNs } : {}) };
  }

  private command(ctx: DelegateContext): string[] {
    const cmd = ctx.node.properties.command;
    if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((c) => typeof c === 'string' || typeof c === 'number')) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: "command" must be a non-empty list of strings`);
    return cmd.map(String);
  }

  private env(ctx: DelegateContext): Record<string, string> {
    const own = ctx.node.properties.env;
    const out: Record<string, string> = { KAIDU_NODE: ctx.node.id, KAIDU_HOST: ctx.host, ...ctx.node.env };
    if (own && typeof own === 'object' && !Array.isArray(own)) for (const [k, v] of Object.entries(own)) if (v !== null) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
    return out;
  }

  private grace(ctx: DelegateContext): number {
    const g = ctx.node.properties.stop_grace ?? ctx.previous?.properties.stop_grace;
    return typeof g === 'number' && g >= 0 ? g : 10;
  }

  private async stop(ctx: DelegateContext, host: NestedHost, pid: number, startTime: string | undefined, user: string | undefined): Promise<void> {
    await this.sh(ctx, host, 'stopping the process', STOP_SESSION, [String(pid), startTime ?? '', String(Math.ceil(this.grace(ctx) * 10))], user ? { user } : {});
  }

  async create(ctx: DelegateContext, host: NestedHost): Promise<DelegateResult> {
    if (ctx.node.properties.systemd === true) throw new KaiduError('E_DELEGATE', `${ctx.node.id}: systemd: true is not supported for a process inside ${host.description}`);
    const argv = this.command(ctx);
    const env = this.env(ctx);
    const user = this.user(ctx.node.properties);
    const cwd = typeof ctx.node.properties.cwd === 'string' && ctx.node.properties.cwd ? ctx.node.properties.cwd : undefined;
    const hash = createHash('sha256').update(JSON.stringify({ argv, env: Object.entries(env).sort(), cwd: cwd ?? null, user: user ?? null, inside: host.record })).digest('hex');
    this.exits.forget(ctx.node.id);
    // A copy that already runs in there (a create retried): adopted if it runs the same thing, stopped otherwise.
    const before = await this.probe(ctx, host, user);
    if (before.running && before.pid !== undefined) {
      if (before.spec === hash) {
        ctx.logger.info({ node: ctx.node.id, pid: before.pid }, `adopting the copy that already runs in ${host.description}`);
        await this.exits.watch(ctx, host, this.dir(ctx), before.pid);
        return { attributes: await this.attributes(ctx, host, before.pid, before) };
      }
      await this.stop(ctx, host, before.pid, before.startTime, user);
    }
    const launched = await this.sh(ctx, host, 'starting the process', LAUNCH, [this.dir(ctx), hash, ...argv], { env, ...(cwd ? { cwd } : {}), ...(user ? { user } : {}) });
    const pid = Number(launched.pid);
    // Started means: still there after the startup window, or (serving ports) accepting connections
    // on them from the outer host, through the published ports.
    const tcp = (ctx.node.ports ?? []).filter((x) => x.protocol === 'tcp');
    let seen: Probe | undefined;
    if (tcp.length) {
      const ready = await waitUntilReady(
        [
          // Listening inside first: docker's userland proxy accepts on the published port even when
          // nothing listens in the container (and then closes), so a connection from outside alone
          // would read a process that is not serving yet as ready.
          ...tcp.map((x) => listeningInside(ctx, host, x.port)),
          ...tcp.map((x) => ({ kind: 'tcp' as const, host: connectAddress(x.address), port: x.port })),
        ],
        {
          runner: ctx.runner,
          timeoutMs: READINESS_TIMEOUT_MS,
          signal: ctx.signal,
          maxDelayMs: 250,
          gone: async () => {
            seen = await this.probe(ctx, host, user);
            return seen.running ? undefined : `exited (exit code ${seen.exit ?? 'unknown'})`;
          },
        },
      );
      if (!ready.ready && !('gone' in ready)) {
        await this.stop(ctx, host, pid, undefined, user);
        throw new KaiduError('E_PROCESS_NOT_READY', `${ctx.node.id} did not accept connections on ${tcp.map((x) => `${connectAddress(x.address)}:${x.port}`).join(', ')} within ${Math.round(ready.ms / 1000)} s (${ready.lastError}); stopped it in ${host.description}: ${argv.join(' ')}${await this.stderrTail(ctx, host, user)}`, {
          hint: `does it listen on the port inside, and does ${host.description} publish it?`,
        });
      }
    } else {
      await sleep(STARTUP_CHECK_MS);
      seen = await this.probe(ctx, host, user);
    }
    seen ??= await this.probe(ctx, host, user);
    if (!seen.running || seen.pid !== pid) {
      const how = seen.exit === undefined ? 'did not start' : seen.exit > 128 ? `exited at once (signal ${seen.exit - 128})` : `exited at once (exit code ${seen.exit})`;
      throw new KaiduError('E_PROCESS_EXITED', `${ctx.node.id} ${how} in ${host.description}: ${argv.join(' ')}${await this.stderrTail(ctx, host, user)}`, { details: { exitCode: seen.exit ?? null }, hint: `its output is in ${this.dir(ctx)}/err inside ${host.description}` });
    }
    await this.exits.watch(ctx, host, this.dir(ctx), pid);
    return { attributes: await this.attributes(ctx, host, pid, seen) };
  }

  private async stderrTail(ctx: DelegateContext, host: NestedHost, user: string | undefined): Promise<string> {
    const r = await host.exec(ctx.runner, ['sh', '-c', TAIL, 'kaidu', `${this.dir(ctx)}/err`], user ? { user } : {}).catch(() => undefined);
    const text = r?.exitCode === 0 ? r.stdout.replace(/end=ok\n?$/, '').trim() : '';
    return text ? `\nstderr:\n${text}` : '';
  }

  /**
   * `shares_host_pids`: the process is in the outer host's PID namespace (observed), so its pid is
   * a host pid and it may outlive the workload (nested-host-pids.ts); delete and inspect then look
   * for it there too.
   */
  private async attributes(ctx: DelegateContext, host: NestedHost, pid: number, seen: Probe): Promise<Record<string, PlainValue>> {
    return { pid, status: 'running', started_at: new Date().toISOString(), exit_code: null, start_time: seen.startTime ?? null, inside: host.record, shares_host_pids: await sharesHostPids(ctx.runner, seen.pidNs) };
  }

  /**
   * Stops the recorded copy. One whose workload is gone or stopped went with it, unless the
   * workload shared the outer host's pids: that one may still run there, and is stopped there.
   */
  async delete(ctx: DelegateContext, host: NestedHost): Promise<void> {
    this.exits.forget(ctx.node.id);
    const s = await host.state(ctx.runner);
    if (s === 'running') {
      const user = this.user(ctx.previous?.properties ?? ctx.node.properties);
      const seen = await this.probe(ctx, host, user);
      if (seen.running && seen.pid !== undefined) await this.stop(ctx, host, seen.pid, seen.startTime, user);
    }
    // A no-op when the copy stopped above was that one, or it has ended (pid and start time checked).
    const onHost = recordedHostPid(ctx.previous?.attributes);
    if (onHost) await stopOnHost(ctx.runner, onHost, this.grace(ctx));
  }

  async inspect(ctx: DelegateContext, host: NestedHost): Promise<InspectResult> {
    const s = await host.state(ctx.runner);
    if (s !== 'running') return (await this.outlived(ctx, host, s)) ?? { exists: false, status: 'stopped', attributes: { status: s === 'absent' ? 'gone' : 'exited', exit_code: null } };
    const seen = await this.probe(ctx, host, this.user(ctx.previous?.properties ?? ctx.node.properties));
    const recorded = ctx.previous?.attributes;
    const samePid = typeof recorded?.pid !== 'number' || recorded.pid === seen.pid;
    const sameStart = typeof recorded?.start_time !== 'string' || !seen.startTime || recorded.start_time === seen.startTime;
    if (seen.running && samePid && sameStart) {
      // Re-adopted (an agent restart): its exit is an event again.
      await this.exits.watch(ctx, host, this.dir(ctx), seen.pid!);
      return { exists: true, status: 'running', attributes: { pid: seen.pid!, status: 'running', inside: host.record } };
    }
    // Not in there (a box made again under the same name has no record of it): it may still run outside.
    return (await this.outlived(ctx, host, 'recreated')) ?? { exists: false, status: 'stopped', attributes: { status: 'exited', exit_code: seen.exit ?? null } };
  }

  /** The recorded copy, when it still runs on the outer host although its workload no longer holds it. */
  private async outlived(ctx: DelegateContext, host: NestedHost, why: 'absent' | 'stopped' | 'recreated'): Promise<InspectResult | undefined> {
    const onHost = recordedHostPid(ctx.previous?.attributes);
    if (!onHost || !(await runsOnHost(ctx.runner, onHost))) return undefined;
    const workload = why === 'absent' ? 'is gone' : why === 'stopped' ? 'is stopped' : 'no longer holds it';
    ctx.logger.warn({ node: ctx.node.id, pid: onHost.pid }, `still runs on the outer host although ${host.description} ${workload} (it shares the host's pids)`);
    return { exists: true, status: 'running', attributes: { pid: onHost.pid, status: 'running', inside: host.record } };
  }
}
