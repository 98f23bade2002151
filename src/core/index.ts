// The core as the host sees it: configures the WASM module once, feeds it request bytes and
// exposes its tables and interned strings to the exporters. The only code that calls the ABI.
import type { Config, RegistryConfig, ServiceGraphsConfig, SloConfig, SpanMetricsConfig } from '../config/types.js';
import { sloNamePattern, sloSpanKind } from '../config/slos.js';
import type { IngestResult } from './result.js';
import { instantiateCore, type CoreExports, type WasmBuild } from './wasm.js';
import { causeOf, describeFailure, E_SPAN_COUNT, spanLimitReason } from './errors.js';
import { SeriesTableView } from './series.js';

export type { IngestResult } from './result.js';
export { SeriesTableView } from './series.js';

export interface CoreOptions {
  /** Span metrics settings; absent when the processor is off. */
  spanMetrics?: SpanMetricsConfig;
  /** Service graph settings; absent when the processor is off. */
  serviceGraphs?: ServiceGraphsConfig;
  /** Series limit and stale-series expiry; default: unlimited, 15 minutes. */
  registry?: RegistryConfig;
  /** Spans that ended longer than this (ms) before ingest are left out; 0 = keep all. */
  slackMs?: number;
  /** Service-level objectives counted in the core. */
  slos?: readonly SloConfig[];
  /** Request limits (0 or absent: none). */
  limits?: { maxStringLength: number; maxAttributesPerSpan: number; maxSpansPerRequest?: number };
  build?: WasmBuild;
}

/** What a configuration asks of the core. */
export function coreOptions(config: Config): CoreOptions {
  return {
    spanMetrics: config.processors.includes('span-metrics') ? config.processor.span_metrics : undefined,
    serviceGraphs: config.processors.includes('service-graphs') ? config.processor.service_graphs : undefined,
    registry: config.registry,
    slackMs: config.metrics_ingestion_time_range_slack,
    slos: config.slos,
    limits: {
      maxStringLength: config.otlp.max_string_length,
      maxAttributesPerSpan: config.otlp.max_attributes_per_span,
      maxSpansPerRequest: config.otlp.max_spans_per_request,
    },
  };
}

// Span-metrics record layout (assembly/spanmetrics.ts).
export const SPAN_METRICS = {
  KEY_SERVICE: 0,
  KEY_SPAN_NAME: 1,
  KEY_SPAN_KIND: 2,
  KEY_STATUS_CODE: 3,
  KEY_STATUS_MESSAGE: 4,
  KEY_DIMENSIONS: 5,
  V_CALLS: 0,
  V_SIZE: 1,
  V_SUM: 2,
  V_BUCKETS: 3,
  /** Events table: the span key words, then the event name and event dimensions; value [count]. */
  V_EVENTS: 0,
} as const;

// SLO record layout (assembly/slos.ts): key [the SLO's index in options.slos], values [good, total].
export const SLOS = { KEY_INDEX: 0, V_GOOD: 0, V_TOTAL: 1 } as const;

// Service-graph edge record layout (assembly/servicegraphs.ts); buckets: server, client, messaging.
export const SERVICE_GRAPHS = {
  KEY_CLIENT: 0,
  KEY_SERVER: 1,
  KEY_CONNECTION: 2,
  KEY_VIRTUAL_NODE: 3,
  KEY_DIMENSIONS: 4,
  V_REQUESTS: 0,
  V_FAILED: 1,
  V_SERVER_SUM: 2,
  V_CLIENT_SUM: 3,
  V_MESSAGING_SUM: 4,
  V_MESSAGING_COUNT: 5,
  V_BUCKETS: 6,
  /** Unpaired/dropped tables: key [client, server], value [count]. */
  PAIR_CLIENT: 0,
  PAIR_SERVER: 1,
} as const;

const INTRINSIC_BITS = { service: 1, span_name: 2, span_kind: 4, status_code: 8, status_message: 16 } as const;
// SLO flags (assembly/slos.ts).
const SLO_LATENCY = 1;
const SLO_HTTP_5XX = 2;
const SLO_ANY_SERVICE = 4;
const SLO_ANY_NAME = 8;
const SLO_NAME_PATTERN = 16;

const SG_PREFIX = 1;
const SG_MESSAGING_LATENCY = 2;
const SG_VIRTUAL_NODE_LABEL = 4;

const encoder = new TextEncoder();
// A byte-order mark is part of a label value, not a marker to drop.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

type TableName = 'spanMetrics' | 'spanEvents' | 'edges' | 'unpaired' | 'dropped' | 'slos';

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

/** Exemplar tables of the core (assembly/exemplars.ts); on an edge, each histogram after the first adds 64. */
export const EXEMPLAR_TABLES = { spanMetrics: 0, edges: 1 } as const;
export const EXEMPLAR_HISTOGRAM_STRIDE = 64;

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
    const sm = options.spanMetrics;
    if (sm) {
      this.addTable('spanMetrics', wasm.spanmetrics_table(), SPAN_METRICS.KEY_DIMENSIONS + sm.dimensions.length, 3 + sm.histogram_buckets.length);
      if (sm.events.enabled) {
        const words = SPAN_METRICS.KEY_DIMENSIONS + sm.dimensions.length + 1 + sm.events.dimensions.length;
        this.addTable('spanEvents', wasm.spanmetrics_events_table(), words, 1);
      }
    }
    const sg = options.serviceGraphs;
    if (sg) {
      const dims = sg.dimensions.length * (sg.enable_client_server_prefix ? 2 : 1);
      this.addTable('edges', wasm.servicegraphs_edges(), SERVICE_GRAPHS.KEY_DIMENSIONS + dims, 6 + 3 * sg.histogram_buckets.length);
      this.addTable('unpaired', wasm.servicegraphs_unpaired(), 2, 1);
      this.addTable('dropped', wasm.servicegraphs_dropped(), 2, 1);
    }
    if (options.slos?.length) this.addTable('slos', wasm.slo_table(), 1, 2);
  }

  private addTable(name: TableName, address: number, keyWords: number, valueCount: number): void {
    this.tables.set(name, { address, view: new SeriesTableView(keyWords, valueCount) });
  }

  static async create(options: CoreOptions): Promise<Core> {
    const slos = options.slos ?? [];
    const patterns = slos.map(sloNamePattern);
    const sloMatch = (name: string) => patterns.reduce((bits, re, k) => (re?.test(name) ? bits | (1 << k) : bits), 0);
    const wasm = await instantiateCore(options.build, { sloMatch });
    const slot = (key: string) => (key === '' ? -1 : watch(wasm, key));
    const sm = options.spanMetrics;
    if (sm) {
      let mask = 0;
      for (const [name, bit] of Object.entries(INTRINSIC_BITS)) {
        if (sm.intrinsic_dimensions[name as keyof typeof INTRINSIC_BITS]) mask |= bit;
      }
      const slots = sm.dimensions.map(slot);
      const [bounds, slotsPtr] = passArguments(wasm, sm.histogram_buckets, slots);
      wasm.spanmetrics_configure(bounds, sm.histogram_buckets.length, mask, slotsPtr, slots.length, slot(sm.span_multiplier_key));
      if (sm.events.enabled) {
        const eventSlots = sm.events.dimensions.map(slot);
        const [, eventSlotsPtr] = passArguments(wasm, [], eventSlots);
        wasm.spanmetrics_events_configure(eventSlotsPtr, eventSlots.length);
      }
    }
    for (const slo of slos) addSlo(wasm, slo);
    const sg = options.serviceGraphs;
    if (sg) {
      const opts = (sg.enable_client_server_prefix ? SG_PREFIX : 0)
        | (sg.enable_messaging_system_latency_histogram ? SG_MESSAGING_LATENCY : 0)
        | (sg.enable_virtual_node_label ? SG_VIRTUAL_NODE_LABEL : 0);
      const slots = [
        ...sg.dimensions.map(slot),
        ...sg.peer_attributes.map(slot),
        ...sg.database_name_attributes.map(slot),
        ...['peer.service', 'server.address', 'network.peer.address', 'network.peer.port'].map(slot),
        slot(sg.span_multiplier_key),
      ];
      const [bounds, slotsPtr] = passArguments(wasm, sg.histogram_buckets, slots);
      wasm.servicegraphs_configure(
        bounds, sg.histogram_buckets.length, opts, slotsPtr, sg.dimensions.length, sg.peer_attributes.length,
        sg.database_name_attributes.length, sg.wait, sg.max_items,
      );
    }
    const maxActive = Math.min(options.registry?.max_active_series ?? 0, 0xffffffff);
    wasm.registry_configure(maxActive, options.slackMs ?? 0);
    const limits = options.limits;
    wasm.limits_configure(limits?.maxStringLength ?? 0, limits?.maxAttributesPerSpan ?? 0, limits?.maxSpansPerRequest ?? 0);
    wasm.start();
    return new Core(wasm, options);
  }

  /** Aggregates one OTLP ExportTraceServiceRequest (protobuf); all or nothing. */
  ingest(request: Uint8Array, nowMs: number = Date.now()): IngestResult {
    const ptr = this.wasm.input_reserve(request.length) >>> 0; // addresses are u32; JS sees i32
    this.views().set(request, ptr);
    const n = this.wasm.ingest(request.length, nowMs);
    if (n >= 0) return { ok: true, spans: n };
    const w = this.wasm;
    const spans = w.spans_seen();
    const reason = -n === E_SPAN_COUNT
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
      const entry = (this.wasm.strings() >>> 2) + id * 4;
      const ptr = this.u32[entry];
      s = decoder.decode(this.u8.subarray(ptr, ptr + this.u32[entry + 1]));
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
    t.view.refresh(this.u32, this.f64, w.table_slab(a) >>> 0, w.table_used(a), w.table_stride(a), w.table_values_offset(a));
    return t.view;
  }

  /**
   * The exemplar kept for `bucket` (0-based; the number of bounds means +Inf) of the series in
   * `slot` of a table, if any.
   */
  exemplar(table: keyof typeof EXEMPLAR_TABLES, view: SeriesTableView, slot: number, bucket: number): Exemplar | undefined {
    const p = this.wasm.exemplar(EXEMPLAR_TABLES[table], slot, view.generation(slot), bucket) >>> 0;
    if (p === 0) return undefined;
    const u8 = this.views();
    const span = u8.subarray(p + 16, p + 24);
    const f64 = this.f64;
    return {
      traceId: hex(u8.subarray(p, p + 16)),
      spanId: span.every((b) => b === 0) ? '' : hex(span),
      value: f64[(p + 24) >>> 3],
      timestampMs: f64[(p + 32) >>> 3],
    };
  }

  /** Good and total spans of each SLO, in the order configured. */
  sloCounts(): SloCounts[] {
    const view = this.table('slos');
    const out: SloCounts[] = [];
    for (let slot = 0; view && slot < view.used; slot++) {
      out[view.key(slot, SLOS.KEY_INDEX)] = { good: view.value(slot, SLOS.V_GOOD), total: view.value(slot, SLOS.V_TOTAL) };
    }
    return out;
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

function watch(wasm: CoreExports, key: string): number {
  const bytes = encoder.encode(key);
  const ptr = wasm.scratch(bytes.length) >>> 0;
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  const slot = wasm.watch_key(ptr, bytes.length);
  if (slot < 0) throw new Error(`too many attribute keys configured (at ${key})`);
  return slot;
}

function addSlo(wasm: CoreExports, slo: SloConfig): void {
  const flags = (slo.kind === 'latency' ? SLO_LATENCY : 0)
    | (slo.http_5xx_as_error ? SLO_HTTP_5XX : 0)
    | (slo.service === '' ? SLO_ANY_SERVICE : 0)
    | (slo.span_name_regex !== '' ? SLO_NAME_PATTERN : slo.span_name === '' ? SLO_ANY_NAME : 0);
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
