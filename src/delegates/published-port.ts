/**
 * Which port inside a container a published host port leads to, and whether something listens on
 * it in the container's network namespace. Docker's userland proxy accepts connections on a
 * published port even when nothing listens inside (it closes them at once), so a tcp readiness
 * probe from the host alone would read a container that is not serving yet as ready.
 */
import { readFile } from 'node:fs/promises';

/** The container port of `hostPort` in `-p` specs (`[ip:]host:container[/proto]`), if one names it. */
export function containerPortFor(hostPort: number, specs: readonly string[]): number | undefined {
  for (const spec of specs) {
    const m = /^(?:\[?[0-9A-Fa-f:.]*\]?:)?(\d+):(\d+)(?:\/tcp)?$/.exec(spec.trim());
    if (m && Number(m[1]) === hostPort) return Number(m[2]);
  }
  return undefined;
}

/** Whether a TCP socket listens on `port` in the network namespace of process `pid` (read from the host's /proc). */
export async function listensInNamespaceOf(pid: number, port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = await readFile(`/proc/${pid}/net/${table}`, 'utf8');
    } catch (err) {
      // No IPv6 in that namespace: only the tcp table counts. A gone process is the caller's "gone".
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1]?.toUpperCase().endsWith(`:${hex}`) && f[3] === '0A') return true;
    }
  }
  return false;
}
