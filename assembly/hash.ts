// Hashing of byte ranges and of interned-id tuples: multiply-xorshift, 8 bytes a step.

const K1: u64 = 0x9e3779b97f4a7c15;
const K2: u64 = 0xbf58476d1ce4e5b9;

// @ts-ignore: decorator
@inline function finish(h: u64): u32 {
  h ^= h >>> 31;
  h *= K2;
  h ^= h >>> 29;
  return <u32>h ^ <u32>(h >>> 32);
}

export function hashBytes(p: usize, n: usize): u32 {
  let h: u64 = K1 ^ (<u64>n * K2);
  while (n >= 8) {
    h = (h ^ load<u64>(p)) * K1;
    h ^= h >>> 32;
    p += 8;
    n -= 8;
  }
  let tail: u64 = 0;
  if (n >= 4) {
    tail = <u64>load<u32>(p);
    p += 4;
    n -= 4;
    tail |= n > 0 ? (<u64>load<u8>(p) << 32) : 0;
    tail |= n > 1 ? (<u64>load<u8>(p + 1) << 40) : 0;
    tail |= n > 2 ? (<u64>load<u8>(p + 2) << 48) : 0;
  } else {
    tail |= n > 0 ? <u64>load<u8>(p) : 0;
    tail |= n > 1 ? (<u64>load<u8>(p + 1) << 8) : 0;
    tail |= n > 2 ? (<u64>load<u8>(p + 2) << 16) : 0;
  }
  h = (h ^ tail ^ 0xff) * K1;
  return finish(h);
}

/** Hash of `n` u32 words at `p` (a series key). */
export function hashWords(p: usize, n: i32): u32 {
  let h: u64 = K1 ^ <u64>n;
  for (let i = 0; i < n; i++) {
    h = (h ^ <u64>load<u32>(p + (<usize>i << 2))) * K1;
    h ^= h >>> 29;
  }
  return finish(h);
}
