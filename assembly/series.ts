// A series table: records keyed by a tuple of u32 words (mostly interned label ids), each
// followed by f64 values, which the host reads directly when rendering. The records live in
// chunks of one 64 KiB page each (a record larger than a page: a chunk of its own), so the
// table grows a chunk at a time without copying or leaving old records behind; a chunk
// starts with its number (u32, CHUNK_HEADER bytes), then CHUNK_RECORDS records of `stride`
// bytes. The directory (u32 chunk addresses, the host reads it) is the only part that moves.
// An open-addressing index (hashindex.ts, tagged: four bytes a slot, the record's address / 8 and
// 3 bits of its hash) finds a record touching 1 in 8 of the other records its probe passes; it
// doubles when over 7/8 full (hashing the keys again: the slots do not keep whole hashes). At
// 100,000 series it is 512 KiB, not 1 MiB with 8-byte (hash, address) slots.
// Record layout (little endian), `stride` bytes: the header (RECORD_UPDATED, and RECORD_STATE: the
// flags in its low bits, the generation above them; layout.ts), the key words from RECORD_KEY,
// padding to 8 bytes, then the values, f64 each. The key's hash is not kept (removal and growth
// hash the key again): with 4 key words (span metrics without dimensions) header and key fill 24
// bytes.
//
// A record is named by its index in the table (the host's "slot" of a series): chunk number
// times records per chunk plus its place in the chunk; it never moves.
//
// Cardinality control lives here too: every table draws on one budget of active series,
// counted as Prometheus counts them (a record costs `cost` series). Past the budget a new key
// folds into the table's overflow record (exposed as metric_overflow="true"), kept outside
// the index and paid for in advance, so the budget is never exceeded. A table of cost 0 (the
// SLOs', whose records the config fixes) is outside the budget.
import { hashWords, wordsStart, wordsStep, wordsFinish } from './hash';
import { newTagged, placeTagged, growTagged, removeTagged } from './hashindex';
import { retain, release, MISSING } from './intern';
import { clearWorst } from './worst';
import {
  RECORD_UPDATED, RECORD_STATE, RECORD_KEY, RECORD_LIVE, RECORD_OVERFLOW, RECORD_FLAG_MASK,
  RECORD_GENERATION_SHIFT, CHUNK_BYTES, CHUNK_HEADER,
} from './layout';

@unmanaged
export class SeriesTable {
  keyWords: i32 = 0;
  valueCount: i32 = 0;
  stride: usize = 0;
  valuesOffset: usize = 0;
  chunks: usize = 0; // directory: u32 address per chunk
  chunkCount: u32 = 0;
  chunkCap: u32 = 0;
  perChunk: u32 = 0; // records per chunk
  chunkBytes: usize = 0;
  capacity: u32 = 0; // chunkCount * perChunk
  used: u32 = 0; // records handed out so far (the host iterates [0, used) and skips dead ones)
  index: usize = 0;
  indexMask: u32 = 0;
  indexed: u32 = 0; // refs in the index
  nonIds: u32 = 0; // bit k: key word k is not an interned id (words 32 and up always are)
  cost: u32 = 0;
  freeRecords: u32 = 0; // index + 1 of the first free record
  overflow: u32 = 0; // index + 1 of the overflow record, 0 until needed
  strideMagic: u64 = 0; // ceil(2^32 / stride): recordIndexOf divides by multiplying
}

/** Active-series budget, 0 = unlimited. */
export let maxActive: u32 = 0;
/** Active series now, as Prometheus counts them, overflow records excluded. */
export let activeSeries: u32 = 0;
/** Series cost of every table's overflow record, set aside from the budget. */
let reserved: u32 = 0;
/** The largest cost of one record in any table. */
let largestCost: u32 = 0;
/** New label sets folded into an overflow record, and records removed as stale, so far. */
export let limitedTotal: f64 = 0;
export let removedTotal: f64 = 0;

export function setMaxActive(n: u32): void {
  maxActive = n;
}

/** Whether even the costliest new record would be refused now. */
export function budgetExhausted(): bool {
  return maxActive != 0 && activeSeries + largestCost + reserved > maxActive;
}

export function newSeriesTable(keyWords: i32, valueCount: i32, nonIds: u32, cost: u32): SeriesTable {
  let t = changetype<SeriesTable>(heap.alloc(offsetof<SeriesTable>()));
  t.keyWords = keyWords;
  t.valueCount = valueCount;
  t.valuesOffset = (RECORD_KEY + <usize>keyWords * 4 + 7) & ~7;
  t.stride = t.valuesOffset + <usize>valueCount * 8;
  t.strideMagic = ((<u64>1 << 32) + <u64>t.stride - 1) / <u64>t.stride;
  let room = CHUNK_BYTES - CHUNK_HEADER;
  t.perChunk = t.stride <= room ? <u32>(room / t.stride) : 1;
  t.chunkBytes = CHUNK_HEADER + <usize>t.perChunk * t.stride;
  t.chunkCap = 8;
  t.chunks = heap.alloc(<usize>t.chunkCap << 2);
  t.chunkCount = 0;
  t.capacity = 0;
  t.used = 0;
  t.indexMask = 511;
  t.index = newTagged(t.indexMask + 1);
  t.indexed = 0;
  t.nonIds = nonIds;
  t.cost = cost;
  t.freeRecords = 0;
  t.overflow = 0;
  reserved += cost;
  if (cost > largestCost) largestCost = cost;
  return t;
}

/** The address of record `index` (below `used`) of table `t`. */
// @ts-ignore: decorator
@inline export function recordAt(t: SeriesTable, index: u32): usize {
  let chunk = <usize>load<u32>(t.chunks + (<usize>(index / t.perChunk) << 2));
  return chunk + CHUNK_HEADER + <usize>(index % t.perChunk) * t.stride;
}

/** One more chunk of zeroed records. */
function grow(t: SeriesTable): void {
  if (t.chunkCount == t.chunkCap) {
    t.chunkCap <<= 1;
    t.chunks = heap.realloc(t.chunks, <usize>t.chunkCap << 2);
  }
  // Over 32 KiB, heap.alloc answers whole pages, page-aligned (runtime.ts): CHUNK_BYTES-aligned.
  let chunk = heap.alloc(max<usize>(t.chunkBytes, CHUNK_BYTES));
  memory.fill(chunk, 0, t.chunkBytes);
  store<u32>(chunk, t.chunkCount);
  store<u32>(t.chunks + (<usize>t.chunkCount << 2), <u32>chunk);
  t.chunkCount++;
  t.capacity += t.perChunk;
}

/** What a record's index slot holds besides its tag: its address / 8 (records are 8-aligned in 4 GiB). */
const REF_MASK: u32 = 0x1fffffff;

/** The table whose keys keyHashOf hashes (growTagged and removeTagged ask for the hash of a ref). */
let hashing: SeriesTable = changetype<SeriesTable>(0);

function keyHashOf(ref: u32): u32 {
  return hashWords((<usize>ref << 3) + RECORD_KEY, hashing.keyWords);
}

/** Places the ref of record `r` (hash `h`), doubling the index (the keys hashed again) when over 7/8 full. */
function indexRecord(t: SeriesTable, h: u32, r: usize): void {
  if ((t.indexed + 1) * 8 > (t.indexMask + 1) * 7) {
    let slots = (t.indexMask + 1) << 1;
    hashing = t;
    t.index = growTagged(t.index, t.indexMask, REF_MASK, slots, REF_MASK, keyHashOf);
    t.indexMask = slots - 1;
  }
  placeTagged(t.index, t.indexMask, h, <u32>(r >>> 3), REF_MASK);
  t.indexed++;
}

/** A fresh record (reused or new) with zeroed values and a new generation. */
function allocate(t: SeriesTable, flags: u32, now: u32): usize {
  let index: u32;
  if (t.freeRecords != 0) {
    index = t.freeRecords - 1;
    t.freeRecords = load<u32>(recordAt(t, index), RECORD_KEY);
  } else {
    if (t.used == t.capacity) grow(t);
    index = t.used++;
  }
  let r = recordAt(t, index);
  // The next generation (wrapping at 30 bits) above the new flags.
  let state = ((load<u32>(r, RECORD_STATE) & ~RECORD_FLAG_MASK) + (1 << RECORD_GENERATION_SHIFT)) | flags;
  memory.fill(r, 0, t.stride);
  store<u32>(r, now, RECORD_UPDATED);
  store<u32>(r, state, RECORD_STATE);
  return r;
}

function overflowRecord(t: SeriesTable, now: u32): usize {
  if (t.overflow == 0) {
    let r = allocate(t, RECORD_LIVE | RECORD_OVERFLOW, now);
    t.overflow = recordIndexOf(t, r) + 1;
    return r;
  }
  let r = recordAt(t, t.overflow - 1);
  store<u32>(r, now, RECORD_UPDATED);
  return r;
}

// @ts-ignore: decorator
@inline function isId(t: SeriesTable, word: i32): bool {
  return word >= 32 || (t.nonIds & (1 << word)) == 0;
}

/**
 * The record for the key held in `key` (keyWords u32s), created with zeroed values when new,
 * or the overflow record when the budget is spent or a label value could not be interned.
 * The address stays valid until the next call that creates a record.
 */
export function upsert(t: SeriesTable, key: usize, now: u32): usize {
  let n = t.keyWords;
  // One pass: the key's hash, and whether a label value could not be interned.
  let hw = wordsStart(n);
  let missing = false;
  for (let w = 0; w < n; w++) {
    let word = load<u32>(key + (<usize>w << 2));
    hw = wordsStep(hw, word);
    if (word == MISSING) {
      if (isId(t, w)) missing = true;
    }
  }
  if (missing) {
    limitedTotal += 1;
    return overflowRecord(t, now);
  }
  let h = wordsFinish(hw);
  let found = lookup(t, key, h, now);
  if (found != 0) return found;
  return create(t, key, h, now);
}

/** upsert's new key (hash `h`): a new record, or the overflow record when the budget is spent. */
function create(t: SeriesTable, key: usize, h: u32, now: u32): usize {
  if (t.cost != 0 && maxActive != 0 && activeSeries + t.cost + reserved > maxActive) {
    limitedTotal += 1;
    return overflowRecord(t, now);
  }
  let n = t.keyWords;
  let r = allocate(t, RECORD_LIVE, now);
  memory.copy(r + RECORD_KEY, key, <usize>n << 2);
  for (let w = 0; w < n; w++) if (isId(t, w)) retain(load<u32>(r + RECORD_KEY + (<usize>w << 2)));
  indexRecord(t, h, r);
  activeSeries += t.cost;
  return r;
}

/** Record `r`'s flags (RECORD_LIVE, RECORD_OVERFLOW; 0: a free record). */
// @ts-ignore: decorator
@inline export function flagsOf(r: usize): u32 {
  return load<u32>(r, RECORD_STATE) & RECORD_FLAG_MASK;
}

/** Whether record `r` holds a series and is not the overflow record (what memos may remember). */
// @ts-ignore: decorator
@inline export function isPlainLive(r: usize): bool {
  return (load<u32>(r, RECORD_STATE) & RECORD_FLAG_MASK) == RECORD_LIVE;
}

/** The record for the key held in `key` if it has one (its update time set to `now`), else 0; creates nothing. */
export function findRecord(t: SeriesTable, key: usize, now: u32): usize {
  return lookup(t, key, hashWords(key, t.keyWords), now);
}

/** Whether the `bytes` (a multiple of 4) at `a` and `b` are equal: inline, eight bytes at a time. */
// @ts-ignore: decorator
@inline function keysEqual(a: usize, b: usize, bytes: usize, from: usize = 0): bool {
  let i = from;
  for (; i + 8 <= bytes; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  return i == bytes || load<u32>(a + i) == load<u32>(b + i);
}

// @ts-ignore: decorator
@inline function lookup(t: SeriesTable, key: usize, h: u32, now: u32): usize {
  let keyBytes = <usize>t.keyWords << 2;
  let i = h & t.indexMask;
  while (true) {
    let s = load<u32>(t.index + (<usize>i << 2));
    if (s == 0) return 0;
    // The tag: the hash's bits above REF_MASK.
    if (((s ^ h) & ~REF_MASK) == 0) {
      let r = <usize>(s << 3);
      // Not memory.compare: byte by byte unless both keys sit at one offset modulo 8 (bytes.ts);
      // not bytesEqual either: the call costs more than these few words compared inline.
      if (keysEqual(r + RECORD_KEY, key, keyBytes)) {
        store<u32>(r, now, RECORD_UPDATED);
        return r;
      }
    }
    i = (i + 1) & t.indexMask;
  }
}

/**
 * upsert behind a memo slot (a u32 record address, 0: none) that a caller picks by a cheap hash of
 * the key: the remembered record answers when it is live (not free, not the overflow record) and
 * holds the key, skipping the key's hash and the index. Records never move, and a removed or
 * reused one fails one of these checks, so a slot needs no clearing; it only misses. Keys of at
 * least 4 words (16 bytes: span metrics' intrinsics; an edge's client, server, connection type and
 * virtual node), the first 4 compared without a loop. The memo of both span metrics and service
 * graphs (servicegraphs.ts complete).
 */
// @ts-ignore: decorator
@inline export function upsertVia(t: SeriesTable, slot: usize, key: usize, keyBytes: usize, now: u32): usize {
  let r = <usize>load<u32>(slot);
  if (r != 0) {
    // (keyBytes == 16 on its own branch: an || of the two made V8 materialise a 0/1 value)
    if (memoHolds(r, load<u64>(key), load<u64>(key, 8))) {
      if (keyBytes == 16) {
        store<u32>(r, now, RECORD_UPDATED);
        return r;
      }
      if (keysEqual(r + RECORD_KEY, key, keyBytes, 16)) {
        store<u32>(r, now, RECORD_UPDATED);
        return r;
      }
    }
  }
  r = upsert(t, key, now);
  if (isPlainLive(r)) store<u32>(slot, <u32>r);
  return r;
}

/**
 * Whether memo record `r` (non-zero) is live (not free, not the overflow record) and its key's
 * first 16 bytes are `k0`, `k1`: the flags and the words as one difference, one branch (a chain
 * of && made V8 test a 0/1 value per compare).
 */
// @ts-ignore: decorator
@inline function memoHolds(r: usize, k0: u64, k1: u64): bool {
  let a = r + RECORD_KEY;
  return (<u64>((load<u32>(r, RECORD_STATE) & RECORD_FLAG_MASK) ^ RECORD_LIVE) | (load<u64>(a) ^ k0) | (load<u64>(a, 8) ^ k1)) == 0;
}

/**
 * upsertVia for a key of 16 bytes held as two words (`k0` its bytes 0-7, `k1` 8-15): written to
 * `key` only when the memo misses (a hit compares the record with the words as they are).
 */
// @ts-ignore: decorator
@inline export function upsertVia16(t: SeriesTable, slot: usize, k0: u64, k1: u64, key: usize, now: u32): usize {
  let r = <usize>load<u32>(slot);
  if (r != 0) {
    if (memoHolds(r, k0, k1)) {
      store<u32>(r, now, RECORD_UPDATED);
      return r;
    }
  }
  store<u64>(key, k0);
  store<u64>(key, k1, 8);
  r = upsert(t, key, now);
  if (isPlainLive(r)) store<u32>(slot, <u32>r);
  return r;
}

/** The index of record `r` in its table (what exemplars and the host name it by), and its generation. */
// @ts-ignore: decorator
@inline export function recordIndexOf(t: SeriesTable, r: usize): u32 {
  let chunk = r & ~(CHUNK_BYTES - 1);
  // The offset n in the chunk is below 2^16 (0 when a record fills a chunk of its own) and so is
  // the stride d then: n * ceil(2^32 / d) >> 32 is exactly n / d (the error n * (m*d - 2^32) / (d *
  // 2^32) stays below 2^-16 < 1/d), without a division per span.
  return load<u32>(chunk) * t.perChunk + <u32>((<u64>(r - chunk - CHUNK_HEADER) * t.strideMagic) >>> 32);
}

// @ts-ignore: decorator
@inline export function generationOf(r: usize): u32 {
  return load<u32>(r, RECORD_STATE) >>> RECORD_GENERATION_SHIFT;
}

/** No worst-trace slots (removeStale's `worstTable`). */
export const NO_WORST: u32 = 0xffffffff;

/**
 * Removes the records last updated before `cutoff` (seconds); returns how many. `worstTable`: the
 * EXEMPLAR_TABLE_* whose worst-trace slots (worst.ts) are indexed by this table's records, cleared
 * with them.
 */
export function removeStale(t: SeriesTable, cutoff: u32, worstTable: u32 = NO_WORST): u32 {
  let removed: u32 = 0;
  let n = t.keyWords;
  for (let i: u32 = 0; i < t.used; i++) {
    let r = recordAt(t, i);
    if (!isPlainLive(r) || load<u32>(r, RECORD_UPDATED) >= cutoff) continue;
    hashing = t;
    removeTagged(t.index, t.indexMask, hashWords(r + RECORD_KEY, n), <u32>(r >>> 3), REF_MASK, keyHashOf);
    t.indexed--;
    for (let w = 0; w < n; w++) if (isId(t, w)) release(load<u32>(r + RECORD_KEY + (<usize>w << 2)));
    store<u32>(r, load<u32>(r, RECORD_STATE) & ~RECORD_FLAG_MASK, RECORD_STATE); // free: no flags, the generation kept
    store<u32>(r, t.freeRecords, RECORD_KEY);
    if (worstTable != NO_WORST) clearWorst(worstTable, i);
    t.freeRecords = i + 1;
    activeSeries -= t.cost;
    removed++;
  }
  removedTotal += <f64>removed;
  return removed;
}
