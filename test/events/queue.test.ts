import { afterEach, describe, expect, it, vi } from 'vitest';
import { PassQueue, type RepoEvent } from '../../src/events/index.js';

const ev = (after: string, source: RepoEvent['source'] = 'github'): RepoEvent => ({ source, after, receivedAt: new Date(0).toISOString() });

/** A pass that waits until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('PassQueue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('100 events in a burst while a pass runs: at most 3 passes, the last on the newest event', async () => {
    const seen: Array<{ after: string; coalesced: number }> = [];
    const first = gate();
    const q = new PassQueue(async (e, coalesced) => {
      seen.push({ after: e.after!, coalesced });
      if (seen.length === 1) await first.opened;
    });
    q.push(ev('start'));
    await Promise.resolve();
    expect(q.busy).toBe(true);
    for (let i = 0; i < 100; i++) q.push(ev(String(i)));
    expect(q.waiting).toBe(true);
    first.open();
    await q.idle();
    expect(seen.length).toBeLessThanOrEqual(3);
    expect(seen).toEqual([
      { after: 'start', coalesced: 0 },
      { after: '99', coalesced: 99 },
    ]);
    expect(q.passes).toBe(2);
    expect(q.coalesced).toBe(99);
    expect(q.busy).toBe(false);
  });

  it('the first event of a burst starts at once; the rest fold into one more pass', async () => {
    const seen: string[] = [];
    const first = gate();
    const q = new PassQueue(async (e) => {
      seen.push(e.after!);
      if (seen.length === 1) await first.opened;
    });
    for (let i = 0; i < 100; i++) q.push(ev(String(i)));
    first.open();
    await q.idle();
    expect(seen).toEqual(['0', '99']);
    expect(q.coalesced).toBe(98);
  });

  it('never runs two passes at once, even when a pass pushes events itself', async () => {
    let running = 0;
    let most = 0;
    const seen: string[] = [];
    const q = new PassQueue(async (e) => {
      running++;
      most = Math.max(most, running);
      seen.push(e.after!);
      if (e.after === 'a') q.push(ev('from-inside')); // synchronously, before any await
      await Promise.resolve();
      running--;
    });
    q.push(ev('a'));
    await q.idle();
    expect(most).toBe(1);
    expect(seen).toEqual(['a', 'from-inside']);
  });

  it('a failing pass (rejected or thrown) is logged and does not stop the next', async () => {
    const seen: string[] = [];
    const errors: string[] = [];
    const logged: unknown[] = [];
    const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (...a: unknown[]) => void logged.push(a) };
    const first = gate();
    const q = new PassQueue(
      ((e: RepoEvent) => {
        seen.push(e.after!);
        if (e.after === 'sync-throw') throw new Error('thrown');
        if (e.after === 'a') return first.opened.then(() => Promise.reject(new Error('boom')));
        return Promise.resolve();
      }) as (e: RepoEvent) => Promise<void>,
      { logger: logger as never, onError: (err) => errors.push((err as Error).message) },
    );
    q.push(ev('a'));
    q.push(ev('b'));
    first.open();
    await q.idle();
    q.push(ev('sync-throw'));
    await q.idle();
    q.push(ev('c'));
    await q.idle();
    expect(seen).toEqual(['a', 'b', 'sync-throw', 'c']);
    expect(errors).toEqual(['boom', 'thrown']);
    expect(q.failures).toBe(2);
    expect(logged).toHaveLength(2);
  });

  it('a throwing error reporter does not stop the queue either', async () => {
    const seen: string[] = [];
    const q = new PassQueue(
      async (e) => {
        seen.push(e.after!);
        throw new Error('pass');
      },
      {
        onError: () => {
          throw new Error('reporter');
        },
      },
    );
    q.push(ev('a'));
    await q.idle();
    q.push(ev('b'));
    await q.idle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('idle() resolves at once when nothing runs, and after the pending pass otherwise', async () => {
    const q = new PassQueue(async () => undefined);
    await q.idle();
    const order: string[] = [];
    const first = gate();
    const q2 = new PassQueue(async (e) => {
      order.push(`run ${e.after}`);
      if (e.after === '1') await first.opened;
    });
    q2.push(ev('1'));
    q2.push(ev('2'));
    const idle = q2.idle().then(() => order.push('idle'));
    await Promise.resolve();
    first.open();
    await idle;
    expect(order).toEqual(['run 1', 'run 2', 'idle']);
  });

  it('close() stops accepting, waits for the running pass, and drops the waiting one', async () => {
    const seen: string[] = [];
    const first = gate();
    let finished = false;
    const q = new PassQueue(async (e) => {
      seen.push(e.after!);
      await first.opened;
      finished = true;
    });
    q.push(ev('a'));
    q.push(ev('b'));
    let closed = false;
    const closing = q.close().then(() => (closed = true));
    expect(q.push(ev('c'))).toBe(false);
    await Promise.resolve();
    expect(closed).toBe(false);
    first.open();
    await closing;
    expect(finished).toBe(true);
    expect(seen).toEqual(['a']);
    await q.idle();
  });

  it('needs no timer: it runs with every timer faked and never advanced', async () => {
    vi.useFakeTimers();
    const seen: string[] = [];
    const q = new PassQueue(async (e) => {
      seen.push(e.after!);
      await Promise.resolve();
    });
    for (const a of ['1', '2', '3']) q.push(ev(a));
    await q.idle();
    expect(seen).toEqual(['1', '3']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
