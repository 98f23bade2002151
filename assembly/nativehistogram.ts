// Native (exponential-bucket) histograms, as Prometheus native histograms and OpenTelemetry
// exponential histograms define them: at schema s the base is 2^(2^-s) and bucket i holds the
// values in (base^(i-1), base^i]; values at or under the zero threshold (2^-128, the client
// libraries' default) go to the zero bucket. Only positive buckets: durations are never negative.
//
// A histogram is a block of f64 values inside a series record (layout.ts NH_V_*): a header, then
// a dense window of `maxBuckets` counts, the first for bucket index NH_V_BASE, so the buckets in
// use (lowest to highest index) never number more than maxBuckets. When a value would widen them
// past that, the histogram is reset if min_reset_duration has passed since its last reset (as
// Prometheus' client_golang does; the value is then the first of the new histogram), otherwise
// its resolution is halved (schema - 1: pairs of buckets merge) until the value fits. Counts and
// the sum are unchanged by a halving. Nothing is allocated per observation.
import {
  NH_V_REDUCED, NH_V_BASE, NH_V_SPAN, NH_V_COUNT, NH_V_SUM, NH_V_ZERO, NH_V_START, NH_V_BUCKETS,
  NH_SCHEMA_MIN_NEGATED, NH_SCHEMA_MAX, PROCESSOR_SPAN_METRICS,
} from './layout';

const NH_SCHEMA_MIN: i32 = -NH_SCHEMA_MIN_NEGATED;

/** The zero bucket's threshold: 2^-128 (client_golang's DefNativeHistogramZeroThreshold). */
export const ZERO_THRESHOLD: f64 = reinterpret<f64>(<u64>(1023 - 128) << 52);

@unmanaged
export class Native {
  /** The configured schema, where a histogram starts and returns to on reset. */
  schema: i32 = 0;
  /** The schema indexes are first computed at: max(schema, 0). */
  fine: i32 = 0;
  maxBuckets: i32 = 0;
  /** f64 values of one histogram block: NH_V_BUCKETS + maxBuckets. */
  values: i32 = 0;
  /** Whether the classic buckets are exposed too (generate_native_histograms: both). */
  classic: bool = false;
  /** 0: never reset. */
  minResetMs: f64 = 0;
  /** Observations are multiplied by this first (1000: a histogram in milliseconds). */
  scale: f64 = 1;
  /** 2^fine f64 bounds 2^(j/2^fine - 1), j = 0 … 2^fine - 1: the frexp fractions where buckets end. */
  bounds: usize = 0;
}

const none = changetype<Native>(0);
let spanMetrics: Native = none;
let serviceGraphs: Native = none;

/** Sets a processor's native histograms (PROCESSOR_SPAN_METRICS or PROCESSOR_SERVICE_GRAPHS), before its configure call. */
export function configureNative(processor: u32, schema: i32, maxBuckets: i32, minResetMs: f64, classic: bool, scale: f64): void {
  let n = changetype<Native>(heap.alloc(offsetof<Native>()));
  if (schema < NH_SCHEMA_MIN) schema = NH_SCHEMA_MIN;
  if (schema > NH_SCHEMA_MAX) schema = NH_SCHEMA_MAX;
  n.schema = schema;
  n.fine = schema > 0 ? schema : 0;
  n.maxBuckets = maxBuckets < 1 ? 1 : maxBuckets;
  n.values = NH_V_BUCKETS + n.maxBuckets;
  n.minResetMs = minResetMs;
  n.classic = classic;
  n.scale = scale > 0 ? scale : 1;
  let count = 1 << n.fine;
  n.bounds = heap.alloc(<usize>count << 3);
  for (let j = 0; j < count; j++) store<f64>(n.bounds + (<usize>j << 3), Math.pow(2, <f64>j / <f64>count - 1));
  if (processor == PROCESSOR_SPAN_METRICS) spanMetrics = n;
  else serviceGraphs = n;
}

/** A processor's native histogram settings, or 0 when it has none. */
export function nativeOf(processor: u32): Native {
  return processor == PROCESSOR_SPAN_METRICS ? spanMetrics : serviceGraphs;
}

/** The bucket index of v (> ZERO_THRESHOLD, finite) at schema n.fine: ceil(log2(v) · 2^fine), exactly. */
function fineIndex(n: Native, v: f64): i32 {
  let bits = reinterpret<u64>(v);
  // v = frac · 2^exp with frac in [0.5, 1) (v is a normal number above the threshold)
  let exp = <i32>((bits >> 52) & 0x7ff) - 1022;
  let frac = reinterpret<f64>((bits & 0x000f_ffff_ffff_ffff) | (<u64>1022 << 52));
  if (n.fine == 0) return frac == 0.5 ? exp - 1 : exp;
  let count = 1 << n.fine;
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (load<f64>(n.bounds + (<usize>mid << 3)) < frac) lo = mid + 1;
    else hi = mid;
  }
  return lo + (exp - 1) * count;
}

// @ts-ignore: decorator
@inline function ceilShift(k: i32, d: i32): i32 {
  return (k + (1 << d) - 1) >> d;
}

/** Empties histogram `h` and starts it again at the configured schema at time `nowMs`. */
function reset(n: Native, h: usize, nowMs: f64): void {
  memory.fill(h, 0, <usize>n.values << 3);
  store<f64>(h, nowMs, NH_V_START << 3);
}

/** Halves the resolution of histogram `h` once: bucket k becomes ceil(k / 2). */
function halve(h: usize): void {
  let base = <i32>load<f64>(h, NH_V_BASE << 3);
  let span = <i32>load<f64>(h, NH_V_SPAN << 3);
  let newBase = ceilShift(base, 1);
  let b = h + (<usize>NH_V_BUCKETS << 3);
  // Ascending: a bucket moves to a place at or before its own, whose old count was already moved.
  for (let p = 0; p < span; p++) {
    let c = load<f64>(b + (<usize>p << 3));
    if (c == 0) continue;
    store<f64>(b + (<usize>p << 3), 0);
    let q = b + (<usize>(ceilShift(base + p, 1) - newBase) << 3);
    store<f64>(q, load<f64>(q) + c);
  }
  store<f64>(h, <f64>newBase, NH_V_BASE << 3);
  store<f64>(h, <f64>(ceilShift(base + span - 1, 1) - newBase + 1), NH_V_SPAN << 3);
  store<f64>(h, load<f64>(h, NH_V_REDUCED << 3) + 1, NH_V_REDUCED << 3);
}

/** Adds one observation of `seconds` (>= 0; times n.scale) with weight `w` to the histogram block at `h`. */
export function observeNative(n: Native, h: usize, seconds: f64, w: f64, nowMs: f64): void {
  addNative(n, h, seconds * n.scale, w, nowMs);
}

function addNative(n: Native, h: usize, v: f64, w: f64, nowMs: f64): void {
  if (load<f64>(h, NH_V_START << 3) == 0) store<f64>(h, nowMs, NH_V_START << 3);
  store<f64>(h, load<f64>(h, NH_V_COUNT << 3) + w, NH_V_COUNT << 3);
  store<f64>(h, load<f64>(h, NH_V_SUM << 3) + v * w, NH_V_SUM << 3);
  if (!(v > ZERO_THRESHOLD)) {
    store<f64>(h, load<f64>(h, NH_V_ZERO << 3) + w, NH_V_ZERO << 3);
    return;
  }
  let fine = fineIndex(n, v);
  let reduced = <i32>load<f64>(h, NH_V_REDUCED << 3);
  let k = ceilShift(fine, n.fine - n.schema + reduced);
  let span = <i32>load<f64>(h, NH_V_SPAN << 3);
  let b = h + (<usize>NH_V_BUCKETS << 3);
  if (span == 0) {
    store<f64>(h, <f64>k, NH_V_BASE << 3);
    store<f64>(h, 1, NH_V_SPAN << 3);
    store<f64>(b, load<f64>(b) + w);
    return;
  }
  let base = <i32>load<f64>(h, NH_V_BASE << 3);
  let top = base + span - 1;
  if (k < base || k > top) {
    let lo = k < base ? k : base;
    let hi = k > top ? k : top;
    if (hi - lo + 1 > n.maxBuckets) {
      let start = load<f64>(h, NH_V_START << 3);
      if (n.minResetMs > 0 && nowMs - start >= n.minResetMs) {
        // As client_golang: the histogram starts again, this value its first observation.
        reset(n, h, nowMs);
        addNative(n, h, v, w, nowMs);
        return;
      }
      while (hi - lo + 1 > n.maxBuckets && reduced < n.schema - NH_SCHEMA_MIN) {
        halve(h);
        reduced++;
        lo = ceilShift(lo, 1);
        hi = ceilShift(hi, 1);
        k = ceilShift(k, 1);
      }
      base = <i32>load<f64>(h, NH_V_BASE << 3);
      span = <i32>load<f64>(h, NH_V_SPAN << 3);
      top = base + span - 1;
      // Past the lowest schema (only with fewer buckets than durations can span at schema -4):
      // the value is counted in the nearest bucket kept.
      if (hi - lo + 1 > n.maxBuckets) {
        k = k < base ? top - n.maxBuckets + 1 : base + n.maxBuckets - 1;
        lo = k < base ? k : base;
        hi = k > top ? k : top;
      }
    }
    if (k < base) {
      // Move the buckets up to make room below: the window starts at the new lowest bucket.
      let by = <usize>(base - k) << 3;
      memory.copy(b + by, b, <usize>span << 3);
      memory.fill(b, 0, by);
      store<f64>(h, <f64>k, NH_V_BASE << 3);
      base = k;
    }
    store<f64>(h, <f64>(hi - lo + 1), NH_V_SPAN << 3);
  }
  let p = b + (<usize>(k - base) << 3);
  store<f64>(p, load<f64>(p) + w);
}

/**
 * Series one histogram of a processor costs against the series limit, as Prometheus counts
 * them: classic only, its buckets, +Inf, sum and count; native only, one; both, one more.
 */
export function histogramCost(processor: u32, boundCount: i32): u32 {
  let n = nativeOf(processor);
  let classic = <u32>boundCount + 3;
  if (changetype<usize>(n) == 0) return classic;
  return n.classic ? classic + 1 : 1;
}

/** Byte offset, from a record's values, of native histogram `h` (0 server or span latency, 1 client, 2 messaging). */
export function nativeOffset(n: Native, firstBlock: i32, h: i32): usize {
  return <usize>(firstBlock + h * n.values) << 3;
}
