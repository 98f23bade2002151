// Interning of UTF-8 byte ranges: each distinct label value is stored once and named by a
// u32 id. Id 0 is the empty string, which Prometheus treats as an absent label.
import { hashBytes } from './hash';
import { clampToBoundary, isValidUtf8, sanitizeUtf8 } from './utf8';

/** Longest label value kept, in bytes (Tempo truncates values at 2048). */
export const MAX_VALUE_BYTES: usize = 2048;

// Entry per id: ptr u32, len u32, hash u32, reserved u32.
const ENTRY: usize = 16;

let entries: usize = 0;
let entryCap: u32 = 0;
let nextId: u32 = 1;

// Open-addressing index of (hash u32, id u32); id 0 marks an empty slot.
let index: usize = 0;
let indexMask: u32 = 0;
let count: u32 = 0;

const SANITIZED: usize = memory.data(<i32>MAX_VALUE_BYTES + 4);

export function initIntern(): void {
  entryCap = 1024;
  entries = heap.alloc(<usize>entryCap * ENTRY);
  memory.fill(entries, 0, <usize>entryCap * ENTRY);
  indexMask = 2047;
  index = heap.alloc(<usize>(indexMask + 1) << 3);
  memory.fill(index, 0, <usize>(indexMask + 1) << 3);
}

export function stringEntries(): usize {
  return entries;
}

export function stringCount(): u32 {
  return nextId;
}

export function stringPtr(id: u32): usize {
  return <usize>load<u32>(entries + <usize>id * ENTRY);
}

export function stringLen(id: u32): usize {
  return <usize>load<u32>(entries + <usize>id * ENTRY, 4);
}

function find(p: usize, n: usize, h: u32): u32 {
  let i = h & indexMask;
  while (true) {
    let slot = index + (<usize>i << 3);
    let id = load<u32>(slot, 4);
    if (id == 0) return 0;
    if (load<u32>(slot) == h) {
      let e = entries + <usize>id * ENTRY;
      if (<usize>load<u32>(e, 4) == n && memory.compare(<usize>load<u32>(e), p, n) == 0) return id;
    }
    i = (i + 1) & indexMask;
  }
}

function place(h: u32, id: u32): void {
  let i = h & indexMask;
  while (load<u32>(index + (<usize>i << 3), 4) != 0) i = (i + 1) & indexMask;
  let slot = index + (<usize>i << 3);
  store<u32>(slot, h);
  store<u32>(slot, id, 4);
}

function growIndex(): void {
  let old = index;
  let oldSize = indexMask + 1;
  indexMask = (oldSize << 1) - 1;
  index = heap.alloc(<usize>(indexMask + 1) << 3);
  memory.fill(index, 0, <usize>(indexMask + 1) << 3);
  for (let i: u32 = 0; i < oldSize; i++) {
    let slot = old + (<usize>i << 3);
    let id = load<u32>(slot, 4);
    if (id != 0) place(load<u32>(slot), id);
  }
  heap.free(old);
}

function insert(p: usize, n: usize, h: u32): u32 {
  if ((count + 1) * 4 > (indexMask + 1) * 3) growIndex();
  if (nextId >= entryCap) {
    let bytes = <usize>entryCap * ENTRY;
    entries = heap.realloc(entries, bytes << 1);
    memory.fill(entries + bytes, 0, bytes);
    entryCap <<= 1;
  }
  let id = nextId++;
  let copy = heap.alloc(n);
  memory.copy(copy, p, n);
  let e = entries + <usize>id * ENTRY;
  store<u32>(e, <u32>copy);
  store<u32>(e, <u32>n, 4);
  store<u32>(e, h, 8);
  place(h, id);
  count++;
  return id;
}

/**
 * The id of the label value held in [p, p+n): truncated to MAX_VALUE_BYTES on a character
 * boundary, and with invalid UTF-8 replaced by U+FFFD on first sight so that every exposed
 * value is valid and two spellings of one replaced value share an id.
 */
export function intern(p: usize, n: usize): u32 {
  n = clampToBoundary(p, n, MAX_VALUE_BYTES);
  if (n == 0) return 0;
  let h = hashBytes(p, n);
  let id = find(p, n, h);
  if (id != 0) return id;
  if (!isValidUtf8(p, n)) {
    let m = sanitizeUtf8(p, n, SANITIZED, MAX_VALUE_BYTES);
    let hs = hashBytes(SANITIZED, m);
    id = find(SANITIZED, m, hs);
    return id != 0 ? id : insert(SANITIZED, m, hs);
  }
  return insert(p, n, h);
}
