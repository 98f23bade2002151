// Exemplars: the trace and span of a recent observation per histogram bucket, for OpenMetrics
// and remote write. They live in a direct-mapped reservoir of fixed size, so memory is bounded
// whatever the number of series: a colliding observation replaces the older exemplar, which is
// fine for samples meant only to point at a trace.

import { EXEMPLAR_TRACE_ID, EXEMPLAR_SPAN_ID, EXEMPLAR_VALUE, EXEMPLAR_TIME, EXEMPLAR_SIZE } from './layout';

const CAPACITY: u32 = 1 << 12;
// Entry: key u64 (table, histogram bucket, record index), the record's generation u32, pad u32,
// then the exemplar the host reads (EXEMPLAR_TRACE_ID … EXEMPLAR_TIME from E_EXEMPLAR), padded
// to a cache line (the table starts on a page): a span's write touches one line, not two as 3 in
// 4 of 56-byte entries did (32 KB more, allocated once).
const E_KEY: usize = 0;
const E_GENERATION: usize = 8;
export const E_EXEMPLAR: usize = 16;
const ENTRY: usize = 64;

let entries: usize = 0;

function initExemplars(): void {
  entries = heap.alloc(<usize>CAPACITY * ENTRY);
  memory.fill(entries, 0, <usize>CAPACITY * ENTRY);
}

// @ts-ignore: decorator
@inline function keyOf(table: u32, record: u32, bucket: u32): u64 {
  return ((<u64>table + 1) << 48) | (<u64>bucket << 32) | <u64>record;
}

// @ts-ignore: decorator
@inline function entryOf(key: u64): usize {
  let h = key * 0x9e3779b97f4a7c15;
  return entries + <usize>(<u32>(h >>> 52) & (CAPACITY - 1)) * ENTRY;
}

/**
 * Keeps (trace, span) as the exemplar of `bucket` of the series at index `record` (of that
 * generation) in `table`; `trace` 0 (a span without trace id) keeps nothing, `span` 0 stores zeros.
 */
// @ts-ignore: decorator
@inline export function recordExemplar(table: u32, record: u32, generation: u32, bucket: u32, trace: usize, span: usize, value: f64, nowMs: f64): void {
  if (trace == 0) return;
  if (entries == 0) initExemplars();
  let key = keyOf(table, record, bucket);
  let e = entryOf(key);
  store<u64>(e, key, E_KEY);
  store<u32>(e, generation, E_GENERATION);
  let x = e + E_EXEMPLAR;
  store<u64>(x, load<u64>(trace), EXEMPLAR_TRACE_ID);
  store<u64>(x, load<u64>(trace, 8), EXEMPLAR_TRACE_ID + 8);
  store<u64>(x, span != 0 ? load<u64>(span) : 0, EXEMPLAR_SPAN_ID);
  store<f64>(x, value, EXEMPLAR_VALUE);
  store<f64>(x, nowMs, EXEMPLAR_TIME);
}

/** The exemplar entry of that bucket, or 0 when none is kept. */
export function findExemplar(table: u32, record: u32, generation: u32, bucket: u32): usize {
  if (entries == 0) return 0;
  let key = keyOf(table, record, bucket);
  let e = entryOf(key);
  return load<u64>(e, E_KEY) == key && load<u32>(e, E_GENERATION) == generation ? e : 0;
}

// An entry's fields fit its line.
assert(E_EXEMPLAR + EXEMPLAR_SIZE <= ENTRY);
