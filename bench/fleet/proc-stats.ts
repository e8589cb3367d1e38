/** What the kernel says about processes and the machine, for the fleet benchmark (Linux /proc). */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

export interface SchedStat {
  /** CPU time of every thread, ms. */
  cpuMs: number;
  /** Time runnable but waiting for a CPU (run-queue delay), ms: CPU-bound waiting. */
  runQueueMs: number;
}

export async function schedStat(pid: number): Promise<SchedStat> {
  let cpu = 0;
  let wait = 0;
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [])) {
    try {
      const [run, delay] = (await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8')).split(' ').map(Number);
      cpu += run ?? 0;
      wait += delay ?? 0;
    } catch {
      // a thread that ended meanwhile
    }
  }
  return { cpuMs: cpu / 1e6, runQueueMs: wait / 1e6 };
}

/** Resident set size now and its high-water mark, MiB. */
export async function rss(pid: number): Promise<{ rssMiB: number; peakMiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/**
 * CPU of this process's children that have ended and been waited for (cutime + cstime), ms:
 * with the hub served from this process, that is every `git http-backend` request and the git
 * programs it ran. Coarse (clock ticks, 10 ms), exact in sum.
 */
export async function reapedChildrenCpuMs(): Promise<number> {
  clockTicks();
  const stat = await readFile('/proc/self/stat', 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; cutime is 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks();
}

export interface MachineSample {
  at: number;
  /** Jiffies: busy (all but idle and iowait) and total, summed over CPUs. */
  busy: number;
  total: number;
  /** /proc/pressure/cpu `some` total, µs: time at least one task waited for a CPU. */
  pressureUs: number | undefined;
}

export async function machineSample(): Promise<MachineSample> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = line.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  const psi = await readFile('/proc/pressure/cpu', 'utf8').catch(() => '');
  const m = /some .*total=(\d+)/.exec(psi);
  return { at: performance.now(), busy: total - idle, total, pressureUs: m ? Number(m[1]) : undefined };
}

/** CPU busy share (0..1 of all CPUs) and CPU pressure (share of time some task waited) between two samples. */
export function machineLoad(a: MachineSample, b: MachineSample): { cpu_busy_share: number; cpu_pressure_share: number | null } {
  const wallUs = (b.at - a.at) * 1000;
  return {
    cpu_busy_share: b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0,
    cpu_pressure_share: a.pressureUs !== undefined && b.pressureUs !== undefined && wallUs > 0 ? (b.pressureUs - a.pressureUs) / wallUs : null,
  };
}

export async function memAvailableMiB(): Promise<number> {
  const m = /MemAvailable:\s+(\d+)/.exec(await readFile('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
