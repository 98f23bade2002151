// The core as the host sees it: configures the WASM module once, feeds it request bytes and
// exposes its tables and interned strings to the exporters. The only code that calls the ABI.
import type { Config, RegistryConfig, ServiceGraphsConfig, SloConfig, SpanMetricsConfig } from '../config/types.js';
import { serviceGraphsOn } from '../config/types.js';
import { sloNamePattern, sloSpanKind } from '../config/slos.js';
import type { IngestResult } from './result.js';
import type { Destination } from '../otlp/gzip.js';
import { instantiateCore, type CoreExports, type WasmBuild } from './wasm.js';
import { causeOf, describeFailure, spanLimitReason } from './errors.js';
import { SeriesTableView } from './series.js';
import { FilterPatterns, filterRecords } from './filters.js';
import * as L from './layout.js';
import { schemaForFactor } from './native.js';
import { SELF_TIME_MAX_ITEMS } from '../config/defaults.js';

export type { IngestResult } from './result.js';
export { SeriesTableView } from './series.js';

export interface CoreOptions {
  /** Span metrics settings; absent when the processor is off. */
  spanMetrics?: SpanMetricsConfig;
  /** Service graph settings; absent when the processor is off. */
  serviceGraphs?: ServiceGraphsConfig;
  /** Series limit, per-label cap and stale-series expiry; default: unlimited, no cap, 15 minutes. */
  registry?: Omit<RegistryConfig, 'max_cardinality_per_label'> & { max_cardinality_per_label?: number };
  /** Spans that ended longer than this (ms) before ingest are left out; 0 = keep all. */
  slackMs?: number;
  /** Service-level objectives counted in the core. */
  slos?: readonly SloConfig[];
  /** The what-if preview of attribute keys (assembly/preview.ts); default on. */
  preview?: boolean;
  /** Request limits (0 or absent: none). */
  limits?: { maxStringLength: number; maxAttributesPerSpan: number; maxSpansPerRequest?: number };
  /** Native histograms for both processors' histograms (generate_native_histograms); absent: classic only. */
  nativeHistograms?: NativeHistogramOptions;
  /** The window of each series' slowest exemplar (exemplars.window), ms; default 60,000. */
  exemplarWindowMs?: number;
  /** Self time of the span-metrics series (processor.span_metrics.self_time): store size and wait (ms); absent: off. */
  selfTime?: { maxItems: number; waitMs: number };
  build?: WasmBuild;
}

/** generate_native_histograms and its settings, as the core takes them. */
export interface NativeHistogramOptions {
  /** classic: no native histograms; native: only them; both: classic buckets too. */
  mode: 'classic' | 'native' | 'both';
  /** Starting resolution, -4 … 8 (schemaForFactor of the bucket factor). */
  schema: number;
  /** Most buckets in use per histogram before the resolution is halved (or the histogram reset). */
  maxBuckets: number;
  /** Least time between resets, ms; 0: never reset. */
  minResetMs: number;
  /** What span durations in seconds are multiplied by for the span-metrics histogram (1000 with naming: otel in ms); default 1. */
  spanMetricsScale?: number;
}

/** What a configuration asks of the core. */
export function coreOptions(config: Config): CoreOptions {
  return {
    spanMetrics: config.processors.includes('span-metrics') ? config.processor.span_metrics : undefined,
    serviceGraphs: serviceGraphsOn(config.processors) ? config.processor.service_graphs : undefined,
    registry: config.registry,
    slackMs: config.metrics_ingestion_time_range_slack,
    slos: config.slos,
    exemplarWindowMs: config.exemplars.window,
    nativeHistograms: {
      mode: config.generate_native_histograms,
      schema: schemaForFactor(config.native_histogram_bucket_factor),
      maxBuckets: config.native_histogram_max_bucket_number,
      minResetMs: config.native_histogram_min_reset_duration,
      spanMetricsScale: config.naming === 'otel' && config.processor.span_metrics.histogram_unit === 'ms' ? 1000 : 1,
    },
    selfTime: config.processors.includes('span-metrics') && config.processor.span_metrics.self_time
      ? { maxItems: config.processor.span_metrics.self_time_max_items ?? SELF_TIME_MAX_ITEMS, waitMs: config.processor.service_graphs.wait }
      : undefined,
    limits: {
      maxStringLength: config.otlp.max_string_length,
      maxAttributesPerSpan: config.otlp.max_attributes_per_span,
      maxSpansPerRequest: config.otlp.max_spans_per_request,
    },
  };
}

// The record layouts, bits and codes host and core share are declared once, in
// assembly/layout.ts, and reach the host as ./layout.js (generated, the same names): readers of
// the tables import the KEY_ (u32 key word) and V_ (f64 value) indexes from there.

/** The spanmetrics_configure mask bit of each intrinsic dimension, by its config key. */
const INTRINSIC_BITS = {
  service: L.I_SERVICE,
  span_name: L.I_SPAN_NAME,
  span_kind: L.I_SPAN_KIND,
  status_code: L.I_STATUS_CODE,
  status_message: L.I_STATUS_MESSAGE,
} as const;

const encoder = new TextEncoder();
// A byte-order mark is part of a label value, not a marker to drop.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

type TableName = 'spanMetrics' | 'spanCalls' | 'spanEvents' | 'targetInfo' | 'edges' | 'unpaired' | 'dropped' | 'slos';

/** An SLO's counts so far. */
export interface SloCounts {
  good: number;
  total: number;
}

/** The trace and span of one observation, kept per histogram bucket. */
export interface Exemplar {
  traceId: string;
  /** '' when the span had no span id. */
  spanId: string;
  value: number;
  timestampMs: number;
}

/** A series' worst trace (assembly/worst.ts): an exemplar and the histogram bucket its value fell in. */
export interface WorstExemplar extends Exemplar {
  bucket: number;
}

/** Exemplar tables of the core (assembly/layout.ts EXEMPLAR_TABLE_*). */
export const EXEMPLAR_TABLES = { spanMetrics: L.EXEMPLAR_TABLE_SPAN_METRICS, edges: L.EXEMPLAR_TABLE_EDGES } as const;

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

export class Core {
  private u8: Uint8Array = new Uint8Array(0);
  private u32: Uint32Array = new Uint32Array(0);
  private f64: Float64Array = new Float64Array(0);
  private labels: string[] = [''];
  private labelsEpoch = 0;
  private readonly tables = new Map<TableName, { address: number; view: SeriesTableView }>();
  /** When this instance was built, ms since the epoch: its counters count from then (a rebuilt core starts again). */
  readonly createdAt = Date.now();

  private constructor(private readonly wasm: CoreExports, readonly options: CoreOptions) {
    // Records are sized by the core (key words and values: assembly/layout.ts); a table of a
    // processor that is off is at address 0.
    const tables: [TableName, number][] = [
      ['spanMetrics', wasm.spanmetrics_table()],
      ['spanCalls', wasm.spanmetrics_calls_table()],
      ['spanEvents', wasm.spanmetrics_events_table()],
      ['targetInfo', wasm.spanmetrics_target_info_table()],
      ['edges', wasm.servicegraphs_edges()],
      ['unpaired', wasm.servicegraphs_unpaired()],
      ['dropped', wasm.servicegraphs_dropped()],
      ['slos', wasm.slo_table()],
    ];
    for (const [name, address] of tables) {
      if (address === 0) continue;
      this.tables.set(name, { address, view: new SeriesTableView(wasm.table_key_words(address), wasm.table_value_count(address)) });
    }
  }

  static async create(options: CoreOptions): Promise<Core> {
    const slos = options.slos ?? [];
    const patterns = slos.map(sloNamePattern);
    const sloMatch = (name: string) => patterns.reduce((bits, re, k) => (re?.test(name) ? bits | (1 << k) : bits), 0);
    const filterPatterns = new FilterPatterns();
    const wasm = await instantiateCore(options.build, { sloMatch, filterMatch: filterPatterns.match });
    const slot = (key: string) => (key === '' ? -1 : watch(wasm, key));
    const native = options.nativeHistograms && options.nativeHistograms.mode !== 'classic' ? options.nativeHistograms : undefined;
    const configureNative = (processor: number, scale = 1) => {
      // With both, never reset: the classic buckets and counts (one message with them in the
      // Prometheus protobuf) are not reset with it.
      const both = native?.mode === 'both';
      if (native) wasm.native_histograms_configure(processor, native.schema, native.maxBuckets, both ? 0 : native.minResetMs, both ? 1 : 0, scale);
    };
    if (options.exemplarWindowMs !== undefined) wasm.worst_configure(options.exemplarWindowMs);
    const sm = options.spanMetrics;
    if (sm) {
      // The native histogram counts in the unit the family shows (naming: otel's ms: bounds are not powers of two apart).
      configureNative(L.PROCESSOR_SPAN_METRICS, native?.spanMetricsScale ?? 1);
      let mask = 0;
      for (const [name, bit] of Object.entries(INTRINSIC_BITS)) {
        if (sm.intrinsic_dimensions[name as keyof typeof INTRINSIC_BITS]) mask |= bit;
      }
      const slots = sm.dimensions.map(slot);
      // Tempo's dimension mappings, before configure: their labels follow the dimensions'.
      for (const m of sm.dimension_mappings ?? []) {
        const sources = m.source_labels.map(slot);
        const join = encoder.encode(m.join);
        const ptr = wasm.scratch(join.length + 3 + sources.length * 4) >>> 0;
        new Uint8Array(wasm.memory.buffer, ptr, join.length).set(join);
        const at = (ptr + join.length + 3) & ~3;
        new Int32Array(wasm.memory.buffer, at, sources.length).set(sources);
        if (wasm.spanmetrics_mapping_add(ptr, join.length, at, sources.length) < 0) throw new Error('more than 64 dimension_mappings');
      }
      // Tempo's target_info, before configure: its job and instance words follow the mappings'.
      if (sm.enable_target_info) {
        for (const key of sm.target_info_excluded_dimensions ?? []) {
          if (wasm.spanmetrics_target_info_exclude(...passString(wasm, key)) < 0) throw new Error('more than 64 target_info_excluded_dimensions');
        }
        wasm.spanmetrics_target_info_configure(slot('service.namespace'), slot('service.instance.id'), sm.enable_instance_label !== false ? 1 : 0);
      }
      // The connector's include_instrumentation_scope, before configure: two words after job/instance.
      for (const name of sm.include_instrumentation_scope ?? []) {
        if (wasm.spanmetrics_scope_include(...passString(wasm, name)) < 0) throw new Error('more than 64 include_instrumentation_scope names');
      }
      // The connector's calls_dimensions and histogram.dimensions, before configure.
      const callsDimensions = sm.calls_dimensions ?? [];
      const histogramDimensions = sm.histogram_dimensions ?? [];
      if (callsDimensions.length + histogramDimensions.length > 0) {
        const split = [...callsDimensions, ...histogramDimensions].map(slot);
        const [, splitPtr] = passArguments(wasm, [], split);
        wasm.spanmetrics_split_configure(splitPtr, callsDimensions.length, histogramDimensions.length);
      }
      // every watch (slot) before passArguments: a watch writes its key into the same scratch
      const multiplier = slot(sm.span_multiplier_key);
      if (options.selfTime) wasm.spanmetrics_self_time_configure(options.selfTime.maxItems, options.selfTime.waitMs);
      const [bounds, slotsPtr] = passArguments(wasm, sm.histogram_buckets, slots);
      wasm.spanmetrics_configure(bounds, sm.histogram_buckets.length, mask, slotsPtr, slots.length, multiplier);
      const eventDimensions = sm.events.enabled ? sm.events.dimensions : [];
      if (sm.events.enabled) {
        const eventSlots = eventDimensions.map(slot);
        const [, eventSlotsPtr] = passArguments(wasm, [], eventSlots);
        wasm.spanmetrics_events_configure(eventSlotsPtr, eventSlots.length);
      }
      // Defaults, numbered as the core numbers them: dimensions, calls, histogram, event dimensions.
      [...sm.dimensions, ...callsDimensions, ...histogramDimensions].forEach((d, i) => {
        const value = sm.dimension_defaults?.[d];
        if (value !== undefined) wasm.spanmetrics_dimension_default(i, ...passString(wasm, value));
      });
      const base = sm.dimensions.length + callsDimensions.length + histogramDimensions.length;
      eventDimensions.forEach((d, i) => {
        const value = sm.events.dimension_defaults?.[d];
        if (value !== undefined) wasm.spanmetrics_dimension_default(base + i, ...passString(wasm, value));
      });
    }
    for (const slo of slos) addSlo(wasm, slo);
    const sg = options.serviceGraphs;
    if (sg) {
      const opts = (sg.enable_client_server_prefix ? L.SG_OPT_CLIENT_SERVER_PREFIX : 0)
        | (sg.enable_messaging_system_latency_histogram ? L.SG_OPT_MESSAGING_LATENCY : 0)
        | (sg.enable_virtual_node_label ? L.SG_OPT_VIRTUAL_NODE_LABEL : 0)
        | (sg.infer_edges === 'parent_child' ? L.SG_OPT_INFER_PARENT_CHILD : 0);
      // The attributes the core reads besides the configured ones, at their places (-1 = none).
      const fixed = new Array<number>(L.SG_SLOTS_FIXED).fill(-1);
      fixed[L.SG_SLOT_PEER_SERVICE] = slot('peer.service');
      fixed[L.SG_SLOT_SERVER_ADDRESS] = slot('server.address');
      fixed[L.SG_SLOT_NETWORK_PEER_ADDRESS] = slot('network.peer.address');
      fixed[L.SG_SLOT_NETWORK_PEER_PORT] = slot('network.peer.port');
      fixed[L.SG_SLOT_MULTIPLIER] = slot(sg.span_multiplier_key);
      const slots = [
        ...sg.dimensions.map(slot),
        ...sg.peer_attributes.map(slot),
        ...sg.database_name_attributes.map(slot),
        ...fixed,
      ];
      const [bounds, slotsPtr] = passArguments(wasm, sg.histogram_buckets, slots);
      configureNative(L.PROCESSOR_SERVICE_GRAPHS);
      wasm.servicegraphs_configure(
        bounds, sg.histogram_buckets.length, opts, slotsPtr, sg.dimensions.length, sg.peer_attributes.length,
        sg.database_name_attributes.length, sg.wait, sg.max_items,
      );
    }
    if (sm) configureFilters(wasm, L.PROCESSOR_SPAN_METRICS, sm, slot, filterPatterns);
    const normalization = sm?.span_name_normalization ?? 'off';
    if (normalization !== 'off') {
      wasm.normalize_configure(normalization === 'on' ? L.NORMALIZE_ON : L.NORMALIZE_DRY_RUN, slot('http.route'));
    }
    if (sg) configureFilters(wasm, L.PROCESSOR_SERVICE_GRAPHS, sg, slot, filterPatterns);
    const maxActive = Math.min(options.registry?.max_active_series ?? 0, 0xffffffff);
    wasm.registry_configure(maxActive, options.slackMs ?? 0);
    const labelCap = Math.min(options.registry?.max_cardinality_per_label ?? 0, 0xffffffff);
    if (options.preview === false) wasm.preview_configure(0);
    wasm.cardinality_configure(labelCap, options.registry?.stale_duration ?? 15 * 60_000);
    const limits = options.limits;
    wasm.limits_configure(limits?.maxStringLength ?? 0, limits?.maxAttributesPerSpan ?? 0, limits?.maxSpansPerRequest ?? 0);
    wasm.start();
    return new Core(wasm, options);
  }

  /** Aggregates one OTLP ExportTraceServiceRequest (protobuf); all or nothing. */
  ingest(request: Uint8Array, nowMs: number = Date.now()): IngestResult {
    this.input.reserve(request.length, 0).set(request);
    return this.ingestInput(request.length, nowMs);
  }

  /**
   * The core's input buffer, for a body written straight into it (an inflated request:
   * src/otlp/gzip.ts) and then taken with ingestInput. A larger reserve moves the buffer, keeping
   * the first `keep` bytes; a view is valid until the next reserve or ingest.
   */
  readonly input: Destination = {
    reserve: (n: number, keep: number): Uint8Array => {
      // The core reallocates only past the largest size reserved so far (assembly/index.ts).
      const saved = n > this.inputLargest && keep > 0 ? this.views().slice(this.inputPtr, this.inputPtr + keep) : undefined;
      this.inputPtr = this.wasm.input_reserve(n) >>> 0; // addresses are u32; JS sees i32
      if (n > this.inputLargest) this.inputLargest = n;
      const u8 = this.views();
      if (saved) u8.set(saved, this.inputPtr);
      return u8.subarray(this.inputPtr, this.inputPtr + n);
    },
  };
  private inputPtr = 0;
  private inputLargest = 0;

  /** Walks and aggregates the `n` bytes written at the start of the input buffer (see `input`). */
  ingestInput(bytes: number, nowMs: number = Date.now()): IngestResult {
    const n = this.wasm.ingest(bytes, nowMs);
    if (n >= 0) return { ok: true, spans: n };
    const w = this.wasm;
    const spans = w.spans_seen();
    const reason = -n === L.E_SPAN_COUNT
      ? spanLimitReason(spans, this.options.limits?.maxSpansPerRequest ?? 0)
      : describeFailure(-n, w.fail_offset(), w.fail_message(), w.fail_field());
    return { ok: false, spans, reason, cause: causeOf(-n) };
  }

  /** Expires service-graph entries whose wait has ended (all of them with Infinity); returns how many. */
  expire(nowMs: number = Date.now()): number {
    return this.wasm.expire(nowMs);
  }

  /**
   * Removes series not updated within stale_duration and frees the label values nobody holds
   * any more; call between requests. Returns the series removed.
   */
  sweep(nowMs: number = Date.now()): number {
    return this.wasm.sweep(nowMs, this.options.registry?.stale_duration ?? 15 * 60_000);
  }

  /** Active series, counted as Prometheus counts them (overflow series excluded). */
  activeSeries(): number {
    return this.wasm.active_series();
  }

  /** New label sets folded into an overflow series so far. */
  seriesLimited(): number {
    return this.wasm.series_limited();
  }

  /** Series removed as stale so far. */
  seriesRemoved(): number {
    return this.wasm.series_removed();
  }

  /** Spans left out so far for ending before the ingestion slack. */
  lateSpans(): number {
    return this.wasm.late_spans();
  }

  /** Spans a processor's filter_policies left out so far. */
  spansFiltered(processor: 'span-metrics' | 'service-graphs'): number {
    return this.wasm.spans_filtered(processor === 'span-metrics' ? L.PROCESSOR_SPAN_METRICS : L.PROCESSOR_SERVICE_GRAPHS);
  }

  /** Bytes of label values the core holds. */
  stringBytes(): number {
    return this.wasm.string_bytes();
  }

  /** The label value an interned id stands for; decoded once per id (ids freed by a sweep are decoded again). */
  label(id: number): string {
    const epoch = this.wasm.strings_epoch();
    if (epoch !== this.labelsEpoch) {
      this.labels = [''];
      this.labelsEpoch = epoch;
    }
    let s = this.labels[id];
    if (s === undefined) {
      this.views();
      const entry = (this.wasm.strings() >>> 0) + id * L.STRING_ENTRY_SIZE;
      const ptr = this.u32[(entry + L.STRING_PTR) >>> 2]!;
      s = decoder.decode(this.u8.subarray(ptr, ptr + this.u32[(entry + L.STRING_LEN) >>> 2]!));
      this.labels[id] = s;
    }
    return s;
  }

  /** A series table, positioned for reading; undefined when its processor is off. */
  table(name: TableName): SeriesTableView | undefined {
    const t = this.tables.get(name);
    if (!t) return undefined;
    this.views();
    const w = this.wasm;
    const a = t.address;
    t.view.refresh(this.u32, this.f64, w.table_chunks(a) >>> 0, w.table_chunk_records(a), w.table_used(a), w.table_stride(a), w.table_values_offset(a));
    return t.view;
  }

  /**
   * The exemplar kept for `bucket` (0-based; the number of bounds means +Inf) of the series at
   * index `record` of a table, if any.
   */
  exemplar(table: keyof typeof EXEMPLAR_TABLES, view: SeriesTableView, record: number, bucket: number): Exemplar | undefined {
    return this.readExemplar(this.wasm.exemplar(EXEMPLAR_TABLES[table], record, view.generation(record), bucket) >>> 0);
  }

  /**
   * The worst trace kept for the series at index `record` of a table: its slowest observation of
   * the current window (an edge's by server span duration), or its latest failed one.
   */
  worst(table: keyof typeof EXEMPLAR_TABLES, view: SeriesTableView, record: number, which: 'slowest' | 'failed'): WorstExemplar | undefined {
    const p = this.wasm.worst_exemplar(
      EXEMPLAR_TABLES[table], record, view.generation(record), which === 'slowest' ? L.WORST_SLOWEST : L.WORST_FAILED,
    ) >>> 0;
    const e = this.readExemplar(p);
    return e && { ...e, bucket: this.u32[(p + L.WORST_BUCKET) >>> 2]! };
  }

  /** Bytes the worst-trace slots hold (assembly/worst.ts). */
  worstBytes(): number {
    return this.wasm.worst_bytes();
  }

  private readExemplar(p: number): Exemplar | undefined {
    if (p === 0) return undefined;
    const u8 = this.views();
    const span = u8.subarray(p + L.EXEMPLAR_SPAN_ID, p + L.EXEMPLAR_VALUE);
    const f64 = this.f64;
    return {
      traceId: hex(u8.subarray(p + L.EXEMPLAR_TRACE_ID, p + L.EXEMPLAR_SPAN_ID)),
      spanId: span.every((b) => b === 0) ? '' : hex(span),
      value: f64[(p + L.EXEMPLAR_VALUE) >>> 3]!,
      timestampMs: f64[(p + L.EXEMPLAR_TIME) >>> 3]!,
    };
  }

  /**
   * The value index of a native histogram block in the records of `table` (span metrics: the
   * latency histogram; edges: histogram `h`, 0 server, 1 client, 2 messaging), or undefined
   * without native histograms.
   */
  nativeBlock(table: 'spanMetrics' | 'edges', h = 0): number | undefined {
    const native = this.options.nativeHistograms;
    if (!native || native.mode === 'classic') return undefined;
    if (table === 'spanMetrics') return this.options.spanMetrics ? L.SM_V_BUCKETS + this.options.spanMetrics.histogram_buckets.length : undefined;
    const sg = this.options.serviceGraphs;
    if (!sg) return undefined;
    return L.SG_V_BUCKETS + L.SG_HISTOGRAMS * sg.histogram_buckets.length + h * (L.NH_V_BUCKETS + Math.max(1, native.maxBuckets));
  }

  /** The value index of the self-time block (layout ST_V_*) in a span-metrics record, or undefined without self time. */
  selfTimeBlock(): number | undefined {
    const block = this.wasm.spanmetrics_self_time_block();
    return block < 0 ? undefined : block;
  }

  /** The self-time store: entries in use, spans and children refused with it full, entries whose parent never came. */
  selfTimeStore(): { size: number; dropped: number; orphans: number } {
    return { size: this.wasm.self_time_counter(0), dropped: this.wasm.self_time_counter(1), orphans: this.wasm.self_time_counter(2) };
  }

  /** Good and total spans of each SLO, in the order configured. */
  sloCounts(): SloCounts[] {
    const view = this.table('slos');
    const out: SloCounts[] = [];
    for (let record = 0; view && record < view.used; record++) {
      out[view.key(record, L.SLO_KEY_INDEX)] = { good: view.value(record, L.SLO_V_GOOD), total: view.value(record, L.SLO_V_TOTAL) };
    }
    return out;
  }

  /**
   * Per label of the span-metrics key (by key word: L.SM_KEY_SERVICE, L.SM_KEY_SPAN_NAME, …):
   * distinct values over the window (undefined while not tracked: no cap and nothing held back
   * yet), values replaced by __cardinality_overflow__ and the latest held-back value.
   */
  labelCardinality(word: number): { estimate: number; limited: number; example: string | undefined } | undefined {
    const estimate = this.wasm.label_cardinality(word);
    if (estimate < 0) return undefined;
    const p = this.wasm.label_example(word) >>> 0;
    let example: string | undefined;
    if (p !== 0) {
      const u8 = this.views();
      example = decoder.decode(u8.subarray(p + 4, p + 4 + this.u32[p >>> 2]!));
    }
    return { estimate, limited: this.wasm.label_values_limited(word), example };
  }

  /** The string id of the normalised form of span name `id` (span_name_normalization; itself when unchanged). */
  normalizedName(id: number): number {
    return this.wasm.normalized_name(id) >>> 0;
  }

  /**
   * The what-if preview (assembly/preview.ts): per service and attribute key seen on the sampled
   * spans, the sampled spans that carried it, the distinct values among them (HyperLogLog) and
   * up to three example values.
   */
  previewKeys(): { service: string; key: string; spans: number; estimate: number; examples: string[] }[] {
    const base = this.wasm.preview_entries() >>> 0;
    const out: { service: string; key: string; spans: number; estimate: number; examples: string[] }[] = [];
    if (base === 0) return out;
    for (let i = 0; i < L.PREVIEW_ENTRIES; i++) {
      const e = base + i * L.PREVIEW_ENTRY_SIZE;
      const u8 = this.views();
      const spans = this.f64[(e + L.PV_SPANS) >>> 3]!;
      if (spans === 0) continue;
      const keyLen = Math.min(this.u32[(e + L.PV_KEY_LEN) >>> 2]!, L.PV_KEY_BYTES);
      const key = decoder.decode(u8.subarray(e + L.PV_KEY, e + L.PV_KEY + keyLen));
      const examples: string[] = [];
      const count = this.u32[(e + L.PV_EXAMPLES) >>> 2]!;
      for (let k = 0; k < count; k++) {
        const x = e + L.PV_EXAMPLES + 4 + k * (4 + L.PV_EXAMPLE_BYTES);
        examples.push(decoder.decode(u8.subarray(x + 4, x + 4 + this.u32[x >>> 2]!)));
      }
      const serviceId = this.u32[(e + L.PV_SERVICE) >>> 2]!;
      out.push({ service: this.label(serviceId), key, spans, estimate: this.wasm.preview_estimate(i), examples });
    }
    return out;
  }

  /** Spans whose attributes the preview read so far. */
  previewSampled(): number {
    return this.wasm.preview_sampled();
  }

  /** Series the traffic would make: active series plus the span-metrics label sets held back over the window. */
  seriesDemand(): number {
    return this.wasm.series_demand();
  }

  /** The services whose spans were held back most (a space-saving top list: counts are upper bounds), most first. */
  heldBackServices(): { service: string; spans: number }[] {
    const out: { service: string; spans: number }[] = [];
    for (let i = 0; i < L.TOP_SERVICES; i++) {
      const id = this.wasm.top_service(i);
      if (id !== 0) out.push({ service: this.label(id), spans: this.wasm.top_service_count(i) });
    }
    return out.sort((a, b) => b.spans - a.spans);
  }

  /** Entries waiting in the service-graph edge store. */
  edgeStoreSize(): number {
    return this.options.serviceGraphs ? this.wasm.servicegraphs_store_size() : 0;
  }

  /** Service-graph entries expired so far, by the side that waited. */
  expiredEdges(side: 'client' | 'server'): number {
    return this.options.serviceGraphs ? this.wasm.servicegraphs_expired(side === 'client' ? 0 : 1) : 0;
  }

  memoryBytes(): number {
    return this.wasm.memory.buffer.byteLength;
  }

  /** Typed views over core memory, renewed after memory.grow detached the old ones. */
  private views(): Uint8Array {
    const buffer = this.wasm.memory.buffer;
    if (this.u8.buffer !== buffer) {
      this.u8 = new Uint8Array(buffer);
      this.u32 = new Uint32Array(buffer);
      this.f64 = new Float64Array(buffer);
    }
    return this.u8;
  }
}

/** A processor's filter_policies and enable_tracestate_span_multiplier (after its other set-up). */
function configureFilters(
  wasm: CoreExports, processor: number, config: SpanMetricsConfig | ServiceGraphsConfig, slot: (key: string) => number,
  patterns: FilterPatterns,
): void {
  wasm.tracestate_configure(processor, config.enable_tracestate_span_multiplier ? 1 : 0);
  // every watch (slot) before the copy into scratch: a watch writes its key into the same scratch
  const { bytes, count } = filterRecords(config.filter_policies, slot, patterns);
  if (count === 0) return;
  const ptr = wasm.scratch(bytes.length) >>> 0;
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  wasm.filter_configure(processor, ptr, count, bytes.length);
}

/** A string's UTF-8 bytes copied into scratch: their address and length (valid until the next scratch call). */
function passString(wasm: CoreExports, s: string): [ptr: number, len: number] {
  const bytes = encoder.encode(s);
  const ptr = wasm.scratch(bytes.length) >>> 0;
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  return [ptr, bytes.length];
}

function watch(wasm: CoreExports, key: string): number {
  const slot = wasm.watch_key(...passString(wasm, key));
  if (slot < 0) throw new Error(`too many attribute keys configured (at ${key})`);
  return slot;
}

function addSlo(wasm: CoreExports, slo: SloConfig): void {
  const flags = (slo.kind === 'latency' ? L.SLO_LATENCY : 0)
    | (slo.http_5xx_as_error ? L.SLO_HTTP_5XX : 0)
    | (slo.service === '' ? L.SLO_ANY_SERVICE : 0)
    | (slo.span_name_regex !== '' ? L.SLO_NAME_PATTERN : slo.span_name === '' ? L.SLO_ANY_NAME : 0);
  const service = encoder.encode(slo.service);
  const name = encoder.encode(slo.span_name);
  const ptr = wasm.scratch(service.length + name.length) >>> 0;
  new Uint8Array(wasm.memory.buffer, ptr, service.length).set(service);
  new Uint8Array(wasm.memory.buffer, ptr + service.length, name.length).set(name);
  const thresholdNs = Math.round(slo.threshold * 1e6);
  if (wasm.slo_add(flags, ptr, service.length, ptr + service.length, name.length, sloSpanKind(slo), thresholdNs) < 0) {
    throw new Error(`too many SLOs (at ${slo.name})`);
  }
}

/** Copies f64 bucket bounds and i32 slots into core scratch memory; returns their addresses. */
function passArguments(wasm: CoreExports, bounds: number[], slots: number[]): [number, number] {
  const ptr = wasm.scratch(bounds.length * 8 + slots.length * 4) >>> 0;
  new Float64Array(wasm.memory.buffer, ptr, bounds.length).set(bounds);
  const slotsPtr = ptr + bounds.length * 8;
  new Int32Array(wasm.memory.buffer, slotsPtr, slots.length).set(slots);
  return [ptr, slotsPtr];
}
