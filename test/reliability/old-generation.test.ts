// The old generation's garbage is collected every OLD_GENERATION_STEP (3 MiB) of growth rather than
// V8's 8 MiB or more (src/net/memory.ts OldGenerationTrim, started by the sidecar): under load the
// receivers' per-call objects reach the old generation and sat there, with native memory behind
// them, until V8's own full GC (issue 20: peak RSS).
import v8 from 'node:v8';
import { describe, expect, it, vi } from 'vitest';
import { OLD_GENERATION_STEP, OldGenerationTrim } from '../../src/net/memory.js';

const MIB = 1024 * 1024;

function oldSpaceUsed(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;
}

describe('OldGenerationTrim', () => {
  it('is 3 MiB: between V8 heap.cc MinimumAllocationLimitGrowingStep for memory (2 MiB) and its regular 8 MiB', () => {
    expect(OLD_GENERATION_STEP).toBe(3 * MIB);
  });

  it('looks every 250 ms once started (at every second, 4-6 MiB promoted between looks went past the step: issue 20)', () => {
    vi.useFakeTimers();
    try {
      // Sizes by hand: the first look finds the low (10 MiB), the second 14 MiB, a step (3 MiB) past it.
      const sizes = [10, 14, 10].map((m) => m * MIB);
      let at = 0;
      let gcs = 0;
      const t = new OldGenerationTrim({ oldSpaceUsed: () => sizes[at++] ?? 10 * MIB, gc: () => gcs++ }).start();
      vi.advanceTimersByTime(249);
      expect(at).toBe(0);
      vi.advanceTimersByTime(1);
      expect([at, gcs]).toEqual([1, 0]);
      vi.advanceTimersByTime(250);
      expect([at, gcs, t.forced]).toEqual([3, 1, 1]); // 14, the GC, then measured again
      t.stop();
      vi.advanceTimersByTime(1000);
      expect(at).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('forces a GC once the old space is a step (here 2 MiB) above its lowest size, then starts from the size after it', () => {
    // Sizes by hand: low 10 MiB; 11.9 is under the step, 12 is at it; the GC brings it to 10.5,
    // the new low, so 12.4 is under the next step and 12.5 at it.
    const sizes = [10, 11.9, 12, 10.5, 12.4, 12.5, 11].map((m) => m * MIB);
    let at = 0;
    let gcs = 0;
    const t = new OldGenerationTrim({ stepBytes: 2 * MIB, oldSpaceUsed: () => sizes[at++]!, gc: () => gcs++ });
    expect(t.check()).toBe(false); // 10: the low
    expect(t.check()).toBe(false); // 11.9
    expect(t.check()).toBe(true); // 12, then measured again: 10.5
    expect([gcs, t.forced, at]).toEqual([1, 1, 4]);
    expect(t.check()).toBe(false); // 12.4
    expect(t.check()).toBe(true); // 12.5, then 11
    expect([gcs, t.forced, at]).toEqual([2, 2, 7]);
  });

  it('follows a GC of V8 own down: the step counts from the lowest size seen', () => {
    const sizes = [20, 14, 15.9, 16].map((m) => m * MIB);
    let at = 0;
    let gcs = 0;
    const t = new OldGenerationTrim({ stepBytes: 2 * MIB, oldSpaceUsed: () => sizes[at++] ?? 14 * MIB, gc: () => gcs++ });
    expect([t.check(), t.check(), t.check()]).toEqual([false, false, false]); // 20, 14 (the low), 15.9
    expect(t.check()).toBe(true); // 16 = 14 + 2
    expect(gcs).toBe(1);
  });

  it('a gc that throws is not counted and does not escape', () => {
    const sizes = [1, 4].map((m) => m * MIB);
    let at = 0;
    const t = new OldGenerationTrim({ stepBytes: 2 * MIB, oldSpaceUsed: () => sizes[at++]!, gc: () => { throw new Error('refused'); } });
    expect(t.check()).toBe(false);
    expect(t.check()).toBe(false);
    expect(t.forced).toBe(0);
  });

  it('with V8 itself: garbage promoted to the old space is collected at the next check', () => {
    const t = new OldGenerationTrim();
    expect(t.check()).toBe(false); // the low: the heap as it is
    // Objects kept across several scavenges are promoted to the old space; then dropped.
    let kept: { j: number }[][] | undefined = [];
    for (let i = 0; i < 200; i++) kept.push(Array.from({ length: 2000 }, (_, j) => ({ j })));
    for (let i = 0; i < 40; i++) new Array(20_000).fill(i);
    kept = undefined;
    const grown = oldSpaceUsed();
    // 200 x 2000 objects of 3 words (24 bytes) plus the arrays: about 12 MB promoted (measured
    // here: the old space grows by 12-14 MiB), far more than a step.
    expect(t.check()).toBe(true);
    expect(t.forced).toBe(1);
    expect(oldSpaceUsed()).toBeLessThan(grown - 8 * MIB);
  });
});
