// The OTLP metrics push with native histograms: ExponentialHistogram data points (OTLP's
// metrics.proto: scale, zero_count, zero_threshold, positive {offset, bucket_counts}; OTLP's
// bucket index i holds (base^i, base^(i+1)], Prometheus' index minus 1), cumulative and delta
// over a change of scale; encoded and decoded through the OTLP messages.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { spanMetricsFamilies } from '../../src/exporters/spanmetrics.js';
import { OtlpMetricsBuilder, subtractNative, type Temporality } from '../../src/exporters/otlpmetrics.js';
import { ExportMetricsServiceRequest } from '../../src/otlp/messages.js';
import type { NativeHistogram } from '../../src/core/native.js';
import { fFixed64, fLen, request, spanMetricsConfig } from '../core/helpers.js';

const T0 = 1_700_000_000_000_000_000n;
const span = (ns: bigint): number[] => [...fLen(5, 'op'), ...fFixed64(7, T0), ...fFixed64(8, T0 + ns)];

interface Point {
  count: number; sum: number; scale: number; zeroCount: number; zeroThreshold: number;
  positive?: { offset: number; bucketCounts: number[] };
}

async function setup(temporality: Temporality, maxBuckets = 100) {
  const config = spanMetricsConfig([0.005, 0.1], []);
  const core = await Core.create({ spanMetrics: config, nativeHistograms: { mode: 'both', schema: 3, maxBuckets, minResetMs: 0 } });
  const builder = new OtlpMetricsBuilder({
    families: spanMetricsFamilies(core, config), temporality, resource: { 'service.name': 'spanmeter' }, startMs: 1000, exemplars: false,
  });
  const push = (nowMs: number): Point[] => {
    const [req] = builder.build(nowMs);
    const decoded = ExportMetricsServiceRequest.toObject(ExportMetricsServiceRequest.decode(ExportMetricsServiceRequest.encode(req!.message).finish()), {
      longs: Number, arrays: true,
    }) as { resourceMetrics: { scopeMetrics: { metrics: { name: string; exponentialHistogram?: { dataPoints: Point[] }; histogram?: unknown }[] }[] }[] };
    const metric = decoded.resourceMetrics[0]!.scopeMetrics[0]!.metrics.find((m) => m.name === 'traces_spanmetrics_latency')!;
    expect(metric.histogram).toBeUndefined();
    return metric.exponentialHistogram!.dataPoints;
  };
  const send = (ns: bigint[], nowMs: number) => core.ingest(request(ns.map(span)), nowMs);
  return { push, send };
}

describe('ExponentialHistogram data points', () => {
  it('cumulative: scale, zero bucket, dense positive buckets from the offset', async () => {
    const { push, send } = await setup('cumulative');
    send([1_000_000n, 1_000_000n, 1_000_000n, 2_000_000n, 0n, 1_000_000_000n], 2000);
    const [p] = push(3000);
    // By hand at scale 3: 1 ms in Prometheus bucket -79 (OTLP index -80), 2 ms in -71, 1 s in 0;
    // the dense run from OTLP index -80 to -1: 3, seven 0s, 1, seventy 0s, 1.
    const counts = [3, ...Array(7).fill(0), 1, ...Array(70).fill(0), 1];
    expect([p!.count, p!.scale, p!.zeroCount, p!.zeroThreshold]).toEqual([6, 3, 1, 2 ** -128]);
    expect(p!.sum).toBeCloseTo(1.005, 12);
    expect(p!.positive).toEqual({ offset: -80, bucketCounts: counts });
  });

  it('delta: the change since the previous push, across a halving of the resolution', async () => {
    const { push, send } = await setup('delta', 10);
    send([1_000_000n, 1_000_000n], 2000);
    const [first] = push(3000);
    expect([first!.count, first!.scale, first!.positive]).toEqual([2, 3, { offset: -80, bucketCounts: [2] }]);
    // 4 ms is 16 buckets above 1 ms at scale 3: past 10 buckets, the scale halves to 2, where
    // 1 ms is Prometheus bucket ceil(-79/2) = -39 and 4 ms ceil(-63.7/2) = -31.
    send([4_000_000n], 4000);
    const [second] = push(5000);
    expect([second!.count, second!.scale, second!.zeroCount ?? 0]).toEqual([1, 2, 0]);
    // The previous 2 in -39 are taken off: only the new one at -31 (OTLP -32) is left.
    const positive = second!.positive!;
    const nonZero = positive.bucketCounts.map((c, i) => [positive.offset + i, c]).filter(([, c]) => c !== 0);
    expect(nonZero).toEqual([[-32, 1]]);
    expect(second!.sum).toBeCloseTo(0.004, 12);
  });

  it('subtractNative merges the earlier reading down to the current schema first', () => {
    const h = (schema: number, firstIndex: number, counts: number[], startMs = 1): NativeHistogram => ({
      schema, count: counts.reduce((a, b) => a + b, 0), sum: 0, zeroThreshold: 0, zeroCount: 0, firstIndex, counts, startMs,
    });
    // By hand: at schema 3 buckets -80 and -79 become ceil(-40) = -40 and ceil(-39.5) = -39 at schema 2.
    const d = subtractNative(h(2, -40, [5, 4]), h(3, -80, [2, 1]));
    expect([d.firstIndex, d.counts, d.count]).toEqual([-40, [3, 3], 6]);
    // A later start is a reset: the reading is the delta whole.
    expect(subtractNative(h(3, 0, [1], 9), h(3, 0, [5], 1)).counts).toEqual([1]);
  });
});
