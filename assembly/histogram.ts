// Fixed-bucket histograms: bucket bounds in seconds, le-inclusive, as Prometheus clients
// observe. A histogram's counts are stored per bucket (not cumulative) in its series record;
// the +Inf bucket is the count, so it is not stored.

@unmanaged
export class Buckets {
  bounds: usize = 0; // f64 each, ascending
  count: i32 = 0;
}

export function newBuckets(src: usize, count: i32): Buckets {
  let b = changetype<Buckets>(heap.alloc(offsetof<Buckets>()));
  b.count = count;
  b.bounds = heap.alloc((count > 0 ? <usize>count : 1) * 8);
  memory.copy(b.bounds, src, <usize>count * 8);
  return b;
}

/** Index of the first bound >= v, or count when v is above them all. */
export function bucketOf(b: Buckets, v: f64): i32 {
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
export function observe(b: Buckets, sum: usize, counts: usize, v: f64, w: f64): i32 {
  store<f64>(sum, load<f64>(sum) + v * w);
  let i = bucketOf(b, v);
  if (i < b.count) {
    let p = counts + (<usize>i << 3);
    store<f64>(p, load<f64>(p) + w);
  }
  return i;
}
