import type { EventLogger, RepoEvent } from './event.js';

/** One pass, given the newest event and how many older events were folded into it. */
export type PassRunner = (newest: RepoEvent, coalesced: number) => Promise<void>;

export interface PassQueueOptions {
  logger?: EventLogger;
  /** Called when a pass rejects (after logging); the queue carries on either way. */
  onError?: (err: unknown, event: RepoEvent) => void;
}

/**
 * Single flight: one pass at a time. While a pass runs, only the newest event waits and the events
 * it replaced are counted, so a burst of any size gives at most one pass after the running one,
 * and the newest event is never dropped. No timers: a pass starts when an event arrives or when
 * the previous pass ends (resolved or rejected).
 */
export class PassQueue {
  private running: Promise<void> | undefined;
  private pending: RepoEvent | undefined;
  /** Events the pending one replaced. */
  private replaced = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  /** Passes started. */
  passes = 0;
  /** Events folded into a newer one (never run on their own). */
  coalesced = 0;
  /** Passes that rejected. */
  failures = 0;

  constructor(
    private readonly run: PassRunner,
    private readonly opts: PassQueueOptions = {},
  ) {}

  /** Queues an event; false once the queue is closed. */
  push(event: RepoEvent): boolean {
    if (this.closed) return false;
    if (this.running) {
      if (this.pending) {
        this.coalesced++;
        this.replaced++;
      }
      this.pending = event;
      return true;
    }
    this.start(event, 0);
    return true;
  }

  /** A pass is running. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** An event waits for the running pass to end. */
  get waiting(): boolean {
    return this.pending !== undefined;
  }

  /** Resolves once no pass runs and none waits. */
  idle(): Promise<void> {
    if (!this.running && !this.pending) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops accepting events and waits for the running pass. A waiting event is dropped: we are
   * stopping, and the next start runs a catch-up pass anyway.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.pending = undefined;
    this.replaced = 0;
    await this.idle();
  }

  private start(event: RepoEvent, coalesced: number): void {
    this.passes++;
    // The runner is called from a microtask, after `running` is set: a runner that pushes an
    // event synchronously then queues it instead of starting a second pass beside itself.
    this.running = Promise.resolve()
      .then(() => this.run(event, coalesced))
      .catch((err: unknown) => this.report(err, event))
      .then(() => this.finish());
  }

  private report(err: unknown, event: RepoEvent): void {
    this.failures++;
    try {
      this.opts.logger?.error({ err: err instanceof Error ? err.message : String(err), source: event.source, after: event.after }, 'pass failed');
      this.opts.onError?.(err, event);
    } catch {
      // A failing reporter must not stop the queue either.
    }
  }

  private finish(): void {
    this.running = undefined;
    const next = this.pending;
    const replaced = this.replaced;
    this.pending = undefined;
    this.replaced = 0;
    if (next && !this.closed) {
      this.start(next, replaced);
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
