/** Small timing helpers shared by the benchmarks. */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export async function time<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

/** Best of n runs: the least disturbed by the other core's work. */
export async function best<T>(n: number, fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  let out: { ms: number; value: T } | undefined;
  for (let i = 0; i < n; i++) {
    gc();
    const r = await time(fn);
    if (!out || r.ms < out.ms) out = r;
  }
  return out!;
}

/** Peak RSS so far, from the kernel's high-water mark (VmHWM), in MiB. */
export async function peakRssMiB(): Promise<number> {
  try {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile('/proc/self/status', 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux
  }
  return Math.round(process.memoryUsage().rss / 1024 / 1024);
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
