// The OTLP metrics push on a real core, received by the test's own OTLP/HTTP and OTLP/gRPC
// servers: exact data points for cumulative and delta temporality over two pushes, resource
// attributes, units and bounds, splitting, retries and what is not retried.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import type { SpanMetricsConfig } from '../../src/config/types.js';
import { spanMetricsFamilies } from '../../src/exporters/spanmetrics.js';
import { OtlpMetricsPusher, msToNanos, type OtlpMetricsPusherOptions } from '../../src/exporters/otlpmetrics.js';
import { grpcTarget, metricsUrl } from '../../src/exporters/otlptransport.js';
import type { Logger } from '../../src/log.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import { compact, startGrpcReceiver, startHttpReceiver, type TestReceiver } from './receiver.js';

const receivers: TestReceiver[] = [];
const pushers: OtlpMetricsPusher[] = [];
afterEach(async () => {
  for (const p of pushers.splice(0)) await p.stop(Date.now());
  for (const r of receivers.splice(0)) await r.close();
});

async function track<T extends TestReceiver>(r: Promise<T>): Promise<T> {
  const x = await r;
  receivers.push(x);
  return x;
}

// 62.5 ms, 500 ms and 250 ms are exact binary fractions of a second: sums and differences stay exact
const A: SpanSpec = { trace: 1, id: 1, kind: 'server', service: 'api', name: 'GET /', durMs: 62.5 };
const B: SpanSpec = { trace: 2, id: 2, kind: 'server', service: 'api', name: 'GET /', durMs: 500 };
const C: SpanSpec = { trace: 3, id: 3, kind: 'client', service: 'api', name: 'db', durMs: 2000 };
const D: SpanSpec = { trace: 4, id: 4, kind: 'server', service: 'api', name: 'GET /', durMs: 250 };

const API = 'service=api,span_name=GET /,span_kind=SPAN_KIND_SERVER,status_code=STATUS_CODE_UNSET';
const DB = 'service=api,span_name=db,span_kind=SPAN_KIND_CLIENT,status_code=STATUS_CODE_UNSET';
const RESOURCE = 'resource service.name=spanmeter,service.instance.id=host:9464,cluster=c1';

async function setup(
  endpoint: string,
  over: Partial<OtlpMetricsPusherOptions> = {},
  opts: { naming?: 'tempo' | 'otel'; sm?: Partial<SpanMetricsConfig> } = {},
) {
  const cfg: SpanMetricsConfig = { ...defaultConfig().processor.span_metrics, histogram_buckets: [0.1, 1], ...opts.sm };
  const core = await Core.create({ spanMetrics: cfg, build: 'debug' });
  const families = spanMetricsFamilies(core, cfg, opts.naming ?? 'tempo').filter((f) => f.name !== 'traces_spanmetrics_size');
  const pusher = new OtlpMetricsPusher({
    endpoint,
    protocol: 'http/protobuf',
    userAgent: 'spanmeter/test',
    families,
    temporality: 'cumulative',
    resource: { 'service.name': 'spanmeter', 'service.instance.id': 'host:9464', cluster: 'c1' },
    scope: { name: 'spanmeter', version: '1.2.3' },
    startMs: 1000,
    minBackoffMs: 20,
    maxBackoffMs: 100,
    ...over,
  });
  pushers.push(pusher);
  const send = (spans: SpanSpec[], nowMs: number) => expect(core.ingest(request(spans), nowMs)).toEqual({ ok: true, spans: spans.length });
  return { pusher, send };
}

describe('OTLP metrics push: the data points', () => {
  it('cumulative, two pushes: start = process start, values since then, exemplars new since the last push', async () => {
    const rx = await track(startHttpReceiver());
    const { pusher, send } = await setup(rx.url);
    send([A, B, C], 5000);
    expect(pusher.push(10_000)).toBe(4);
    await pusher.idle();
    send([D], 15_000);
    expect(pusher.push(20_000)).toBe(4);
    await pusher.idle();
    expect(rx.received.map((r) => r.path)).toEqual(['/v1/metrics', '/v1/metrics']);
    expect(rx.received[0]!.headers['content-type']).toBe('application/x-protobuf');
    expect(rx.received[0]!.headers['user-agent']).toBe('spanmeter/test');
    // exemplars: "<trace>/<span> value@ms"; the counter's is the latest observation, value 1
    expect(compact(rx.received[0]!.request, { exemplars: true })).toEqual([
      RESOURCE,
      'scope spanmeter 1.2.3',
      'sum traces_spanmetrics_calls unit= temporality=2 monotonic=true',
      `  {${API}} 1000..10000 2 ex[01/01 1@5000]`,
      `  {${DB}} 1000..10000 1 ex[03/03 1@5000]`,
      'histogram traces_spanmetrics_latency unit= temporality=2',
      `  {${API}} 1000..10000 count=2 sum=0.5625 buckets=1,1,0 bounds=0.1,1 ex[01/01 0.0625@5000 02/02 0.5@5000]`,
      `  {${DB}} 1000..10000 count=1 sum=2 buckets=0,0,1 bounds=0.1,1 ex[03/03 2@5000]`,
    ]);
    expect(compact(rx.received[1]!.request, { exemplars: true })).toEqual([
      RESOURCE,
      'scope spanmeter 1.2.3',
      'sum traces_spanmetrics_calls unit= temporality=2 monotonic=true',
      `  {${API}} 1000..20000 3 ex[04/04 1@15000]`,
      `  {${DB}} 1000..20000 1`,
      'histogram traces_spanmetrics_latency unit= temporality=2',
      `  {${API}} 1000..20000 count=3 sum=0.8125 buckets=1,2,0 bounds=0.1,1 ex[04/04 0.25@15000]`,
      `  {${DB}} 1000..20000 count=1 sum=2 buckets=0,0,1 bounds=0.1,1`,
    ]);
    expect(pusher.stats()).toMatchObject({ sent: 8, dropped: { queue_full: 0, rejected: 0, shutdown: 0 } });
  });

  it('delta, two pushes: the change since the previous push, unchanged series left out; deltas add up to the totals', async () => {
    const rx = await track(startHttpReceiver());
    const { pusher, send } = await setup(rx.url, { temporality: 'delta' });
    send([A, B, C], 5000);
    pusher.push(10_000);
    send([D], 15_000);
    pusher.push(20_000);
    expect(pusher.push(30_000)).toBe(0); // nothing changed: no request
    await pusher.idle();
    expect(rx.received).toHaveLength(2);
    expect(compact(rx.received[0]!.request)).toEqual([
      RESOURCE,
      'scope spanmeter 1.2.3',
      'sum traces_spanmetrics_calls unit= temporality=1 monotonic=true',
      `  {${API}} 1000..10000 2`,
      `  {${DB}} 1000..10000 1`,
      'histogram traces_spanmetrics_latency unit= temporality=1',
      `  {${API}} 1000..10000 count=2 sum=0.5625 buckets=1,1,0 bounds=0.1,1`,
      `  {${DB}} 1000..10000 count=1 sum=2 buckets=0,0,1 bounds=0.1,1`,
    ]);
    expect(compact(rx.received[1]!.request)).toEqual([
      RESOURCE,
      'scope spanmeter 1.2.3',
      'sum traces_spanmetrics_calls unit= temporality=1 monotonic=true',
      `  {${API}} 10000..20000 1`,
      'histogram traces_spanmetrics_latency unit= temporality=1',
      `  {${API}} 10000..20000 count=1 sum=0.25 buckets=0,1,0 bounds=0.1,1`,
    ]);
    // the deltas of GET / add up to the cumulative totals: calls 2 + 1 = 3, sum 0.5625 + 0.25 = 0.8125
    const calls = rx.received.flatMap((r) => r.request.resourceMetrics[0]!.scopeMetrics[0]!.metrics)
      .filter((m) => m.sum)
      .flatMap((m) => m.sum!.dataPoints)
      .filter((p) => p.attributes.some((a) => a.value?.stringValue === 'GET /'))
      .reduce((n, p) => n + p.asDouble!, 0);
    expect(calls).toBe(3);
  });

  it('naming otel: the Collector names, unit ms, bounds and sums in milliseconds', async () => {
    const rx = await track(startHttpReceiver());
    const { pusher, send } = await setup(rx.url, {}, { naming: 'otel', sm: { histogram_unit: 'ms' } });
    send([A, B], 5000);
    pusher.push(10_000);
    await pusher.idle();
    const otel = API.replace('service=', 'service_name=');
    expect(compact(rx.received[0]!.request, { exemplars: true }).slice(2)).toEqual([
      'sum traces_span_metrics_calls unit= temporality=2 monotonic=true',
      `  {${otel}} 1000..10000 2 ex[01/01 1@5000]`,
      'histogram traces_span_metrics_duration_milliseconds unit=ms temporality=2',
      `  {${otel}} 1000..10000 count=2 sum=562.5 buckets=1,1,0 bounds=100,1000 ex[01/01 62.5@5000 02/02 500@5000]`,
    ]);
  });

  it('splits a push into requests of at most maxDataPointsPerRequest data points', async () => {
    const rx = await track(startHttpReceiver());
    const { pusher, send } = await setup(rx.url, { maxDataPointsPerRequest: 3 });
    send([A, C], 5000);
    expect(pusher.push(10_000)).toBe(4);
    await pusher.idle();
    expect(rx.received.map((r) => compact(r.request).slice(2))).toEqual([
      [
        'sum traces_spanmetrics_calls unit= temporality=2 monotonic=true',
        `  {${API}} 1000..10000 1`,
        `  {${DB}} 1000..10000 1`,
        'histogram traces_spanmetrics_latency unit= temporality=2',
        `  {${API}} 1000..10000 count=1 sum=0.0625 buckets=1,0,0 bounds=0.1,1`,
      ],
      [
        'histogram traces_spanmetrics_latency unit= temporality=2',
        `  {${DB}} 1000..10000 count=1 sum=2 buckets=0,0,1 bounds=0.1,1`,
      ],
    ]);
  });

  it('timestamps are exact nanoseconds (no double rounding near 1.7e18)', () => {
    expect(msToNanos(1_732_492_800_123).toString()).toBe('1732492800123000000');
  });

  it('endpoints: HTTP posts to the path + /v1/metrics; gRPC dials host:port', () => {
    expect(metricsUrl('http://alloy:4318')).toBe('http://alloy:4318/v1/metrics');
    expect(metricsUrl('http://alloy:4318/otlp/')).toBe('http://alloy:4318/otlp/v1/metrics');
    expect(metricsUrl('https://alloy/v1/metrics')).toBe('https://alloy/v1/metrics');
    expect(grpcTarget('http://alloy:4317')).toEqual({ target: 'alloy:4317', secure: false });
    expect(grpcTarget('https://collector.example')).toEqual({ target: 'collector.example:443', secure: true });
  });
});

describe('OTLP metrics push over gRPC', () => {
  it('MetricsService/Export with the headers as metadata, the same data points', async () => {
    const rx = await track(startGrpcReceiver());
    const { pusher, send } = await setup(rx.url, { protocol: 'grpc', headers: { 'x-scope-orgid': 'tenant-1' } });
    send([A, B, C], 5000);
    pusher.push(10_000);
    await pusher.idle();
    expect(rx.received).toHaveLength(1);
    expect(rx.received[0]!.headers['x-scope-orgid']).toBe('tenant-1');
    expect(rx.received[0]!.headers['user-agent']).toMatch(/^spanmeter\/test grpc-node-js/);
    expect(compact(rx.received[0]!.request)).toEqual([
      RESOURCE,
      'scope spanmeter 1.2.3',
      'sum traces_spanmetrics_calls unit= temporality=2 monotonic=true',
      `  {${API}} 1000..10000 2`,
      `  {${DB}} 1000..10000 1`,
      'histogram traces_spanmetrics_latency unit= temporality=2',
      `  {${API}} 1000..10000 count=2 sum=0.5625 buckets=1,1,0 bounds=0.1,1`,
      `  {${DB}} 1000..10000 count=1 sum=2 buckets=0,0,1 bounds=0.1,1`,
    ]);
    expect([...pusher.stats().requests]).toEqual([['OK', 1]]);
  });

  it('UNAVAILABLE is retried; INVALID_ARGUMENT is not', async () => {
    const rx = await track(startGrpcReceiver([{ code: grpc.status.UNAVAILABLE }, { ok: true }]));
    const { pusher, send } = await setup(rx.url, { protocol: 'grpc' });
    send([A], 5000);
    pusher.push(10_000);
    await pusher.idle();
    expect(rx.received).toHaveLength(2);
    expect([...pusher.stats().requests].sort()).toEqual([['OK', 1], ['UNAVAILABLE', 1]]);
    expect(pusher.stats().sent).toBe(2);

    const bad = await track(startGrpcReceiver([{ code: grpc.status.INVALID_ARGUMENT }, { ok: true }]));
    const second = await setup(bad.url, { protocol: 'grpc' });
    second.send([A], 5000);
    second.pusher.push(10_000);
    await second.pusher.idle();
    expect(bad.received).toHaveLength(1);
    expect(second.pusher.stats()).toMatchObject({ sent: 0, dropped: { rejected: 2 } });
  });

  it('RESOURCE_EXHAUSTED: retried only with a RetryInfo, after its delay', async () => {
    const rx = await track(startGrpcReceiver([{ code: grpc.status.RESOURCE_EXHAUSTED, retryDelayMs: 300 }, { ok: true }]));
    const { pusher, send } = await setup(rx.url, { protocol: 'grpc' });
    send([A], 5000);
    pusher.push(10_000);
    await pusher.idle();
    expect(rx.received).toHaveLength(2);
    expect(rx.received[1]!.at - rx.received[0]!.at).toBeGreaterThanOrEqual(290);
    expect(pusher.stats().sent).toBe(2);

    const plain = await track(startGrpcReceiver([{ code: grpc.status.RESOURCE_EXHAUSTED }, { ok: true }]));
    const second = await setup(plain.url, { protocol: 'grpc' });
    second.send([A], 5000);
    second.pusher.push(10_000);
    await second.pusher.idle();
    expect(plain.received).toHaveLength(1);
    expect(second.pusher.stats().dropped.rejected).toBe(2);
  });

  it('a partial success is accepted and logged', async () => {
    const rx = await track(startGrpcReceiver([{ ok: true, rejected: 1, message: 'bad point' }]));
    const warnings: string[] = [];
    const noop = () => {};
    const logger: Logger = { debug: noop, info: noop, error: noop, warn: (obj) => warnings.push(JSON.stringify(obj)) };
    const { pusher, send } = await setup(rx.url, { protocol: 'grpc', logger });
    send([A], 5000);
    pusher.push(10_000);
    await pusher.idle();
    expect(pusher.stats().sent).toBe(2);
    expect(warnings.join('\n')).toContain('partial success: 1 data points rejected: bad point');
  });
});

describe('OTLP metrics push over HTTP: retries', () => {
  it('503 is retried, 400 is not, 429 waits for Retry-After', async () => {
    const rx = await track(startHttpReceiver([{ status: 503 }, { status: 200 }]));
    const a = await setup(rx.url);
    a.send([A], 5000);
    a.pusher.push(10_000);
    await a.pusher.idle();
    expect(rx.received).toHaveLength(2);
    expect(a.pusher.stats().sent).toBe(2);

    const bad = await track(startHttpReceiver([{ status: 400 }, { status: 200 }]));
    const b = await setup(bad.url);
    b.send([A], 5000);
    b.pusher.push(10_000);
    await b.pusher.idle();
    expect(bad.received).toHaveLength(1);
    expect(b.pusher.stats().dropped.rejected).toBe(2);

    const busy = await track(startHttpReceiver([{ status: 429, headers: { 'Retry-After': '1' } }, { status: 200 }]));
    const c = await setup(busy.url);
    c.send([A], 5000);
    c.pusher.push(10_000);
    await c.pusher.idle();
    expect(busy.received).toHaveLength(2);
    expect(busy.received[1]!.at - busy.received[0]!.at).toBeGreaterThanOrEqual(990);
  });
});
