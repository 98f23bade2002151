// The attribute keys the processors read (dimensions, peer and database attributes). The walker
// looks each attribute key up here; a hit records where the value sits, in the key's slot (its
// watched-attribute slot: 0 … MAX_WATCHED - 1, the index of its place in the staging records;
// not to be confused with a series record's index, series.ts). Every attribute of every span
// passes through watchedSlotRun or watchedSlotIn, so they hash nothing: keys are grouped by length, and the
// candidates of a key's group are checked on their first 8 bytes, then their last 8 (all of a key
// up to 16 bytes, as most are), then (17 to 24 bytes) bytes 8 to 16, inline, without a call;
// the bytes between, past 24, in a call.
import { MAX_WATCHED } from './layout';

const LENGTHS: i32 = 128; // keys of 127 bytes and more share the last group

// Per key: ptr u32, len u32, next key of the same length group + 1 u32, pad u32, first 8 bytes
// u64, last 8 bytes u64 (0 under 8 bytes: the first 8, zero-padded, hold it all), bytes 8 to 16
// u64 (0 under 16 bytes).
const KEY_SIZE: usize = 40;
const KEYS: usize = memory.data(MAX_WATCHED * <i32>KEY_SIZE);
// The low n bytes of a u64 for a key of n (0 to 7) bytes.
const SHORT_MASKS: usize = memory.data<u64>([
  0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff,
]);
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

/**
 * prefix() of a key being looked up: under 8 bytes read as the top of the 8 bytes ending with
 * the key (a key's bytes are preceded by 8 or more in memory: those of the message holding it,
 * or the heap's), which spares the loop.
 */
// @ts-ignore: decorator
@inline function headOf(p: usize, n: usize): u64 {
  if (n >= 8) return load<u64>(p);
  if (n == 0) return 0;
  return load<u64>(p + n - 8) >> (<u64>(8 - n) << 3);
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
  store<u32>(k, 0, 8);
  store<u64>(k, prefix(p, n), 16);
  store<u64>(k, suffix(p, n), 24);
  store<u64>(k, n >= 16 ? load<u64>(p + 8) : 0, 32);
  // Last in its group: watchedSlotOf checks the first inline, the key configured first.
  let ref = <i32>load<u8>(g);
  if (ref == 0) store<u8>(g, <u8>(watched + 1));
  else {
    while (load<u32>(KEYS + <usize>(ref - 1) * KEY_SIZE, 8) != 0) ref = <i32>load<u32>(KEYS + <usize>(ref - 1) * KEY_SIZE, 8);
    store<u32>(KEYS + <usize>(ref - 1) * KEY_SIZE, <u32>(watched + 1), 8);
  }
  return watched++;
}

/** The first key + 1 of the group of keys of n bytes (0: none), for a key under 127 bytes. */
// @ts-ignore: decorator
@inline export function watchFirstShort(n: usize): i32 {
  return <i32>load<u8>(FIRST + n);
}

/** The slot of key [p, p+n), whose group's first key + 1 is `ref` (not 0), or -1 when not watched. */
// @ts-ignore: decorator
@inline function watchedSlotIn(ref: i32, p: usize, n: usize): i32 {
  let head = headOf(p, n);
  let tail = suffix(p, n);
  do {
    let k = KEYS + <usize>(ref - 1) * KEY_SIZE;
    if (load<u64>(k, 16) == head) {
      if (load<u64>(k, 24) == tail) {
        if (<usize>load<u32>(k, 4) == n) {
          if (n <= 16) return ref - 1;
          if (load<u64>(k, 32) == load<u64>(p + 8)) {
            if (n <= 24) return ref - 1;
            if (middleEqual(<usize>load<u32>(k), p, n)) return ref - 1;
          }
        }
      }
    }
    ref = <i32>load<u32>(k, 8);
  } while (ref != 0);
  return -1;
}

/**
 * watchedSlotIn for the attribute run (assembly/keyvalues.ts), which neither calls nor loops (V8
 * stores to the frame what a loop's stack check or a call keeps live): a key under 127 bytes (its
 * group holds keys of its length only), whose group's first key + 1 is `ref` (not 0). The group's
 * first two keys are checked; -2 when it has more, or when the key, over 24 bytes, matches one on
 * its first 16 and last 8: the run then leaves the attribute to the general path.
 */
// @ts-ignore: decorator
@inline export function watchedSlotRun(ref: i32, p: usize, n: usize): i32 {
  let head: u64;
  let tail: u64 = 0;
  if (n >= 8) {
    head = load<u64>(p);
    tail = load<u64>(p + n - 8);
  } else {
    // prefix(): the 8 bytes from the key, masked to its n (the attribute run's keys lie in the
    // input, which keeps wire.ts INPUT_SLACK bytes readable past any end). A mask from a table
    // rather than a shift by a variable, which x64 takes only in cl (V8 then moves values around).
    head = load<u64>(p) & load<u64>(SHORT_MASKS + (n << 3));
  }
  let k = KEYS + <usize>(ref - 1) * KEY_SIZE;
  if (load<u64>(k, 16) == head) {
    if (load<u64>(k, 24) == tail) {
      if (n <= 16) return ref - 1;
      if (load<u64>(k, 32) == load<u64>(p + 8)) return n <= 24 ? ref - 1 : -2;
    }
  }
  ref = <i32>load<u32>(k, 8);
  if (ref == 0) return -1;
  k = KEYS + <usize>(ref - 1) * KEY_SIZE;
  if (load<u64>(k, 16) == head) {
    if (load<u64>(k, 24) == tail) {
      if (n <= 16) return ref - 1;
      if (load<u64>(k, 32) == load<u64>(p + 8)) return n <= 24 ? ref - 1 : -2;
    }
  }
  return load<u32>(k, 8) == 0 ? -1 : -2;
}

/** Whether bytes 16 to n-8 of key [p, p+n) equal those of `copy` (its first 16 and last 8 matched). */
function middleEqual(copy: usize, p: usize, n: usize): bool {
  for (let i: usize = 16; i < n - 8; i += 8) {
    if (load<u64>(copy + i) != load<u64>(p + i)) return false;
  }
  return true;
}

/** The watched-attribute slot of key [p, p+n), or -1. */
// @ts-ignore: decorator
@inline export function watchedSlotOf(p: usize, n: usize): i32 {
  let ref = <i32>load<u8>(FIRST + groupOf(n));
  return ref != 0 ? watchedSlotIn(ref, p, n) : -1;
}
