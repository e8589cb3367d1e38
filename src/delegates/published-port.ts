/**
 * Which port inside a container a published host port leads to, and whether something listens on
 * it in the container's network namespace. Docker's userland proxy accepts connections on a
 * published port even when nothing listens inside (it closes them at once), so a tcp readiness
 * probe from the host alone would read a container that is not serving yet as ready.
 */
import { readFile } from 'node:fs/promises';
import { KaiduError } from '../errors/kaidu-error.js';
import { commandFailed } from './command-runner.js';
import type { CommandRunner } from './types.js';

/** The container port of `hostPort` in `-p` specs (`[ip:]host:container[/proto]`), if one names it. */
export function containerPortFor(hostPort: number, specs: readonly string[]): number | undefined {
  for (const spec of specs) {
    const m = /^(?:\[?[0-9A-Fa-f:.]*\]?:)?(\d+):(\d+)(?:\/tcp)?$/.exec(spec.trim());
    if (m && Number(m[1]) === hostPort) return Number(m[2]);
  }
  return undefined;
}

/**
 * Whether a /proc/net/{tcp,tcp6,udp,udp6} table shows a socket on local `port` that serves it: a
 * TCP socket in state LISTEN (0A), or a UDP socket bound to it (07, UDP has no listen state).
 */
export function listensInTable(text: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const state = protocol === 'tcp' ? '0A' : '07';
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.toUpperCase().endsWith(`:${hex}`) && f[3] === state) return true;
  }
  return false;
}

/** Whether a TCP socket listens on `port` in the network namespace of process `pid` (read from the host's /proc). */
export async function listensInNamespaceOf(pid: number, port: number): Promise<boolean> {
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = await readFile(`/proc/${pid}/net/${table}`, 'utf8');
    } catch (err) {
      // No IPv6 in that namespace: only the tcp table counts. A gone process is the caller's "gone".
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if (listensInTable(text, port)) return true;
  }
  return false;
}

/** $1 pid, $2 tcp or udp: both tables (v6 only where the namespace has one); exit 3 when the process is gone. */
const READ_TABLES = `[ -d "/proc/$1" ] || exit 3
for t in "$2" "\${2}6"; do f="/proc/$1/net/$t"; if [ -e "$f" ]; then cat -- "$f" || exit 1; fi; done
[ -d "/proc/$1" ] || exit 3`;

/**
 * The same, read through `runner` (`sh` and `cat` where the runner runs, nothing in the workload):
 * the pid is one the runtime reported through that runner, so it names a process there, which is
 * not always this agent's own /proc (a machine reached with nsenter). A process that is gone is an
 * error, never "not listening".
 */
export async function listensInNamespaceVia(runner: CommandRunner, pid: number, port: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) throw new KaiduError('E_DELEGATE', `cannot read the sockets of process ${pid}: not a pid`);
  const spec = { argv: ['sh', '-c', READ_TABLES, 'kaidu', String(pid), protocol] };
  const r = await runner.run(spec);
  if (r.exitCode === 3) throw new KaiduError('E_DELEGATE', `cannot read the sockets of process ${pid}: it is gone`);
  if (r.exitCode !== 0) throw commandFailed(r, spec);
  // Each table starts with its own header line: split at headers so every table is read whole.
  return r.stdout.split(/^(?=\s*sl\s)/m).some((table) => listensInTable(table, port, protocol));
}
