// The page's running totals (src/ui/tracker.ts) alone, over a hand-written table: slots that
// hold a series (live), which series (generation) and one counter per slot. Every expected
// total and rate below is worked out by hand in the comments.
import { describe, expect, it } from 'vitest';
import { OVERFLOW_KEY, Tracker, type KeyInfo, type TrackedTable } from '../../src/ui/tracker.js';

interface Series {
  key: string;
  generation: number;
  value: number;
  overflow?: boolean;
}

/** A table of slots; undefined: a free slot. */
class Table implements TrackedTable {
  slots: (Series | undefined)[] = [];
  get used(): number {
    return this.slots.length;
  }
  live(slot: number): boolean {
    return this.slots[slot] !== undefined;
  }
  generation(slot: number): number {
    return this.slots[slot]!.generation;
  }
}

interface Info extends KeyInfo {
  name: string;
}

/** Width 2: [value, value of series flagged as errors (keys ending in "!")]. */
function tracker(table: Table, maxKeys = 10): Tracker<Info, Table> {
  return new Tracker<Info, Table>(
    2,
    maxKeys,
    () => table,
    (view, slot) => {
      const s = view.slots[slot]!;
      if (s.overflow) return { key: OVERFLOW_KEY, info: { overflow: true, name: '' }, flag: 0 };
      const name = s.key.replace(/!$/, '');
      return { key: name, info: { overflow: false, name }, flag: s.key.endsWith('!') ? 1 : 0 };
    },
    (view, slot, flag, out) => {
      out[0] = view.slots[slot]!.value;
      out[1] = flag ? out[0] : 0;
    },
    { overflow: true, name: '' },
  );
}

/** Key name → [total, errors] since `snapshot` (keys newer than it from 0). */
function deltas(t: Tracker<Info, Table>, snapshot?: Float64Array): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const d = new Float64Array(t.width);
  for (let k = 0; k < t.size; k++) {
    t.delta(k, snapshot, d);
    out[t.infos[k]!.overflow ? 'overflow' : t.infos[k]!.name] = [...d];
  }
  return out;
}

describe('Tracker', () => {
  it('first scan is the baseline; later increases add up per key; rates over a window', () => {
    const table = new Table();
    table.slots = [{ key: 'GET /', generation: 1, value: 10 }];
    const t = tracker(table);
    t.scan(true);
    // What was there before anyone looked is not counted.
    expect(deltas(t)).toEqual({ 'GET /': [0, 0] });
    const at0 = t.copy();

    // 10 s later: GET / went 10 → 25 (+15); its error series appeared with 4 (a new series
    // counts from 0: +4, and +4 errors); POST / appeared with 6.
    table.slots[0]!.value = 25;
    table.slots[1] = { key: 'GET /!', generation: 1, value: 4 };
    table.slots[2] = { key: 'POST /', generation: 1, value: 6 };
    t.scan(false);
    expect(deltas(t, at0)).toEqual({ 'GET /': [19, 4], 'POST /': [6, 0] });
    // Rates over the 10 s: GET / 19/10 = 1.9/s, error ratio 4/19; POST / 0.6/s.
    const d = new Float64Array(2);
    t.delta(0, at0, d);
    expect(d[0]! / 10).toBeCloseTo(1.9, 12);
    expect(d[1]! / d[0]!).toBeCloseTo(4 / 19, 12);
    t.delta(1, at0, d);
    expect(d[0]! / 10).toBeCloseTo(0.6, 12);
    expect([...t.liveSlots.slice(0, 2)]).toEqual([2, 1]);

    // 10 s more (window of 20 s from at0, 10 s from at10): GET / 25 → 35.
    const at10 = t.copy();
    table.slots[0]!.value = 35;
    t.scan(false);
    expect(deltas(t, at10)).toEqual({ 'GET /': [10, 0], 'POST /': [0, 0] });
    // Over 20 s: (19 + 10) / 20 = 1.45/s.
    t.delta(0, at0, d);
    expect(d[0]! / 20).toBeCloseTo(1.45, 12);
  });

  it('a series that goes stale, or a slot reused for another series, is not a counter reset', () => {
    const table = new Table();
    table.slots = [{ key: 'a', generation: 1, value: 5 }, { key: 'b', generation: 1, value: 7 }];
    const t = tracker(table);
    t.scan(true);
    const at0 = t.copy();
    // b goes stale: its slot is free; a +1.
    table.slots[0]!.value = 6;
    table.slots[1] = undefined;
    t.scan(false);
    expect(deltas(t, at0)).toEqual({ a: [1, 0], b: [0, 0] });
    expect([...t.liveSlots.slice(0, 2)]).toEqual([1, 0]);
    // Slot 1 is reused for a new b (generation 2) at 2: it counts from 0 (+2), not 2 − 7.
    table.slots[1] = { key: 'b', generation: 2, value: 2 };
    t.scan(false);
    expect(deltas(t, at0)).toEqual({ a: [1, 0], b: [2, 0] });
    // The same slot reused for c, same generation number but freed in between: seen as new too.
    table.slots[1] = undefined;
    t.scan(false);
    table.slots[1] = { key: 'c', generation: 2, value: 3 };
    t.scan(false);
    expect(deltas(t, at0)).toEqual({ a: [1, 0], b: [2, 0], c: [3, 0] });
    // A value that goes down in the same series adds nothing (and the next rise counts from it).
    table.slots[1]!.value = 1;
    t.scan(false);
    table.slots[1]!.value = 4;
    t.scan(false);
    expect(deltas(t, at0).c).toEqual([6, 0]);
  });

  it('past maxKeys new keys count with the overflow series', () => {
    const table = new Table();
    table.slots = [];
    const t = tracker(table, 2);
    t.scan(true);
    table.slots = [
      { key: 'a', generation: 1, value: 1 },
      { key: 'b', generation: 1, value: 2 },
      { key: 'c', generation: 1, value: 4 },
      { key: '', generation: 1, value: 8, overflow: true },
    ];
    t.scan(false);
    // a and b take the two keys; c (4) and the overflow series (8) share the overflow key: 12.
    expect(deltas(t)).toEqual({ a: [1, 0], b: [2, 0], overflow: [12, 0] });
  });
});
