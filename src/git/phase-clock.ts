/** Wall and CPU time (ms) of each step of a piece of work, for debug logs and the benches. */
export type Phases = Record<string, { ms: number; cpuMs: number }>;

/**
 * Each call records the time since the previous call (or since the clock was made) under
 * `name`. CPU is the whole process's: work running meanwhile (another request) is counted too.
 */
export function phaseClock(into: Phases): (name: string) => void {
  let wall = performance.now();
  let cpu = process.cpuUsage();
  return (name) => {
    const w = performance.now();
    const c = process.cpuUsage();
    into[name] = { ms: Math.round((w - wall) * 10) / 10, cpuMs: Math.round((c.user - cpu.user + c.system - cpu.system) / 100) / 10 };
    wall = w;
    cpu = c;
  };
}
