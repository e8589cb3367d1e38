/**
 * A nested process in a workload that shares the outer host's PID namespace (a Distrobox box, by
 * default) is a process of the outer host too: its pid is a host pid, and it need not end when the
 * workload does (removing a box ends what its cgroup holds, and a process started through its exec
 * may not be there). Whether a workload shares it is observed, not taken from its type: the
 * namespace of the started process, read inside, against the outer host's own. Such a process is
 * then found, and stopped, on the outer host by its recorded pid checked against its start time.
 */
import { commandFailed } from './command-runner.js';
import type { CommandRunner } from './types.js';

/**
 * $1 pid, $2 start time (may be empty), $3 grace in tenths of a second. SIGTERM to the session,
 * SIGKILL after the grace; exits 72 if it still runs. Runs inside a workload or on the outer host.
 */
export const STOP_SESSION = `p=$1; st=$2; n=$3
alive() {
  s=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || return 1
  [ -n "$s" ] || return 1
  set -- $s
  case $1 in Z|X|x) return 1;; esac
  [ -z "$st" ] || [ "\${20}" = "$st" ]
}
if alive; then
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
  i=0; while alive && [ "$i" -lt "$n" ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done
  if alive; then
    kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null
    i=0; while alive && [ "$i" -lt 100 ]; do sleep 0.1 2>/dev/null || sleep 1; i=$((i+1)); done
  fi
  alive && exit 72
fi
echo end=ok`;

/** $1 pid: its /proc stat past the command name, if it exists, then end=ok (a failed run is never read as "gone"). */
const STAT = `if [ -r "/proc/$1/stat" ]; then echo "stat=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)"; fi
echo end=ok`;

/** A process the state records as one of the outer host's: its pid and the start time it had. */
export interface HostPid {
  pid: number;
  startTime: string;
}

/** What /proc/<pid>/stat says past the command name: running (not a zombie), and its start time (field 22). */
export function readStat(rest: string): { running: boolean; startTime?: string } {
  const fields = rest.trim().split(/\s+/);
  const startTime = fields[19];
  return { running: fields.length >= 20 && !['Z', 'X', 'x'].includes(fields[0] ?? ''), ...(startTime ? { startTime } : {}) };
}

/** Whether `pidNs` (a process's `/proc/<pid>/ns/pid` link, read inside the workload) is the outer host's own. */
export async function sharesHostPids(runner: CommandRunner, pidNs: string | undefined): Promise<boolean> {
  if (!pidNs) return false;
  const spec = { argv: ['readlink', '/proc/self/ns/pid'] };
  const r = await runner.run(spec);
  if (r.exitCode !== 0) throw commandFailed(r, spec);
  return r.stdout.trim() === pidNs;
}

/**
 * The host process a nested node's state records, when its workload shares the host's pids
 * (`shares_host_pids`, see nested-process.ts). Without a recorded start time there is none: a
 * bare pid could have been reused by anything.
 */
export function recordedHostPid(attributes: Record<string, unknown> | undefined): HostPid | undefined {
  const a = attributes ?? {};
  if (a.shares_host_pids !== true || typeof a.pid !== 'number' || typeof a.start_time !== 'string' || !a.start_time) return undefined;
  return { pid: a.pid, startTime: a.start_time };
}

/** Whether that very process (same pid, same start time) still runs on the outer host. */
export async function runsOnHost(runner: CommandRunner, p: HostPid): Promise<boolean> {
  const spec = { argv: ['sh', '-c', STAT, 'kaidu', String(p.pid)] };
  const r = await runner.run(spec);
  if (r.exitCode !== 0 || !/^end=ok$/m.test(r.stdout)) throw commandFailed(r, spec);
  const line = r.stdout.split('\n').find((l) => l.startsWith('stat='));
  if (!line) return false;
  const seen = readStat(line.slice('stat='.length));
  return seen.running && seen.startTime === p.startTime;
}

/** Stops that very process on the outer host (SIGKILL after `graceSeconds`); nothing if it no longer runs. */
export async function stopOnHost(runner: CommandRunner, p: HostPid, graceSeconds: number): Promise<void> {
  const spec = { argv: ['sh', '-c', STOP_SESSION, 'kaidu', String(p.pid), p.startTime, String(Math.ceil(graceSeconds * 10))], timeoutMs: (graceSeconds + 30) * 1000 };
  const r = await runner.run(spec);
  if (r.exitCode !== 0 || !/^end=ok$/m.test(r.stdout)) throw commandFailed(r, spec);
}
