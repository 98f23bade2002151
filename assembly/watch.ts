// The attribute keys the processors read (dimensions, peer and database attributes). The walker
// looks each attribute key up here; a hit records where the value sits, in the key's slot.
import { hashBytes } from './hash';

export const MAX_WATCHED: i32 = 64;

// Per key: ptr u32, len u32, hash u32.
const KEYS: usize = memory.data(MAX_WATCHED * 12);
let watched: i32 = 0;
// Bit k set when some watched key is k bytes long (k >= 63 share bit 63): most keys miss on one AND.
let lengthMask: u64 = 0;

export function watchedCount(): i32 {
  return watched;
}

/** Adds a key (copied) and returns its slot, or the existing slot for a key seen before; -1 when full. */
export function watchKey(p: usize, n: usize): i32 {
  let found = slotOf(p, n);
  if (found >= 0) return found;
  if (watched >= MAX_WATCHED) return -1;
  let copy = heap.alloc(n > 0 ? n : 1);
  memory.copy(copy, p, n);
  let k = KEYS + <usize>watched * 12;
  store<u32>(k, <u32>copy);
  store<u32>(k, <u32>n, 4);
  store<u32>(k, hashBytes(p, n), 8);
  lengthMask |= (<u64>1) << (n < 63 ? <u64>n : 63);
  return watched++;
}

/** The slot watching key [p, p+n), or -1. */
// @ts-ignore: decorator
@inline export function slotOf(p: usize, n: usize): i32 {
  if ((lengthMask & ((<u64>1) << (n < 63 ? <u64>n : 63))) == 0) return -1;
  return slotOfHashed(p, n);
}

function slotOfHashed(p: usize, n: usize): i32 {
  let h = hashBytes(p, n);
  for (let i = 0; i < watched; i++) {
    let k = KEYS + <usize>i * 12;
    if (load<u32>(k, 8) == h && <usize>load<u32>(k, 4) == n && memory.compare(<usize>load<u32>(k), p, n) == 0) {
      return i;
    }
  }
  return -1;
}
