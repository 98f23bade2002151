// The core as the host sees it: configures the WASM module once, feeds it request bytes and
// exposes its tables and interned strings to the exporters. The only code that calls the ABI.
import type { SpanMetricsConfig } from '../config/types.js';
import type { IngestResult } from './result.js';
import { instantiateCore, type CoreExports, type WasmBuild } from './wasm.js';
import { describeFailure } from './errors.js';
import { SeriesTableView } from './series.js';

export type { IngestResult } from './result.js';
export { SeriesTableView } from './series.js';

export interface CoreOptions {
  /** Span metrics settings; absent when the processor is off. */
  spanMetrics?: SpanMetricsConfig;
  build?: WasmBuild;
}

// Span-metrics record layout (assembly/spanmetrics.ts).
export const SPAN_METRICS = {
  KEY_SERVICE: 0,
  KEY_SPAN_NAME: 1,
  KEY_KIND_STATUS: 2,
  KEY_STATUS_MESSAGE: 3,
  KEY_DIMENSIONS: 4,
  V_CALLS: 0,
  V_SIZE: 1,
  V_SUM: 2,
  V_BUCKETS: 3,
} as const;

const INTRINSIC_BITS = { service: 1, span_name: 2, span_kind: 4, status_code: 8, status_message: 16 } as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Core {
  private u8: Uint8Array = new Uint8Array(0);
  private u32: Uint32Array = new Uint32Array(0);
  private f64: Float64Array = new Float64Array(0);
  private labels: string[] = [''];
  private readonly spanMetricsTable: number;
  readonly spanMetricsView?: SeriesTableView;

  private constructor(private readonly wasm: CoreExports, readonly options: CoreOptions) {
    this.spanMetricsTable = wasm.spanmetrics_table();
    const sm = options.spanMetrics;
    if (sm) this.spanMetricsView = new SeriesTableView(SPAN_METRICS.KEY_DIMENSIONS + sm.dimensions.length, 3 + sm.histogram_buckets.length);
  }

  static async create(options: CoreOptions): Promise<Core> {
    const wasm = await instantiateCore(options.build);
    const sm = options.spanMetrics;
    if (sm) {
      const slots = sm.dimensions.map((name) => watch(wasm, name));
      const bounds = sm.histogram_buckets;
      const boundsPtr = wasm.scratch(bounds.length * 8 + slots.length * 4);
      new Float64Array(wasm.memory.buffer, boundsPtr, bounds.length).set(bounds);
      const slotsPtr = boundsPtr + bounds.length * 8;
      new Int32Array(wasm.memory.buffer, slotsPtr, slots.length).set(slots);
      let mask = 0;
      for (const [name, bit] of Object.entries(INTRINSIC_BITS)) {
        if (sm.intrinsic_dimensions[name as keyof typeof INTRINSIC_BITS]) mask |= bit;
      }
      wasm.spanmetrics_configure(boundsPtr, bounds.length, mask, slotsPtr, slots.length);
    }
    wasm.start();
    return new Core(wasm, options);
  }

  /** Aggregates one OTLP ExportTraceServiceRequest (protobuf); all or nothing. */
  ingest(request: Uint8Array, now: number = Math.floor(Date.now() / 1000)): IngestResult {
    const ptr = this.wasm.input_reserve(request.length);
    this.views().set(request, ptr);
    const n = this.wasm.ingest(request.length, now >>> 0);
    if (n >= 0) return { ok: true, spans: n };
    const w = this.wasm;
    return { ok: false, spans: w.spans_seen(), reason: describeFailure(-n, w.fail_offset(), w.fail_message(), w.fail_field()) };
  }

  /** The label value an interned id stands for; decoded once per id. */
  label(id: number): string {
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

  /** The span-metrics table, positioned for reading; undefined when the processor is off. */
  spanMetrics(): SeriesTableView | undefined {
    const view = this.spanMetricsView;
    if (!view) return undefined;
    this.views();
    const t = this.spanMetricsTable;
    const w = this.wasm;
    view.refresh(this.u32, this.f64, w.table_slab(t), w.table_used(t), w.table_stride(t), w.table_values_offset(t));
    return view;
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
  const ptr = wasm.scratch(bytes.length);
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  const slot = wasm.watch_key(ptr, bytes.length);
  if (slot < 0) throw new Error(`too many attribute keys configured (at ${key})`);
  return slot;
}
