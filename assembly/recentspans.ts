// Recent spans: who a (trace id, span id) was, for the service-graph processor's questions about
// a span's parent (did the parent of a server span come? which service is it, for an edge
// inferred from a parent/child link?). A cache of fixed size, so memory is bounded whatever the
// traffic: entries are written in turn into a ring of RECENT_ENTRIES, and a direct-mapped table
// of RECENT_SLOTS slots, by the key's hash, holds the position of the latest one written there.
// A parent reads as one that never came when a colliding span took its slot since, or when
// RECENT_ENTRIES spans were remembered since (the ring came round); an answer is always the
// latest entry of exactly that key. The ring is written in order rather than at the slot's place:
// a random write into 2 MiB missed the cache for every span (in process, the bench's (b): -15
// ns/span with those writes left out), a slot is 2 bytes of 128 KiB that stay in cache. Each span
// is written before the request's spans are paired, so a parent in the same request is always
// found. CLIENT and PRODUCER spans are not written: they wait in the edge store, where their
// children find them.

import { freeEpoch } from './intern';
import { SPAN_START, SPAN_END } from './staging';
import { durationSeconds } from './histogram';

/** Slots (a power of two): 65,536 × 2 bytes = 128 KiB. */
const RECENT_SLOTS: u32 = 1 << 16;
/**
 * Entries (at most 2^16: a slot holds a u16 position): 61,440 × 32 bytes = 1.875 MiB, with the
 * slots the 2 MiB of the direct-mapped table they replaced; 960 KiB more with infer_edges.
 */
export const RECENT_ENTRIES: u32 = 60 << 10;
assert(RECENT_ENTRIES <= 0x10000);
// Entry: the key (trace id 16, span id 8), the service, and the kind, status and epoch.
const R_SERVICE: usize = 24; // u32 interned id, not held: valid while the epoch is the intern's freeEpoch
const R_INFO: usize = 28; // u32: kind (bits 0-7), R_ERROR, the low 16 bits of freeEpoch (bits 16-31)
const ENTRY: usize = 32;
export const R_ERROR: u32 = 0x100;
// Details, only with infer_edges (`details` != 0): what an inferred edge observes of its parent.
const D_SECONDS: usize = 0; // f64 duration
const D_BATCH: usize = 8; // u32 request number when written
const D_INDEX: usize = 12; // u32 the span's index in that request's staging
const DETAIL: usize = 16;

let entries: usize = 0;
let details: usize = 0;
/** Per slot (the key's hash & (RECENT_SLOTS - 1)): the u16 position in `entries` of the latest span remembered there. */
let slots: usize = 0;
/** The position the next span is written at. */
let next: u32 = 0;
/** Counts requests, so that an entry written in this request can lead back to its span record. */
let batch: u32 = 0;

export function initRecentSpans(withDetails: bool): void {
  entries = heap.alloc(<usize>RECENT_ENTRIES * ENTRY);
  memory.fill(entries, 0, <usize>RECENT_ENTRIES * ENTRY);
  // Every slot starts at position 0, whose entry, zeros, is no span (recall checks R_SERVICE).
  slots = heap.alloc(<usize>RECENT_SLOTS << 1);
  memory.fill(slots, 0, <usize>RECENT_SLOTS << 1);
  next = 0;
  if (withDetails) {
    details = heap.alloc(<usize>RECENT_ENTRIES * DETAIL);
    memory.fill(details, 0, <usize>RECENT_ENTRIES * DETAIL);
  }
}

export function nextBatch(): void {
  batch++;
}

/**
 * Where the next span's key (KEY_BYTES: trace id, span id) goes: the caller builds it there, then
 * calls remember() (built in place, not built elsewhere and copied: callgrind, ~6 instructions per
 * remembered span). Until then the entry is the ring's oldest: writing its key early loses nothing
 * a recall() before remember() could find, as no recall comes in between.
 */
// @ts-ignore: decorator
@inline export function nextKey(): usize {
  return entries + <usize>next * ENTRY;
}

/** Remembers span record `span` (staging.ts, at `index`), its key written at nextKey(), hashed `h`; `info` its kind | R_ERROR. */
export function remember(h: u32, service: u32, info: u32, span: usize, index: u32): void {
  let at = next;
  next = at + 1 < RECENT_ENTRIES ? at + 1 : 0;
  store<u16>(slots + (<usize>(h & (RECENT_SLOTS - 1)) << 1), <u16>at);
  let e = entries + <usize>at * ENTRY;
  store<u32>(e, service, R_SERVICE);
  store<u32>(e, (info & 0xffff) | (freeEpoch << 16), R_INFO);
  if (details != 0) {
    let d = details + <usize>at * DETAIL;
    store<f64>(d, durationSeconds(load<u64>(span, SPAN_START), load<u64>(span, SPAN_END)), D_SECONDS);
    store<u32>(d, batch, D_BATCH);
    store<u32>(d, index, D_INDEX);
  }
}

/** The entry of the span with key `key` (hashed `h`), or 0 when it is not (or no longer) known. */
export function recall(key: usize, h: u32): usize {
  let e = entries + <usize>load<u16>(slots + (<usize>(h & (RECENT_SLOTS - 1)) << 1)) * ENTRY;
  return load<u64>(e, 16) == load<u64>(key, 16) && load<u64>(e) == load<u64>(key) && load<u64>(e, 8) == load<u64>(key, 8)
    && load<u32>(e, R_SERVICE) != 0 ? e : 0;
}

/** The span's service id, or 0 when ids were freed since (it may name another string now). */
export function recalledService(e: usize): u32 {
  return load<u32>(e, R_INFO) >>> 16 == (freeEpoch & 0xffff) ? load<u32>(e, R_SERVICE) : 0;
}
// @ts-ignore: decorator
@inline export function recalledKind(e: usize): u32 {
  return load<u32>(e, R_INFO) & 0xff;
}
// @ts-ignore: decorator
@inline export function recalledFailed(e: usize): bool {
  return (load<u32>(e, R_INFO) & R_ERROR) != 0;
}
function detailOf(e: usize): usize {
  return details + ((e - entries) / ENTRY) * DETAIL;
}
/** The span's duration (infer_edges only). */
export function recalledSeconds(e: usize): f64 {
  return load<f64>(detailOf(e), D_SECONDS);
}
/** The span's index in the current request's staging, or -1 when it came in an earlier request (infer_edges only). */
export function recalledIndex(e: usize): i32 {
  let d = detailOf(e);
  return load<u32>(d, D_BATCH) == batch ? <i32>load<u32>(d, D_INDEX) : -1;
}
