// The page's quantiles from native histograms (generate_native_histograms): each series' native
// buckets folded onto the page's grid (4 buckets per doubling, 2^-12 … 2^6 s; src/ui/quantile.ts),
// so an edge under 100 ms no longer reads as its first classic bucket (Tempo's default 0.1 s …).
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { buildCatalog } from '../../src/exporters/catalog.js';
import { Telemetry } from '../../src/telemetry.js';
import { UiApi, telemetryCounters } from '../../src/ui/api.js';
import { addNativeToGrid, pageGrid } from '../../src/ui/quantile.js';
import type { HistogramFamily } from '../../src/exporters/families.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';

const T = 1_700_000_000_000;

async function api(mode: 'classic' | 'both') {
  const config = defaultConfig();
  const sm = config.processor.span_metrics;
  const sg = config.processor.service_graphs; // Tempo's buckets: 0.1 · 2^k s
  const core = await Core.create({ spanMetrics: sm, serviceGraphs: sg, nativeHistograms: { mode, schema: 3, maxBuckets: 100, minResetMs: 0 } });
  const catalog = buildCatalog(core, { spanMetrics: sm, serviceGraphs: sg });
  const ui = new UiApi({
    core, catalog, maxActiveSeries: 0, maxItems: sg.max_items,
    selfCounters: telemetryCounters(new Telemetry({ defaultMetrics: false }).registry), now: () => T, minScanMs: 0,
  });
  return { core, ui };
}

// 60 calls front → back, server spans 12 … 71 ms (one per ms), clients 1 ms longer.
const MS = Array.from({ length: 60 }, (_, i) => 12 + i);
const SPANS: SpanSpec[] = MS.flatMap((ms, i): SpanSpec[] => [
  { trace: i + 1, id: 1, kind: 'client', service: 'front', name: 'GET /back', durMs: ms + 1 },
  { trace: i + 1, id: 2, parent: 1, kind: 'server', service: 'back', name: 'GET /back', durMs: ms },
]);

describe('page quantiles from native histograms', () => {
  it("an edge's p50 and p95 from its own native histogram, within the grid's 2^(1/4) of the exact ones", async () => {
    const exact = (q: number) => MS[Math.ceil(q * MS.length) - 1]! / 1000; // nearest rank: p50 41 ms, p95 68 ms
    const native = await api('both');
    expect(native.core.ingest(request(SPANS), T)).toEqual({ ok: true, spans: SPANS.length });
    const graph = await native.ui.graph();
    const edge = graph.edges.find((e) => e.source === 'front' && e.target === 'back')!;
    for (const [q, got] of [[0.5, edge.p50], [0.95, edge.p95]] as const) {
      // The grid bucket holding the exact value spans a factor 2^(1/4): so does the estimate in it.
      expect(Math.abs(got! - exact(q)) / exact(q), `q=${q}: ${got} vs ${exact(q)}`).toBeLessThan(2 ** (1 / 4) - 1);
    }
    // The range the page shows quantiles against is the grid's: 2^-12 … 2^6 s.
    expect(graph.buckets.service_graphs).toEqual({ first: 2 ** -12, last: 2 ** 6 });
    // From the edge's own (server) histogram: with classic buckets only, the page falls back to
    // the server's span-metrics histogram for an edge whose median is in the first bucket (0.1 s).
    expect(edge.latency).toBe('server');
    const classic = await api('classic');
    classic.core.ingest(request(SPANS), T);
    expect((await classic.ui.graph()).edges.find((e) => e.source === 'front' && e.target === 'back')!.latency).toBe('server_spans');
  });

  it('folds buckets of a finer schema by their upper bound, and of a coarser one onto its upper bound', () => {
    const family = { native: { block: 0, schema: 3, classic: true }, milliseconds: false, bounds: [] } as unknown as HistogramFamily;
    const grid = pageGrid(family)!;
    // By hand: grid schema 2 from index 4·(-12) = -48 to 4·6 = 24: 73 bounds.
    expect([grid.schema, grid.lo, grid.bounds.length, grid.bounds[0], grid.bounds[72]]).toEqual([2, -48, 73, 2 ** -12, 64]);
    const out = new Float64Array(74);
    // Schema 3 bucket -7 (upper bound 2^(-7/8)) lies in grid bucket ceil(-7/2) = -3 (upper 2^(-3/4)),
    // schema 1 bucket -1 (upper 2^(-1/2)) is grid bucket -2; a zero goes first, 2^7 s to +Inf.
    addNativeToGrid(grid, { schema: 3, count: 2, sum: 0, zeroThreshold: 0, zeroCount: 1, firstIndex: -7, counts: [2], startMs: 0 }, out, 0);
    addNativeToGrid(grid, { schema: 1, count: 1, sum: 0, zeroThreshold: 0, zeroCount: 0, firstIndex: -1, counts: [1], startMs: 0 }, out, 0);
    addNativeToGrid(grid, { schema: 0, count: 1, sum: 0, zeroThreshold: 0, zeroCount: 0, firstIndex: 7, counts: [1], startMs: 0 }, out, 0);
    const nonZero = [...out].map((c, i) => [i, c]).filter(([, c]) => c !== 0);
    expect(nonZero).toEqual([[0, 1], [-3 + 48, 2], [-2 + 48, 1], [73, 1]]);
  });
});
