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
  // 16 bytes a step, then the last 32 (overlapping): up to 32 bytes, no step.
  if (n > 16) {
    let last = n - 16;
    let i: usize = 0;
    // The loop only past 32 bytes: V8 checks the stack on entering a loop, even one that does no step.
    if (n > 32) {
      for (; i + 16 < last; i += 16) {
        if (load<u64>(a + i) != load<u64>(b + i) || load<u64>(a + i, 8) != load<u64>(b + i, 8)) return false;
      }
    }
    return load<u64>(a + i) == load<u64>(b + i) && load<u64>(a + i, 8) == load<u64>(b + i, 8)
      && load<u64>(a + last) == load<u64>(b + last) && load<u64>(a + last, 8) == load<u64>(b + last, 8);
  }
  if (n >= 8) return load<u64>(a) == load<u64>(b) && load<u64>(a + n - 8) == load<u64>(b + n - 8);
  if (n >= 4) return load<u32>(a) == load<u32>(b) && load<u32>(a + n - 4) == load<u32>(b + n - 4);
  // 0 to 3 bytes: the first, middle and last are all of them.
  return n == 0 || (load<u8>(a) == load<u8>(b) && load<u8>(a + (n >> 1)) == load<u8>(b + (n >> 1))
    && load<u8>(a + n - 1) == load<u8>(b + n - 1));
}
