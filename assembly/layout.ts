// What the core and its host share, declared once: the ABI version, the series record header,
// the key words and values of each table, the option and flag bits of the configure calls, the
// exemplar and string-table entries, the ingest error codes (with the reason the host sends)
// and the message ids of a failure (with the message's name). docs/abi.md describes them.
//
// src/core/generate-layout.mjs turns this file into src/core/layout.ts, the same names with the
// same values for the host (it runs in `npm run build:wasm`; test/core/layout.test.ts fails
// while the generated file is stale). So only `export const NAME: TYPE = EXPR;` lines here, EXPR
// integers and earlier names joined by + - * << | and parentheses; a `/** … */` line right
// above a constant is carried over as its comment (for E_ and M_ constants: as the reason text
// and the message name the host reports). Units: `KEY_` constants index u32 key words, `V_`
// constants index f64 values (the core's byte offset is the index << 3), everything else
// named for bytes or bits is in bytes or bits. The core imports these as compile-time
// constants, so they cost nothing on the hot path.

/** What `abi_version()` answers; bumped for any change a host would have to follow (docs/abi.md). */
export const ABI_VERSION: u32 = 10;

// ---- Series records (series.ts): a header, the key words (padded to 8 bytes), the f64 values.

/** u32 last update, seconds of the host clock. */
export const RECORD_UPDATED: usize = 0;
/**
 * u32: the flags (RECORD_LIVE, RECORD_OVERFLOW) in its low RECORD_GENERATION_SHIFT bits, the
 * generation above them: bumped whenever the record is (re)used, so caches keyed by record index
 * can tell (30 bits: it wraps around after 2^30 reuses of one record).
 */
export const RECORD_STATE: usize = 4;
/** The first u32 key word (on a free record: the next free record + 1). */
export const RECORD_KEY: usize = 8;
/** The state word's flag bits. */
export const RECORD_FLAG_MASK: u32 = 3;
/** The generation is the state word shifted right this many bits. */
export const RECORD_GENERATION_SHIFT: u32 = 2;
/** Records live in chunks of this many bytes, each aligned to it (a larger record: a chunk of its own). */
export const CHUNK_BYTES: usize = 65536;
/** A chunk starts with its number (u32); its records follow from this offset. */
export const CHUNK_HEADER: usize = 8;
/** Flag: the record holds a series (skip records without it). */
export const RECORD_LIVE: u32 = 1;
/** Flag: the table's overflow record (exposed as metric_overflow="true"). */
export const RECORD_OVERFLOW: u32 = 2;

// ---- Span metrics table (spanmetrics.ts). Key words: the intrinsic dimensions but the status
// message, then one per configured dimension and dimension mapping, job and instance (target
// info), scope name and version (spanmetrics_scope_include), then the status message when it is
// on, then the histogram dimensions (src/core/keywords.ts says where each is for a config). Values: calls,
// size, latency sum, then one count per finite bucket.

export const SM_KEY_SERVICE: i32 = 0;
export const SM_KEY_SPAN_NAME: i32 = 1;
/** The span kind as sent (an int32, not a string id). */
export const SM_KEY_SPAN_KIND: i32 = 2;
/** The status code as sent (an int32, not a string id). */
export const SM_KEY_STATUS_CODE: i32 = 3;
/** The first configured dimension. */
export const SM_KEY_DIMENSIONS: i32 = 4;
/** Calls (the latency histogram's count too). */
export const SM_V_CALLS: i32 = 0;
/** Size of the spans, bytes. */
export const SM_V_SIZE: i32 = 1;
/** Latency sum, seconds. */
export const SM_V_SUM: i32 = 2;
/** The first bucket count; a record has SM_V_BUCKETS + bounds values. */
export const SM_V_BUCKETS: i32 = 3;

// With spanmetrics_self_time_configure (selftime.ts), each span-metrics record holds a self-time
// block of ST_V_BUCKETS + B values after the latency buckets and any native histogram block
// (spanmetrics_self_time_block says where). Indexes below are within the block.

/** Self-time observations (weighted): the self-time histogram's count. */
export const ST_V_COUNT: i32 = 0;
/** Self-time sum, seconds. */
export const ST_V_SUM: i32 = 1;
/** Spans of the series whose self time was not observed: their children could not all be kept (weighted). */
export const ST_V_UNKNOWN: i32 = 2;
/** Children that arrived after their parent's self time was observed (weighted by the parent's weight). */
export const ST_V_LATE: i32 = 3;
/** The first self-time bucket count (the latency histogram's bounds). */
export const ST_V_BUCKETS: i32 = 4;
/** Child intervals an entry of the self-time store keeps merged before it folds the earliest into a sum. */
export const ST_INTERVALS: i32 = 4;

// Intrinsic dimension switches (spanmetrics_configure's mask).
export const I_SERVICE: u32 = 1;
export const I_SPAN_NAME: u32 = 2;
export const I_SPAN_KIND: u32 = 4;
export const I_STATUS_CODE: u32 = 8;
export const I_STATUS_MESSAGE: u32 = 16;

// With target_info on (spanmetrics_target_info_configure), the span-metrics key has two more
// words after the dimension mappings': the job label, then the instance label (0: none).

// ---- Target info table (targetinfo.ts, Tempo's traces_target_info): one record per distinct
// resource. Key words: job, instance, then TI_MAX_ATTRIBUTES (name, value) pairs of string ids
// sorted by name bytes (0, 0 after the last). One value.

export const TI_KEY_JOB: i32 = 0;
export const TI_KEY_INSTANCE: i32 = 1;
/** The first attribute's name; its value is the next word. */
export const TI_KEY_ATTRIBUTES: i32 = 2;
/** Most resource attributes on one target_info series (those with the first names in byte order). */
export const TI_MAX_ATTRIBUTES: i32 = 64;
/** The gauge's value, 1. */
export const TI_V_VALUE: i32 = 0;

// ---- Span events table (spanmetrics.ts): the span's key words (SM_KEY_DIMENSIONS + span
// dimensions), then the event name, then one word per event dimension. One value.

/** The event count (weighted like calls). */
export const EVENTS_V_COUNT: i32 = 0;

// ---- Service-graph edge table (servicegraphs.ts). Key words: client, server, connection type,
// virtual node, then the dimensions (client ones, then server ones with the prefix option).
// Values: the counters and sums, then SG_HISTOGRAMS runs of one count per finite bucket.

export const SG_KEY_CLIENT: i32 = 0;
export const SG_KEY_SERVER: i32 = 1;
/** A CONNECTION_ number. */
export const SG_KEY_CONNECTION: i32 = 2;
/** A VIRTUAL_ number (only with SG_OPT_VIRTUAL_NODE_LABEL). */
export const SG_KEY_VIRTUAL_NODE: i32 = 3;
/** The first dimension; the key has SG_KEY_DIMENSIONS + dimension words. */
export const SG_KEY_DIMENSIONS: i32 = 4;
/** Requests (the count of the server and client histograms). */
export const SG_V_REQUESTS: i32 = 0;
export const SG_V_FAILED: i32 = 1;
export const SG_V_SERVER_SUM: i32 = 2;
export const SG_V_CLIENT_SUM: i32 = 3;
export const SG_V_MESSAGING_SUM: i32 = 4;
export const SG_V_MESSAGING_COUNT: i32 = 5;
/** The first bucket count: server buckets, then client, then messaging. */
export const SG_V_BUCKETS: i32 = 6;
/** Histograms per edge (server, client, messaging): a record has SG_V_BUCKETS + SG_HISTOGRAMS * bounds values. */
export const SG_HISTOGRAMS: i32 = 3;

// connection_type label values, by number.
export const CONNECTION_NONE: u32 = 0;
export const CONNECTION_VIRTUAL_NODE: u32 = 1;
export const CONNECTION_MESSAGING_SYSTEM: u32 = 2;
export const CONNECTION_DATABASE: u32 = 3;
/** An edge inferred from a parent/child link across services (SG_OPT_INFER_PARENT_CHILD). */
export const CONNECTION_PARENT_CHILD: u32 = 4;
// virtual_node label values, by number.
export const VIRTUAL_NONE: u32 = 0;
export const VIRTUAL_CLIENT: u32 = 1;
export const VIRTUAL_SERVER: u32 = 2;

// Option bits (servicegraphs_configure's opts).
export const SG_OPT_CLIENT_SERVER_PREFIX: u32 = 1;
export const SG_OPT_MESSAGING_LATENCY: u32 = 2;
export const SG_OPT_VIRTUAL_NODE_LABEL: u32 = 4;
/** infer_edges: parent_child. */
export const SG_OPT_INFER_PARENT_CHILD: u32 = 8;

// servicegraphs_configure's slots: the dimensions', peer attributes' and database-name
// attributes' slots, then SG_SLOTS_FIXED more, at these places (-1 = none).
/** peer.service */
export const SG_SLOT_PEER_SERVICE: i32 = 0;
/** server.address */
export const SG_SLOT_SERVER_ADDRESS: i32 = 1;
/** network.peer.address */
export const SG_SLOT_NETWORK_PEER_ADDRESS: i32 = 2;
/** network.peer.port */
export const SG_SLOT_NETWORK_PEER_PORT: i32 = 3;
/** The span multiplier key. */
export const SG_SLOT_MULTIPLIER: i32 = 4;
export const SG_SLOTS_FIXED: i32 = 5;

// ---- Native histograms (nativehistogram.ts), with native_histograms_configure: each histogram
// of the processor's table has a block of NH_V_BUCKETS + maxBuckets values after all the
// classic buckets of its record (span metrics: at SM_V_BUCKETS + B; edges: at SG_V_BUCKETS +
// SG_HISTOGRAMS * B, server, then client, then messaging). Indexes below are within a block.

/** Halvings of the resolution since the last reset: the schema is the configured one minus this. */
export const NH_V_REDUCED: i32 = 0;
/** The bucket index (at the current schema) of the first bucket count. */
export const NH_V_BASE: i32 = 1;
/** Buckets from the lowest to the highest index in use (0: none yet). */
export const NH_V_SPAN: i32 = 2;
/** Observations (weighted), zero bucket included. */
export const NH_V_COUNT: i32 = 3;
/** Sum of the observations, seconds. */
export const NH_V_SUM: i32 = 4;
/** The zero bucket's count (values at or under 2^-128). */
export const NH_V_ZERO: i32 = 5;
/** Time of the first observation since the histogram (re)started, ms (the host's nowMs). */
export const NH_V_START: i32 = 6;
/** The first of NH_V_SPAN bucket counts (not cumulative), for indexes NH_V_BASE upwards. */
export const NH_V_BUCKETS: i32 = 7;
/** The highest schema (native_histograms_configure clamps to it). */
export const NH_SCHEMA_MAX: i32 = 8;
/** The lowest schema is minus this: -4 (native_histograms_configure clamps to it). */
export const NH_SCHEMA_MIN_NEGATED: i32 = 4;

// ---- Unpaired and dropped span tables (servicegraphs.ts).

export const PAIR_KEY_CLIENT: i32 = 0;
export const PAIR_KEY_SERVER: i32 = 1;
/** A REASON_ number (unpaired table; REASON_NONE in the dropped table). */
export const PAIR_KEY_REASON: i32 = 2;
/** The span count. */
export const PAIR_V_COUNT: i32 = 0;

// reason label values of the unpaired table, by number.
export const REASON_NONE: u32 = 0;
/** A client or producer span: no server or consumer span came for it. */
export const REASON_CLIENT_ONLY: u32 = 1;
/** A server or consumer span whose parent came but is not a client or producer span. */
export const REASON_SERVER_ONLY: u32 = 2;
/** A server or consumer span whose parent span never came. */
export const REASON_PARENT_UNKNOWN: u32 = 3;
/** The waiting span was sampled with probability below 1 (tracestate ot=th:), its other side likely not. */
export const REASON_SAMPLED_OUT: u32 = 4;

// ---- SLO table (slos.ts): one record per SLO.

/** The SLO's index in the order added (a number, not a string id). */
export const SLO_KEY_INDEX: i32 = 0;
export const SLO_V_GOOD: i32 = 0;
export const SLO_V_TOTAL: i32 = 1;
/** Most SLOs: name-pattern answers are one 32-bit mask. */
export const MAX_SLOS: i32 = 32;

// Flags of an SLO (slo_add's flags).
export const SLO_LATENCY: u32 = 1;
export const SLO_HTTP_5XX: u32 = 2;
export const SLO_ANY_SERVICE: u32 = 4;
export const SLO_ANY_NAME: u32 = 8;
export const SLO_NAME_PATTERN: u32 = 16;

// ---- Filter policies (filters.ts): filter_configure takes FILTER_COND_SIZE-byte records, one
// per condition, sorted by category (FILTER_EXCLUDE, FILTER_INCLUDE_ANY, FILTER_INCLUDE) and
// then by policy; a policy matches when all its conditions do (Tempo's pkg/spanfilter).

/** The processor argument of filter_configure, spans_filtered and tracestate_configure: span metrics. */
export const PROCESSOR_SPAN_METRICS: u32 = 0;
/** The processor argument of filter_configure, spans_filtered and tracestate_configure: service graphs. */
export const PROCESSOR_SERVICE_GRAPHS: u32 = 1;
/** u32 the policy's number (conditions of one policy are adjacent). */
export const FILTER_COND_POLICY: usize = 0;
/** u32 FILTER_EXCLUDE, FILTER_INCLUDE_ANY or FILTER_INCLUDE. */
export const FILTER_COND_CATEGORY: usize = 4;
/** u32 a FILTER_ON_ number: what the condition reads. */
export const FILTER_COND_TARGET: usize = 8;
/** u32 a FILTER_TEST_ number: how it compares. */
export const FILTER_COND_TEST: usize = 12;
/** i32 the watched-attribute slot (FILTER_ON_RESOURCE, FILTER_ON_SPAN). */
export const FILTER_COND_SLOT: usize = 16;
/** u32 FILTER_TEST_MASK: the bit set of kinds or status codes; FILTER_TEST_PATTERN: the pattern's bit; FILTER_TEST_STRING: the length. */
export const FILTER_COND_ARG: usize = 20;
/** u64 FILTER_TEST_INT: the i64; FILTER_TEST_DOUBLE: the f64; FILTER_TEST_BOOL: 0 or 1; FILTER_TEST_STRING: the bytes' offset from the records' address. */
export const FILTER_COND_VALUE: usize = 24;
export const FILTER_COND_SIZE: usize = 32;
export const FILTER_EXCLUDE: u32 = 0;
export const FILTER_INCLUDE_ANY: u32 = 1;
export const FILTER_INCLUDE: u32 = 2;
/** A policy without attributes: matches every span. */
export const FILTER_ON_ANY: u32 = 0;
/** The span kind (FILTER_TEST_MASK). */
export const FILTER_ON_KIND: u32 = 1;
/** The status code (FILTER_TEST_MASK). */
export const FILTER_ON_STATUS: u32 = 2;
/** The span name (FILTER_TEST_STRING or FILTER_TEST_PATTERN). */
export const FILTER_ON_NAME: u32 = 3;
/** A resource attribute (resource.x). */
export const FILTER_ON_RESOURCE: u32 = 4;
/** A span attribute (span.x). */
export const FILTER_ON_SPAN: u32 = 5;
export const FILTER_TEST_MASK: u32 = 0;
export const FILTER_TEST_STRING: u32 = 1;
export const FILTER_TEST_INT: u32 = 2;
export const FILTER_TEST_DOUBLE: u32 = 3;
export const FILTER_TEST_BOOL: u32 = 4;
/** The string matches regular expression ARG: env.filter_match answers, once per distinct string. */
export const FILTER_TEST_PATTERN: u32 = 5;
/** Most regular expressions over all filter policies: env.filter_match answers in one 32-bit mask. */
export const MAX_FILTER_PATTERNS: i32 = 32;

// ---- Watched attribute keys (watch.ts).

/** Most keys watch_key takes (the watched-attribute slots 0 … MAX_WATCHED - 1). */
export const MAX_WATCHED: i32 = 64;

// ---- Exemplars (exemplars.ts): the entry at the address `exemplar()` answers.

/** exemplar()'s table argument: span metrics. */
export const EXEMPLAR_TABLE_SPAN_METRICS: u32 = 0;
/** exemplar()'s table argument: service-graph edges. */
export const EXEMPLAR_TABLE_EDGES: u32 = 1;
/** Added to an edge's bucket index per histogram after the first (client: 64, messaging: 128). */
export const EXEMPLAR_HISTOGRAM_STRIDE: u32 = 64;
/** 16 bytes. */
export const EXEMPLAR_TRACE_ID: usize = 0;
/** 8 bytes, zeros when the span had none. */
export const EXEMPLAR_SPAN_ID: usize = 16;
/** f64 observed value, seconds. */
export const EXEMPLAR_VALUE: usize = 24;
/** f64 time of the observation, ms. */
export const EXEMPLAR_TIME: usize = 32;
export const EXEMPLAR_SIZE: usize = 40;

// ---- The worst trace per series (worst.ts): the slot at the address `worst_exemplar()` answers,
// the exemplar's trace id, span id and value above (EXEMPLAR_TRACE_ID … EXEMPLAR_VALUE), then these.

/** worst_exemplar()'s `which`: the slowest observation of the current window (edges: by server span duration). */
export const WORST_SLOWEST: u32 = 0;
/** worst_exemplar()'s `which`: the latest failed observation (status ERROR; an edge: either side). */
export const WORST_FAILED: u32 = 1;
/** u32 time of the observation, ms (the nowMs of the ingest or expire that made it, an integer): its low 32 bits. */
export const WORST_TIME_LOW: usize = 32;
/** u16 the time's high 16 bits: the time is WORST_TIME_LOW + WORST_TIME_HIGH * 2^32. */
export const WORST_TIME_HIGH: usize = 36;
/** u16 index of the histogram bucket the value fell in (the latency histogram; an edge's server histogram), plus one. */
export const WORST_BUCKET: usize = 38;
/** Bytes per slot. */
export const WORST_SIZE: usize = 40;

// ---- String table (intern.ts): one entry per id at strings() + id * STRING_ENTRY_SIZE.

/** u32 address of the UTF-8 bytes (0 on a free entry). */
export const STRING_PTR: usize = 0;
/** u16 length in bytes (at most 2048). */
export const STRING_LEN: usize = 4;
/** u16 references (internal; sticky at 65535: a value held that often is never freed). */
export const STRING_REFS: usize = 6;
/** u32 over the length and references of a free entry: the next free id (internal). */
export const STRING_FREE_NEXT: usize = 4;
export const STRING_ENTRY_SIZE: usize = 8;

// ---- Ingest failures: ingest() answers -code. Each comment is the reason the host reports.

/** truncated data */
export const E_TRUNCATED: i32 = 1;
/** varint overflows 64 bits */
export const E_VARINT: i32 = 2;
/** invalid wire type */
export const E_WIRE_TYPE: i32 = 3;
/** wrong wire type for a known field */
export const E_FIELD_WIRE_TYPE: i32 = 4;
/** length runs past the end of its message */
export const E_LENGTH: i32 = 5;
/** nesting deeper than 64 levels */
export const E_DEPTH: i32 = 6;
/** wrong id length (trace_id must be 16 bytes, span_id and parent_span_id 8, or empty) */
export const E_ID_LENGTH: i32 = 7;
/** unmatched group end */
export const E_GROUP: i32 = 8;
/** field number 0 */
export const E_FIELD_NUMBER: i32 = 9;
// Limits the host sets (limits_configure), not malformations.
/** string longer than otlp.max_string_length */
export const E_STRING_LENGTH: i32 = 10;
/** more attributes than otlp.max_attributes_per_span */
export const E_ATTRIBUTE_COUNT: i32 = 11;
/** more spans than otlp.max_spans_per_request */
export const E_SPAN_COUNT: i32 = 12;

/** Deepest nesting of messages the walker follows (E_DEPTH beyond). */
export const MAX_DEPTH: i32 = 64;

// ---- Message ids (fail_message, and the walker's field table). Each comment is the message's
// name in the OTLP protos.

/** ExportTraceServiceRequest */
export const M_REQUEST: i32 = 1;
/** ResourceSpans */
export const M_RESOURCE_SPANS: i32 = 2;
/** Resource */
export const M_RESOURCE: i32 = 3;
/** ScopeSpans */
export const M_SCOPE_SPANS: i32 = 4;
/** Span */
export const M_SPAN: i32 = 5;
/** Status */
export const M_STATUS: i32 = 6;
/** KeyValue */
export const M_KEY_VALUE: i32 = 7;
/** AnyValue */
export const M_ANY_VALUE: i32 = 8;
/** ArrayValue */
export const M_ARRAY_VALUE: i32 = 9;
/** KeyValueList */
export const M_KEY_VALUE_LIST: i32 = 10;
/** InstrumentationScope */
export const M_SCOPE: i32 = 11;
/** Span.Event */
export const M_EVENT: i32 = 12;
/** Span.Link */
export const M_LINK: i32 = 13;

// ---- Cardinality (cardinality.ts): per-label caps and demand estimates of the span-metrics table.

/** Bytes kept of a label's latest held-back value (label_example: a u32 length, then the bytes). */
export const LABEL_EXAMPLE_BYTES: usize = 96;
/** Entries of the held-back services' top list (top_service). */
export const TOP_SERVICES: i32 = 8;

// normalize_configure's modes (span_name_normalization).
/** off: span names as they are. */
export const NORMALIZE_OFF: u32 = 0;
/** dry_run: span names as they are; normalized_name answers for the host's report. */
export const NORMALIZE_DRY_RUN: u32 = 1;
/** on: path-like span names normalised (or their http.route) before the series lookup. */
export const NORMALIZE_ON: u32 = 2;

// ---- What-if preview (preview.ts): per (service, attribute key) seen on sampled spans, an
// entry of PREVIEW_ENTRY_SIZE bytes at preview_entries() + i * PREVIEW_ENTRY_SIZE.

/** Entries: PREVIEW_WAYS per set; the least-sampled entry of a set makes room for a new key. */
export const PREVIEW_ENTRIES: i32 = 512;
export const PREVIEW_WAYS: i32 = 4;
/** One span in 2^PREVIEW_SAMPLE_SHIFT has its attributes read. */
export const PREVIEW_SAMPLE_SHIFT: u32 = 6;
/** u32 the service's string id (0: spans without service.name); an entry is in use when PV_SPANS > 0. */
export const PV_SERVICE: usize = 0;
/** u32 the key's length in bytes (up to PV_KEY_BYTES kept). */
export const PV_KEY_LEN: usize = 4;
/** f64 sampled spans that carried the key. */
export const PV_SPANS: usize = 8;
/** The key's first PV_KEY_BYTES bytes. */
export const PV_KEY: usize = 16;
export const PV_KEY_BYTES: usize = 48;
/** u32 example values kept (up to PV_EXAMPLE_COUNT), then per example a u32 length and PV_EXAMPLE_BYTES bytes. */
export const PV_EXAMPLES: usize = 64;
export const PV_EXAMPLE_COUNT: i32 = 3;
export const PV_EXAMPLE_BYTES: usize = 40;
/**
 * The HyperLogLog sketch of the values (hll.ts; preview_estimate reads it). Entries are whole
 * cache lines (the table starts on a page): the fields a lookup reads (PV_SERVICE to the key's
 * end) are one line, and the sketch's registers start on one.
 */
export const PV_SKETCH: usize = 240;
export const PREVIEW_ENTRY_SIZE: usize = 1280;

// ---- Inflating gzip bodies in the core (inflate.ts): inflate() answers the bytes written or -code.

/** The output needs more room than given (the host grows it, or reports the size limit). */
export const INFLATE_FULL: i32 = 1;
/** Not a stream the core inflates (corrupt, cut short, or a case it leaves alone): zlib decides. */
export const INFLATE_REFUSED: i32 = 2;
