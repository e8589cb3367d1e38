import { describe, expect, it } from 'vitest';
import { backoffDelay, RetryTimer } from '../../src/agent/backoff.js';

describe('backoff', () => {
  it('doubles from the base, is capped, and jitters between half and all of the step', () => {
    const top = { baseMs: 100, maxMs: 1_000, random: () => 1 };
    expect([0, 1, 2, 3, 4, 5, 60].map((a) => backoffDelay(a, top))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    const bottom = { ...top, random: () => 0 };
    expect([0, 1, 4].map((a) => backoffDelay(a, bottom))).toEqual([50, 100, 500]);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, { baseMs: 100, maxMs: 1_000 });
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });

  it('arms one timer at a time; success disarms it and starts again from the base', async () => {
    const t = new RetryTimer({ baseMs: 1, maxMs: 4, random: () => 1 });
    let runs = 0;
    const fired = new Promise<void>((resolve) => {
      expect(t.schedule(() => {
        runs++;
        resolve();
      })).toBe(1);
    });
    expect(t.schedule(() => runs++)).toBeUndefined();
    await fired;
    expect(runs).toBe(1);
    expect(t.armed).toBe(false);
    expect(t.schedule(() => runs++)).toBe(2);
    t.succeeded();
    expect(t.armed).toBe(false);
    expect(t.attempts).toBe(0);
    expect(t.schedule(() => runs++)).toBe(1);
    t.cancel();
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).toBe(1);
  });
});
