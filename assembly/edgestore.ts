// The service-graph edge store: half-seen edges waiting for their other side, keyed by
// (trace id, span id) in flat memory. Entries live in an open-addressing index and sit on a
// doubly-linked list in creation order, which is also expiry order since every entry waits the
// same time. The entries start at INITIAL_ENTRIES and double when all are in use, never beyond
// max_items; a freed entry goes to a free list. The index (8 bytes per slot) starts at
// INDEX_SLOTS and doubles whenever the entries in use pass a quarter of its slots, up to 2 slots
// per item of max_items: kept that sparse, its probe runs stay short (at 2 slots per entry in use
// they were longer: callgrind, bench workload, ~1,000 entries waiting, +16 instructions/span);
// sized for max_items from the start, its probes missed the cache (256 KiB at max_items 10,000).
// Entries and links are named by index + 1, so growing moves nothing a caller holds across an
// insert: an entry's address is valid until the next insert.
import { hashEdgeKey } from './hash';
import { newIndex, placeRef, removeRefInline } from './hashindex';

export const KEY_BYTES: usize = 24; // trace id (16) + span id (8); absent ids are zeros

// Entry layout.
export const E_KEY: usize = 0;
export const E_PREV: usize = 24; // u32 entry index + 1, 0 = none
export const E_NEXT: usize = 28;
export const E_FLAGS: usize = 32; // u32, F_* bits
export const E_CONNECTION: usize = 36; // u32 connection type
export const E_EXPIRES: usize = 40; // f64 ms
export const E_CLIENT_LATENCY: usize = 48; // f64 s
export const E_SERVER_LATENCY: usize = 56; // f64 s
export const E_CLIENT_END: usize = 64; // u64 ns
export const E_SERVER_START: usize = 72; // u64 ns
export const E_CLIENT: usize = 80; // u32 interned service
export const E_SERVER: usize = 84;
export const E_PEER: usize = 88; // u32 interned peer-attribute value, 0 = none
export const E_MULTIPLIER: usize = 96; // f64
export const E_DIMENSIONS: usize = 104; // u32 per dimension label

// stage() writes the fields above word by word, in this order.
assert(E_PREV == KEY_BYTES && E_FLAGS == E_PREV + 8 && E_EXPIRES == E_FLAGS + 8 && E_CLIENT == E_SERVER_START + 8
  && E_PEER == E_CLIENT + 8 && E_MULTIPLIER == E_PEER + 8 && E_DIMENSIONS == E_MULTIPLIER + 8);

/** Where an entry's fields start after its key and list links: what a staged entry hands over. */
export const E_FIELDS: usize = E_FLAGS;

/**
 * Stores interned id `id` at `offset` of entry `e`. Entries hold no references (no retain or
 * release per span): strings are only freed by sweepStrings, between requests, and sweep() holds
 * the ids of the entries waiting then for its duration (servicegraphs.ts holdWaitingIds).
 */
// @ts-ignore: decorator
@inline export function setId(e: usize, offset: usize, id: u32): void {
  store<u32>(e + offset, id);
}

export const F_CLIENT_SEEN: u32 = 1;
export const F_SERVER_SEEN: u32 = 2;
export const F_ROOT: u32 = 4; // the server side had no parent span id
export const F_FAILED: u32 = 8;
export const F_FILTERED_CLIENT: u32 = 16; // the client side was filtered out (filter policies)
export const F_FILTERED_SERVER: u32 = 32;
export const F_PARENT_SEEN: u32 = 64; // the server side's parent span came, and is not a client or producer
export const F_SAMPLED: u32 = 128; // the waiting span's tracestate carries a sampling threshold (probability < 1)
export const F_CHILD: u32 = 256; // infer_edges: E_SERVER holds a child span's service that is not a server span
export const F_CHILD_FAILED: u32 = 512; // that child had status ERROR

/** Entries allocated at start (or max_items when smaller). */
const INITIAL_ENTRIES: u32 = 256;
/** Index slots at start (or fewer when 2 per item of max_items take fewer): 64 KiB, a run of whole allocator pages, reused when the index grows. */
const INDEX_SLOTS: u32 = 8192;

let entries: usize = 0;
/**
 * The entry stage() filled last, before deciding whether its span needs to wait at all; not in
 * the store (`e == staged` says so) until insertStaged(). It is the place the next insert takes
 * (the free list's head, else the next fresh entry), so that inserting copies nothing (callgrind:
 * -4 instructions per span in (b), -9 in (b7)); or `spare` when that place needs the entries
 * grown, left to the insert. Nothing is inserted or freed between a stage() and its insertStaged().
 */
export let staged: usize = 0;
/** One entry outside the store, for stage() when the next insert has to grow the entries first. */
let spare: usize = 0;
let stride: usize = 0;
// ceil(2^32 / stride): an entry's offset (a multiple of the stride, under 2^32) times it, >> 32,
// is its index exactly (offset k * stride: k * 2^32 + k * r, r = the rounding, under the stride,
// so k * r under the offset): remove() multiplies rather than divides.
let strideInverse: u64 = 0;
let capacity: u32 = 0; // entries allocated
let limit: u32 = 0; // max_items
let fresh: u32 = 0; // entries never used so far, taken in order once the free list is empty
let freeHead: u32 = 0; // entry index + 1
export let size: u32 = 0;
let head: u32 = 0; // oldest, entry index + 1
let tail: u32 = 0;

// Index of (hash, entry index + 1): see hashindex.ts.
let index: usize = 0;
let indexMask: u32 = 0;
let indexLimit: u32 = 0; // slots at most: 2 per item of max_items, rounded up to a power of two
let growIndexAt: u32 = 0; // the size at which the index doubles (over a quarter full), or never at its limit

export function initEdgeStore(maxItems: u32, dimensionWords: i32): void {
  stride = (E_DIMENSIONS + <usize>dimensionWords * 4 + 7) & ~7;
  strideInverse = (<u64>0x100000000 + <u64>stride - 1) / <u64>stride;
  limit = maxItems;
  capacity = maxItems < INITIAL_ENTRIES ? maxItems : INITIAL_ENTRIES;
  entries = heap.alloc((capacity > 0 ? <usize>capacity : 1) * stride);
  spare = heap.alloc(stride);
  staged = spare;
  fresh = 0;
  freeHead = 0;
  let slots: u32 = 16;
  while (slots < limit * 2) slots <<= 1;
  indexLimit = slots;
  if (slots > INDEX_SLOTS) slots = INDEX_SLOTS;
  indexMask = slots - 1;
  index = newIndex(slots);
  growIndexAt = slots < indexLimit ? (slots >>> 2) + 1 : u32.MAX_VALUE;
}

/** Doubles the index (its size reached growIndexAt): every ref placed again by the hash its slot holds. */
function growIndex(): void {
  let old = index;
  let oldSlots = indexMask + 1;
  let slots = oldSlots << 1;
  let mask = slots - 1;
  index = newIndex(slots);
  indexMask = mask;
  for (let i: u32 = 0; i < oldSlots; i++) {
    let slot = old + (<usize>i << 3);
    let ref = load<u32>(slot, 4);
    if (ref != 0) placeRef(index, mask, load<u32>(slot), ref);
  }
  heap.free(old);
  growIndexAt = slots < indexLimit ? (slots >>> 2) + 1 : u32.MAX_VALUE;
}

/** Doubles the entries, up to max_items; false at max_items. */
function grow(): bool {
  if (capacity >= limit) return false;
  let n = capacity <= limit >>> 1 ? capacity << 1 : limit;
  entries = heap.realloc(entries, <usize>n * stride);
  capacity = n;
  return true;
}

// @ts-ignore: decorator
@inline export function entryAt(i: u32): usize {
  return entries + <usize>i * stride;
}

export function entryStride(): usize {
  return stride;
}

// Keys, entries and the staged entry are 8-byte words: copied and compared word by word here, as
// memory.copy, memory.fill and memory.compare are calls out of the module, costly at this size.

// @ts-ignore: decorator
@inline function sameKey(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a, 8) == load<u64>(b, 8) && load<u64>(a, 16) == load<u64>(b, 16);
}

/** The live entry for the key at `key`, or 0. */
export function find(key: usize, h: u32): usize {
  let i = h & indexMask;
  // The usual answer, an empty home slot, before the loop: V8 checks the stack on entering one.
  if (load<u32>(index + (<usize>i << 3), 4) == 0) return 0;
  while (true) {
    let slot = index + (<usize>i << 3);
    let ref = load<u32>(slot, 4);
    if (ref == 0) return 0;
    if (load<u32>(slot) == h) {
      let e = entryAt(ref - 1);
      if (sameKey(e, key)) return e;
    }
    i = (i + 1) & indexMask;
  }
}

export function keyHash(key: usize): u32 {
  return hashEdgeKey(key); // KEY_BYTES (24) bytes
}

/** Fills the staged entry (`staged`) for a new key, expiring at `expires`; `dimensions` false: the entries have none (dimWords 0). */
// Inline: left to Binaryen, it became a call once it picked its place (callgrind, (b): +12 instructions per span).
// @ts-ignore: decorator
@inline export function stage(key: usize, expires: f64, dimensions: bool = true): usize {
  let s = freeHead != 0 ? entryAt(freeHead - 1) : fresh < capacity ? entryAt(fresh) : spare;
  staged = s;
  // Straight-line up to the dimensions (a loop over the whole entry reloaded `staged` and
  // `stride` per word: callgrind, ~30 instructions per span). The list links are left alone: a
  // free entry's E_NEXT is the free list, which the insert reads (and sets the links).
  store<u64>(s, load<u64>(key));
  store<u64>(s, load<u64>(key, 8), 8);
  store<u64>(s, load<u64>(key, 16), 16);
  store<u64>(s, 0, E_FLAGS); // and E_CONNECTION
  store<f64>(s, expires, E_EXPIRES);
  store<u64>(s, 0, E_CLIENT_LATENCY);
  store<u64>(s, 0, E_SERVER_LATENCY);
  store<u64>(s, 0, E_CLIENT_END);
  store<u64>(s, 0, E_SERVER_START);
  store<u64>(s, 0, E_CLIENT); // and E_SERVER
  store<u64>(s, 0, E_PEER); // and its pad
  store<f64>(s, 1, E_MULTIPLIER);
  if (dimensions) {
    let end = s + stride;
    for (let p = s + E_DIMENSIONS; p < end; p += 8) store<u64>(p, 0);
  }
  return s;
}

/** Puts the staged entry into the store; 0 when the store is full (max_items entries). */
// @ts-ignore: decorator
@inline export function insertStaged(h: u32): usize {
  let e = staged;
  staged = spare; // in the store now (or dropped): no longer `staged`
  let ref = freeHead;
  if (ref != 0) {
    freeHead = load<u32>(e, E_NEXT); // e is the free list's head: stage() took it
  } else {
    if (e == spare) { // the entries grow first (rare: a few times in all, or the store full)
      if (fresh == capacity && !grow()) return 0;
      e = entryAt(fresh);
      for (let i: usize = 0; i < stride; i += 8) store<u64>(e + i, load<u64>(spare + i));
    }
    ref = ++fresh; // e is entry `fresh`: stage() took it, or the copy's place
  }
  // Append to the expiry list.
  store<u32>(e, tail, E_PREV);
  store<u32>(e, 0, E_NEXT);
  if (tail != 0) store<u32>(entryAt(tail - 1), ref, E_NEXT);
  else head = ref;
  tail = ref;
  placeRef(index, indexMask, h, ref);
  if (++size >= growIndexAt) growIndex();
  return e;
}

/** Frees entry `e` (found under hash `h`): off the list, out of the index, onto the free list. */
// @ts-ignore: decorator
@inline export function remove(e: usize, h: u32): void {
  let ref = <u32>((<u64>(e - entries) * strideInverse) >>> 32) + 1;
  let prev = load<u32>(e, E_PREV);
  let next = load<u32>(e, E_NEXT);
  if (prev != 0) store<u32>(entryAt(prev - 1), next, E_NEXT);
  else head = next;
  if (next != 0) store<u32>(entryAt(next - 1), prev, E_PREV);
  else tail = prev;
  removeRefInline(index, indexMask, h, ref);
  store<u32>(e, freeHead, E_NEXT);
  freeHead = ref;
  size--;
}

/** The oldest entry, or 0. */
export function oldest(): usize {
  return head != 0 ? entryAt(head - 1) : 0;
}

/** The entry inserted after entry `e`, or 0. */
export function newer(e: usize): usize {
  let next = load<u32>(e, E_NEXT);
  return next != 0 ? entryAt(next - 1) : 0;
}
