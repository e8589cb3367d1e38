/**
 * Who holds a listening port: a started process is ready when *its* socket listens on the port it
 * serves, not when anything does. A TCP connection alone cannot tell: another program (or another
 * agent on the same machine) may hold the reserved port while the node's own process failed to
 * bind it and lingers, and a connection to the other one would report the node running.
 * Read from /proc: the port's listening sockets (their inodes, /proc/net/tcp and tcp6), and the
 * socket descriptors of the node's processes (/proc/<pid>/fd → `socket:[inode]`).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** Inodes of the TCP sockets in state LISTEN on local `port` in this network namespace. */
export async function listeningSocketInodes(port: number): Promise<Set<string>> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const out = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && table.endsWith('6')) continue; // no IPv6
      throw err;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && f[1]?.toUpperCase().endsWith(`:${hex}`) && f[9] && f[9] !== '0') out.add(f[9]);
    }
  }
  return out;
}

/**
 * The processes of a started node: the members of its process group (the supervisor leads it),
 * every descendant of the leader (one that left the group with setsid is still the node's), and
 * the members of its cgroup when it has one.
 */
export async function nodeProcesses(leader: number, cgroupMembers: readonly number[] = []): Promise<number[]> {
  const parent = new Map<number, number>();
  const out = new Set<number>([leader, ...cgroupMembers]);
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue; // ended meanwhile
    // After "(comm)": state ppid pgrp …
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(f[1]);
    if (Number(f[2]) === leader) out.add(pid);
    parent.set(pid, ppid);
  }
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid), hops = 0; p !== undefined && p > 1 && hops < 64; p = parent.get(p), hops++) {
      if (p === leader) {
        out.add(pid);
        break;
      }
    }
  }
  return [...out];
}

export type Holding =
  | { held: true }
  /** No socket listens on the port (yet). */
  | { held: false; listening: false }
  /** A socket listens, and none of `pids` has it: `readable` says whether their descriptors could be read at all. */
  | { held: false; listening: true; readable: boolean };

/** Whether one of `pids` holds a socket listening on `port`. */
export async function holdsListeningPort(pids: readonly number[], port: number): Promise<Holding> {
  const inodes = await listeningSocketInodes(port);
  if (inodes.size === 0) return { held: false, listening: false };
  let readable = false;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue; // ended, or not ours to read (another user's)
    }
    readable = true;
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) return { held: true };
    }
  }
  return { held: false, listening: true, readable };
}
