// The worst trace of each series: per series (a span-metrics record or an edge), the slowest
// observation of the current window and the latest failed one, kept beside the bucket reservoir
// (exemplars.ts) but never lost to a collision: each has a slot of its own, found by the record's
// index in its table. The slots live outside the records (series.ts stays as it is), in chunks of
// CHUNK slots allocated the first time a record of the chunk needs one: the slowest slots of
// every chunk that has a series, the failed ones only of chunks where a span failed.
//
// A window is WINDOW ms (worst_configure, default 60 s), aligned to the epoch: the slowest slot
// keeps a new observation when it is slower, or when the kept one is from an earlier window (until
// then the previous window's slowest stays readable). The failed slot keeps the latest failed
// observation, whatever its window. A removed series' slots are cleared (clearWorst, from
// removeStale), so a slot always belongs to the record now at its index: no generation kept.
//
// Slot (WORST_SIZE bytes, layout.ts): trace id, span id and value as in an exemplar, then the
// time as an integer of ms in 48 bits (WORST_TIME_LOW u32, WORST_TIME_HIGH u16) and WORST_BUCKET
// (u16) the histogram bucket the value fell in plus one (0: the slot is empty).
import {
  EXEMPLAR_TRACE_ID, EXEMPLAR_SPAN_ID, EXEMPLAR_VALUE,
  WORST_TIME_LOW, WORST_TIME_HIGH, WORST_BUCKET, WORST_SIZE, WORST_SLOWEST, WORST_FAILED,
} from './layout';

/** OTLP Status.code STATUS_CODE_ERROR: a failed span. */
export const STATUS_CODE_ERROR: u32 = 2;

// 32 slots: 1,280 bytes, a size class of its own (runtime.ts), 51 to a page (0.4 % of it unused;
// 128 slots made 5,120 bytes, 12 to a page: 6 %, 2.7 bytes a series).
const CHUNK_SHIFT: u32 = 5;
const CHUNK: u32 = 1 << CHUNK_SHIFT;
/** Directories: one per (table, which): 0 span-metrics slowest, 1 failed, 2 edges slowest, 3 failed. */
const DIRECTORIES: u32 = 4;

let directories: usize = 0; // DIRECTORIES × (address u32, chunk count u32)
let windowMs: f64 = 60_000;
let windowNowMs: f64 = -1;
let windowStart: u64 = 0;
let nowInt: u64 = 0;
/** (windowStart << 16) | 1: what a slot's rotated last word (rotated) is below when it is empty or older. */
let windowKey: u64 = 1;
/** Bytes of slot chunks allocated so far. */
export let worstBytes: usize = 0;

/** The window length in ms (> 0). */
export function setWorstWindow(ms: f64): void {
  windowMs = ms > 0 ? ms : 60_000;
  windowNowMs = -1;
}

// @ts-ignore: decorator
@inline function directoryOf(table: u32, which: u32): usize {
  if (directories == 0) {
    directories = heap.alloc(<usize>DIRECTORIES * 8);
    memory.fill(directories, 0, <usize>DIRECTORIES * 8);
  }
  return directories + (<usize>(table * 2 + which) << 3);
}

/** The slot of `record`, its chunk allocated (zeroed) when new. */
// @ts-ignore: decorator
@inline function slotOf(table: u32, which: u32, record: u32): usize {
  // Inline while its chunk exists (nearly always): the call costs more than the look-up.
  if (directories != 0) {
    let d = directories + (<usize>(table * 2 + which) << 3);
    let c = record >>> CHUNK_SHIFT;
    if (c < load<u32>(d, 4)) {
      let chunk = <usize>load<u32>(<usize>load<u32>(d) + (<usize>c << 2));
      if (chunk != 0) return chunk + <usize>(record & (CHUNK - 1)) * WORST_SIZE;
    }
  }
  return newSlot(table, which, record);
}

/** slotOf when the directory or the chunk is missing. */
function newSlot(table: u32, which: u32, record: u32): usize {
  let d = directoryOf(table, which);
  let c = record >>> CHUNK_SHIFT;
  let count = load<u32>(d, 4);
  if (c >= count) {
    let grown: u32 = count == 0 ? 16 : count;
    while (grown <= c) grown <<= 1;
    let chunks = heap.alloc(<usize>grown << 2);
    memory.fill(chunks, 0, <usize>grown << 2);
    if (count != 0) {
      memory.copy(chunks, <usize>load<u32>(d), <usize>count << 2);
      heap.free(<usize>load<u32>(d));
    }
    store<u32>(d, <u32>chunks);
    store<u32>(d, grown, 4);
  }
  let at = <usize>load<u32>(d) + (<usize>c << 2);
  let chunk = <usize>load<u32>(at);
  if (chunk == 0) {
    let bytes = <usize>CHUNK * WORST_SIZE;
    chunk = heap.alloc(bytes);
    memory.fill(chunk, 0, bytes);
    worstBytes += bytes;
    store<u32>(at, <u32>chunk);
  }
  return chunk + <usize>(record & (CHUNK - 1)) * WORST_SIZE;
}

// @ts-ignore: decorator
@inline function write(s: usize, bucket: u32, trace: usize, span: usize, value: f64, ms: u64): void {
  store<u64>(s, load<u64>(trace), EXEMPLAR_TRACE_ID);
  store<u64>(s, load<u64>(trace, 8), EXEMPLAR_TRACE_ID + 8);
  store<u64>(s, span != 0 ? load<u64>(span) : 0, EXEMPLAR_SPAN_ID);
  store<f64>(s, value, EXEMPLAR_VALUE);
  // The time's 48 bits and bucket + 1 in the slot's last 8 bytes (little endian: WORST_TIME_LOW,
  // WORST_TIME_HIGH, WORST_BUCKET).
  store<u64>(s, (ms & 0xffffffffffff) | (<u64>(bucket + 1) << 48), WORST_TIME_LOW);
}

/** A time in ms as the slot keeps it: an integer in 48 bits (to year 10889). */
// @ts-ignore: decorator
@inline function toMs(ms: f64): u64 {
  return ms > 0 ? <u64>min<f64>(ms, 281474976710655) : 0;
}

/** Whether the slot holds an observation. */
// @ts-ignore: decorator
@inline function held(s: usize): bool {
  return load<u16>(s, WORST_BUCKET) != 0;
}

/**
 * The window of `nowMs` for observeWorstIn: a loop over many spans at one time calls it once
 * and passes worstWindowKey() and worstNow() along.
 */
export function worstWindow(nowMs: f64): void {
  if (nowMs != windowNowMs) {
    windowNowMs = nowMs;
    windowStart = toMs(Math.floor(nowMs / windowMs) * windowMs);
    nowInt = toMs(nowMs);
    windowKey = (windowStart << 16) | 1;
  }
}
export function worstWindowKey(): u64 {
  return windowKey;
}
export function worstNow(): u64 {
  return nowInt;
}

/**
 * One observation of `value` (seconds, in histogram bucket `bucket`) for the record at index
 * `record` of `table`: kept as its slowest when slower than the window's so far, and as its latest
 * failed when `failed`. The window is worstWindow's: `key` worstWindowKey(), `ms` worstNow().
 * `trace` != 0 (the callers keep nothing for a span without a trace id). The slot's last word
 * rotated by 16 is (time << 16) | (bucket + 1): below `key` exactly when the slot is empty (0) or
 * its time is before the window's start (its bucket + 1 is at least 1), one compare for both.
 */
// @ts-ignore: decorator
@inline export function observeWorstIn(
  table: u32, record: u32, bucket: u32, trace: usize, span: usize, value: f64, failed: bool, key: u64, ms: u64,
): void {
  let s = slotOf(table, WORST_SLOWEST, record);
  // (two branches, not an ||: V8 made a 0/1 value of the second compare and tested it)
  if (value > load<f64>(s, EXEMPLAR_VALUE)) write(s, bucket, trace, span, value, ms);
  else if (rotl<u64>(load<u64>(s, WORST_TIME_LOW), 16) < key) write(s, bucket, trace, span, value, ms);
  if (failed) write(slotOf(table, WORST_FAILED, record), bucket, trace, span, value, ms);
}

/** Empties the slots of the record at index `record` of `table` (EXEMPLAR_TABLE_*): the record was removed. */
export function clearWorst(table: u32, record: u32): void {
  if (directories == 0) return;
  for (let which: u32 = 0; which < 2; which++) {
    let s = findWorst(table, record, 0, which);
    if (s != 0) memory.fill(s, 0, WORST_SIZE);
  }
}

/**
 * The slot `which` (WORST_SLOWEST or WORST_FAILED) of that record, or 0 when it holds nothing.
 * `generation` is not checked: the slots of a removed record were cleared with it.
 */
export function findWorst(table: u32, record: u32, generation: u32, which: u32): usize {
  if (directories == 0 || table > 1 || which > 1) return 0;
  let d = directories + (<usize>(table * 2 + which) << 3);
  let c = record >>> CHUNK_SHIFT;
  if (c >= load<u32>(d, 4)) return 0;
  let chunk = <usize>load<u32>(<usize>load<u32>(d) + (<usize>c << 2));
  if (chunk == 0) return 0;
  let s = chunk + <usize>(record & (CHUNK - 1)) * WORST_SIZE;
  return held(s) ? s : 0;
}
