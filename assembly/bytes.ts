// Byte-range equality for the hot paths. memory.compare orders as well as compares, and goes
// byte by byte unless both ranges sit at the same offset modulo 8, which a name in a request
// and its interned copy rarely do; WebAssembly loads need no alignment, so this compares eight
// bytes at a time wherever the ranges are.

/** Whether [a, a+n) and [b, b+n) hold the same bytes; reads nothing outside them. */
export function bytesEqual(a: usize, b: usize, n: usize): bool {
  return sameBytes(a, b, n);
}

/** bytesEqual inline, for a hot path that compares once per call (intern's cache hit). */
// @ts-ignore: decorator
@inline export function sameBytes(a: usize, b: usize, n: usize): bool {
  // Past 16 bytes: the first and last 16 (overlapping), and past 32 the 16 at a time between,
  // as v128 differences ORed together, one test at the end (WebAssembly SIMD: a 16-byte load,
  // xor and or an instruction each on x64, against two u64 compares and branches).
  if (n > 16) {
    let last = n - 16;
    let d = v128.or(v128.xor(v128.load(a), v128.load(b)), v128.xor(v128.load(a + last), v128.load(b + last)));
    // The loop only past 32 bytes: V8 checks the stack on entering a loop, even one that does no step.
    if (n > 32) {
      for (let i: usize = 16; i < last; i += 16) d = v128.or(d, v128.xor(v128.load(a + i), v128.load(b + i)));
    }
    return !v128.any_true(d);
  }
  if (n >= 8) return load<u64>(a) == load<u64>(b) && load<u64>(a + n - 8) == load<u64>(b + n - 8);
  if (n >= 4) return load<u32>(a) == load<u32>(b) && load<u32>(a + n - 4) == load<u32>(b + n - 4);
  // 0 to 3 bytes: the first, middle and last are all of them.
  return n == 0 || (load<u8>(a) == load<u8>(b) && load<u8>(a + (n >> 1)) == load<u8>(b + (n >> 1))
    && load<u8>(a + n - 1) == load<u8>(b + n - 1));
}
