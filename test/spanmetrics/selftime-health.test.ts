// The self-time store's health end to end: a sidecar with processor.span_metrics.self_time on,
// self_time_max_items 2 and wait 1 s, fed by the real OpenTelemetry JS SDK's OTLP/HTTP exporter;
// read back from /metrics (spanmeter_self_time_*) and /api/health (self_time). Expected counts by
// hand from the store's rules (README "Self time"; docs/abi.md self_time_counter): every counted
// span takes one entry, and a child whose parent has no entry makes one for that parent.
//   phase 1: three root spans in one request → 2 entries, the third refused: 1 dropped.
//   phase 2 (the store empty again after 2 × wait): one child of a parent never sent → 2 entries
//            (its own, its parent's); after wait the parent's entry expires unmet: 1 orphan.
import { context, trace, TraceFlags, type HrTime } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parsePrometheusText } from '../support/prom-text.js';
import { fetchMetricsText, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';

const T0 = Math.floor(Date.now() / 1000);
const at = (ms: number): HrTime => [T0, ms * 1e6];

describe('self-time store health: spanmeter_self_time_* and /api/health', () => {
  let sidecar: Sidecar;
  beforeAll(async () => {
    sidecar = await startSidecar({
      label: 'selftime-health',
      config: {
        processors: ['span-metrics'],
        processor: { span_metrics: { self_time: true, self_time_max_items: 2 }, service_graphs: { wait: '1s' } },
      },
    });
  });
  afterAll(async () => {
    await sidecar?.stop();
  });

  const figures = async () => {
    const text = (await fetchMetricsText(sidecar)).text;
    const v = (name: string) => parsePrometheusText(text).samples.find((s) => s.name === name)?.value;
    return {
      size: v('spanmeter_self_time_store_size'), max: v('spanmeter_self_time_store_max_items'),
      dropped: v('spanmeter_self_time_dropped_total'), orphans: v('spanmeter_self_time_orphans_total'), text,
    };
  };
  const health = async () => ((await (await fetch(`${sidecar.httpUrl}/api/health`)).json()) as { self_time: unknown }).self_time;
  const until = async (ok: (f: Awaited<ReturnType<typeof figures>>) => boolean) => {
    let f = await figures();
    for (let k = 0; k < 100 && !ok(f); k++) {
      await sleep(100);
      f = await figures();
    }
    return f;
  };

  test('a store of 2 filled by 3 waiting spans drops 1; a child without its parent makes 1 orphan', async () => {
    const exporter = new OTLPTraceExporter({ url: `${sidecar.otlpHttpUrl}/v1/traces` });
    // One request for the three roots (a batch processor flushed once).
    const batch = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'shop' }),
      spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 100, scheduledDelayMillis: 60_000 })],
    });
    const tracer = batch.getTracer('spanmeter-selftime-health');
    for (const name of ['a', 'b', 'c']) tracer.startSpan(name, { startTime: at(0) }).end(at(10));
    await batch.forceFlush();
    let f = await until((x) => x.dropped === 1);
    expect([f.size, f.max, f.dropped, f.orphans], f.text).toEqual([2, 2, 1, 0]);
    expect(await health()).toEqual({ store_size: 2, max_items: 2, dropped_total: 1, orphans_total: 0 });
    await batch.shutdown();

    // Entries live wait + one more wait as tombstones: the store empties.
    f = await until((x) => x.size === 0);
    expect(f.size).toBe(0);

    const single = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'shop' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${sidecar.otlpHttpUrl}/v1/traces` }))],
    });
    const parent = trace.setSpanContext(context.active(), {
      traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED,
    });
    single.getTracer('spanmeter-selftime-health').startSpan('orphan', { startTime: at(0) }, parent).end(at(5));
    await single.forceFlush();
    await single.shutdown();
    f = await until((x) => x.orphans === 1 && x.size === 0);
    expect([f.size, f.max, f.dropped, f.orphans], f.text).toEqual([0, 2, 1, 1]);
    expect(await health()).toEqual({ store_size: 0, max_items: 2, dropped_total: 1, orphans_total: 1 });
    // typed as the edge store's figures are
    expect(f.text).toContain('# TYPE spanmeter_self_time_dropped_total counter');
    expect(f.text).toContain('# TYPE spanmeter_self_time_store_size gauge');
  });
});
