/** What runs on this machine, read from /proc: for tests that check nothing is left behind. */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** Field 22 of /proc/<pid>/stat (start time), or undefined when no such process runs (a zombie does not). */
async function startOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return stat && !['Z', 'X'].includes(fields[0]!) ? fields[19] : undefined;
}

/** Whether process `pid` runs now and is the one that started at `start` (not a reused pid). */
export async function runsNow(pid: number, start: string): Promise<boolean> {
  return (await startOf(pid)) === start;
}

/**
 * Running processes of real user `uid` whose command line or working directory contains `text`:
 * pid and command line (spaces for NULs). The directory too, as a program may rewrite its command
 * line (redis-server shows `redis-server 127.0.0.1:PORT`) but not where it works.
 */
export async function processesOf(uid: number, text: string): Promise<{ pid: number; cmdline: string }[]> {
  const found: { pid: number; cmdline: string }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) !== uid) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').trim();
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if ((cmdline.includes(text) || cwd.includes(text)) && (await startOf(pid)) !== undefined) found.push({ pid, cmdline });
  }
  return found;
}

/**
 * The processes `processesOf` finds once those ending have had time to end (a launcher shell
 * exits just after the process it waited for): polled, for at most `limitMs`.
 */
export async function leftOver(uid: number, text: string, limitMs = 30_000): Promise<{ pid: number; cmdline: string }[]> {
  const until = Date.now() + limitMs;
  for (;;) {
    const found = await processesOf(uid, text);
    if (found.length === 0 || Date.now() > until) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
}
