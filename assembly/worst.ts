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
// observation, whatever its window. A slot written for an earlier record at the same index (a
// removed series whose index was reused) is told apart by the record's generation.
//
// Slot (WORST_SIZE bytes): the exemplar (EXEMPLAR_TRACE_ID … EXEMPLAR_TIME, what the host reads),
// WORST_BUCKET the histogram bucket the value fell in, then the record's generation (0: empty).
import { E_CLIENT_LATENCY, E_SERVER_LATENCY, E_FLAGS, F_FAILED } from './edgestore';
import {
  EXEMPLAR_TABLE_EDGES, EXEMPLAR_HISTOGRAM_STRIDE, EXEMPLAR_TRACE_ID, EXEMPLAR_SPAN_ID, EXEMPLAR_VALUE, EXEMPLAR_TIME, WORST_BUCKET, WORST_SIZE, WORST_SLOWEST, WORST_FAILED,
} from './layout';

/** OTLP Status.code STATUS_CODE_ERROR: a failed span. */
export const STATUS_CODE_ERROR: u32 = 2;

const W_GENERATION: usize = WORST_BUCKET + 4;
const CHUNK_SHIFT: u32 = 7;
const CHUNK: u32 = 1 << CHUNK_SHIFT;
/** Directories: one per (table, which): 0 span-metrics slowest, 1 failed, 2 edges slowest, 3 failed. */
const DIRECTORIES: u32 = 4;

let directories: usize = 0; // DIRECTORIES × (address u32, chunk count u32)
let windowMs: f64 = 60_000;
let windowNowMs: f64 = -1;
let windowStartMs: f64 = 0;
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
@inline function write(s: usize, generation: u32, bucket: u32, trace: usize, span: usize, value: f64, nowMs: f64): void {
  store<u64>(s, load<u64>(trace), EXEMPLAR_TRACE_ID);
  store<u64>(s, load<u64>(trace, 8), EXEMPLAR_TRACE_ID + 8);
  store<u64>(s, span != 0 ? load<u64>(span) : 0, EXEMPLAR_SPAN_ID);
  store<f64>(s, value, EXEMPLAR_VALUE);
  store<f64>(s, nowMs, EXEMPLAR_TIME);
  store<u32>(s, bucket, WORST_BUCKET);
  store<u32>(s, generation, W_GENERATION);
}

/**
 * One observation of `value` (seconds, in histogram bucket `bucket`) for the record at index
 * `record` (of that generation) of `table`: kept as its slowest when slower than the window's so
 * far, and as its latest failed when `failed`. `trace` 0 (no trace id) keeps nothing.
 */
export function observeWorst(
  table: u32, record: u32, generation: u32, bucket: u32, trace: usize, span: usize, value: f64, nowMs: f64, failed: bool,
): void {
  if (trace == 0) return;
  if (nowMs != windowNowMs) {
    windowNowMs = nowMs;
    windowStartMs = Math.floor(nowMs / windowMs) * windowMs;
  }
  let s = slotOf(table, WORST_SLOWEST, record);
  if (value > load<f64>(s, EXEMPLAR_VALUE) || load<u32>(s, W_GENERATION) != generation || load<f64>(s, EXEMPLAR_TIME) < windowStartMs) {
    write(s, generation, bucket, trace, span, value, nowMs);
  }
  if (failed) write(slotOf(table, WORST_FAILED, record), generation, bucket, trace, span, value, nowMs);
}

/** The slot `which` (WORST_SLOWEST or WORST_FAILED) of that record, or 0 when it holds nothing of this generation. */
export function findWorst(table: u32, record: u32, generation: u32, which: u32): usize {
  if (directories == 0 || table > 1 || which > 1) return 0;
  let d = directories + (<usize>(table * 2 + which) << 3);
  let c = record >>> CHUNK_SHIFT;
  if (c >= load<u32>(d, 4)) return 0;
  let chunk = <usize>load<u32>(<usize>load<u32>(d) + (<usize>c << 2));
  if (chunk == 0) return 0;
  let s = chunk + <usize>(record & (CHUNK - 1)) * WORST_SIZE;
  return load<u32>(s, W_GENERATION) == generation && generation != 0 ? s : 0;
}

/**
 * A completed edge `e` (edgestore.ts) of the record at `record`: its slowest by server span
 * duration (bucket `serverBucket` of the server histogram), or, on an edge without one (a virtual
 * server: the client span alone), by client span duration (bucket `clientBucket` of the client
 * histogram, EXEMPLAR_HISTOGRAM_STRIDE added); failed when either side was.
 */
export function observeWorstEdge(e: usize, record: u32, generation: u32, serverBucket: u32, clientBucket: u32, trace: usize, nowMs: f64): void {
  let server = load<f64>(e, E_SERVER_LATENCY);
  let client = load<f64>(e, E_CLIENT_LATENCY);
  let byClient = server == 0 && client > 0;
  observeWorst(
    EXEMPLAR_TABLE_EDGES, record, generation, byClient ? EXEMPLAR_HISTOGRAM_STRIDE + clientBucket : serverBucket,
    trace, trace + 16, byClient ? client : server, nowMs, (load<u32>(e, E_FLAGS) & F_FAILED) != 0,
  );
}
