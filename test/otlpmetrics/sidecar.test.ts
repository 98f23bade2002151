// End to end: the sidecar, configured with otlp_metrics, pushes to the test's OTLP receivers
// (gRPC, and HTTP with delta temporality) what the spans sent to it make.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { postTraces, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import { compact, startGrpcReceiver, startHttpReceiver, type PbPoint, type PbRequest, type TestReceiver } from './receiver.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const Long = protobuf.util.Long as unknown as { fromValue(v: unknown): { toString(): string } };
const nsToMs = (v: unknown): number => Number(BigInt(Long.fromValue(v).toString()) / 1_000_000n);

const cart = (n: number, from = 0): SpanSpec[] =>
  Array.from({ length: n }, (_, i) => ({ trace: 500 + from + i, id: 1 + from + i, kind: 'server', service: 'shop', name: 'GET /cart', durMs: 10 }));

/** The calls data points of GET /cart in a request. */
function cartCalls(r: PbRequest): PbPoint[] {
  return r.resourceMetrics
    .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
    .filter((m) => m.name === 'traces_spanmetrics_calls' && m.sum)
    .flatMap((m) => m.sum!.dataPoints)
    .filter((p) => p.attributes.some((a) => a.key === 'span_name' && a.value?.stringValue === 'GET /cart'));
}

async function waitFor(cond: () => boolean, what: string, sidecar: Sidecar, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nsidecar output:\n${sidecar.output().slice(-3000)}`);
    await sleep(100);
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function receiver(r: Promise<TestReceiver>): Promise<TestReceiver> {
  const x = await r;
  cleanup.push(() => x.close());
  return x;
}

async function sidecar(config: Record<string, unknown>, label: string): Promise<Sidecar> {
  const s = await startSidecar({ config, label });
  cleanup.push(() => s.stop());
  return s;
}

describe('the sidecar pushes OTLP metrics', () => {
  it('over gRPC, cumulative: resource attributes with instance and external labels, exact values', async () => {
    const rx = await receiver(startGrpcReceiver());
    const s = await sidecar({
      otlp_metrics: { endpoint: rx.url, protocol: 'grpc', interval: '1s', headers: { 'x-scope-orgid': 'tenant-1' } },
      external_labels: { cluster: 'test', region: 'eu' },
      instance: 'i-1',
    }, 'otlp-grpc');
    const started = Date.now();
    expect((await postTraces(s, request(cart(3)), 'application/x-protobuf')).status).toBe(200);
    await waitFor(() => rx.received.some((r) => cartCalls(r.request)[0]?.asDouble === 3), 'a push with 3 calls', s);
    const r = rx.received.find((x) => cartCalls(x.request)[0]?.asDouble === 3)!;
    expect(r.headers['x-scope-orgid']).toBe('tenant-1');
    expect(compact(r.request).slice(0, 2)).toEqual([
      'resource service.name=spanmeter,service.instance.id=i-1,cluster=test,region=eu',
      `scope spanmeter ${VERSION}`,
    ]);
    const p = cartCalls(r.request)[0]!;
    // cumulative from the process start: before the spans were sent, after the test began
    expect(nsToMs(p.startTimeUnixNano)).toBeLessThanOrEqual(started);
    expect(nsToMs(p.startTimeUnixNano)).toBeGreaterThan(started - 60_000);
    expect(nsToMs(p.timeUnixNano)).toBeGreaterThan(started);
    const names = r.request.resourceMetrics[0]!.scopeMetrics[0]!.metrics.map((m) => m.name);
    expect(names).toEqual(['traces_spanmetrics_calls', 'traces_spanmetrics_latency', 'traces_spanmetrics_size']);
    // /metrics has neither the instance nor the external labels; the self metrics count the
    // exports once their answers are in
    const ok = /^spanmeter_otlp_metrics_requests_total\{endpoint="http:\/\/127\.0\.0\.1:\d+\/",code="OK"\} [1-9]\d*$/m;
    let text = '';
    const deadline = Date.now() + 10_000;
    do {
      text = await (await fetch(`${s.httpUrl}/metrics`)).text();
    } while (!ok.test(text) && Date.now() < deadline && (await sleep(100), true));
    expect(text).toMatch(ok);
    expect(text).toMatch(/^spanmeter_otlp_metrics_data_points_sent_total\{endpoint="http:\/\/127\.0\.0\.1:\d+\/"\} [1-9]\d*$/m);
    expect(text).not.toMatch(/cluster="test"|instance="/);
  }, 60_000);

  it('instance defaults to <hostname>:<http port>', async () => {
    const rx = await receiver(startGrpcReceiver());
    const s = await sidecar({ otlp_metrics: { endpoint: rx.url, interval: '1s' } }, 'otlp-instance');
    expect((await postTraces(s, request(cart(1)), 'application/x-protobuf')).status).toBe(200);
    await waitFor(() => rx.received.some((r) => cartCalls(r.request).length > 0), 'a push', s);
    expect(compact(rx.received.at(-1)!.request)[0]).toBe(
      `resource service.name=spanmeter,service.instance.id=${hostname()}:${new URL(s.httpUrl).port}`,
    );
  }, 60_000);

  it('over HTTP, delta: contiguous intervals whose calls add up to the spans sent, the last one sent on SIGTERM', async () => {
    const rx = await receiver(startHttpReceiver());
    const s = await sidecar({ otlp_metrics: { endpoint: rx.url, protocol: 'http/protobuf', interval: '1s', temporality: 'delta' } }, 'otlp-delta');
    expect((await postTraces(s, request(cart(2)), 'application/x-protobuf')).status).toBe(200);
    await waitFor(() => rx.received.some((r) => cartCalls(r.request).length > 0), 'the first delta', s);
    expect((await postTraces(s, request(cart(3, 2)), 'application/x-protobuf')).status).toBe(200);
    await s.stop(); // SIGTERM: one last push of whatever the timer has not sent yet
    const points = rx.received.flatMap((r) => cartCalls(r.request));
    expect(points.reduce((n, p) => n + p.asDouble!, 0)).toBe(5);
    expect(points.every((p) => p.asDouble! > 0)).toBe(true);
    // every push covers (previous push, this push]
    const pushes = rx.received.map((r) => r.request.resourceMetrics[0]?.scopeMetrics[0]?.metrics[0]?.sum?.dataPoints[0]).filter((p) => p !== undefined);
    for (let i = 1; i < pushes.length; i++) {
      expect(nsToMs(pushes[i]!.startTimeUnixNano)).toBeGreaterThanOrEqual(nsToMs(pushes[i - 1]!.timeUnixNano));
    }
    expect(rx.received.every((r) => r.path === '/v1/metrics')).toBe(true);
    expect(compact(rx.received[0]!.request)[2]).toBe('sum traces_spanmetrics_calls unit= temporality=1 monotonic=true');
  }, 60_000);
});
