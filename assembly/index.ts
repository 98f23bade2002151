// spanmeter core ABI. Only numbers and pointers cross this boundary (documented in docs/abi.md);
// the record layouts, bits and codes both sides use are declared in layout.ts.
// Set-up: watch_key for each attribute a processor reads, then *_configure, then start.
// Per request: input_reserve(n) → host copies the body there → ingest(n, nowMs).
import { resetReader, failCode, failAt, failMessage, failField, INPUT_SLACK } from './wire';
import { initFieldTable } from './otlpfields';
import { initIntern, stringEntries, stringPtr, stringLen, stringCount, setReadOnly, sweepStrings, freeEpoch, stringBytes, rekey, probes, lookups } from './intern';
import { hashBytes } from './hash';
import { watchKey } from './watch';
import { initStaging, resetStaging, spanCount, spanAt, SPAN_END, SPAN_SKIP } from './staging';
import { walkRequest } from './otlp';
import { setLimits, spansOver } from './limits';
import {
  configureSpanMetrics, configureSplitDimensions, statusMessageWord as spanMetricsStatusMessageWord, callsTable as spanCallsTable, spanMetricsEnabled, aggregateSpanMetrics, table as spanMetricsTable, configureEvents, setDimensionDefault, addDimensionMapping,
  eventsEnabled, eventsTable, setSpanMetricsFilter, setSpanMetricsTracestate, filter as spanMetricsFilter,
} from './spanmetrics';
import { includeScope } from './scopes';
import { configureSelfTime, selfTimeOn, selfTimeBlock, expireSelfTime, storeSize as selfTimeStoreSize, dropped as selfTimeDropped, orphans as selfTimeOrphans } from './selftime';
import { configureTargetInfo, excludeTargetInfoKey, targetInfoEnabled, targetTable } from './targetinfo';
import { addSlo, aggregateSlos, sloCount, table as sloTable } from './slos';
import {
  configureServiceGraphs, serviceGraphsEnabled, aggregateServiceGraphs, expireServiceGraphs, holdWaitingIds,
  edges, unpaired, dropped, expiredClient, expiredServer, setServiceGraphsFilter, setServiceGraphsTracestate,
  filter as serviceGraphsFilter,
} from './servicegraphs';
import { newFilter } from './filters';
import { configureNative } from './nativehistogram';
import { size as edgeStoreSize } from './edgestore';
import { findExemplar, E_EXEMPLAR } from './exemplars';
import { findWorst, setWorstWindow, worstBytes } from './worst';
import {
  SeriesTable, removeStale, setMaxActive, budgetExhausted, activeSeries, limitedTotal, removedTotal,
} from './series';
import {
  configureCardinality, initCardinality, checkTracking, cardinalityTick, labelEstimate, labelLimited, labelExample,
  seriesDemand, topService, topServiceCount,
} from './cardinality';
import { configureNormalization, normalizedName } from './normalize';
import { setPreview, initPreview, previewSpans, previewEstimate, entries as previewEntries, sampled as previewSampled } from './preview';
import { ABI_VERSION, PROCESSOR_SPAN_METRICS, EXEMPLAR_TABLE_SPAN_METRICS, EXEMPLAR_TABLE_EDGES } from './layout';

initFieldTable();
initIntern();

let scratchPtr: usize = 0;
let scratchCap: usize = 0;
let inputPtr: usize = 0;
let inputCap: usize = 0;

export function abi_version(): u32 {
  return ABI_VERSION;
}

/** A buffer of at least `n` bytes for passing set-up arguments; valid until the next call. */
export function scratch(n: usize): usize {
  if (n > scratchCap) {
    if (scratchPtr != 0) heap.free(scratchPtr);
    scratchCap = n < 256 ? 256 : n;
    scratchPtr = heap.alloc(scratchCap);
  }
  return scratchPtr;
}

/** Registers an attribute key (UTF-8 at ptr) to be read from spans and resources; returns its watched-attribute slot or -1. */
export function watch_key(ptr: usize, len: usize): i32 {
  return watchKey(ptr, len);
}

/**
 * Span metrics: `bounds` holds `boundCount` f64 bucket bounds (seconds, ascending), `mask`
 * the intrinsic dimensions (I_SERVICE, I_SPAN_NAME, I_SPAN_KIND, I_STATUS_CODE,
 * I_STATUS_MESSAGE), `slots` the i32 watched-key slot of each of the `dims` dimensions,
 * `multiplier` the slot of the span multiplier key or -1.
 */
export function spanmetrics_configure(bounds: usize, boundCount: i32, mask: u32, slots: usize, dims: i32, multiplier: i32): void {
  configureSpanMetrics(bounds, boundCount, mask, slots, dims, multiplier);
}

/**
 * Tempo's dimension mapping (before spanmetrics_configure): one more label, the values of the
 * `count` source attributes (i32 watched-key slots at `slots`) that a span has, joined by the
 * UTF-8 `join`. Returns 0, or -1 past 64 mappings.
 */
export function spanmetrics_mapping_add(joinPtr: usize, joinLen: usize, slots: usize, count: i32): i32 {
  return addDimensionMapping(joinPtr, joinLen, slots, count) ? 0 : -1;
}

/**
 * Tempo's target_info (before spanmetrics_configure): the traces_target_info table, and the job
 * and instance words of the span-metrics key. `namespaceSlot` and `instanceSlot` are the
 * watched-key slots of service.namespace and service.instance.id; `instanceLabel` 0 leaves the
 * instance label out (enable_instance_label: false).
 */
export function spanmetrics_target_info_configure(namespaceSlot: i32, instanceSlot: i32, instanceLabel: u32): void {
  configureTargetInfo(namespaceSlot, instanceSlot, instanceLabel != 0);
}

/** A resource attribute key (UTF-8 at ptr) left out of target_info; 0, or -1 past 64 keys. */
export function spanmetrics_target_info_exclude(ptr: usize, len: usize): i32 {
  return excludeTargetInfoKey(ptr, len) ? 0 : -1;
}

/**
 * The Collector connector's calls_dimensions and histogram.dimensions (before
 * spanmetrics_configure): `slots` holds the i32 slots of the `calls` calls dimensions, then of
 * the `hist` histogram dimensions. With either, calls and size go to spanmetrics_calls_table.
 */
export function spanmetrics_split_configure(slots: usize, calls: i32, hist: i32): void {
  configureSplitDimensions(slots, calls, hist);
}

/**
 * Self time (before spanmetrics_configure): each span-metrics record gains a self-time block
 * (layout.ts ST_V_*, at spanmetrics_self_time_block): per span, its duration minus the union of
 * its children's intervals clipped to it, for the children that come within `waitMs` of it. At
 * most `maxItems` spans and tombstones wait (selftime.ts). `expire` decides them.
 */
export function spanmetrics_self_time_configure(maxItems: u32, waitMs: f64): void {
  configureSelfTime(maxItems, waitMs);
}

/** The value index of the self-time block in a span-metrics record, or -1 without self time. */
export function spanmetrics_self_time_block(): i32 {
  return selfTimeBlock;
}

/** Self-time store counters: 0 entries in use, 1 spans and children refused with it full, 2 entries whose parent never came. */
export function self_time_counter(which: i32): f64 {
  return which == 0 ? <f64>selfTimeStoreSize : which == 1 ? selfTimeDropped : which == 2 ? selfTimeOrphans : 0;
}

/** The calls table of split dimensions (0 without calls_dimensions and histogram.dimensions). */
export function spanmetrics_calls_table(): usize {
  return changetype<usize>(spanCallsTable);
}

/**
 * The Collector connector's include_instrumentation_scope (before spanmetrics_configure): spans of
 * the scope named by the UTF-8 at `ptr` get two more span-metrics key words after job/instance
 * (or the mappings'): the scope's name and version. 0, or -1 past 64 names.
 */
export function spanmetrics_scope_include(ptr: usize, len: usize): i32 {
  return includeScope(ptr, len) ? 0 : -1;
}

/** The target_info table (0 when target_info is off). */
export function spanmetrics_target_info_table(): usize {
  return changetype<usize>(targetTable);
}

/**
 * A dimension's default (after spanmetrics_configure): the UTF-8 value at `ptr` labels dimension
 * `d` of a span that has neither the attribute nor its resource (the Collector's `default`).
 */
export function spanmetrics_dimension_default(d: i32, ptr: usize, len: usize): void {
  setDimensionDefault(d, ptr, len);
}

/**
 * The span-events metric (after spanmetrics_configure): `slots` holds the i32 watched-key slot
 * of each of the `dims` event attributes that become labels.
 */
export function spanmetrics_events_configure(slots: usize, dims: i32): void {
  configureEvents(slots, dims);
}

/**
 * Adds an SLO (before start); returns its index or -1 past MAX_SLOS. `flags`: SLO_LATENCY (else
 * availability), SLO_HTTP_5XX (an HTTP 5xx status attribute fails the span), SLO_ANY_SERVICE,
 * SLO_ANY_NAME, SLO_NAME_PATTERN (the host's env.slo_match decides). `service` and `name` are
 * UTF-8; `kind` the span kind or -1 for any; `thresholdNs` the latency threshold.
 */
export function slo_add(flags: u32, servicePtr: usize, serviceLen: usize, namePtr: usize, nameLen: usize, kind: i32, thresholdNs: f64): i32 {
  return addSlo(flags, servicePtr, serviceLen, namePtr, nameLen, kind, <u64>thresholdNs);
}

/** The SLO series table (0 without SLOs): key the SLO's index, values good and total spans. */
export function slo_table(): usize {
  return changetype<usize>(sloTable);
}

/**
 * Service graphs: bucket bounds as for span metrics; `opts` the SG_OPT_ bits (client/server
 * prefix, messaging latency histogram, virtual_node label); `slots` i32 watched-key slots of the
 * `dims` dimensions, `peers` peer attributes, `dbs` database-name attributes, then
 * peer.service, server.address, network.peer.address, network.peer.port and the span
 * multiplier key (-1 = none); `waitMs` how long an entry waits; `maxItems` the store size.
 */
export function servicegraphs_configure(
  bounds: usize, boundCount: i32, opts: u32, slots: usize, dims: i32, peers: i32, dbs: i32, waitMs: f64, maxItems: u32,
): void {
  configureServiceGraphs(bounds, boundCount, opts, slots, dims, peers, dbs, waitMs, maxItems);
}

/**
 * Native histograms for a processor's histograms (PROCESSOR_SPAN_METRICS or
 * PROCESSOR_SERVICE_GRAPHS), before its *_configure call: `schema` the starting resolution
 * (-4 … 8), `maxBuckets` the most buckets in use per histogram, `minResetMs` the least time
 * between resets (0: never), `classic` ≠ 0 when the classic buckets are exposed too (for the
 * series limit), `scale` what observations in seconds are multiplied by (1000: milliseconds; 0
 * or 1: seconds). Each histogram record then holds NH_V_BUCKETS + maxBuckets more values per
 * histogram (layout.ts NH_V_*).
 */
export function native_histograms_configure(processor: u32, schema: i32, maxBuckets: i32, minResetMs: f64, classic: u32, scale: f64): void {
  configureNative(processor, schema, maxBuckets, minResetMs, classic != 0, scale);
}

/**
 * Filter policies of a processor (PROCESSOR_SPAN_METRICS or PROCESSOR_SERVICE_GRAPHS), before
 * start: `count` FILTER_COND_SIZE-byte condition records at `records`, sorted by category and
 * policy, with the strings they point at after them, `bytes` in all (copied).
 */
export function filter_configure(processor: u32, records: usize, count: i32, bytes: usize): void {
  if (count <= 0) return;
  let f = newFilter(records, count, bytes);
  if (processor == PROCESSOR_SPAN_METRICS) setSpanMetricsFilter(f);
  else setServiceGraphsFilter(f);
}

/** Spans a processor's filter policies left out so far. */
export function spans_filtered(processor: u32): f64 {
  let f = processor == PROCESSOR_SPAN_METRICS ? spanMetricsFilter : serviceGraphsFilter;
  return changetype<usize>(f) != 0 ? f.filtered : 0;
}

/** Weighs a processor's spans by their tracestate's sampling threshold first (Tempo's enable_tracestate_span_multiplier). */
export function tracestate_configure(processor: u32, on: u32): void {
  if (processor == PROCESSOR_SPAN_METRICS) setSpanMetricsTracestate(on != 0);
  else setServiceGraphsTracestate(on != 0);
}

let slackNs: u64 = 0;
let lateSpans: f64 = 0;

/**
 * Registry limits: `maxActiveSeries` (0 = unlimited) caps active series across all tables;
 * `slackMs` (0 = off) leaves out spans that ended longer than that before the ingest time, or
 * further than that after it (as Tempo bounds both sides).
 */
export function registry_configure(maxActiveSeries: u32, slackMs: f64): void {
  setMaxActive(maxActiveSeries);
  slackNs = <u64>(slackMs * 1e6);
}

/**
 * Request limits (0 = none): the longest string in bytes (span and event names, status
 * messages, attribute keys and string values at any depth), the most attributes on a span and
 * the most spans in a request. A request over any is refused whole (ingest error
 * E_STRING_LENGTH, E_ATTRIBUTE_COUNT or E_SPAN_COUNT; spans_seen() then counts every span).
 */
export function limits_configure(maxStringLength: u32, maxAttributesPerSpan: u32, maxSpansPerRequest: u32): void {
  setLimits(maxStringLength, maxAttributesPerSpan, maxSpansPerRequest);
}

/**
 * Per-label caps (optional, before start): `capPerLabel` distinct values a span-metrics label may
 * take over a window of `windowMs` (the stale duration) before new label sets get
 * `__cardinality_overflow__` for it (0 = no cap; the default). See assembly/cardinality.ts.
 */
export function cardinality_configure(capPerLabel: u32, windowMs: f64): void {
  configureCardinality(capPerLabel, windowMs);
}

/**
 * Span-name normalisation of span metrics (optional, before start; assembly/normalize.ts):
 * `mode` NORMALIZE_OFF (the default), NORMALIZE_DRY_RUN or NORMALIZE_ON; `routeSlot` the watched
 * slot of http.route (-1: none), whose value replaces a path-like name under NORMALIZE_ON.
 */
export function normalize_configure(mode: u32, routeSlot: i32): void {
  configureNormalization(mode, routeSlot);
}

/** The string id of the normalised form of string `id` (itself when unchanged, 0xffffffff when it could not be held). */
export function normalized_name(id: u32): u32 {
  return normalizedName(id);
}

/** The what-if preview of attribute keys (assembly/preview.ts): on (1, the default) or off (0); before start. */
export function preview_configure(on: u32): void {
  setPreview(on != 0);
}

/** Ends set-up. */
export function start(): void {
  initStaging();
  if (spanMetricsEnabled()) initCardinality(spanMetricsTable, spanMetricsStatusMessageWord);
  initPreview();
}

/** Address of a buffer of at least `n` bytes for the next request body. */
export function input_reserve(n: usize): usize {
  if (n > inputCap) {
    if (inputPtr != 0) heap.free(inputPtr);
    // INPUT_SLACK bytes past the capacity stay readable for the walk (wire.ts). n + INPUT_SLACK
    // must not wrap: an n that near the top is left to the allocator, which refuses it.
    let bytes = n < 65536 - INPUT_SLACK ? 65536 : n > usize.MAX_VALUE - INPUT_SLACK ? n : n + INPUT_SLACK;
    inputPtr = heap.alloc(bytes);
    inputCap = bytes - INPUT_SLACK;
  }
  return inputPtr;
}

/** CRC-32 of `len` bytes at `ptr` (the gzip trailer's: src/otlp/gzip.ts checks an inflated member with it). */
export { crc32 } from './crc32';

/** Address of a buffer of at least `n` bytes for a gzip member's compressed bytes (inflate.ts). */
export { inflateSource as inflate_source } from './inflate';

/**
 * Inflates the raw deflate data (RFC 1951) from byte `from` of the `n` bytes at inflate_source()
 * into `dst`, at most `cap` bytes: the bytes written, or -INFLATE_FULL / -INFLATE_REFUSED.
 */
export { inflate } from './inflate';

/** Where the deflate data ended in the source, after an inflate that returned a length (the gzip trailer follows). */
export { inflateEnd as inflate_end } from './inflate';

/**
 * Walks the ExportTraceServiceRequest of `n` bytes at the input buffer and aggregates it.
 * Returns the number of spans, or -code (an E_ code) when the request is malformed or over a
 * limit, in which case nothing was aggregated (see fail_* for where).
 */
export function ingest(n: usize, nowMs: f64): i32 {
  resetStaging();
  resetReader(inputPtr);
  walkRequest(inputPtr + n);
  if (failCode != 0) return -failCode;
  if (slackNs != 0) markLate(<u64>(nowMs * 1e6));
  setReadOnly(budgetExhausted());
  checkTracking(nowMs, spanCount);
  // Whole seconds, computed here once: V8 sinks a division in a processor into its span loop.
  let now = <u32>(nowMs / 1000);
  if (spanMetricsEnabled()) aggregateSpanMetrics(nowMs, now);
  if (serviceGraphsEnabled()) aggregateServiceGraphs(nowMs, now);
  if (sloCount > 0) aggregateSlos();
  previewSpans();
  return <i32>spanCount;
}

function markLate(nowNs: u64): void {
  let oldest = nowNs > slackNs ? nowNs - slackNs : 0;
  let newest = nowNs + slackNs;
  for (let i: u32 = 0; i < spanCount; i++) {
    let span = spanAt(i);
    let end = load<u64>(span, SPAN_END);
    if (end < oldest || end > newest) {
      store<u32>(span, 1, SPAN_SKIP);
      lateSpans += 1;
    }
  }
}

/** Spans left out so far for ending outside the ingestion slack (before or after). */
export function late_spans(): f64 {
  return lateSpans;
}

/**
 * Removes series not updated within `staleMs` of `nowMs` from every table, then frees the
 * label values no longer held. Call between requests. Returns the series removed.
 */
export function sweep(nowMs: f64, staleMs: f64): u32 {
  let cutoff = nowMs > staleMs ? <u32>((nowMs - staleMs) / 1000) : 0;
  let removed: u32 = 0;
  if (spanMetricsEnabled()) removed += removeStale(spanMetricsTable, cutoff, EXEMPLAR_TABLE_SPAN_METRICS);
  if (eventsEnabled()) removed += removeStale(eventsTable, cutoff);
  if (targetInfoEnabled()) removed += removeStale(targetTable, cutoff);
  if (changetype<usize>(spanCallsTable) != 0) removed += removeStale(spanCallsTable, cutoff);
  if (serviceGraphsEnabled()) {
    removed += removeStale(edges, cutoff, EXEMPLAR_TABLE_EDGES);
    removed += removeStale(unpaired, cutoff);
    removed += removeStale(dropped, cutoff);
  }
  cardinalityTick(nowMs);
  // Edge-store entries hold no references per span: their ids are held while strings are freed.
  let edgesWait = serviceGraphsEnabled();
  if (edgesWait) holdWaitingIds(true);
  sweepStrings();
  if (edgesWait) holdWaitingIds(false);
  return removed;
}

/** Active series as Prometheus counts them (overflow series excluded). */
export function active_series(): u32 {
  return activeSeries;
}
/** New label sets folded into an overflow series so far. */
export function series_limited(): f64 {
  return limitedTotal;
}
/** Series removed as stale so far. */
export function series_removed(): f64 {
  return removedTotal;
}
/** Changes whenever string ids were freed (and may be reused): decoded copies are then stale. */
export function strings_epoch(): u32 {
  return freeEpoch;
}
/** Bytes of label values held. */
export function string_bytes(): usize {
  return stringBytes;
}

/** Expires service-graph and self-time entries whose wait ended by `nowMs` (+Inf: all, at shutdown); returns the service-graph entries decided. */
export function expire(nowMs: f64): u32 {
  if (selfTimeOn) expireSelfTime(nowMs);
  return serviceGraphsEnabled() ? expireServiceGraphs(nowMs) : 0;
}

/**
 * Spans staged by the last ingest (before the failure, if it failed), plus those it counted past
 * the span limit (every span of a request refused for that limit, up to any malformation after it).
 */
export function spans_seen(): u32 {
  return spanCount + spansOver;
}
export function fail_offset(): u32 {
  return <u32>(failAt - inputPtr);
}
export function fail_message(): i32 {
  return failMessage;
}
export function fail_field(): i32 {
  return failField;
}

/** The string table: per id an entry of STRING_ENTRY_SIZE bytes (STRING_PTR, STRING_LEN); id 0 is the empty string. */
export function strings(): usize {
  return stringEntries();
}
export function string_count(): u32 {
  return stringCount();
}
/** The hash of string `id`'s bytes (SipHash-1-3 under the hash_key key, folded to 32 bits): what the label-value index places it by. */
export function string_hash(id: u32): u32 {
  return hashBytes(stringPtr(id), stringLen(id));
}

/**
 * The hash key for label values and edge keys (SipHash-1-3, assembly/hash.ts): four u32 words
 * from the host's CSPRNG, before the first ingest. Without it the key is zero and public.
 */
export function hash_key(w0: u32, w1: u32, w2: u32, w3: u32): void {
  rekey((<u64>w1 << 32) | <u64>w0, (<u64>w3 << 32) | <u64>w2);
}

/** Index slots looked at by label-value lookups so far; with intern_lookups, probes per lookup. */
export function intern_probes(): f64 {
  return <f64>probes;
}

export function intern_lookups(): f64 {
  return <f64>lookups;
}

/**
 * The exemplar of a histogram bucket of the series at index `record` (of that generation):
 * `table` EXEMPLAR_TABLE_SPAN_METRICS or EXEMPLAR_TABLE_EDGES; `bucket` the bucket index (the
 * count of bounds for +Inf), plus EXEMPLAR_HISTOGRAM_STRIDE per histogram after the first on an
 * edge (server, client, messaging). Returns the address of the exemplar (EXEMPLAR_TRACE_ID …
 * EXEMPLAR_TIME), or 0 when none is kept.
 */
export function exemplar(table: u32, record: u32, generation: u32, bucket: u32): usize {
  let e = findExemplar(table, record, generation, bucket);
  return e != 0 ? e + E_EXEMPLAR : 0;
}

/**
 * The worst trace kept for the series at index `record` (of that generation) of `table`
 * (EXEMPLAR_TABLE_*): `which` WORST_SLOWEST, the slowest observation of the current window (an
 * edge's by server span duration), or WORST_FAILED, the latest failed one. Returns the address of
 * the slot (the exemplar, then WORST_BUCKET), or 0 when none is kept.
 */
export function worst_exemplar(table: u32, record: u32, generation: u32, which: u32): usize {
  return findWorst(table, record, generation, which);
}

/** The window of the slowest slots, in ms (default 60,000); set before start. */
export function worst_configure(windowMs: f64): void {
  setWorstWindow(windowMs);
}

/** Bytes allocated for the worst-trace slots so far. */
export function worst_bytes(): f64 {
  return <f64>worstBytes;
}

/** Span-metrics series table (0 when the processor is off). */
export function spanmetrics_table(): usize {
  return changetype<usize>(spanMetricsTable);
}
/** Span-events series table (0 when the events metric is off). */
export function spanmetrics_events_table(): usize {
  return changetype<usize>(eventsTable);
}
/** Service-graph tables: completed edges, unpaired spans, dropped spans (0 when the processor is off). */
export function servicegraphs_edges(): usize {
  return changetype<usize>(edges);
}
export function servicegraphs_unpaired(): usize {
  return changetype<usize>(unpaired);
}
export function servicegraphs_dropped(): usize {
  return changetype<usize>(dropped);
}
/** Entries waiting in the edge store. */
export function servicegraphs_store_size(): u32 {
  return edgeStoreSize;
}
/** Entries expired so far whose waiting side was a client (0) or a server (1) span. */
export function servicegraphs_expired(side: i32): f64 {
  return side == 0 ? expiredClient : expiredServer;
}
/** Address of table `t`'s chunk directory: a u32 chunk address per CHUNK_RECORDS records (moves as the table grows). */
export function table_chunks(t: usize): usize {
  return changetype<SeriesTable>(t).chunks;
}
/** Records per chunk of table `t` (fixed for the table's life). */
export function table_chunk_records(t: usize): u32 {
  return changetype<SeriesTable>(t).perChunk;
}
export function table_used(t: usize): u32 {
  return changetype<SeriesTable>(t).used;
}
export function table_stride(t: usize): usize {
  return changetype<SeriesTable>(t).stride;
}
export function table_values_offset(t: usize): usize {
  return changetype<SeriesTable>(t).valuesOffset;
}
/** u32 key words per record of table `t` (fixed for the table's life). */
export function table_key_words(t: usize): i32 {
  return changetype<SeriesTable>(t).keyWords;
}
/** f64 values per record of table `t` (fixed for the table's life). */
export function table_value_count(t: usize): i32 {
  return changetype<SeriesTable>(t).valueCount;
}

/**
 * Distinct values of span-metrics key word `word` (a label: service, span name, status message,
 * a dimension or mapping) over the window, -1 while not tracked (no cap and nothing held back yet).
 */
export function label_cardinality(word: i32): f64 {
  return labelEstimate(word);
}
/** Values of span-metrics key word `word` replaced by `__cardinality_overflow__` so far. */
export function label_values_limited(word: i32): f64 {
  return labelLimited(word);
}
/** Address of key word `word`'s latest held-back value: u32 length, then up to LABEL_EXAMPLE_BYTES bytes; 0 when none. */
export function label_example(word: i32): usize {
  return labelExample(word);
}
/** Series the traffic would make: active series plus the label sets held back (by a cap or the series limit) over the window. */
export function series_demand(): f64 {
  return seriesDemand();
}
/** The held-back spans' top services (TOP_SERVICES entries): entry `i`'s service string id (0: empty) and its count. */
export function top_service(i: i32): u32 {
  return topService(i);
}
export function top_service_count(i: i32): f64 {
  return topServiceCount(i);
}

/** The what-if preview's table (PREVIEW_ENTRIES entries of PREVIEW_ENTRY_SIZE bytes: PV_ offsets); an entry is in use when its PV_SPANS > 0. */
export function preview_entries(): usize {
  return previewEntries;
}
/** Distinct values of preview entry `i`'s key among its sampled spans (HyperLogLog, 3.25 % standard error). */
export function preview_estimate(i: i32): f64 {
  return previewEstimate(i);
}
/** Spans whose attributes the preview read so far (one in 2^PREVIEW_SAMPLE_SHIFT). */
export function preview_sampled(): f64 {
  return previewSampled;
}
