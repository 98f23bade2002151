// WriteRequestBuilder on a real core: the WriteRequests it writes, decoded with protobufjs
// through the prompb descriptor, hold exactly the series, labels and samples written out here.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import type { SpanMetricsConfig } from '../../src/config/types.js';
import { spanMetricsFamilies } from '../../src/exporters/spanmetrics.js';
import { STALE_NAN_BYTES, WriteRequestBuilder, type BuiltRequest } from '../../src/exporters/remotewrite.js';
import { WriteRequest, type PbWriteRequest } from '../../src/exporters/prompb.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';

function smConfig(over: Partial<SpanMetricsConfig> = {}): SpanMetricsConfig {
  return { ...defaultConfig().processor.span_metrics, histogram_buckets: [0.1, 1], ...over };
}

async function setup(over: Partial<SpanMetricsConfig> = {}, opts: { naming?: 'tempo' | 'otel'; staleMs?: number } = {}) {
  const cfg = smConfig(over);
  const core = await Core.create({
    spanMetrics: cfg,
    build: 'debug',
    registry: { max_active_series: 0, stale_duration: opts.staleMs ?? 15 * 60_000 },
  });
  // the size counter's value is the encoded span size: left out so every value is by hand
  const families = spanMetricsFamilies(core, cfg, opts.naming ?? 'tempo').filter((f) => f.name !== 'traces_spanmetrics_size');
  const send = (spans: SpanSpec[], nowMs: number) => expect(core.ingest(request(spans), nowMs)).toEqual({ ok: true, spans: spans.length });
  return { core, families, send };
}

interface Decoded {
  metadata: string[];
  series: string[];
}

/** Each request as "labels | samples | exemplars" lines, in the order written. */
function decode(built: BuiltRequest[]): Decoded[] {
  return built.map((r) => {
    const msg = WriteRequest.toObject(WriteRequest.decode(r.body), { longs: Number, defaults: true }) as PbWriteRequest;
    expect(r.series).toBe(msg.timeseries.length);
    expect(r.samples).toBe(msg.timeseries.reduce((n, ts) => n + ts.samples.length, 0));
    return {
      metadata: msg.metadata.map((m) => `${m.type} ${m.metricFamilyName} ${m.help}`),
      series: msg.timeseries.map((ts) => {
        const labels = ts.labels.map((l) => `${l.name}=${l.value}`).join(',');
        const samples = ts.samples.map((s) => `${s.value}@${String(s.timestamp)}`).join(' ');
        const ex = ts.exemplars.map((e) => `${e.labels.map((l) => `${l.name}=${l.value}`).join(',')} ${e.value}@${String(e.timestamp)}`);
        return ex.length > 0 ? `${labels} | ${samples} | ${ex.join(' ')}` : `${labels} | ${samples}`;
      }),
    };
  });
}

const A: SpanSpec = { trace: 1, id: 1, kind: 'server', service: 'api', name: 'GET /', durMs: 50, attrs: { 'Zone.Name': 'eu' } };
const B: SpanSpec = { trace: 2, id: 2, kind: 'server', service: 'api', name: 'GET /', durMs: 500, attrs: { 'Zone.Name': 'eu' } };
const C: SpanSpec = { trace: 3, id: 3, kind: 'client', service: 'api', name: 'db', durMs: 2000, attrs: { cluster: 'own' } };

const EXTRA = { cluster: 'c1', instance: 'host:9464' };
const API = 'service=api,span_kind=SPAN_KIND_SERVER,span_name=GET /,status_code=STATUS_CODE_UNSET';
const DB = 'service=api,span_kind=SPAN_KIND_CLIENT,span_name=db,status_code=STATUS_CODE_UNSET';

describe('WriteRequestBuilder', () => {
  it('labels sorted by name (byte order), extra labels added unless the series has its own, a first 0 at t-1', async () => {
    const { families, send } = await setup({ dimensions: ['Zone.Name', 'cluster'] });
    send([A, B, C], 1000);
    const b = new WriteRequestBuilder({ families, extraLabels: EXTRA });
    const [req, ...more] = decode(b.build(5000));
    expect(more).toEqual([]);
    expect(req!.metadata).toEqual([
      '1 traces_spanmetrics_calls_total Spans counted, by service, span name, kind, status and dimensions.',
      '3 traces_spanmetrics_latency Span duration in seconds.',
    ]);
    // "Zone_Name" sorts before "__name__" (upper case < "_"), as remote write's byte order says;
    // span C's own cluster label wins over the external one
    expect(req!.series).toEqual([
      `Zone_Name=eu,__name__=traces_spanmetrics_calls_total,cluster=c1,instance=host:9464,${API} | 0@4999 2@5000`,
      `__name__=traces_spanmetrics_calls_total,cluster=own,instance=host:9464,${DB} | 0@4999 1@5000`,
      `Zone_Name=eu,__name__=traces_spanmetrics_latency_bucket,cluster=c1,instance=host:9464,le=0.1,${API} | 0@4999 1@5000`,
      `Zone_Name=eu,__name__=traces_spanmetrics_latency_bucket,cluster=c1,instance=host:9464,le=1,${API} | 0@4999 2@5000`,
      `Zone_Name=eu,__name__=traces_spanmetrics_latency_bucket,cluster=c1,instance=host:9464,le=+Inf,${API} | 0@4999 2@5000`,
      `Zone_Name=eu,__name__=traces_spanmetrics_latency_sum,cluster=c1,instance=host:9464,${API} | 0@4999 0.55@5000`,
      `Zone_Name=eu,__name__=traces_spanmetrics_latency_count,cluster=c1,instance=host:9464,${API} | 0@4999 2@5000`,
      `__name__=traces_spanmetrics_latency_bucket,cluster=own,instance=host:9464,le=0.1,${DB} | 0@4999 0@5000`,
      `__name__=traces_spanmetrics_latency_bucket,cluster=own,instance=host:9464,le=1,${DB} | 0@4999 0@5000`,
      `__name__=traces_spanmetrics_latency_bucket,cluster=own,instance=host:9464,le=+Inf,${DB} | 0@4999 1@5000`,
      `__name__=traces_spanmetrics_latency_sum,cluster=own,instance=host:9464,${DB} | 0@4999 2@5000`,
      `__name__=traces_spanmetrics_latency_count,cluster=own,instance=host:9464,${DB} | 0@4999 1@5000`,
    ]);
    // the next collection: one sample each, no 0, no metadata repeated... only in the first request
    send([{ ...A, trace: 4, id: 4 }], 5500);
    const [next] = decode(b.build(6000));
    expect(next!.series.slice(0, 2)).toEqual([
      `Zone_Name=eu,__name__=traces_spanmetrics_calls_total,cluster=c1,instance=host:9464,${API} | 3@6000`,
      `__name__=traces_spanmetrics_calls_total,cluster=own,instance=host:9464,${DB} | 1@6000`,
    ]);
    expect(next!.series.every((l) => !l.includes('@5999'))).toBe(true);
  });

  it('a series that appears later (and one that replaced a removed series) starts with a 0 again', async () => {
    const { core, families, send } = await setup({}, { staleMs: 1000 });
    send([A], 0);
    const b = new WriteRequestBuilder({ families, metadata: false });
    expect(decode(b.build(100))[0]!.series[0]).toBe(`__name__=traces_spanmetrics_calls_total,${API} | 0@99 1@100`);
    send([C], 150);
    const second = decode(b.build(200))[0]!.series;
    expect(second.slice(0, 2)).toEqual([
      `__name__=traces_spanmetrics_calls_total,${API} | 1@200`,
      `__name__=traces_spanmetrics_calls_total,${DB} | 0@199 1@200`,
    ]);
    // both go stale and are removed: each of their time series gets a staleness marker (2 ms
    // before the collection), once
    expect(core.sweep(5000)).toBeGreaterThan(0);
    const built = b.build(5000);
    const latency = (labels: string) => [
      ...['0.1', '1', '+Inf'].map((le) => `__name__=traces_spanmetrics_latency_bucket,le=${le},${labels} | NaN@4998`),
      `__name__=traces_spanmetrics_latency_sum,${labels} | NaN@4998`,
      `__name__=traces_spanmetrics_latency_count,${labels} | NaN@4998`,
    ];
    expect(decode(built)[0]!.series).toEqual([
      `__name__=traces_spanmetrics_calls_total,${API} | NaN@4998`,
      `__name__=traces_spanmetrics_calls_total,${DB} | NaN@4998`,
      ...latency(API),
      ...latency(DB),
    ]);
    // the NaN is Prometheus's stale marker, bit for bit (0x7ff0000000000002): once per time series
    const body = Buffer.from(built[0]!.body);
    let markers = 0;
    for (let at = body.indexOf(STALE_NAN_BYTES); at >= 0; at = body.indexOf(STALE_NAN_BYTES, at + 1)) markers++;
    expect(markers).toBe(12);
    expect(b.build(5500)).toEqual([]);
    // A comes back as a new series counting from 1 again
    send([A], 6000);
    expect(decode(b.build(6100))[0]!.series[0]).toBe(`__name__=traces_spanmetrics_calls_total,${API} | 0@6099 1@6100`);
  });

  it('a label set that comes back in the slot of its removed series: stale marker, then 0, in time order', async () => {
    const { core, families, send } = await setup({}, { staleMs: 1000 });
    send([A], 0);
    const b = new WriteRequestBuilder({ families: families.slice(0, 1), metadata: false });
    expect(decode(b.build(100))[0]!.series).toEqual([`__name__=traces_spanmetrics_calls_total,${API} | 0@99 1@100`]);
    expect(core.sweep(5000)).toBeGreaterThan(0);
    send([A], 5000);
    expect(decode(b.build(5100))[0]!.series).toEqual([
      `__name__=traces_spanmetrics_calls_total,${API} | NaN@5098`,
      `__name__=traces_spanmetrics_calls_total,${API} | 0@5099 1@5100`,
    ]);
  });

  it('batches at most maxSeriesPerRequest time series per request, metadata in the first', async () => {
    const { families, send } = await setup();
    send([A, C], 0);
    // 2 label sets: 2 calls + 2 × (2 buckets + +Inf + sum + count) = 12 time series, 24 samples
    const built = new WriteRequestBuilder({ families, maxSeriesPerRequest: 5 }).build(10);
    expect(built.map((r) => [r.series, r.samples])).toEqual([[5, 10], [5, 10], [2, 4]]);
    const decoded = decode(built);
    expect(decoded.map((d) => d.metadata.length)).toEqual([2, 0, 0]);
    expect(decoded.flatMap((d) => d.series)).toHaveLength(12);
  });

  it('naming otel in milliseconds: le and _sum in ms, the Collector names', async () => {
    const { families, send } = await setup({ histogram_unit: 'ms' }, { naming: 'otel' });
    send([A, B], 0);
    const series = decode(new WriteRequestBuilder({ families, metadata: false }).build(10))[0]!.series;
    const otel = API.replace('service=', 'service_name=');
    expect(series).toEqual([
      `__name__=traces_span_metrics_calls_total,${otel} | 0@9 2@10`,
      `__name__=traces_span_metrics_duration_milliseconds_bucket,le=100,${otel} | 0@9 1@10`,
      `__name__=traces_span_metrics_duration_milliseconds_bucket,le=1000,${otel} | 0@9 2@10`,
      `__name__=traces_span_metrics_duration_milliseconds_bucket,le=+Inf,${otel} | 0@9 2@10`,
      `__name__=traces_span_metrics_duration_milliseconds_sum,${otel} | 0@9 550@10`,
      `__name__=traces_span_metrics_duration_milliseconds_count,${otel} | 0@9 2@10`,
    ]);
  });

  it('sendExemplars: each kept exemplar once, on its bucket and on the counter, in the family unit', async () => {
    const { families, send } = await setup({ histogram_unit: 'ms' }, { naming: 'otel' });
    send([A], 1000);
    const b = new WriteRequestBuilder({ families, metadata: false, sendExemplars: true });
    const otel = API.replace('service=', 'service_name=');
    const trace1 = 'trace_id=5eed0000abcdef010000000000000001,span_id=1000000000000001';
    expect(decode(b.build(2000))[0]!.series).toEqual([
      `__name__=traces_span_metrics_calls_total,${otel} | 0@1999 1@2000 | ${trace1} 1@1000`,
      `__name__=traces_span_metrics_duration_milliseconds_bucket,le=100,${otel} | 0@1999 1@2000 | ${trace1} 50@1000`,
      `__name__=traces_span_metrics_duration_milliseconds_bucket,le=1000,${otel} | 0@1999 1@2000`,
      `__name__=traces_span_metrics_duration_milliseconds_bucket,le=+Inf,${otel} | 0@1999 1@2000`,
      `__name__=traces_span_metrics_duration_milliseconds_sum,${otel} | 0@1999 50@2000`,
      `__name__=traces_span_metrics_duration_milliseconds_count,${otel} | 0@1999 1@2000`,
    ]);
    // nothing new: no exemplar again
    expect(decode(b.build(3000))[0]!.series.filter((l) => l.includes('trace_id'))).toEqual([]);
    // a 500 ms span: the le=1000 bucket's exemplar, and the counter's is now that span
    send([B], 3500);
    const trace2 = 'trace_id=5eed0000abcdef010000000000000002,span_id=1000000000000002';
    expect(decode(b.build(4000))[0]!.series.filter((l) => l.includes('trace_id'))).toEqual([
      `__name__=traces_span_metrics_calls_total,${otel} | 2@4000 | ${trace2} 1@3500`,
      `__name__=traces_span_metrics_duration_milliseconds_bucket,le=1000,${otel} | 2@4000 | ${trace2} 500@3500`,
    ]);
  });

  it('without sendExemplars, none', async () => {
    const { families, send } = await setup();
    send([A], 1000);
    const built = decode(new WriteRequestBuilder({ families }).build(2000));
    expect(built[0]!.series.some((l) => l.includes('trace_id'))).toBe(false);
  });

  it('nothing to send: no request', async () => {
    const { families } = await setup();
    expect(new WriteRequestBuilder({ families }).build(1)).toEqual([]);
  });
});
