// HyperLogLog (Flajolet, Fusy, Gandouet and Meunier, "HyperLogLog: the analysis of a near-optimal
// cardinality estimation algorithm", 2007): the number of distinct values of a stream, from
// m = 2^HLL_P one-byte registers, with a standard error of 1.04 / sqrt(m) (3.25 % at m = 1024,
// the precision Tempo's per-label limiter uses). A sketch is HLL_BYTES of raw memory; adding a
// value is one register compare, and the estimate is kept up to date as registers change (the
// sum of 2^-register and the count of zero registers), so reading it costs nothing either.
//
// A window (Tempo's sliding window of sketches, modules/generator/registry/cardinality.go):
// `count` sketches in a ring, the newest taking the values, plus their register-wise maximum
// (the union) which answers the estimate over the window. advanceWindow() drops the oldest.

export const HLL_P: u32 = 10;
export const HLL_M: u32 = 1 << HLL_P;

// Sketch: f64 Σ 2^-register, u32 zero registers, u32 unused, then HLL_M u8 registers.
const SK_SUM: usize = 0;
const SK_ZEROS: usize = 8;
const SK_REGS: usize = 16;
export const HLL_BYTES: usize = SK_REGS + <usize>HLL_M;

/** Sets a sketch at `s` to empty. */
export function clearSketch(s: usize): void {
  store<f64>(s, <f64>HLL_M, SK_SUM);
  store<u32>(s, HLL_M, SK_ZEROS);
  memory.fill(s + SK_REGS, 0, <usize>HLL_M);
}

/** Raises register `j` of sketch `s` to `rank` if lower; returns whether it changed. */
// @ts-ignore: decorator
@inline function raise(s: usize, j: usize, rank: u32): bool {
  let r = s + SK_REGS + j;
  let old = <u32>load<u8>(r);
  if (rank <= old) return false;
  store<u8>(r, <u8>rank);
  // 2^-k exactly, as an f64 built from its exponent bits (k ≤ 64 - HLL_P + 1)
  let sum = load<f64>(s, SK_SUM)
    - reinterpret<f64>(<u64>(1023 - old) << 52)
    + reinterpret<f64>(<u64>(1023 - rank) << 52);
  store<f64>(s, sum, SK_SUM);
  if (old == 0) store<u32>(s, load<u32>(s, SK_ZEROS) - 1, SK_ZEROS);
  return true;
}

/** The register index and rank of a 64-bit hash: the top HLL_P bits, then the place of the first 1 bit after them. */
// @ts-ignore: decorator
@inline function indexOf(h: u64): usize {
  return <usize>(h >>> (64 - HLL_P));
}
// @ts-ignore: decorator
@inline function rankOf(h: u64): u32 {
  // the sentinel bit bounds the rank at 64 - HLL_P + 1
  return <u32>clz<u64>((h << HLL_P) | (<u64>1 << (HLL_P - 1))) + 1;
}

/** Adds a value, by its 64-bit hash, to sketch `s`; returns whether the estimate changed. */
export function addToSketch(s: usize, h: u64): bool {
  return raise(s, indexOf(h), rankOf(h));
}

/** The estimate of sketch `s`: the raw estimate, or linear counting below 5m/2 while a register is zero (the paper's small-range correction). */
export function sketchEstimate(s: usize): f64 {
  const m = <f64>HLL_M;
  // α_m for m ≥ 128 (the paper's Figure 3)
  let e = (0.7213 / (1 + 1.079 / m)) * m * m / load<f64>(s, SK_SUM);
  let zeros = load<u32>(s, SK_ZEROS);
  if (e <= 2.5 * m && zeros != 0) e = m * Math.log(m / <f64>zeros);
  return e;
}

/** Mixes a 32-bit hash (or any u64) into 64 well-spread bits (SplitMix64's finalizer, Steele, Lea and Flood 2014). */
// @ts-ignore: decorator
@inline export function mix64(x: u64): u64 {
  let z = x * 0x9e3779b97f4a7c15 + 0x632be59bd9b4e019;
  z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >>> 27)) * 0x94d049bb133111eb;
  return z ^ (z >>> 31);
}

// ---- Windows: header, then `count` ring sketches, then the union.
const W_CURRENT: usize = 0; // u32 the ring sketch taking values
const W_COUNT: usize = 4; // u32 ring sketches
const W_SKETCHES: usize = 8;

/** Bytes of a window of `count` sketches. */
export function windowBytes(count: u32): usize {
  return W_SKETCHES + <usize>(count + 1) * HLL_BYTES;
}

/** A window of `count` (≥ 1) ring sketches at `w` (windowBytes(count) bytes), empty. */
export function initWindow(w: usize, count: u32): void {
  store<u32>(w, 0, W_CURRENT);
  store<u32>(w, count, W_COUNT);
  for (let i: u32 = 0; i <= count; i++) clearSketch(w + W_SKETCHES + <usize>i * HLL_BYTES);
}

// @ts-ignore: decorator
@inline function unionOf(w: usize): usize {
  return w + W_SKETCHES + <usize>load<u32>(w, W_COUNT) * HLL_BYTES;
}

/** Adds a value by its 64-bit hash; returns whether the window's estimate changed. */
export function addToWindow(w: usize, h: u64): bool {
  let j = indexOf(h);
  let rank = rankOf(h);
  raise(w + W_SKETCHES + <usize>load<u32>(w, W_CURRENT) * HLL_BYTES, j, rank);
  return raise(unionOf(w), j, rank);
}

/** Distinct values added over the window. */
export function windowEstimate(w: usize): f64 {
  return sketchEstimate(unionOf(w));
}

/** Drops the oldest sketch's values: it becomes the current one, empty; the union is rebuilt from the others. */
export function advanceWindow(w: usize): void {
  let count = load<u32>(w, W_COUNT);
  let current = load<u32>(w, W_CURRENT) + 1;
  if (current == count) current = 0;
  store<u32>(w, current, W_CURRENT);
  clearSketch(w + W_SKETCHES + <usize>current * HLL_BYTES);
  let u = unionOf(w);
  clearSketch(u);
  for (let i: u32 = 0; i < count; i++) {
    if (i == current) continue;
    let s = w + W_SKETCHES + <usize>i * HLL_BYTES + SK_REGS;
    for (let j: usize = 0; j < <usize>HLL_M; j++) {
      let rank = <u32>load<u8>(s + j);
      if (rank != 0) raise(u, j, rank);
    }
  }
}
