// Running totals per key for the web page: one core table's series folded into totals per key
// (an operation, an edge, an SLO) that only grow, so that a series that goes stale, or a slot
// the core reuses for another series, does not look like a counter reset. The page's rates are
// differences of copies of these totals (src/ui/api.ts keeps the copies for its window).
//
// A Tracker reads a table through the narrow TrackedTable (a SeriesTableView is one) and two
// callbacks, so it can be tested alone (test/ui/tracker.test.ts).
import type { SeriesTableView } from '../core/index.js';

/** What a Tracker reads of a table: which slots hold a series, and which series (generation). */
export type TrackedTable = Pick<SeriesTableView, 'used' | 'live' | 'generation'>;

export interface KeyInfo {
  /** Folded: past the series limit (metric_overflow) or past the key cap. */
  overflow: boolean;
}

/** What a series counts toward: its key, what the key means, and a flag for `read`. */
export interface Described<I> {
  key: string;
  info: I;
  /** A per-slot flag handed to `read` (span metrics: the series counts errors). */
  flag: number;
}

/** The key overflow series count toward (and series past the key cap). */
export const OVERFLOW_KEY = '\u0000overflow';

export class Tracker<I extends KeyInfo, T extends TrackedTable = SeriesTableView> {
  private slotGen = new Uint32Array(0);
  private slotSeen = new Uint8Array(0);
  private slotFlag = new Uint8Array(0);
  private slotKey = new Int32Array(0);
  private base = new Float64Array(0);
  private readonly cur: Float64Array;
  private readonly keys = new Map<string, number>();
  readonly infos: I[] = [];
  /** width values per key. */
  totals = new Float64Array(0);
  /** Live series per key at the last scan. */
  liveSlots = new Uint32Array(0);

  constructor(
    readonly width: number,
    private readonly maxKeys: number,
    private readonly table: () => T | undefined,
    private readonly describe: (view: T, slot: number) => Described<I>,
    private readonly read: (view: T, slot: number, flag: number, out: Float64Array) => void,
    private readonly overflowInfo: I,
  ) {
    this.cur = new Float64Array(width);
  }

  get size(): number {
    return this.infos.length;
  }

  /** Adds every series' increase since the last scan; the first scan only takes the baseline. */
  scan(first: boolean): void {
    const view = this.table();
    if (!view) return;
    const used = view.used;
    this.growSlots(used);
    this.liveSlots.fill(0);
    const w = this.width;
    const cur = this.cur;
    const base = this.base;
    for (let slot = 0; slot < used; slot++) {
      if (!view.live(slot)) {
        this.slotSeen[slot] = 0;
        continue;
      }
      const gen = view.generation(slot);
      // A series not seen before (or a new one in a reused slot) counts from zero, unless it was
      // there when we started looking.
      const fresh = this.slotSeen[slot] === 0 || this.slotGen[slot] !== gen;
      if (fresh) {
        const d = this.describe(view, slot);
        this.slotKey[slot] = this.keyIndex(d.key, d.info);
        this.slotFlag[slot] = d.flag;
        this.slotGen[slot] = gen;
        this.slotSeen[slot] = 1;
      }
      this.read(view, slot, this.slotFlag[slot]!, cur);
      const k = this.slotKey[slot]!;
      this.liveSlots[k]!++;
      const at = k * w;
      const b = slot * w;
      const count = !(fresh && first);
      for (let i = 0; i < w; i++) {
        const v = cur[i]!;
        if (count) {
          const inc = fresh ? v : v - base[b + i]!;
          if (inc > 0) this.totals[at + i]! += inc;
        }
        base[b + i] = v;
      }
    }
  }

  /** The key a slot's series counts toward, as of the last scan; -1 for a slot not seen live. */
  keyOf(slot: number): number {
    return slot < this.slotSeen.length && this.slotSeen[slot] === 1 ? this.slotKey[slot]! : -1;
  }

  /** A copy of the totals. */
  copy(): Float64Array {
    return this.totals.slice(0, this.infos.length * this.width);
  }

  /** The increase of key k since `snapshot` (keys newer than it started from 0) into out. */
  delta(k: number, snapshot: Float64Array | undefined, out: Float64Array, add = false): void {
    const w = this.width;
    const at = k * w;
    for (let i = 0; i < w; i++) {
      const then = snapshot && at + i < snapshot.length ? snapshot[at + i]! : 0;
      const d = this.totals[at + i]! - then;
      out[i] = (add ? out[i]! : 0) + d;
    }
  }

  private keyIndex(key: string, info: I): number {
    let k = this.keys.get(key);
    if (k !== undefined) return k;
    if (this.infos.length >= this.maxKeys && !info.overflow) {
      // Past the cap: counted with the overflow series.
      key = OVERFLOW_KEY;
      info = this.overflowInfo;
      k = this.keys.get(key);
      if (k !== undefined) return k;
    }
    k = this.infos.length;
    this.keys.set(key, k);
    this.infos.push(info);
    const need = (k + 1) * this.width;
    if (this.totals.length < need) {
      const t = new Float64Array(Math.max(need, this.totals.length * 2));
      t.set(this.totals);
      this.totals = t;
      const l = new Uint32Array(t.length / this.width);
      l.set(this.liveSlots);
      this.liveSlots = l;
    }
    return k;
  }

  private growSlots(used: number): void {
    if (this.slotGen.length >= used) return;
    const n = Math.max(used, this.slotGen.length * 2, 64);
    const grow = <T extends Uint32Array | Uint8Array | Int32Array | Float64Array>(a: T, size: number, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a as never);
      return b;
    };
    this.slotGen = grow(this.slotGen, n, (s) => new Uint32Array(s));
    this.slotSeen = grow(this.slotSeen, n, (s) => new Uint8Array(s));
    this.slotFlag = grow(this.slotFlag, n, (s) => new Uint8Array(s));
    this.slotKey = grow(this.slotKey, n, (s) => new Int32Array(s));
    this.base = grow(this.base, n * this.width, (s) => new Float64Array(s));
  }
}

