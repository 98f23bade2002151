// Backpressure: a bounded ingest budget shared by both receivers. When it is full, OTLP/HTTP
// answers 429 with Retry-After and a google.rpc.Status with RetryInfo, gRPC answers UNAVAILABLE
// with RetryInfo in grpc-status-details-bin; refused requests reach nothing, so retries neither
// lose nor double-count spans.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestBudget } from '../../src/receivers/budget.js';
import { startGrpcReceiver } from '../../src/receivers/grpc.js';
import { startHttpReceiver } from '../../src/receivers/http.js';
import type { RunningServer } from '../../src/net/server.js';
import { Telemetry } from '../../src/telemetry.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { RecordingConsumer } from '../receivers/support.js';
import { answerOf, grpcCall, openPost, post, request, retryDelayMs, until } from './helpers.js';

const MAX = 64 * 1024 * 1024;
let servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function setup(budget: IngestBudget) {
  const consumer = new RecordingConsumer();
  const telemetry = new Telemetry({ defaultMetrics: false });
  const httpSrv = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: MAX, consumer, telemetry, budget });
  const grpcSrv = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: MAX, consumer, telemetry, budget });
  servers.push(httpSrv, grpcSrv);
  return { consumer, telemetry, httpSrv, grpcSrv };
}

async function value(telemetry: Telemetry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const expo = parsePrometheusText(await telemetry.render('text'));
  const s = expo.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s.reduce((a, x) => a + x.value, 0);
}

describe('ingest budget', () => {
  it('admits a lone request of any size, then bounds requests and bytes', () => {
    const b = new IngestBudget({ maxBytes: 100, maxRequests: 2 });
    const big = b.acquire(1000)!;
    expect(big).toBeDefined();
    expect(b.acquire(1)).toBeUndefined(); // bytes over
    big.release();
    big.release(); // idempotent
    expect(b.inflightBytes).toBe(0);
    const t1 = b.acquire(40)!;
    const t2 = b.acquire(40)!;
    expect(b.acquire(0)).toBeUndefined(); // requests over
    expect(t2.grow(21)).toBe(false);
    expect(t2.grow(20)).toBe(true);
    expect(b.inflightBytes).toBe(100);
    t1.release();
    t2.release();
    expect([b.inflightBytes, b.inflightRequests]).toEqual([0, 0]);
  });
});

describe('backpressure at the receivers', () => {
  it('HTTP: 429 with Retry-After and RetryInfo while the request slots are taken; the retry is counted once', async () => {
    const budget = new IngestBudget({ maxBytes: 0, maxRequests: 1 });
    const { consumer, telemetry, httpSrv } = await setup(budget);
    const a = request('a', 3);
    // A: headers and half the body, then it stalls holding the only slot
    const slow = openPost(httpSrv.address, { 'Content-Type': 'application/x-protobuf', 'Content-Length': String(a.length) });
    const slowAnswer = answerOf(slow);
    slow.write(a.subarray(0, 10));
    await until(() => budget.inflightRequests === 1);

    const b = request('b', 2);
    const refused = await post(httpSrv.address, b);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['content-type']).toBe('application/x-protobuf');
    expect(retryDelayMs(refused.body)).toEqual({ code: 14, delayMs: 1000 });

    const refusedJson = await post(httpSrv.address, Buffer.from('{}'), { 'Content-Type': 'application/json' });
    expect(refusedJson.status).toBe(429);
    expect(JSON.parse(refusedJson.body.toString())).toMatchObject({
      code: 14,
      details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' }],
    });
    expect(await value(telemetry, 'spanmeter_ingest_inflight_requests')).toBe(0); // only the CLI registers the gauges

    slow.end(a.subarray(10));
    expect((await slowAnswer).status).toBe(200);
    expect((await post(httpSrv.address, b)).status).toBe(200); // the sender's retry
    expect(consumer.arrivals.map((x) => x.services[0])).toEqual(['a', 'b']);
    expect(await value(telemetry, 'spanmeter_requests_throttled_total', { protocol: 'http' })).toBe(2);
    expect(await value(telemetry, 'spanmeter_requests_total', { protocol: 'http', code: '429' })).toBe(2);
    expect(await value(telemetry, 'spanmeter_requests_rejected_total', { protocol: 'http', reason: 'throttled' })).toBe(2);
    expect(await value(telemetry, 'spanmeter_spans_accepted_total')).toBe(5);
    expect([budget.inflightRequests, budget.inflightBytes]).toEqual([0, 0]);
  });

  it('HTTP: bytes in flight bound declared and chunked bodies', async () => {
    const budget = new IngestBudget({ maxBytes: 1000, maxRequests: 0 });
    const { httpSrv } = await setup(budget);
    const slow = openPost(httpSrv.address, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '800' });
    const slowAnswer = answerOf(slow);
    await until(() => budget.inflightBytes === 800);
    // declared 300: over
    const over = await post(httpSrv.address, new Uint8Array(300));
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('1');
    // declared 100: fits (and is then rejected as malformed, 400: it reached the decoder)
    expect((await post(httpSrv.address, new Uint8Array(100).fill(0xff))).status).toBe(400);
    // chunked: takes its bytes as they come, refused once past the budget
    const chunked = openPost(httpSrv.address, { 'Content-Type': 'application/x-protobuf', 'Transfer-Encoding': 'chunked' });
    const chunkedAnswer = answerOf(chunked);
    chunked.write(new Uint8Array(150));
    chunked.write(new Uint8Array(150));
    chunked.end();
    expect((await chunkedAnswer).status).toBe(429);
    slow.destroy();
    await slowAnswer.catch(() => undefined);
    await until(() => budget.inflightRequests === 0);
    expect(budget.inflightBytes).toBe(0);
  });

  it('gRPC: UNAVAILABLE with RetryInfo in grpc-status-details-bin while the budget is full', async () => {
    const budget = new IngestBudget({ maxBytes: 0, maxRequests: 1 });
    const { consumer, telemetry, httpSrv, grpcSrv } = await setup(budget);
    const client = new grpc.Client(grpcSrv.address, grpc.credentials.createInsecure());
    try {
      // an HTTP upload holds the shared budget's only slot
      const slow = openPost(httpSrv.address, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '1000' });
      const slowAnswer = answerOf(slow);
      await until(() => budget.inflightRequests === 1);
      const r = await grpcCall(client, request('g', 4));
      expect(r.code).toBe(grpc.status.UNAVAILABLE);
      const bin = r.metadata!.get('grpc-status-details-bin')[0] as Buffer;
      expect(retryDelayMs(bin)).toEqual({ code: 14, delayMs: 1000 });
      expect(r.metadata!.get('x-spanmeter-reject-reason')).toEqual([]);
      slow.destroy();
      await slowAnswer.catch(() => undefined);
      await until(() => budget.inflightRequests === 0);
      expect((await grpcCall(client, request('g', 4))).code).toBe(grpc.status.OK);
      expect(consumer.arrivals.map((x) => x.services[0])).toEqual(['g']);
      expect(await value(telemetry, 'spanmeter_requests_throttled_total', { protocol: 'grpc' })).toBe(1);
      expect(await value(telemetry, 'spanmeter_requests_total', { protocol: 'grpc', code: 'UNAVAILABLE' })).toBe(1);
      expect(await value(telemetry, 'spanmeter_requests_rejected_total', { protocol: 'grpc', reason: 'throttled' })).toBe(1);
      expect(await value(telemetry, 'spanmeter_spans_accepted_total')).toBe(4);
      expect(budget.inflightRequests).toBe(0);
    } finally {
      client.close();
    }
  });
});
