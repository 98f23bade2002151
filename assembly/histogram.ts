// Fixed-bucket histograms: bucket bounds in seconds, le-inclusive, as Prometheus clients
// observe. A histogram's counts are stored per bucket (not cumulative) in its series record;
// the +Inf bucket is the count, so it is not stored.

@unmanaged
export class Buckets {
  bounds: usize = 0; // f64 each, ascending
  count: i32 = 0;
  starts: usize = 0; // u16 per f64 exponent (EXPONENTS): how many bounds lie below that binade
}

/** The values of an f64's exponent field: v >= 0 lies in binade (bits >>> 52) & 0x7ff (0: zeros and subnormals). */
const EXPONENTS: usize = 2048;

export function newBuckets(src: usize, count: i32): Buckets {
  let b = changetype<Buckets>(heap.alloc(offsetof<Buckets>()));
  b.count = count;
  b.bounds = heap.alloc((count > 0 ? <usize>count : 1) * 8);
  memory.copy(b.bounds, src, <usize>count * 8);
  // Without bounds, the block's one f64: +Inf, which bucketOf's first compare reads and stays at 0.
  if (count == 0) store<f64>(b.bounds, Infinity);
  // starts[e]: the bounds below the binade's least value (0 for e = 0, 2^(e - 1023) else, +Inf for
  // e = 2047), all below any v >= 0 in it; bucketOf looks from there. At most count - 1 (and
  // 65,535), so that its first compare reads a bound.
  b.starts = heap.alloc(EXPONENTS << 1);
  let below = 0;
  for (let e: usize = 0; e < EXPONENTS; e++) {
    let least = e == 0 ? 0 : reinterpret<f64>(<u64>e << 52);
    while (below < count - 1 && below < 0xffff && load<f64>(b.bounds + (<usize>below << 3)) < least) below++;
    store<u16>(b.starts + (e << 1), <u16>below);
  }
  return b;
}

/** Index of the first bound >= v, or count when v is above them all. */
// @ts-ignore: decorator
@inline export function bucketOf(b: Buckets, v: f64): i32 {
  // v >= 0 (not NaN): from the bounds below v's binade, a step per bound in it (one with
  // doubling bounds, as Tempo's defaults); else a binary search. The first step adds the
  // compare's 0/1 instead of branching on it: whether a span lies above its binade's bound is as
  // good as random, a branch mispredicted half the time.
  if (v >= 0) {
    let n = <usize>b.count;
    let bounds = b.bounds;
    let i = <usize>load<u16>(b.starts + (<usize>((reinterpret<u64>(v) >>> 52) & 0x7ff) << 1));
    i += <usize>(load<f64>(bounds + (i << 3)) < v);
    // (nested tests, not &&: V8 made a 0/1 value of each compare and tested it)
    if (i < n) {
      if (load<f64>(bounds + (i << 3)) < v) {
        do i++; while (i < n && load<f64>(bounds + (i << 3)) < v);
      }
    }
    return <i32>i;
  }
  return searchBucket(b, v);
}

/** bucketOf by binary search. */
function searchBucket(b: Buckets, v: f64): i32 {
  let lo = 0;
  let hi = b.count;
  while (lo < hi) {
    let mid = (lo + hi) >>> 1;
    if (load<f64>(b.bounds + (<usize>mid << 3)) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Nanoseconds from start to end as seconds; a span ending before it starts lasted 0. */
export function durationSeconds(start: u64, end: u64): f64 {
  return end > start ? <f64>(end - start) / 1e9 : 0;
}

/**
 * Adds one observation of `v` with weight `w`: to the sum at `sum` and to its bucket in
 * `counts`. Returns the bucket (b.count: the +Inf bucket).
 */
// @ts-ignore: decorator
@inline export function observe(b: Buckets, sum: usize, counts: usize, v: f64, w: f64): i32 {
  store<f64>(sum, load<f64>(sum) + v * w);
  let i = bucketOf(b, v);
  if (i < b.count) {
    let p = counts + (<usize>i << 3);
    store<f64>(p, load<f64>(p) + w);
  }
  return i;
}
