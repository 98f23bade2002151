// The bench's bytes per span-metrics series (the core, plain TypeScript (c), naive (d)) and
// /metrics render time for N series (bench/index.ts runs it after the in-process stages).
import { Core } from '../src/core/index.js';
import { schemaForFactor } from '../src/core/native.js';
import { RECORD_KEY, STRING_ENTRY_SIZE, WORST_SIZE } from '../src/core/layout.js';
import type { SpanMetricsConfig } from '../src/config/types.js';
import { spanMetricsFamilies } from '../src/exporters/spanmetrics.js';
import { renderFamilies } from '../src/exporters/exposition.js';
import { seriesBatches } from '../src/workload/workload.js';
import { JsSpanMetrics } from './js-core.js';
import { NaiveSpanMetrics } from './naive.js';
import { fmtInt, gc, median, progress } from './util.js';

/** What the measurement takes of the bench's options. */
export interface RenderOptions {
  /** Series to grow. */
  series: number;
  spansPerBatch: number;
}

export interface SeriesResult {
  series: number;
  core: {
    bytesPerSeries: number;
    /** The same with native histograms on (both; factor 1.1, 100 buckets). */
    nativeBytesPerSeries: number;
    labelBytesPerSeries: number;
    beyondLabelsPerSeries: number;
    recordStride: number;
    indexBytesPerRecord: number;
    staticRecordBytes: number;
    internEntryBytes: number;
    /** The series' slowest-trace slot (assembly/worst.ts). */
    worstSlotBytes: number;
    tableCapacity: number;
  };
  js: { bytesPerSeries: number; beyondLabelsPerSeries: number };
  naive: { heapBytesPerSeries: number };
  render: { firstMs: number; warmMs: number; megabytes: number; lines: number };
}

export async function seriesAndRender(o: RenderOptions, smConfig: SpanMetricsConfig): Promise<SeriesResult> {
  const n = o.series;
  progress.update(`encoding ${fmtInt(n)} spans with distinct names`);
  const batches = seriesBatches(n, o.spansPerBatch);
  // Label bytes: the distinct span names (the service name is one string for all).
  const labelBytes = Array.from({ length: n }, (_, i) => `GET /api/v1/catalog/items/sku-${String(i).padStart(7, '0')}`.length)
    .reduce((a, b) => a + b, 0);

  progress.update(`growing the core to ${fmtInt(n)} series`);
  const core = await Core.create({ spanMetrics: smConfig, build: 'release' });
  // The first request sizes the input and staging buffers; measure from after it.
  let r = core.ingest(batches[0]!, Date.now());
  if (!r.ok) throw new Error(r.reason);
  const used0 = core.table('spanMetrics')!.used;
  const m0 = core.memoryBytes();
  for (let i = 1; i < batches.length; i++) {
    r = core.ingest(batches[i]!, Date.now());
    if (!r.ok) throw new Error(r.reason);
  }
  const view = core.table('spanMetrics')!;
  if (view.used !== n) throw new Error(`core holds ${view.used} series, expected ${n}`);
  const grown = n - used0;
  const bytesPerSeries = (core.memoryBytes() - m0) / grown;
  // The same with native histograms too (generate_native_histograms: both, Tempo's defaults).
  progress.update(`growing a core with native histograms to ${fmtInt(n)} series`);
  const nativeCore = await Core.create({
    spanMetrics: smConfig, build: 'release',
    nativeHistograms: { mode: 'both', schema: schemaForFactor(1.1), maxBuckets: 100, minResetMs: 15 * 60_000 },
  });
  nativeCore.ingest(batches[0]!, Date.now());
  const nativeUsed0 = nativeCore.table('spanMetrics')!.used;
  const nm0 = nativeCore.memoryBytes();
  for (let i = 1; i < batches.length; i++) nativeCore.ingest(batches[i]!, Date.now());
  const nativeBytesPerSeries = (nativeCore.memoryBytes() - nm0) / (n - nativeUsed0);
  const labelPerSeries = labelBytes / n;
  // A record: header and key words padded to 8 bytes, f64 values (assembly/layout.ts RECORD_*).
  const stride = ((RECORD_KEY + view.keyWords * 4 + 7) & ~7) + 8 * view.valueCount;
  const viewStride = (view as unknown as { stride?: number }).stride;
  let capacity = 256;
  while (capacity < n) capacity *= 2;

  progress.update(`growing plain TypeScript (c) and naive (d) to ${fmtInt(n)} series`);
  const js = new JsSpanMetrics(smConfig.histogram_buckets);
  js.ingest(batches[0]!);
  const j0 = js.heldBytes();
  for (let i = 1; i < batches.length; i++) js.ingest(batches[i]!);
  const jsPer = (js.heldBytes() - j0) / grown;
  gc();
  const naive = new NaiveSpanMetrics(smConfig.histogram_buckets);
  naive.ingest(batches[0]!);
  gc();
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 1; i < batches.length; i++) naive.ingest(batches[i]!);
  gc();
  const naivePer = (process.memoryUsage().heapUsed - h0) / grown;
  if (naive.series.size !== n || js.seriesCount !== n) throw new Error('(c)/(d) series count differs from the core');

  progress.update(`/metrics render, ${fmtInt(n)} series`);
  // What GET /metrics does: the families written as bytes (no string to encode afterwards).
  const families = spanMetricsFamilies(core, smConfig);
  let t0 = performance.now();
  let bytes = renderFamilies(families, 'text');
  const firstMs = performance.now() - t0;
  const warm: number[] = [];
  for (let i = 0; i < 3; i++) {
    gc();
    t0 = performance.now();
    bytes = renderFamilies(families, 'text');
    warm.push(performance.now() - t0);
  }
  let lines = 0;
  for (let p = bytes.indexOf(0x0a); p >= 0; p = bytes.indexOf(0x0a, p + 1)) lines++;
  const meta = { lines, mb: bytes.length / 1e6 };
  return {
    series: n,
    core: {
      bytesPerSeries,
      nativeBytesPerSeries,
      labelBytesPerSeries: labelPerSeries,
      beyondLabelsPerSeries: bytesPerSeries - labelPerSeries,
      recordStride: viewStride ?? stride,
      // The series index's tagged slot (assembly/hashindex.ts: four bytes, the record's address / 8 and hash bits).
      indexBytesPerRecord: 4,
      staticRecordBytes: (viewStride ?? stride) + 4,
      internEntryBytes: STRING_ENTRY_SIZE,
      worstSlotBytes: WORST_SIZE,
      tableCapacity: capacity,
    },
    js: { bytesPerSeries: jsPer, beyondLabelsPerSeries: jsPer - labelPerSeries },
    naive: { heapBytesPerSeries: naivePer },
    render: { firstMs, warmMs: median(warm), megabytes: meta.mb, lines: meta.lines },
  };
}
