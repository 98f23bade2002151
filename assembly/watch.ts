// The attribute keys the processors read (dimensions, peer and database attributes). The walker
// looks each attribute key up here; a hit records where the value sits, in the key's slot (its
// watched-attribute slot: 0 … MAX_WATCHED - 1, the index of its place in the staging records;
// not to be confused with a series record's index, series.ts). Every attribute of every span
// passes through watchedSlotOf, so it hashes nothing: keys are grouped
// by length, and a candidate is checked on its first 8 bytes, then its last 8 (all of a key up
// to 16 bytes, as most are), then the words between, inline.
import { MAX_WATCHED } from './layout';

const LENGTHS: i32 = 64; // keys of 63 bytes and more share the last group

// Per key: ptr u32, len u32, next key of the same length group + 1 u32, pad u32, first 8 bytes
// u64, last 8 bytes u64 (0 under 8 bytes: the first 8, zero-padded, hold it all).
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

/** The last 8 bytes of [p, p+n) as a little-endian u64 when n >= 8, else 0. */
// @ts-ignore: decorator
@inline function suffix(p: usize, n: usize): u64 {
  return n >= 8 ? load<u64>(p + n - 8) : 0;
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
  while (ref != 0) {
    let k = KEYS + <usize>(ref - 1) * KEY_SIZE;
    if (load<u64>(k, 16) == head && <usize>load<u32>(k, 4) == n) {
      if (n <= 8) return ref - 1;
      if (load<u64>(k, 24) == load<u64>(p + n - 8)) {
        // the last 8 bytes match: the words between, the last one overlapping them
        let q = <usize>load<u32>(k);
        let i: usize = 8;
        while (i + 8 < n && load<u64>(q + i) == load<u64>(p + i)) i += 8;
        if (i + 8 >= n) return ref - 1;
      }
    }
    ref = <i32>load<u32>(k, 8);
  }
  return -1;
}
