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
  if (n >= 8) {
    let last = n - 8;
    for (let i: usize = 0; i < last; i += 8) {
      if (load<u64>(a + i) != load<u64>(b + i)) return false;
    }
    return load<u64>(a + last) == load<u64>(b + last); // the last 8, overlapping the loop's
  }
  if (n >= 4) return load<u32>(a) == load<u32>(b) && load<u32>(a + n - 4) == load<u32>(b + n - 4);
  for (let i: usize = 0; i < n; i++) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
  }
  return true;
}
