// The core as the host sees it: feeds the WASM module request bytes and exposes its tables and
// interned strings to the exporters. With configure.ts (its options and set-up), the only code
// that calls the ABI.
import type { IngestResult } from './result.js';
import type { Destination } from '../otlp/gzip.js';
import type { CoreExports } from './wasm.js';
import { causeOf, describeFailure, spanLimitReason } from './errors.js';
import { SeriesTableView } from './series.js';
import * as L from './layout.js';
import { configuredCore, type CoreOptions } from './configure.js';

export type { IngestResult } from './result.js';
export { SeriesTableView } from './series.js';

export { coreOptions, type CoreOptions, type NativeHistogramOptions } from './configure.js';

// The record layouts, bits and codes host and core share are declared once, in
// assembly/layout.ts, and reach the host as ./layout.js (generated, the same names): readers of
// the tables import the KEY_ (u32 key word) and V_ (f64 value) indexes from there.

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
    return new Core(await configuredCore(options), options);
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
    crc32: (start: number, length: number): number => this.wasm.crc32(this.inputPtr + start, length) >>> 0,
    // The whole body goes to the core's source buffer (a later gzip member reads from it too).
    inflate: (body: Uint8Array, from: number, written: number, room: number): number => {
      const src = this.wasm.inflate_source(body.length) >>> 0;
      this.views().set(body, src);
      return this.wasm.inflate(from, body.length, this.inputPtr + written, room - written);
    },
    inflateEnd: (): number => this.wasm.inflate_end() >>> 0,
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
      // STRING_LEN is a u16 (docs/abi.md "The string table"): the low half of its aligned u32.
      s = decoder.decode(this.u8.subarray(ptr, ptr + (this.u32[(entry + L.STRING_LEN) >>> 2]! & 0xffff)));
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
    if (p === 0) return undefined;
    const u8 = this.views();
    // docs/abi.md "Exemplars": the time's low 32 and high 16 bits, then the bucket plus one (u16).
    const u16 = (at: number): number => u8[at]! | (u8[at + 1]! << 8);
    const timestampMs = this.u32[(p + L.WORST_TIME_LOW) >>> 2]! + u16(p + L.WORST_TIME_HIGH) * 2 ** 32;
    return { ...this.readExemplar(p, timestampMs)!, bucket: u16(p + L.WORST_BUCKET) - 1 };
  }

  /** Bytes the worst-trace slots hold (assembly/worst.ts). */
  worstBytes(): number {
    return this.wasm.worst_bytes();
  }

  /** The exemplar at `p` (0: none); its time from EXEMPLAR_TIME unless given (a worst-trace slot keeps it otherwise). */
  private readExemplar(p: number, timestampMs?: number): Exemplar | undefined {
    if (p === 0) return undefined;
    const u8 = this.views();
    const span = u8.subarray(p + L.EXEMPLAR_SPAN_ID, p + L.EXEMPLAR_VALUE);
    const f64 = this.f64;
    return {
      traceId: hex(u8.subarray(p + L.EXEMPLAR_TRACE_ID, p + L.EXEMPLAR_SPAN_ID)),
      spanId: span.every((b) => b === 0) ? '' : hex(span),
      value: f64[(p + L.EXEMPLAR_VALUE) >>> 3]!,
      timestampMs: timestampMs ?? f64[(p + L.EXEMPLAR_TIME) >>> 3]!,
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
