// The core's options and how they reach it: Config -> CoreOptions, then one call per setting into
// the freshly instantiated WASM module (watched attribute keys, dimensions, histograms, filters,
// limits) before it starts. Core (index.ts) holds the started module.
import type { Config, RegistryConfig, ServiceGraphsConfig, SloConfig, SpanMetricsConfig } from '../config/types.js';
import { serviceGraphsOn } from '../config/types.js';
import { sloNamePattern, sloSpanKind } from '../config/slos.js';
import { instantiateCore, type CoreExports, type WasmBuild } from './wasm.js';
import { FilterPatterns, filterRecords } from './filters.js';
import * as L from './layout.js';
import { schemaForFactor } from './native.js';
import { SELF_TIME_MAX_ITEMS } from '../config/defaults.js';

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

/** The spanmetrics_configure mask bit of each intrinsic dimension, by its config key. */
const INTRINSIC_BITS = {
  service: L.I_SERVICE,
  span_name: L.I_SPAN_NAME,
  span_kind: L.I_SPAN_KIND,
  status_code: L.I_STATUS_CODE,
  status_message: L.I_STATUS_MESSAGE,
} as const;

const encoder = new TextEncoder();

/** Instantiates the core and passes it every setting of `options`; returns it started. */
export async function configuredCore(options: CoreOptions): Promise<CoreExports> {
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
  return wasm;
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
