// The attribute keys the processors read (dimensions, peer and database attributes). The walker
// looks each attribute key up here; a hit records where the value sits, in the key's slot (its
// watched-attribute slot: 0 … MAX_WATCHED - 1, the index of its place in the staging records;
// not to be confused with a series record's index, series.ts). Every attribute of every span
// passes through watchedSlotOf, so it hashes nothing: keys are grouped
// by length, and a candidate is checked on its first and last 8 bytes, then on the words between
// (8 bytes at a time: a byte-wise memory.compare of every hit cost more than the rest of the look-up).
import { MAX_WATCHED } from './layout';

const LENGTHS: i32 = 64; // keys of 63 bytes and more share the last group

// Per key: ptr u32, len u32, next key of the same length group + 1 u32, pad u32, first 8 bytes
// u64, last 8 bytes u64 (0 for keys of 8 bytes or fewer, which the first 8 bytes hold whole).
const KEY_SIZE: usize = 32;
const KEYS: usize = memory.data(MAX_WATCHED * <i32>KEY_SIZE);
// Per length group: first key + 1 (u8), 0 = none.
const FIRST: usize = memory.data(LENGTHS);
let watched: i32 = 0;

export function watchedCount(): i32 {
  return watched;
}

// @ts-ignore: decorator
@inline function groupOf(n: usize): usize {
  return n < <usize>(LENGTHS - 1) ? n : <usize>(LENGTHS - 1);
}

/** The first min(n, 8) bytes of [p, p+n) as a little-endian u64, zero-padded. */
// @ts-ignore: decorator
@inline function prefix(p: usize, n: usize): u64 {
  if (n >= 8) return load<u64>(p);
  let v: u64 = 0;
  for (let i: usize = 0; i < n; i++) v |= (<u64>load<u8>(p + i)) << (<u64>i << 3);
  return v;
}

/** The last 8 bytes of [p, p+n) when n > 8, else 0. */
// @ts-ignore: decorator
@inline function suffix(p: usize, n: usize): u64 {
  return n > 8 ? load<u64>(p + n - 8) : 0;
}

/** Whether the bytes between the first and the last 8 of two ranges of n bytes are equal. */
// @ts-ignore: decorator
@inline function sameMiddle(a: usize, b: usize, n: usize): bool {
  for (let i: usize = 8; i + 8 < n; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  return true;
}

/** Adds a key (copied) and returns its slot, or the existing slot for a key seen before; -1 when full. */
export function watchKey(p: usize, n: usize): i32 {
  let found = watchedSlotOf(p, n);
  if (found >= 0) return found;
  if (watched >= MAX_WATCHED) return -1;
  let copy = heap.alloc(n > 0 ? n : 1);
  memory.copy(copy, p, n);
  let k = KEYS + <usize>watched * KEY_SIZE;
  let g = FIRST + groupOf(n);
  store<u32>(k, <u32>copy);
  store<u32>(k, <u32>n, 4);
  store<u32>(k, <u32>load<u8>(g), 8);
  store<u64>(k, prefix(p, n), 16);
  store<u64>(k, suffix(p, n), 24);
  store<u8>(g, <u8>(watched + 1));
  return watched++;
}

/** The watched-attribute slot of key [p, p+n), or -1. */
// @ts-ignore: decorator
@inline export function watchedSlotOf(p: usize, n: usize): i32 {
  let first = <i32>load<u8>(FIRST + groupOf(n));
  return first == 0 ? -1 : slotInGroup(first, p, n);
}

function slotInGroup(ref: i32, p: usize, n: usize): i32 {
  let head = prefix(p, n);
  let tail = suffix(p, n);
  while (ref != 0) {
    let k = KEYS + <usize>(ref - 1) * KEY_SIZE;
    if (load<u64>(k, 16) == head && load<u64>(k, 24) == tail && <usize>load<u32>(k, 4) == n
        && sameMiddle(<usize>load<u32>(k), p, n)) {
      return ref - 1;
    }
    ref = <i32>load<u32>(k, 8);
  }
  return -1;
}
