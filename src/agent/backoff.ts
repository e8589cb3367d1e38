/**
 * Recovery from a hub that does not answer: the pass the failure interrupted runs again after a
 * capped exponential delay with jitter (so agents that lost the hub together do not return in
 * step). This is recovery, not polling: one timer at most, armed only after a failure, and
 * disarmed by the first pass that reaches the hub again.
 */
export interface BackoffOptions {
  /** First delay; default 1 s. */
  baseMs?: number;
  /** Longest delay; default 5 min. */
  maxMs?: number;
  /** 0..1, default Math.random. */
  random?: () => number;
}

export const DEFAULT_BACKOFF = { baseMs: 1_000, maxMs: 300_000 } as const;

/** Delay before retry number `attempt` (0-based): base·2^attempt capped at max, then jittered to 50–100 %. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = Math.max(1, opts.baseMs ?? DEFAULT_BACKOFF.baseMs);
  const max = Math.max(base, opts.maxMs ?? DEFAULT_BACKOFF.maxMs);
  const capped = Math.min(max, base * 2 ** Math.min(attempt, 40));
  return Math.round(capped * (0.5 + 0.5 * (opts.random ?? Math.random)()));
}

export class RetryTimer {
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions = {}) {}

  /** Retries armed since the last success. */
  get attempts(): number {
    return this.attempt;
  }

  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Arms one retry (unless one is armed already); the delay chosen, or undefined when one was armed. */
  schedule(run: () => void): number | undefined {
    if (this.timer) return undefined;
    const delay = backoffDelay(this.attempt++, this.opts);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      run();
    }, delay);
    return delay;
  }

  /** The hub answered: no retry pending, and the next failure starts from the base delay again. */
  succeeded(): void {
    this.cancel();
    this.attempt = 0;
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
