// Quantiles from histogram buckets, as Prometheus' histogram_quantile computes them: find the
// bucket the rank falls in and interpolate linearly between its bounds.
import type { NativeHistogram } from '../core/native.js';
import type { HistogramFamily } from '../exporters/families.js';

/**
 * The q-quantile (0 < q < 1) of observations counted in buckets.
 *
 * `bounds` are the finite upper bounds (ascending, `le`-inclusive); `counts` holds one count per
 * bucket, not cumulative, with the +Inf bucket last (bounds.length + 1 values). As in Prometheus:
 * the first bucket's lower bound is 0; a rank in the +Inf bucket answers the highest finite
 * bound. Null when the buckets are empty.
 */
export function histogramQuantile(q: number, bounds: readonly number[], counts: ArrayLike<number>, from = 0): number | null {
  const n = bounds.length;
  let total = 0;
  for (let b = 0; b <= n; b++) total += counts[from + b]!;
  if (!(total > 0)) return null;
  const rank = q * total;
  let below = 0;
  for (let b = 0; b <= n; b++) {
    const c = counts[from + b]!;
    if (below + c >= rank) {
      if (b === n) return n > 0 ? bounds[n - 1]! : null;
      if (b === 0 && bounds[0]! <= 0) return bounds[0]!;
      const start = b === 0 ? 0 : bounds[b - 1]!;
      const end = bounds[b]!;
      return start + (end - start) * ((rank - below) / c);
    }
    below += c;
  }
  // Only reached through rounding when rank is within an ulp of the total.
  return n > 0 ? bounds[n - 1]! : null;
}

// ---------------------------------------------------------------------------------------------
// Native histograms on the page: each series' exponential buckets are folded onto one fixed grid
// per family (the page's totals are fixed-width vectors per key, added up over series and kept
// per snapshot), then read as classic buckets by histogramQuantile above.

/** The grid's resolution: 4 buckets per doubling (schema 2), or the configured schema when coarser. */
const GRID_SCHEMA = 2;
/** The grid's range, seconds: 2^-12 (244 µs) … 2^6 (64 s); below it the first bucket, above it +Inf. */
const GRID_LOW = 2 ** -12;
const GRID_HIGH = 2 ** 6;

export interface PageGrid {
  /** Finite upper bounds, seconds. */
  bounds: number[];
  schema: number;
  /** The native bucket index (in the histogram's unit) of bounds[0]. */
  lo: number;
}

const grids = new WeakMap<HistogramFamily, PageGrid | null>();

/** The page's grid for a family with native histograms (undefined: the family's classic buckets are used). */
export function pageGrid(h: HistogramFamily): PageGrid | undefined {
  let g = grids.get(h);
  if (g === undefined) {
    g = null;
    if (h.native) {
      const schema = Math.min(h.native.schema, GRID_SCHEMA);
      const n = 2 ** schema;
      const unit = h.milliseconds ? 1000 : 1; // native buckets count in the family's unit
      const lo = Math.floor(n * Math.log2(GRID_LOW * unit));
      const hi = Math.ceil(n * Math.log2(GRID_HIGH * unit));
      const bounds: number[] = [];
      for (let i = lo; i <= hi; i++) bounds.push(2 ** (i / n) / unit);
      g = { bounds, schema, lo };
    }
    grids.set(h, g);
  }
  return g ?? undefined;
}

/** The bounds the page's quantiles of a family are read against: its grid's, or its classic ones. */
export function pageBounds(h: HistogramFamily): readonly number[] {
  return pageGrid(h)?.bounds ?? h.bounds;
}

/**
 * Adds native histogram `n` onto `grid` at out[at … at + B] (B finite buckets, then +Inf): the
 * zero bucket into the first; bucket k at a finer schema into the grid bucket holding its upper
 * bound (ceil(k / 2^d)), at a coarser one (a series reduced past the grid) into the grid bucket
 * of its upper bound (k · 2^d).
 */
export function addNativeToGrid(grid: PageGrid, n: NativeHistogram, out: Float64Array, at: number): void {
  const B = grid.bounds.length;
  out[at] = out[at]! + n.zeroCount;
  for (let i = 0; i < n.counts.length; i++) {
    const c = n.counts[i]!;
    if (c === 0) continue;
    const k = n.firstIndex + i;
    const j = n.schema >= grid.schema ? Math.ceil(k / 2 ** (n.schema - grid.schema)) : k * 2 ** (grid.schema - n.schema);
    const p = Math.min(Math.max(j - grid.lo, 0), B);
    out[at + p] = out[at + p]! + c;
  }
}
