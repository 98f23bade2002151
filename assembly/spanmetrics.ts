// Span metrics (Tempo's span-metrics processor): per label set of service, span name, kind,
// status code, optional status message and configured dimensions, a calls counter, a size
// counter and a latency histogram, updated straight from the staged spans.
import {
  spanCount, spanAt, resourceAt, SPAN_RESOURCE, SPAN_NAME_PTR, SPAN_NAME_LEN, SPAN_KIND,
  SPAN_STATUS_CODE, SPAN_STATUS_MSG_PTR, SPAN_STATUS_MSG_LEN, SPAN_SIZE, SPAN_START, SPAN_END, skipped,
  SPAN_TRACE_ID, SPAN_ID,
} from './staging';
import { intern } from './intern';
import { serviceId, resourceOrSpanSlot, slotValueId, spanMultiplier } from './attributes';
import { SeriesTable, newSeriesTable, upsert, slotOf, generationOf } from './series';
import { recordExemplar } from './exemplars';
import { Buckets, newBuckets, observe, durationSeconds } from './histogram';

// Intrinsic dimension switches (bit mask from the host).
export const I_SERVICE: u32 = 1;
export const I_SPAN_NAME: u32 = 2;
export const I_SPAN_KIND: u32 = 4;
export const I_STATUS_CODE: u32 = 8;
export const I_STATUS_MESSAGE: u32 = 16;

// Key words: service, span name, kind, status code, status message, then one per dimension.
export const KEY_FIXED: i32 = 5;
// Values: calls, size bytes, latency sum, then one count per finite bucket.
export const V_CALLS: usize = 0;
export const V_SIZE: usize = 8;
export const V_SUM: usize = 16;
export const V_BUCKETS: usize = 24;

export let table: SeriesTable = changetype<SeriesTable>(0);
let buckets: Buckets = changetype<Buckets>(0);
let intrinsics: u32 = 0;
let dimCount: i32 = 0;
let dimSlots: usize = 0; // i32 watched-key slot per dimension
let multiplierSlot: i32 = -1;
let key: usize = 0;

export function configureSpanMetrics(bounds: usize, boundCount: i32, mask: u32, slots: usize, dims: i32, multiplier: i32): void {
  multiplierSlot = multiplier;
  buckets = newBuckets(bounds, boundCount);
  intrinsics = mask;
  dimCount = dims;
  dimSlots = heap.alloc((dims > 0 ? <usize>dims : 1) * 4);
  memory.copy(dimSlots, slots, <usize>dims * 4);
  key = heap.alloc(<usize>(KEY_FIXED + dims) * 4);
  // Cost in Prometheus series: calls, size, and the histogram's buckets, +Inf, sum and count.
  table = newSeriesTable(KEY_FIXED + dims, 3 + boundCount, (1 << 2) | (1 << 3), <u32>boundCount + 5);
}

export function spanMetricsEnabled(): bool {
  return changetype<usize>(table) != 0;
}

/** Exemplar table id of span metrics (see exemplars.ts). */
export const EXEMPLAR_TABLE: u32 = 0;

export function aggregateSpanMetrics(nowMs: f64): void {
  let now = <u32>(nowMs / 1000);
  let t = table;
  let count = spanCount;
  for (let i: u32 = 0; i < count; i++) {
    let span = spanAt(i);
    if (skipped(span)) continue;
    let resource = resourceAt(load<u32>(span, SPAN_RESOURCE));
    store<u32>(key, (intrinsics & I_SERVICE) != 0 ? serviceId(resource) : 0);
    store<u32>(key, (intrinsics & I_SPAN_NAME) != 0
      ? intern(<usize>load<u32>(span, SPAN_NAME_PTR), <usize>load<u32>(span, SPAN_NAME_LEN))
      : 0, 4);
    store<u32>(key, (intrinsics & I_SPAN_KIND) != 0 ? load<u32>(span, SPAN_KIND) : 0, 8);
    store<u32>(key, (intrinsics & I_STATUS_CODE) != 0 ? load<u32>(span, SPAN_STATUS_CODE) : 0, 12);
    store<u32>(key, (intrinsics & I_STATUS_MESSAGE) != 0
      ? intern(<usize>load<u32>(span, SPAN_STATUS_MSG_PTR), <usize>load<u32>(span, SPAN_STATUS_MSG_LEN))
      : 0, 16);
    for (let d = 0; d < dimCount; d++) {
      let s = resourceOrSpanSlot(resource, span, load<i32>(dimSlots + (<usize>d << 2)));
      store<u32>(key + (<usize>(KEY_FIXED + d) << 2), s != 0 ? slotValueId(s) : 0);
    }
    let record = upsert(t, key, now);
    let r = record + t.valuesOffset;
    let w = spanMultiplier(span, multiplierSlot);
    let seconds = durationSeconds(load<u64>(span, SPAN_START), load<u64>(span, SPAN_END));
    store<f64>(r, load<f64>(r, V_CALLS) + w, V_CALLS);
    store<f64>(r, load<f64>(r, V_SIZE) + <f64>load<u32>(span, SPAN_SIZE), V_SIZE);
    let b = observe(buckets, r + V_SUM, r + V_BUCKETS, seconds, w);
    recordExemplar(
      EXEMPLAR_TABLE, slotOf(t, record), generationOf(record), <u32>b,
      <usize>load<u32>(span, SPAN_TRACE_ID), <usize>load<u32>(span, SPAN_ID), seconds, nowMs,
    );
  }
}
