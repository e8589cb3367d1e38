import { describe, expect, it } from 'vitest';
import { reclaimAfterPass, tuneHeapForAgent } from '../../src/agent/heap.js';

describe('agent heap', () => {
  it('collects after a pass that allocated much, and only then', () => {
    tuneHeapForAgent(); // must not throw on this engine
    reclaimAfterPass(0); // settle: the baseline is the heap right after a collection
    expect(reclaimAfterPass(64 * 1024 * 1024)).toBe(false); // nothing allocated since
    let garbage: Array<{ i: number; s: string }> | undefined = Array.from({ length: 600_000 }, (_, i) => ({ i, s: `x${i}` }));
    const grown = process.memoryUsage().heapUsed;
    garbage = undefined;
    expect(garbage).toBeUndefined();
    expect(reclaimAfterPass(8 * 1024 * 1024)).toBe(true);
    expect(process.memoryUsage().heapUsed).toBeLessThan(grown - 8 * 1024 * 1024);
  });
});
