// Native histograms as the host reads them out of a series record (the block layout is
// assembly/layout.ts NH_V_*; the core keeps them in assembly/nativehistogram.ts), and the
// schema a bucket factor asks for.
import type { SeriesTableView } from './series.js';
import { NH_SCHEMA_MAX, NH_SCHEMA_MIN_NEGATED, NH_V_BASE, NH_V_BUCKETS, NH_V_COUNT, NH_V_REDUCED, NH_V_SPAN, NH_V_START, NH_V_SUM, NH_V_ZERO } from './layout.js';

/** The zero bucket's threshold the core uses: 2^-128 (client_golang's DefNativeHistogramZeroThreshold). */
export const NATIVE_ZERO_THRESHOLD = 2 ** -128;

/**
 * The schema for a bucket factor, as client_golang picks it (the largest resolution whose
 * factor between bucket bounds, 2^(2^-schema), is at most `factor`), within -4 … 8.
 */
export function schemaForFactor(factor: number): number {
  if (!(factor > 1)) throw new RangeError('the bucket factor must be above 1');
  const floor = Math.floor(Math.log2(Math.log2(factor)));
  return Math.max(-NH_SCHEMA_MIN_NEGATED, Math.min(NH_SCHEMA_MAX, 0 - floor));
}

/** A run of `length` consecutive buckets, `offset` indexes after the previous run's end (the first: after index 0). */
export interface BucketSpan {
  offset: number;
  length: number;
}

export interface NativeHistogram {
  schema: number;
  count: number;
  sum: number;
  zeroThreshold: number;
  zeroCount: number;
  /** Bucket index (Prometheus': bucket i holds (base^(i-1), base^i]) of counts[0]; meaningless without counts. */
  firstIndex: number;
  /** Counts of the buckets firstIndex, firstIndex + 1, …, up to the highest one in use (not cumulative; gaps hold 0). */
  counts: number[];
  /** When the histogram (re)started, ms since the epoch (0: no observation yet). */
  startMs: number;
}

/** Native histogram block `block` (the value index of its first value) of record `slot`, configured at `schema`. */
export function readNative(view: SeriesTableView, slot: number, block: number, schema: number): NativeHistogram {
  const span = view.value(slot, block + NH_V_SPAN);
  const counts: number[] = new Array<number>(span);
  for (let i = 0; i < span; i++) counts[i] = view.value(slot, block + NH_V_BUCKETS + i);
  return {
    schema: schema - view.value(slot, block + NH_V_REDUCED),
    count: view.value(slot, block + NH_V_COUNT),
    sum: view.value(slot, block + NH_V_SUM),
    zeroThreshold: NATIVE_ZERO_THRESHOLD,
    zeroCount: view.value(slot, block + NH_V_ZERO),
    firstIndex: view.value(slot, block + NH_V_BASE),
    counts,
    startMs: view.value(slot, block + NH_V_START),
  };
}

/**
 * The buckets as spans of Prometheus' sparse form: runs of more than two empty buckets end a
 * span (as client_golang writes them), leading and trailing empty ones are left out. Returns the
 * spans and the counts of the buckets they cover, in order.
 */
export function sparseBuckets(h: NativeHistogram): { spans: BucketSpan[]; counts: number[] } {
  const spans: BucketSpan[] = [];
  const counts: number[] = [];
  let next = 0; // the index after the last span's end (0 before the first span)
  let i = 0;
  const n = h.counts.length;
  while (i < n) {
    if (h.counts[i] === 0) {
      i++;
      continue;
    }
    // A span from i: extend over gaps of at most two empty buckets.
    let end = i; // last non-empty bucket in the span
    let j = i + 1;
    while (j < n) {
      if (h.counts[j] !== 0) {
        end = j++;
        continue;
      }
      let z = 0;
      while (j + z < n && h.counts[j + z] === 0) z++;
      if (j + z >= n || z > 2) break;
      j += z;
    }
    const index = h.firstIndex + i;
    spans.push({ offset: index - next, length: end - i + 1 });
    for (let k = i; k <= end; k++) counts.push(h.counts[k]!);
    next = h.firstIndex + end + 1;
    i = end + 1;
  }
  return { spans, counts };
}
