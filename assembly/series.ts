// A series table: records keyed by a tuple of u32 words (interned label ids), each followed
// by f64 values, in one slab the host reads directly when rendering. An open-addressing
// index of (hash, slot + 1) finds a record without touching the slab on a miss.
//
// Record layout (little endian), `stride` bytes:
//   0  u32 hash of the key
//   4  u32 last update, seconds (host clock)
//   8  u32 generation: bumped whenever the slot is (re)used, so host caches can tell
//   12 u32 reserved
//   16 key words, u32 each, padded to 8 bytes
//   .. values, f64 each
import { hashWords } from './hash';

export const HEADER: usize = 16;

@unmanaged
export class SeriesTable {
  keyWords: i32 = 0;
  valueCount: i32 = 0;
  stride: usize = 0;
  valuesOffset: usize = 0;
  slab: usize = 0;
  capacity: u32 = 0;
  used: u32 = 0; // slots handed out so far (the host iterates [0, used))
  index: usize = 0;
  indexMask: u32 = 0;
}

export function newSeriesTable(keyWords: i32, valueCount: i32): SeriesTable {
  let t = changetype<SeriesTable>(heap.alloc(offsetof<SeriesTable>()));
  t.keyWords = keyWords;
  t.valueCount = valueCount;
  t.valuesOffset = HEADER + ((<usize>keyWords * 4 + 7) & ~7);
  t.stride = t.valuesOffset + <usize>valueCount * 8;
  t.capacity = 256;
  t.slab = heap.alloc(<usize>t.capacity * t.stride);
  t.used = 0;
  t.indexMask = 511;
  t.index = heap.alloc(<usize>(t.indexMask + 1) << 3);
  memory.fill(t.index, 0, <usize>(t.indexMask + 1) << 3);
  return t;
}

function place(t: SeriesTable, h: u32, slot: u32): void {
  let i = h & t.indexMask;
  while (load<u32>(t.index + (<usize>i << 3), 4) != 0) i = (i + 1) & t.indexMask;
  let e = t.index + (<usize>i << 3);
  store<u32>(e, h);
  store<u32>(e, slot + 1, 4);
}

function grow(t: SeriesTable): void {
  let bytes = <usize>t.capacity * t.stride;
  t.slab = heap.realloc(t.slab, bytes << 1);
  t.capacity <<= 1;
  heap.free(t.index);
  t.indexMask = (t.capacity << 1) - 1;
  t.index = heap.alloc(<usize>(t.indexMask + 1) << 3);
  memory.fill(t.index, 0, <usize>(t.indexMask + 1) << 3);
  for (let s: u32 = 0; s < t.used; s++) place(t, load<u32>(t.slab + <usize>s * t.stride), s);
}

/**
 * The record for the key held in `key` (keyWords u32s), created with zeroed values when new.
 * The address stays valid until the next call that creates a record.
 */
export function upsert(t: SeriesTable, key: usize, now: u32): usize {
  let n = t.keyWords;
  let h = hashWords(key, n);
  let keyBytes = <usize>n << 2;
  let i = h & t.indexMask;
  while (true) {
    let e = t.index + (<usize>i << 3);
    let slot = load<u32>(e, 4);
    if (slot == 0) break;
    if (load<u32>(e) == h) {
      let r = t.slab + <usize>(slot - 1) * t.stride;
      if (memory.compare(r + HEADER, key, keyBytes) == 0) {
        store<u32>(r, now, 4);
        return r;
      }
    }
    i = (i + 1) & t.indexMask;
  }
  if (t.used == t.capacity) grow(t);
  let slot = t.used++;
  let r = t.slab + <usize>slot * t.stride;
  memory.fill(r, 0, t.stride);
  store<u32>(r, h);
  store<u32>(r, now, 4);
  store<u32>(r, 1, 8);
  memory.copy(r + HEADER, key, keyBytes);
  place(t, h, slot);
  return r;
}
