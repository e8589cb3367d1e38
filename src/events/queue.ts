import type { Logger } from 'pino';
import type { RepoEvent } from './event.js';

export type PassRunner = (newest: RepoEvent, coalesced: number) => Promise<void>;

/**
 * Single flight: one pass at a time; while a pass runs, only the newest event waits, and the
 * events it replaced are counted. So a burst of any size gives at most one pass after the running
 * one, and the newest event is never dropped. No timers: a pass starts when an event arrives or
 * the previous pass ends.
 */
export class PassQueue {
  private running: Promise<void> | undefined;
  private pending: RepoEvent | undefined;
  private pendingCount = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  passes = 0;
  coalesced = 0;

  constructor(
    private readonly run: PassRunner,
    private readonly opts: { logger?: Logger } = {},
  ) {}

  push(event: RepoEvent): void {
    if (this.closed) return;
    if (this.running) {
      if (this.pending) this.coalesced++;
      this.pending = event;
      this.pendingCount++;
      return;
    }
    this.start(event, 0);
  }

  private start(event: RepoEvent, coalesced: number): void {
    this.passes++;
    this.running = (async () => {
      try {
        await this.run(event, coalesced);
      } catch (err) {
        this.opts.logger?.error({ err: (err as Error).message, event: event.source }, 'pass failed');
      }
    })().finally(() => {
      this.running = undefined;
      const next = this.pending;
      const count = this.pendingCount;
      this.pending = undefined;
      this.pendingCount = 0;
      if (next && !this.closed) this.start(next, Math.max(0, count - 1));
      else {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    });
  }

  /** Resolves once no pass runs and none waits. */
  idle(): Promise<void> {
    if (!this.running && !this.pending) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Stop accepting events; wait for the running pass (a waiting one is dropped: we are stopping). */
  async close(): Promise<void> {
    this.closed = true;
    this.pending = undefined;
    await this.running;
  }
}
