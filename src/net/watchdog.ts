// One timer for the receivers' per-request deadlines (otlp.write_timeout, otlp.stalled_request_timeout,
// grpc-timeout, keepalive's max_connection_idle), instead of a Node timer each: a setTimeout,
// refresh and clearTimeout per request cost ~1.6% of the sidecar's instructions per request
// (four calls into libuv, and a Node timer list made and dropped per request when requests come
// one at a time). Deadlines of the same length expire in the order they were set, so each length
// keeps a FIFO list (a lane); one unref'd Node timer is set for the earliest head, and moved only
// when a new deadline comes before it. A watch fires no sooner than its `ms` after it was started
// (or last refreshed), as a Node timer does, and late by as much as one would be (the event loop).
import { performance } from 'node:perf_hooks'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)
/** The longest delay setTimeout takes (a longer one is cut to 1 ms); the timer is set again when it comes. */
const MAX_DELAY_MS = 2 ** 31 - 1;
/** Empty lanes kept for their next watch (the receivers use a few lengths: write_timeout, stalled_request_timeout, max_connection_idle, grpc-timeout). */
const KEPT_LANES = 8;

export interface Watch {
  /** When it fires (performance.now() time), while it is in a lane. */
  deadline: number;
  readonly ms: number;
  readonly fire: () => void;
  /** The lane it waits in; undefined once stopped or fired. */
  lane: Lane | undefined;
  prev: Watch | undefined;
  next: Watch | undefined;
}

interface Lane {
  readonly ms: number;
  head: Watch | undefined;
  tail: Watch | undefined;
}

export class Watchdog {
  /**
   * One lane per deadline length in use; a lane that empties is kept while there are at most
   * KEPT_LANES (a call's stall watch often runs alone in its lane: no Map entry and lane made and
   * dropped per call), dropped past that (grpc-timeout brings lengths of the client's choosing).
   */
  private readonly lanes = new Map<number, Lane>();
  private timer: NodeJS.Timeout | undefined;
  /** The deadline the timer is set for (Infinity: none). */
  private armedFor = Infinity;
  private readonly tick = (): void => this.expire();

  /** Lanes held now, empty ones included (for tests). */
  get laneCount(): number {
    return this.lanes.size;
  }

  /** Watches in lanes now (for tests). */
  get size(): number {
    let n = 0;
    for (const lane of this.lanes.values()) for (let w = lane.head; w; w = w.next) n++;
    return n;
  }

  /** Calls `fire` once `ms` (> 0) have passed, unless the watch is stopped first. */
  start(ms: number, fire: () => void): Watch {
    const w = this.watch(ms, fire);
    this.restart(w);
    return w;
  }

  /** A watch not yet started: restart() starts it, as often as needed (one object for a deadline set again and again). */
  watch(ms: number, fire: () => void): Watch {
    return { deadline: Infinity, ms, fire, lane: undefined, prev: undefined, next: undefined };
  }

  /** Starts the watch's `ms` from now, whether it is running (as refresh), stopped or fired. */
  restart(w: Watch): void {
    if (w.lane !== undefined) {
      this.refresh(w);
      return;
    }
    w.deadline = performance.now() + w.ms;
    let lane = this.lanes.get(w.ms);
    if (lane === undefined) {
      lane = { ms: w.ms, head: undefined, tail: undefined };
      this.lanes.set(w.ms, lane);
    }
    append(lane, w);
    if (w.deadline < this.armedFor) this.arm(w.deadline);
  }

  /** Starts the watch's `ms` again from now (setTimeout's refresh()); nothing once it stopped or fired. */
  refresh(w: Watch): void {
    const lane = w.lane;
    if (lane === undefined) return;
    w.deadline = performance.now() + w.ms;
    if (lane.tail === w) return;
    unlink(lane, w);
    append(lane, w);
  }

  /** Stops the watch: it will not fire. Safe to call again, or after it fired. */
  stop(w: Watch | undefined): void {
    const lane = w?.lane;
    if (lane === undefined) return;
    unlink(lane, w!);
    this.emptied(lane);
  }

  private emptied(lane: Lane): void {
    if (lane.head === undefined && this.lanes.size > KEPT_LANES) this.lanes.delete(lane.ms);
  }

  private arm(deadline: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedFor = deadline;
    this.timer = setTimeout(this.tick, Math.min(MAX_DELAY_MS, Math.max(1, Math.ceil(deadline - performance.now()))));
    this.timer.unref();
  }

  /** Fires every watch whose deadline has come, then sets the timer for the earliest left. */
  private expire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = performance.now();
    // A fired watch may start, refresh or stop others (in any lane): the loops read the lists afresh.
    for (const lane of this.lanes.values()) {
      for (let w = lane.head; w !== undefined && w.deadline <= now; w = lane.head) {
        unlink(lane, w);
        this.emptied(lane);
        w.fire();
      }
    }
    let earliest = Infinity;
    for (const lane of this.lanes.values()) if (lane.head !== undefined && lane.head.deadline < earliest) earliest = lane.head.deadline;
    if (earliest < this.armedFor) this.arm(earliest);
  }
}

function append(lane: Lane, w: Watch): void {
  w.lane = lane;
  w.prev = lane.tail;
  w.next = undefined;
  if (lane.tail) lane.tail.next = w;
  else lane.head = w;
  lane.tail = w;
}

function unlink(lane: Lane, w: Watch): void {
  if (w.prev) w.prev.next = w.next;
  else lane.head = w.next;
  if (w.next) w.next.prev = w.prev;
  else lane.tail = w.prev;
  w.lane = undefined;
  w.prev = undefined;
  w.next = undefined;
}
