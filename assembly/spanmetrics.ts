// Span metrics (Tempo's span-metrics processor): per label set of service, span name, kind,
// status code, optional status message and configured dimensions, a calls counter, a size
// counter and a latency histogram, updated straight from the staged spans. Optionally (the
// Collector connector's events metric) a count of span events per span label set, event name
// and configured event attributes.
import {
  spanCount, spanAt, resourceAt, SPAN_RESOURCE, SPAN_KIND,
  SPAN_STATUS_CODE, SPAN_STATUS_MSG_PTR, SPAN_STATUS_MSG_LEN, SPAN_SIZE, SPAN_START, SPAN_END, skipped,
  SPAN_TRACE_ID, SPAN_ID, eventCount, eventAt, setStageEvents, EVENT_SPAN, EVENT_NAME_PTR, EVENT_NAME_LEN,
  EVENT_SLOTS, SLOT_SIZE, SPAN_SCOPE, spanStride, SPAN_NAME_ID, SPAN_NAME_PTR, SPAN_NAME_LEN, NOT_INTERNED,
} from './staging';
import { intern, internInline, retain, stringPtr, stringLen, MISSING, MAX_VALUE_BYTES } from './intern';
import { serviceId, resourceOrSpanSlot, slotValueId, spanMultiplier } from './attributes';
import { SeriesTable, newSeriesTable, upsert, upsertVia, recordIndexOf, generationOf } from './series';
import { recordExemplar } from './exemplars';
import { worstWindow, worstWindowKey, worstNow, observeWorstIn, STATUS_CODE_ERROR } from './worst';
import { Filter, keeps, forgetFilterMemo } from './filters';
import { Buckets, newBuckets, observe, durationSeconds } from './histogram';
import { targetInfoEnabled, jobOf, instanceOf, upsertTargetInfo } from './targetinfo';
import { stageScopes, scopeWords } from './scopes';
import { Native, nativeOf, observeNative, histogramCost } from './nativehistogram';
import { tracking, upsertTracked } from './cardinality';
import { spanMetricsNameId, mode as normalizeMode } from './normalize';
import { selfTimeOn, selfTimeValues, attachSelfTime, noteSpan } from './selftime';
// The key words, values and mask bits the host reads and sets (layout.ts).
import {
  I_SERVICE, I_SPAN_NAME, I_SPAN_KIND, I_STATUS_CODE, I_STATUS_MESSAGE, SM_KEY_SERVICE, SM_KEY_SPAN_NAME,
  SM_KEY_SPAN_KIND, SM_KEY_STATUS_CODE, SM_KEY_DIMENSIONS, SM_V_CALLS, SM_V_SIZE, SM_V_SUM,
  SM_V_BUCKETS, EVENTS_V_COUNT, EXEMPLAR_TABLE_SPAN_METRICS, PROCESSOR_SPAN_METRICS, NORMALIZE_ON, RECORD_KEY,
} from './layout';

export let table: SeriesTable = changetype<SeriesTable>(0);
export let eventsTable: SeriesTable = changetype<SeriesTable>(0);
let buckets: Buckets = changetype<Buckets>(0);
let native: Native = changetype<Native>(0); // native histograms: the block after the buckets
let nativeAt: usize = 0;
let intrinsics: u32 = 0;
let dimCount: i32 = 0;
let dimSlots: usize = 0; // i32 watched-key slot per dimension
// The Collector connector's calls_dimensions and histogram.dimensions (set before configure): with
// either, calls and size are counted in callsTable, keyed by the span's words and the calls
// dimensions, and the histogram's table keys the histogram dimensions after the span's words.
let callsDimCount: i32 = 0;
let callsDimSlots: usize = 0;
let histDimCount: i32 = 0;
let histDimSlots: usize = 0;
export let callsTable: SeriesTable = changetype<SeriesTable>(0);
let callsKey: usize = 0;
// u32 string id per dimension for a span without it (0: no label), numbered: the dimensions, the
// calls dimensions, the histogram dimensions, the event dimensions.
const MAX_DEFAULTS: i32 = 256;
const DEFAULTS: usize = memory.data(MAX_DEFAULTS * 4);
// Tempo's dimension_mappings (added before configure): one label each, the values of its source
// attributes that a span has, joined. A record: join ptr u32, join len u32, source count u32,
// sources ptr u32 (i32 slots); their key words follow the dimensions'.
const MAP_RECORD: usize = 16;
const MAX_MAPPINGS: i32 = 64;
let mapCount: i32 = 0;
let mapRecords: usize = 0;
const JOINED: usize = memory.data(<i32>MAX_VALUE_BYTES + 8);
// Memo slots in front of the table's index (series.ts upsertVia), picked by service, span name,
// kind and status code: the same four nearly always make the same series (the bench's workload:
// 97 % of spans), found then without hashing the whole key and probing the index.
const MEMO_BITS: u32 = 12;
const MEMO: usize = memory.data(4 << MEMO_BITS);
export let multiplierSlot: i32 = -1;
/** Weigh spans by their tracestate's sampling threshold first (enable_tracestate_span_multiplier). */
export let tracestate: bool = false;
export let filter: Filter = changetype<Filter>(0);
let key: usize = 0;
/**
 * The span's key words after the intrinsics: dimensions, mappings, job and instance with
 * target_info, scope name and version, then the status message when it is on.
 */
let extraWords: i32 = 0;
/** The status message's key word, -1 when off (src/core/keywords.ts places it the same way). */
export let statusMessageWord: i32 = -1;
let eventDimCount: i32 = 0;
let eventDimSlots: usize = 0; // i32 watched-key slot per event dimension
let eventKey: usize = 0;

/**
 * Adds a dimension mapping (before configureSpanMetrics): `join` (UTF-8 at joinPtr) between the
 * values of the `count` source attributes whose i32 slots are at `slots`. False past MAX_MAPPINGS.
 */
export function addDimensionMapping(joinPtr: usize, joinLen: usize, slots: usize, count: i32): bool {
  if (mapCount >= MAX_MAPPINGS) return false;
  if (mapRecords == 0) mapRecords = heap.alloc(<usize>MAX_MAPPINGS * MAP_RECORD);
  let join = heap.alloc(joinLen > 0 ? joinLen : 1);
  memory.copy(join, joinPtr, joinLen);
  let sources = heap.alloc((count > 0 ? <usize>count : 1) * 4);
  memory.copy(sources, slots, <usize>count * 4);
  let r = mapRecords + <usize>mapCount * MAP_RECORD;
  store<u32>(r, <u32>join);
  store<u32>(r, <u32>joinLen, 4);
  store<u32>(r, <u32>count, 8);
  store<u32>(r, <u32>sources, 12);
  mapCount++;
  return true;
}

/** The id of mapping `m`'s value for a span: its sources' values that are set, joined (Tempo's loop); 0 when none. */
function mappingValue(m: i32, resource: usize, span: usize): u32 {
  let r = mapRecords + <usize>m * MAP_RECORD;
  let join = <usize>load<u32>(r);
  let joinLen = <usize>load<u32>(r, 4);
  let count = <i32>load<u32>(r, 8);
  let sources = <usize>load<u32>(r, 12);
  let n: usize = 0;
  for (let i = 0; i < count; i++) {
    let s = resourceOrSpanSlot(resource, span, load<i32>(sources + (<usize>i << 2)));
    if (s == 0) continue;
    let id = slotValueId(s);
    if (id == 0) continue;
    if (id == MISSING) return MISSING;
    if (n > 0) n = append(n, join, joinLen);
    n = append(n, stringPtr(id), stringLen(id));
  }
  return n == 0 ? 0 : intern(JOINED, n);
}

/** Appends up to the label-value limit (intern cuts at a character boundary); returns the new length. */
function append(n: usize, p: usize, len: usize): usize {
  let room = MAX_VALUE_BYTES + 4 - n;
  let k = len < room ? len : room;
  memory.copy(JOINED + n, p, k);
  return n + k;
}

export function configureSpanMetrics(bounds: usize, boundCount: i32, mask: u32, slots: usize, dims: i32, multiplier: i32): void {
  multiplierSlot = multiplier;
  buckets = newBuckets(bounds, boundCount);
  intrinsics = mask;
  dimCount = dims;
  dimSlots = heap.alloc((dims > 0 ? <usize>dims : 1) * 4);
  memory.copy(dimSlots, slots, <usize>dims * 4);
  extraWords = dims + mapCount + (targetInfoEnabled() ? 2 : 0) + (stageScopes ? 2 : 0);
  // The status message last: off by default (Tempo's default; the Collector has none), and then no word.
  if ((mask & I_STATUS_MESSAGE) != 0) statusMessageWord = SM_KEY_DIMENSIONS + extraWords++;
  let spanWords = SM_KEY_DIMENSIONS + extraWords;
  key = heap.alloc(<usize>(spanWords + histDimCount) * 4);
  let split = callsDimCount + histDimCount > 0;
  if (split) {
    callsKey = heap.alloc(<usize>(spanWords + callsDimCount + 1) * 4);
    callsTable = newSeriesTable(spanWords + callsDimCount, SM_V_SIZE + 1, (1 << SM_KEY_SPAN_KIND) | (1 << SM_KEY_STATUS_CODE), 2);
  }
  native = nativeOf(PROCESSOR_SPAN_METRICS);
  nativeAt = <usize>(SM_V_BUCKETS + boundCount) << 3;
  // Cost in Prometheus series: calls, size, and the histogram (nativehistogram.ts histogramCost).
  // Kind and status code are numbers, not string ids.
  // With self time (selftime.ts), its block follows: a classic histogram (B + 3 series) and two counters.
  let selfAt = SM_V_BUCKETS + boundCount + (changetype<usize>(native) != 0 ? native.values : 0);
  table = newSeriesTable(
    spanWords + histDimCount, selfAt + selfTimeValues(boundCount),
    (1 << SM_KEY_SPAN_KIND) | (1 << SM_KEY_STATUS_CODE),
    (split ? 0 : 2) + histogramCost(PROCESSOR_SPAN_METRICS, boundCount) + (selfTimeOn ? <u32>boundCount + 5 : 0),
  );
  if (selfTimeOn) attachSelfTime(table, buckets, selfAt);
}

/**
 * The connector's calls_dimensions and histogram.dimensions (before configureSpanMetrics): `slots`
 * holds the i32 watched-key slots of the `calls` calls dimensions, then of the `hist` histogram ones.
 */
export function configureSplitDimensions(slots: usize, calls: i32, hist: i32): void {
  callsDimCount = calls;
  callsDimSlots = heap.alloc((calls > 0 ? <usize>calls : 1) * 4);
  memory.copy(callsDimSlots, slots, <usize>calls * 4);
  histDimCount = hist;
  histDimSlots = heap.alloc((hist > 0 ? <usize>hist : 1) * 4);
  memory.copy(histDimSlots, slots + (<usize>calls << 2), <usize>hist * 4);
}

/** Stores into `at` the value of each of `n` dimensions (slots at `slots`, defaults from DEFAULTS + first). */
// @ts-ignore: decorator
@inline function dimensionValues(at: usize, resource: usize, span: usize, slots: usize, n: i32, first: i32): void {
  for (let d = 0; d < n; d++) {
    let s = resourceOrSpanSlot(resource, span, load<i32>(slots + (<usize>d << 2)));
    store<u32>(at + (<usize>d << 2), s != 0 ? slotValueId(s) : load<u32>(DEFAULTS + (<usize>(first + d) << 2)));
  }
}

/**
 * The value dimension `d` takes on a span that has it neither on itself nor on its resource (the
 * Collector connector's dimension `default`); held for the process' life.
 */
export function setDimensionDefault(d: i32, ptr: usize, len: usize): void {
  if (d < 0 || d >= dimCount + callsDimCount + histDimCount + eventDimCount || d >= MAX_DEFAULTS) return;
  let id = intern(ptr, len);
  retain(id);
  store<u32>(DEFAULTS + (<usize>d << 2), id);
}

/** Turns on the events metric: `slots` holds the i32 watched-key slot of each of `dims` event attributes. */
export function configureEvents(slots: usize, dims: i32): void {
  eventDimCount = dims;
  eventDimSlots = heap.alloc((dims > 0 ? <usize>dims : 1) * 4);
  memory.copy(eventDimSlots, slots, <usize>dims * 4);
  // The span's key words, then the event name, then one per event dimension.
  let words = SM_KEY_DIMENSIONS + extraWords + 1 + dims;
  eventKey = heap.alloc(<usize>words * 4);
  eventsTable = newSeriesTable(words, EVENTS_V_COUNT + 1, (1 << SM_KEY_SPAN_KIND) | (1 << SM_KEY_STATUS_CODE), 1);
  setStageEvents(true);
}

/** Filter policies (filters.ts) and the tracestate multiplier switch, set before start. */
export function setSpanMetricsFilter(f: Filter): void {
  filter = f;
}
export function setSpanMetricsTracestate(on: bool): void {
  tracestate = on;
}

export function eventsEnabled(): bool {
  return changetype<usize>(eventsTable) != 0;
}

export function spanMetricsEnabled(): bool {
  return changetype<usize>(table) != 0;
}

/** spanMetricsNameId without normalization: attributes.ts spanNameId with intern's cache hit inline. */
// @ts-ignore: decorator
@inline function plainNameId(span: usize): u32 {
  let id = load<u32>(span, SPAN_NAME_ID);
  if (id == NOT_INTERNED) {
    id = internInline(<usize>load<u32>(span, SPAN_NAME_PTR), <usize>load<u32>(span, SPAN_NAME_LEN));
    store<u32>(span, id, SPAN_NAME_ID);
  }
  return id;
}

/** The intrinsic dimensions on by default (Tempo's): all but the status message. */
const PLAIN_INTRINSICS: u32 = I_SERVICE | I_SPAN_NAME | I_SPAN_KIND | I_STATUS_CODE;

/** Aggregates the staged spans at `nowMs`; `now` is its whole seconds (from the caller: V8 put the division in the loop). */
export function aggregateSpanMetrics(nowMs: f64, now: u32): void {
  // With the default intrinsics and without the options below, the same loop compiled with
  // their checks folded away: fewer branches and fewer values for V8 to keep per span. Self time
  // (infer_edges' companion) has a copy of its own.
  let plain = intrinsics == PLAIN_INTRINSICS && normalizeMode != NORMALIZE_ON && changetype<usize>(filter) == 0
    && mapCount == 0 && !targetInfoEnabled() && !stageScopes
    && histDimCount == 0 && !tracking && changetype<usize>(native) == 0
    && changetype<usize>(callsTable) == 0 && changetype<usize>(eventsTable) == 0 && multiplierSlot < 0 && !tracestate;
  if (!plain) aggregateAll(nowMs, now);
  else if (table.keyWords == SM_KEY_DIMENSIONS) {
    if (selfTimeOn) aggregateBareSelfTime(nowMs, now);
    else aggregateBare(nowMs, now);
  } else if (selfTimeOn) aggregatePlainSelfTime(nowMs, now);
  else aggregatePlain(nowMs, now);
}

// The key of aggregateBare's spans, the four intrinsics' words, and where a record's values
// start after it (series.ts newSeriesTable's valuesOffset for that key).
const BARE_KEY_BYTES: usize = <usize>SM_KEY_DIMENSIONS << 2;
const BARE_VALUES: usize = (RECORD_KEY + BARE_KEY_BYTES + 7) & ~7;

function aggregatePlain(nowMs: f64, now: u32): void {
  aggregate(nowMs, now, true, false);
}

/**
 * aggregatePlain without dimensions (Tempo's default): the key's size and where the values start
 * are constants, two values fewer for V8 to keep per span (callgrind: 9-11 instructions a span).
 */
function aggregateBare(nowMs: f64, now: u32): void {
  aggregate(nowMs, now, true, false, true);
}

/** aggregatePlain with self time (selftime.ts), as infer_edges' users turn it on. */
function aggregatePlainSelfTime(nowMs: f64, now: u32): void {
  aggregate(nowMs, now, true, true);
}

/** aggregateBare with self time. */
function aggregateBareSelfTime(nowMs: f64, now: u32): void {
  aggregate(nowMs, now, true, true, true);
}

function aggregateAll(nowMs: f64, now: u32): void {
  aggregate(nowMs, now, false, selfTimeOn);
}

// @ts-ignore: decorator
@inline function aggregate(nowMs: f64, now: u32, plain: bool, selfTime: bool, bare: bool = false): void {
  // The module's settings, read once into locals: V8 keeps a WASM global in memory and would
  // reload each one per span.
  let f = plain ? changetype<Filter>(0) : filter;
  if (changetype<usize>(f) != 0) forgetFilterMemo(f);
  let t = table;
  let count = spanCount;
  let targetInfo = !plain && targetInfoEnabled();
  let event: u32 = 0;
  let k = key;
  let mask = plain ? PLAIN_INTRINSICS : intrinsics;
  let messageAt = <usize>(statusMessageWord << 2);
  let dims = bare ? 0 : dimCount;
  let slots = dimSlots;
  let maps = plain ? 0 : mapCount;
  let scopes = !plain && stageScopes;
  let hists = plain ? 0 : histDimCount;
  let histSlots = histDimSlots;
  let firstHist = dims + callsDimCount;
  let track = !plain && tracking;
  let b0 = buckets;
  let nat = plain ? changetype<Native>(0) : native;
  let natAt = nativeAt;
  let mult = multiplierSlot;
  let ts = tracestate;
  let weighed = !plain && (mult >= 0 || ts); // else every span weighs 1 (spanMultiplier's answer)
  let calls = plain ? changetype<SeriesTable>(0) : callsTable;
  let events = plain ? changetype<SeriesTable>(0) : eventsTable;
  let valuesOffset = bare ? BARE_VALUES : t.valuesOffset;
  let spanBytes = <usize>(SM_KEY_DIMENSIONS + extraWords) << 2;
  let keyBytes = bare ? BARE_KEY_BYTES : <usize>t.keyWords << 2;
  let stride = spanStride;
  // The worst-trace window of nowMs, once for the request.
  worstWindow(nowMs);
  let windowKey = worstWindowKey();
  let windowNow = worstNow();
  let span = spanAt(0) - stride;
  for (let i: u32 = 0; i < count; i++) {
    span += stride;
    if (skipped(span)) continue;
    let resourceIndex = load<u32>(span, SPAN_RESOURCE);
    let resource = resourceAt(resourceIndex);
    if (changetype<usize>(f) != 0 && !keeps(f, resource, span)) {
      if (selfTime) noteSpan(span, 0, 0, nowMs); // still a child covering its parent's time
      continue;
    }
    let service = (mask & I_SERVICE) != 0 ? serviceId(resource) : 0;
    let name = (mask & I_SPAN_NAME) != 0 ? (plain ? plainNameId(span) : spanMetricsNameId(span)) : 0;
    let kind = (mask & I_SPAN_KIND) != 0 ? load<u32>(span, SPAN_KIND) : 0;
    let code = (mask & I_STATUS_CODE) != 0 ? load<u32>(span, SPAN_STATUS_CODE) : 0;
    // Two u64 stores, the widths upsertVia's memo compare loads them at: a u64 load spanning two
    // u32 stores cannot take its value from the store buffer and waits for them to reach the cache.
    store<u64>(k, <u64>service | (<u64>name << 32), SM_KEY_SERVICE << 2);
    store<u64>(k, <u64>kind | (<u64>code << 32), SM_KEY_SPAN_KIND << 2);
    if ((mask & I_STATUS_MESSAGE) != 0) {
      store<u32>(k + messageAt,
        intern(<usize>load<u32>(span, SPAN_STATUS_MSG_PTR), <usize>load<u32>(span, SPAN_STATUS_MSG_LEN)));
    }
    // Loops entered only when they have work: V8 checks the stack on entering a loop.
    if (dims > 0) dimensionValues(k + (<usize>SM_KEY_DIMENSIONS << 2), resource, span, slots, dims, 0);
    if (maps > 0) {
      for (let m = 0; m < maps; m++) {
        store<u32>(k + (<usize>(SM_KEY_DIMENSIONS + dims + m) << 2), mappingValue(m, resource, span));
      }
    }
    if (targetInfo) {
      let at = k + (<usize>(SM_KEY_DIMENSIONS + dims + maps) << 2);
      store<u32>(at, jobOf(resourceIndex, resource));
      store<u32>(at, instanceOf(resourceIndex, resource), 4);
    }
    if (scopes) {
      let words = SM_KEY_DIMENSIONS + dims + maps + (targetInfo ? 2 : 0);
      scopeWords(load<u32>(span, SPAN_SCOPE), k + (<usize>words << 2));
    }
    if (hists > 0) dimensionValues(k + spanBytes, resource, span, histSlots, hists, firstHist);
    let record: usize;
    if (track) record = upsertTracked(t, k, now, resource, span, slots, dims);
    else {
      let h = (((service ^ (kind << 29) ^ (code << 26)) * 0x9e3779b1) + name) * 0x85ebca6b;
      record = upsertVia(t, MEMO + (<usize>(h >>> (32 - MEMO_BITS)) << 2), k, keyBytes, now);
    }
    let r = record + valuesOffset;
    let w = weighed ? spanMultiplier(resource, span, mult, ts) : 1.0;
    let seconds = durationSeconds(load<u64>(span, SPAN_START), load<u64>(span, SPAN_END));
    store<f64>(r, load<f64>(r, SM_V_CALLS << 3) + w, SM_V_CALLS << 3);
    store<f64>(r, load<f64>(r, SM_V_SIZE << 3) + <f64>load<u32>(span, SPAN_SIZE), SM_V_SIZE << 3);
    let b = observe(b0, r + (SM_V_SUM << 3), r + (SM_V_BUCKETS << 3), seconds, w);
    if (changetype<usize>(nat) != 0) observeNative(nat, r + natAt, seconds, w, nowMs);
    let trace = <usize>load<u32>(span, SPAN_TRACE_ID);
    if (trace != 0) {
      // One test for both (each keeps nothing without a trace id): V8 would compute the
      // record's index once per branch.
      let index = recordIndexOf(t, record);
      let generation = generationOf(record);
      let spanId = <usize>load<u32>(span, SPAN_ID);
      recordExemplar(EXEMPLAR_TABLE_SPAN_METRICS, index, generation, <u32>b, trace, spanId, seconds, nowMs);
      observeWorstIn(
        EXEMPLAR_TABLE_SPAN_METRICS, index, <u32>b, trace, spanId, seconds,
        load<u32>(span, SPAN_STATUS_CODE) == STATUS_CODE_ERROR, windowKey, windowNow,
      );
    }
    if (selfTime) noteSpan(span, record, w, nowMs);
    if (changetype<usize>(calls) != 0) {
      memory.copy(callsKey, k, spanBytes);
      dimensionValues(callsKey + spanBytes, resource, span, callsDimSlots, callsDimCount, dims);
      let c = upsert(calls, callsKey, now) + calls.valuesOffset;
      store<f64>(c, load<f64>(c, SM_V_CALLS << 3) + w, SM_V_CALLS << 3);
      store<f64>(c, load<f64>(c, SM_V_SIZE << 3) + <f64>load<u32>(span, SPAN_SIZE), SM_V_SIZE << 3);
    }
    // After the span's series, as Tempo orders them: span metrics claim the series budget first.
    if (targetInfo) upsertTargetInfo(resourceIndex, resource, now);
    if (changetype<usize>(events) != 0) {
      while (event < eventCount && load<u32>(eventAt(event), EVENT_SPAN) < i) event++;
      for (; event < eventCount && load<u32>(eventAt(event), EVENT_SPAN) == i; event++) countEvent(eventAt(event), now, w);
    }
  }
}

/** Adds `w` to the events series of one event of the span whose key is in `key`. */
function countEvent(event: usize, now: u32, w: f64): void {
  let spanWords = <usize>(SM_KEY_DIMENSIONS + extraWords) << 2;
  memory.copy(eventKey, key, spanWords);
  store<u32>(eventKey + spanWords, intern(<usize>load<u32>(event, EVENT_NAME_PTR), <usize>load<u32>(event, EVENT_NAME_LEN)));
  for (let d = 0; d < eventDimCount; d++) {
    let slot = load<i32>(eventDimSlots + (<usize>d << 2));
    let s = event + EVENT_SLOTS + <usize>slot * SLOT_SIZE;
    let fallback = load<u32>(DEFAULTS + (<usize>(dimCount + callsDimCount + histDimCount + d) << 2));
    store<u32>(eventKey + spanWords + (<usize>(d + 1) << 2), load<u32>(s) != 0 ? slotValueId(s) : fallback);
  }
  let r = upsert(eventsTable, eventKey, now) + eventsTable.valuesOffset;
  store<f64>(r, load<f64>(r, EVENTS_V_COUNT << 3) + w, EVENTS_V_COUNT << 3);
}

// aggregate stores the span's key words as two u64s: service and span name, kind and status code.
assert(SM_KEY_SPAN_NAME == SM_KEY_SERVICE + 1 && SM_KEY_STATUS_CODE == SM_KEY_SPAN_KIND + 1);
