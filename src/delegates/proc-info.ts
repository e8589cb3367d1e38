import { readFile } from 'node:fs/promises';

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
export async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export async function cmdline(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((x, i, a) => i < a.length - 1 || x !== '');
  } catch {
    return undefined;
  }
}

/** Alive, and the same process we started (a recycled pid has another start time). */
export async function isOurs(pid: number, recordedStart: string | undefined): Promise<boolean> {
  const now = await startTime(pid);
  if (!now) return false;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (/\) Z /.test(stat)) return false; // a zombie is gone for our purposes
  return recordedStart === undefined || now === recordedStart;
}
