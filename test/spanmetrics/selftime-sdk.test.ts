// Self time end to end with the real OpenTelemetry JS SDK: one service's spans, parented through
// real contexts, exported by the real OTLP/HTTP protobuf exporter in two batches (children
// first, the parent later, as a BatchSpanProcessor sends spans as they end) to a sidecar with
// processor.span_metrics.self_time on and wait 1 s; then /metrics and the OTLP metrics it pushes
// to a test receiver (the same families go out by remote write). Expected values are hand
// computations from the times below (ms from the trace's start):
//
//   GET /order (SERVER)   [0, 100)
//     load   (INTERNAL)   [10, 40)
//     db     (CLIENT)     [30, 70)   overlaps load (parallel calls)
//     render (INTERNAL)   [80, 90)
//     audit  (INTERNAL)   [90, 130)  runs past the parent's end (fire and forget)
//
// children's union clipped to [0, 100): [10, 70) ∪ [80, 100) = 60 + 20 = 80 ms → GET /order: 20 ms.
// The leaves have no children: load 30, db 40, render 10, audit 40 ms.
import { context, SpanKind, trace, type HrTime } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parsePrometheusText } from '../support/prom-text.js';
import { fetchMetricsText, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { startHttpReceiver, type PbPoint, type TestReceiver } from '../otlpmetrics/receiver.js';

const T0 = 1_700_000_000; // s
const at = (ms: number): HrTime => [T0, ms * 1e6];

describe('OpenTelemetry JS SDK → sidecar: self time', () => {
  let sidecar: Sidecar;
  let rx: TestReceiver;
  beforeAll(async () => {
    rx = await startHttpReceiver();
    sidecar = await startSidecar({
      label: 'selftime-sdk',
      config: {
        processors: ['span-metrics'], processor: { span_metrics: { self_time: true }, service_graphs: { wait: '1s' } },
        otlp_metrics: { endpoint: rx.url, protocol: 'http/protobuf', interval: '1s' },
      },
    });
  });
  afterAll(async () => {
    await sidecar?.stop();
    await rx?.close();
  });

  test('nested, overlapping and clipped children, parent in a later request', async () => {
    const exporter = new OTLPTraceExporter({ url: `${sidecar.otlpHttpUrl}/v1/traces` });
    // SimpleSpanProcessor: one export request per span, as each ends (children before the parent).
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'shop' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('spanmeter-selftime', '1.0.0');
    const root = tracer.startSpan('GET /order', { kind: SpanKind.SERVER, startTime: at(0) });
    const ctx = trace.setSpan(context.active(), root);
    const child = (name: string, kind: SpanKind, from: number, to: number) =>
      tracer.startSpan(name, { kind, startTime: at(from) }, ctx).end(at(to));
    child('load', SpanKind.INTERNAL, 10, 40);
    child('db', SpanKind.CLIENT, 30, 70);
    child('render', SpanKind.INTERNAL, 80, 90);
    await provider.forceFlush();
    root.end(at(100));
    await provider.forceFlush();
    child('audit', SpanKind.INTERNAL, 90, 130); // after the parent, within its wait
    await provider.forceFlush();
    await provider.shutdown();

    const want: Record<string, number> = { 'GET /order': 0.02, load: 0.03, db: 0.04, render: 0.01, audit: 0.04 };
    let got: Record<string, { sum: number; count: number }> = {};
    let text = '';
    // decided 1 s (wait) after each span came, by the sidecar's expiry every second
    for (let k = 0; k < 60; k++) {
      text = (await fetchMetricsText(sidecar)).text;
      got = {};
      for (const s of parsePrometheusText(text).samples) {
        if (s.labels.service !== 'shop') continue;
        const g = (got[s.labels.span_name!] ??= { sum: 0, count: 0 });
        if (s.name === 'traces_spanmetrics_self_time_seconds_sum') g.sum = s.value;
        if (s.name === 'traces_spanmetrics_self_time_seconds_count') g.count = s.value;
      }
      if (Object.keys(want).every((n) => got[n]?.count === 1)) break;
      await sleep(100);
    }
    for (const [name, seconds] of Object.entries(want)) {
      expect(got[name]?.count, `${name}\n${text}`).toBe(1);
      expect(got[name]!.sum, name).toBeCloseTo(seconds, 9);
    }
    // default buckets 0.002·2^k: GET /order's 20 ms is above 0.016, at or under 0.032
    expect(text).toMatch(/traces_spanmetrics_self_time_seconds_bucket\{service="shop",span_name="GET \/order",[^}]*le="0\.016"\} 0\n/);
    expect(text).toMatch(/traces_spanmetrics_self_time_seconds_bucket\{service="shop",span_name="GET \/order",[^}]*le="0\.032"\} 1\n/);
    // OTLP push: the same histogram, cumulative, with the latency's bounds (one push after the decision)
    const point = (): PbPoint | undefined => rx.received.flatMap((r) => r.request.resourceMetrics)
      .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      .filter((m) => m.name === 'traces_spanmetrics_self_time_seconds' && m.histogram)
      .flatMap((m) => m.histogram!.dataPoints)
      .filter((p) => p.attributes.some((a) => a.key === 'span_name' && a.value?.stringValue === 'GET /order'))
      .find((p) => Number(p.count) === 1);
    for (let k = 0; k < 50 && !point(); k++) await sleep(100);
    expect(point(), JSON.stringify(rx.received.length)).toBeDefined();
    expect(point()!.sum).toBeCloseTo(0.02, 9);
    // bounds 0.002·2^k: 20 ms falls in (0.016, 0.032], the fifth bucket
    expect(point()!.bucketCounts!.map(Number).slice(0, 6)).toEqual([0, 0, 0, 0, 1, 0]);
    // nothing counted apart: the counters have no series (exposed once above 0)
    expect(text).not.toMatch(/^traces_spanmetrics_self_time_(unknown|late_children)_total\{/m);
    expect(text).toContain('# TYPE traces_spanmetrics_self_time_unknown_total counter');
  });
});
