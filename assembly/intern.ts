// Interning of UTF-8 byte ranges: each distinct label value is stored once and named by a
// u32 id. Id 0 is the empty string, which Prometheus treats as an absent label.
//
// Series hold references (retain/release); strings nobody holds are freed by sweepStrings(),
// which runs between requests, so an id used while a request is aggregated never goes away under
// it (the service-graph edge store's waiting entries are held only around it: index.ts sweep). With the series limit reached, new strings are not
// stored at all (readOnly): intern() answers MISSING and the span folds into the overflow series.
import { hashBytes, quickHash, setHashKey } from './hash';
import { clampToBoundary, isValidUtf8, sanitizeUtf8 } from './utf8';
import { newTagged, placeTagged, growTagged, removeTagged } from './hashindex';
import { bytesEqual, sameBytes } from './bytes';
import { storeBytes, freeBytes } from './stringbytes';
import { STRING_PTR, STRING_LEN, STRING_REFS, STRING_FREE_NEXT, STRING_ENTRY_SIZE } from './layout';

/** Longest label value kept, in bytes (Tempo truncates values at 2048). */
export const MAX_VALUE_BYTES: usize = 2048;
/** The id intern() answers in read-only mode for a string it does not hold. */
export const MISSING: u32 = 0xffffffff;

// Entry per id (the host reads it: layout.ts), 8 bytes: ptr u32, len u16, references u16. A free
// entry has ptr 0 and its len and references hold the next free id (STRING_FREE_NEXT). References
// stop at REFS_STICKY: a value held by that many series (a service name, say) is then kept for
// the instance's life rather than counted further. The hash is not kept (4 bytes an id): the
// index's growth and removal hash the bytes again, and the cardinality sketches, which need it
// per span, have it in an array of their own (stringHashes).
const ENTRY: usize = STRING_ENTRY_SIZE;
const REFS_STICKY: u16 = 0xffff;

let entries: usize = 0;
let entryCap: u32 = 0;
let nextId: u32 = 1;
let freeIds: u32 = 0;
/** Bumped whenever ids are freed, so the host knows its decoded strings may be stale. */
export let freeEpoch: u32 = 0;
export let readOnly: bool = false;
export let stringBytes: usize = 0;

// Index of ids, tagged with their hash's bits above the mask (hashindex.ts): four bytes a slot.
let index: usize = 0;
let indexMask: u32 = 0;
let count: u32 = 0;

const SANITIZED: usize = memory.data(<i32>MAX_VALUE_BYTES + 4);

// In front of the index, a direct-mapped cache: the slot of quickHash(bytes) holds the id last
// interned there. A hit (that id's bytes are these) skips SipHash and the index, so repeated
// names cost what they did with the unkeyed hash; chosen names can only make it miss.
const CACHE_SLOTS: u32 = 4096;
const CACHE: usize = memory.data(<i32>CACHE_SLOTS * 4);

export function initIntern(): void {
  entryCap = 1024;
  entries = heap.alloc(<usize>entryCap * ENTRY);
  memory.fill(entries, 0, <usize>entryCap * ENTRY);
  indexMask = 2047;
  index = newTagged(indexMask + 1);
}

export function setReadOnly(on: bool): void {
  readOnly = on;
}

export function stringEntries(): usize {
  return entries;
}

export function stringCount(): u32 {
  return count;
}

// @ts-ignore: decorator
@inline function entryOf(id: u32): usize {
  return entries + <usize>id * ENTRY;
}

/** Where the bytes of string `id` are, and how many (id 0: none). */
export function stringPtr(id: u32): usize {
  return <usize>load<u32>(entryOf(id), STRING_PTR);
}
export function stringLen(id: u32): usize {
  return <usize>load<u16>(entryOf(id), STRING_LEN);
}

export function retain(id: u32): void {
  if (id != 0 && id != MISSING) {
    let e = entryOf(id);
    let refs = load<u16>(e, STRING_REFS);
    if (refs != REFS_STICKY) store<u16>(e, refs + 1, STRING_REFS);
  }
}

export function release(id: u32): void {
  if (id != 0 && id != MISSING) {
    let e = entryOf(id);
    let refs = load<u16>(e, STRING_REFS);
    if (refs != REFS_STICKY) store<u16>(e, refs - 1, STRING_REFS);
  }
}

/** Index slots looked at by lookups so far (the host reads it: a flood shows as probes per lookup). */
export let probes: u64 = 0;
/** Lookups so far (intern() calls that reached the index: the cache did not have the value). */
export let lookups: u64 = 0;

function find(p: usize, n: usize, h: u32): u32 {
  let mask = indexMask;
  let tag = h & ~mask;
  let i = h & mask;
  lookups++;
  while (true) {
    probes++;
    let s = load<u32>(index + (<usize>i << 2));
    if (s == 0) return 0;
    if ((s & ~mask) == tag) {
      let e = entryOf(s & mask);
      if (<usize>load<u16>(e, STRING_LEN) == n && bytesEqual(<usize>load<u32>(e, STRING_PTR), p, n)) return s & mask;
    }
    i = (i + 1) & mask;
  }
}

/** The hash of string `id`'s bytes (what the index placed it by). */
function hashOf(id: u32): u32 {
  let e = entryOf(id);
  return hashBytes(<usize>load<u32>(e, STRING_PTR), <usize>load<u16>(e, STRING_LEN));
}

// The hash of every id (u32 each, 0 for a free one), kept only once keepStringHashes() asked.
let hashes: usize = 0;

/** From now on, keeps the hash of every string in an array (stringHashes()); fills it for those held. */
export function keepStringHashes(): void {
  if (hashes != 0) return;
  hashes = heap.alloc(<usize>entryCap << 2);
  memory.fill(hashes, 0, <usize>entryCap << 2);
  for (let id: u32 = 1; id < nextId; id++) {
    if (load<u32>(entryOf(id), STRING_PTR) != 0) store<u32>(hashes + (<usize>id << 2), hashOf(id));
  }
}

/** The array of hashes by id (u32 each) after keepStringHashes(); it moves when ids grow. */
export function stringHashes(): usize {
  return hashes;
}

/** Doubles the index (its slots must stay above the ids: `id` is the next one placed). */
function growIndex(id: u32): void {
  let slots = (indexMask + 1) << 1;
  while (id >= slots) slots <<= 1;
  index = growTagged(index, indexMask, indexMask, slots, slots - 1, hashOf);
  indexMask = slots - 1;
}

/** Ids a 64 KiB page of entries holds. */
const PAGE_IDS: u32 = <u32>(65536 / ENTRY);

/**
 * More entries (and hashes): doubled up to a page of them, then grown by an eighth, in whole
 * pages (the runtime hands out page runs: runtime.ts), so that at most an eighth of them wait
 * unused, not up to half as with doubling; a growth that cannot extend in place copies eight
 * times the entries it adds.
 */
function growEntries(): void {
  let cap = entryCap < PAGE_IDS ? entryCap << 1 : entryCap + ((entryCap >> 3) + PAGE_IDS - 1) / PAGE_IDS * PAGE_IDS;
  let added = <usize>(cap - entryCap);
  entries = heap.realloc(entries, <usize>cap * ENTRY);
  memory.fill(entries + <usize>entryCap * ENTRY, 0, added * ENTRY);
  if (hashes != 0) {
    hashes = heap.realloc(hashes, <usize>cap << 2);
    memory.fill(hashes + (<usize>entryCap << 2), 0, added << 2);
  }
  entryCap = cap;
}

function insert(p: usize, n: usize, h: u32): u32 {
  if (readOnly) return MISSING;
  let id: u32;
  if (freeIds != 0) {
    id = freeIds;
    freeIds = load<u32>(entryOf(id), STRING_FREE_NEXT);
  } else {
    if (nextId >= entryCap) growEntries();
    id = nextId++;
  }
  if ((count + 1) * 8 > (indexMask + 1) * 7 || id > indexMask) growIndex(id);
  let copy = storeBytes(p, n);
  let e = entryOf(id);
  store<u32>(e, <u32>copy, STRING_PTR);
  store<u16>(e, <u16>n, STRING_LEN);
  store<u16>(e, 0, STRING_REFS);
  if (hashes != 0) store<u32>(hashes + (<usize>id << 2), h);
  placeTagged(index, indexMask, h, id, indexMask);
  count++;
  stringBytes += n;
  return id;
}

/**
 * The id of the label value held in [p, p+n): truncated to MAX_VALUE_BYTES on a character
 * boundary, and with invalid UTF-8 replaced by U+FFFD on first sight so that every exposed
 * value is valid and two spellings of one replaced value share an id.
 */
export function intern(p: usize, n: usize): u32 {
  return internInline(p, n);
}

/** intern inline, for a loop that interns once per span (span metrics' span names). */
// @ts-ignore: decorator
@inline export function internInline(p: usize, n: usize): u32 {
  if (n > MAX_VALUE_BYTES) n = clampToBoundary(p, n, MAX_VALUE_BYTES);
  if (n == 0) return 0;
  let slot = CACHE + (<usize>(quickHash(p, n) & (CACHE_SLOTS - 1)) << 2);
  let cached = load<u32>(slot);
  if (cached != 0) {
    // A freed id has ptr 0 (its hash field then links the free list); a reused one other bytes.
    let e = entryOf(cached);
    let q = <usize>load<u32>(e, STRING_PTR);
    // (nested tests, not a chain of &&: V8 made a 0/1 value of each compare and tested it)
    if (q != 0) {
      if (<usize>load<u16>(e, STRING_LEN) == n) {
        if (sameBytes(q, p, n)) return cached;
      }
    }
  }
  return internMiss(p, n, slot);
}

/** intern past its cache: the index, and a new entry when the value is new. */
function internMiss(p: usize, n: usize, slot: usize): u32 {
  let h = hashBytes(p, n);
  let id = find(p, n, h);
  if (id == 0) {
    if (!isValidUtf8(p, n)) {
      let m = sanitizeUtf8(p, n, SANITIZED, MAX_VALUE_BYTES);
      let hs = hashBytes(SANITIZED, m);
      id = find(SANITIZED, m, hs);
      return id != 0 ? id : insert(SANITIZED, m, hs);
    }
    id = insert(p, n, h);
    if (id == MISSING) return id;
  }
  store<u32>(slot, id);
  return id;
}

/**
 * Sets the hash key (hash.ts) and re-hashes the strings already held, so it may be called after
 * set-up interned some; the series tables and the edge store must still be empty.
 */
export function rekey(k0: u64, k1: u64): void {
  setHashKey(k0, k1);
  memory.fill(index, 0, (<usize>indexMask + 1) << 2);
  for (let id: u32 = 1; id < nextId; id++) {
    let e = entryOf(id);
    let p = <usize>load<u32>(e, STRING_PTR);
    if (p == 0) continue;
    let h = hashBytes(p, <usize>load<u16>(e, STRING_LEN));
    if (hashes != 0) store<u32>(hashes + (<usize>id << 2), h);
    placeTagged(index, indexMask, h, id, indexMask);
  }
}

/** Frees every string no series or edge entry holds; returns how many. */
export function sweepStrings(): u32 {
  let freed: u32 = 0;
  for (let id: u32 = 1; id < nextId; id++) {
    let e = entryOf(id);
    let p = <usize>load<u32>(e, STRING_PTR);
    if (p == 0 || load<u16>(e, STRING_REFS) != 0) continue;
    removeTagged(index, indexMask, hashOf(id), id, indexMask, hashOf);
    let n = <usize>load<u16>(e, STRING_LEN);
    stringBytes -= n;
    freeBytes(p, n);
    store<u32>(e, 0, STRING_PTR);
    store<u32>(e, freeIds, STRING_FREE_NEXT);
    if (hashes != 0) store<u32>(hashes + (<usize>id << 2), 0);
    freeIds = id;
    count--;
    freed++;
  }
  if (freed != 0) freeEpoch++;
  return freed;
}
