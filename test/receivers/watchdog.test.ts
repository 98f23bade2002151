// The receivers' one timer for per-request deadlines (src/net/watchdog.ts). What it must keep of
// Node's timers (setTimeout, refresh, clearTimeout; Node's timers docs): a watch fires once, no
// sooner than its ms after it was started or last refreshed; a stopped one never fires. Only lower
// bounds on time are asserted (the machine is shared: how late a timer fires is not ours to bound).
import { describe, expect, it } from 'vitest';
import { Watchdog } from '../../src/net/watchdog.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Watchdog', () => {
  it('fires each watch once, no sooner than its ms, earlier lanes first; a stopped watch never', async () => {
    const dog = new Watchdog();
    const t0 = performance.now();
    const fired: [string, number][] = [];
    dog.start(120, () => fired.push(['long', performance.now() - t0]));
    dog.start(40, () => fired.push(['short', performance.now() - t0]));
    const stopped = dog.start(40, () => fired.push(['stopped', performance.now() - t0]));
    dog.stop(stopped);
    dog.stop(stopped); // again: nothing
    expect(dog.size).toBe(2);
    await sleep(300);
    expect(fired.map(([name]) => name)).toEqual(['short', 'long']);
    expect(fired[0]![1]).toBeGreaterThanOrEqual(40);
    expect(fired[1]![1]).toBeGreaterThanOrEqual(120);
    expect(dog.size).toBe(0);
  });

  it('refresh starts the ms again from now, as a Node timer\'s refresh() does', async () => {
    const dog = new Watchdog();
    let firedAt = -1;
    let lastRefresh = 0;
    const w = dog.start(60, () => { firedAt = performance.now(); });
    // Five refreshes 20 ms apart: each moves the deadline past the next one.
    for (let i = 0; i < 5; i++) {
      await sleep(20);
      expect(firedAt).toBe(-1);
      lastRefresh = performance.now();
      dog.refresh(w);
    }
    await sleep(200);
    expect(firedAt - lastRefresh).toBeGreaterThanOrEqual(60);
    dog.refresh(w); // fired: nothing
    expect(dog.size).toBe(0);
  });

  it('a watch started, refreshed or stopped by a firing one is honoured', async () => {
    const dog = new Watchdog();
    const t0 = performance.now();
    const fired: string[] = [];
    let later = -1;
    const victim = dog.start(50, () => fired.push('victim'));
    const other = dog.start(200, () => fired.push('other'));
    dog.start(20, () => {
      fired.push('first');
      dog.stop(victim);
      dog.refresh(other);
      dog.start(30, () => {
        fired.push('second');
        later = performance.now() - t0;
      });
    });
    await sleep(350);
    expect(fired).toEqual(['first', 'second', 'other']);
    expect(later).toBeGreaterThanOrEqual(50); // 20 ms, then 30 ms from then
  });

  it('many watches of one length fire in the order they were started, each at its own time', async () => {
    const dog = new Watchdog();
    const order: number[] = [];
    const starts: number[] = [];
    const gaps: number[] = [];
    for (let i = 0; i < 5; i++) {
      starts.push(performance.now());
      dog.start(30, () => {
        order.push(i);
        gaps.push(performance.now() - starts[i]!);
      });
      await sleep(10);
    }
    await sleep(200);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(30);
  });

  it('a watch made by watch() waits for restart(), and restarts after it fired or was stopped (the fast path reuses its watches)', async () => {
    const dog = new Watchdog();
    const fired: number[] = [];
    let t0 = performance.now();
    const w = dog.watch(30, () => fired.push(performance.now() - t0));
    expect(dog.size).toBe(0);
    await sleep(60);
    expect(fired).toEqual([]); // never started
    t0 = performance.now();
    dog.restart(w);
    await sleep(100);
    expect(fired.length).toBe(1);
    t0 = performance.now();
    dog.restart(w); // after it fired
    dog.stop(w);
    dog.restart(w); // after it was stopped
    dog.restart(w); // while running: as refresh(), still one watch
    expect(dog.size).toBe(1);
    await sleep(100);
    expect(fired.length).toBe(2);
    for (const t of fired) expect(t).toBeGreaterThanOrEqual(30);
    expect(dog.size).toBe(0);
  });

  it('keeps an emptied lane for the next watch of its length, at most 8 of them (KEPT_LANES): client-chosen lengths leave no lane behind', async () => {
    const dog = new Watchdog();
    let fired = 0;
    const w = dog.start(20, () => fired++);
    dog.stop(w);
    expect(dog.laneCount).toBe(1); // kept, empty
    dog.start(20, () => fired++);
    expect(dog.laneCount).toBe(1);
    await sleep(80);
    expect(fired).toBe(1);
    // 100 lengths, as grpc-timeout values may bring: past 8 lanes an emptied one is dropped.
    for (let ms = 1000; ms < 1100; ms++) dog.stop(dog.start(ms, () => fired++));
    expect(dog.laneCount).toBeLessThanOrEqual(8);
    expect(dog.size).toBe(0);
    expect(fired).toBe(1);
  });
});
