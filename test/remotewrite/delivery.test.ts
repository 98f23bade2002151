// Sending remote-write requests: headers, retries with exponential backoff on 5xx, Retry-After on
// 429, no retry on other 4xx, timeouts, the bounded queue and the shutdown deadline, against a
// local HTTP server that answers as each test scripts it.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  DeliveryQueue,
  httpOutcome,
  parseRetryAfter,
  redactUrl,
  type Outcome,
} from '../../src/exporters/delivery.js';
import { RemoteWriter, remoteWriteSender } from '../../src/exporters/remotewrite.js';
import { decompress } from '../../src/exporters/snappy.js';
import { WriteRequest, type PbWriteRequest } from '../../src/exporters/prompb.js';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { spanMetricsFamilies } from '../../src/exporters/spanmetrics.js';
import { request } from '../servicegraphs/helpers.js';

interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A server answering each request with the next scripted answer (the last one repeats). */
async function scriptedServer(answers: Answer[]): Promise<{ url: string; received: Received[]; server: Server; release(): void }> {
  const received: Received[] = [];
  const hanging: (() => void)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ at: performance.now(), headers: req.headers, body: Buffer.concat(chunks) });
      const a = answers[Math.min(received.length - 1, answers.length - 1)]!;
      if (a === 'hang') {
        hanging.push(() => res.writeHead(204).end());
        return;
      }
      res.writeHead(a.status, a.headers ?? {}).end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/api/v1/write`, received, server, release: () => hanging.splice(0).forEach((f) => f()) };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** A RemoteWriter over a core holding one span: 1 calls series + 14 buckets + +Inf + sum + count + 1 size = 19 series. */
async function writer(url: string, over: Partial<ConstructorParameters<typeof RemoteWriter>[0]> = {}) {
  const cfg = defaultConfig().processor.span_metrics;
  const core = await Core.create({ spanMetrics: cfg, build: 'debug' });
  expect(core.ingest(request([{ trace: 1, id: 1, kind: 'server', service: 'api', name: 'GET /', durMs: 5 }]), 0).ok).toBe(true);
  return new RemoteWriter({
    url,
    userAgent: 'spanmeter/test',
    families: spanMetricsFamilies(core, cfg),
    minBackoffMs: 20,
    maxBackoffMs: 200,
    ...over,
  });
}

const SAMPLES = 19 * 2; // every series is new: a 0 and its value

describe('remote write over HTTP', () => {
  it('sends the remote-write headers and a snappy WriteRequest', async () => {
    const srv = await scriptedServer([{ status: 204 }]);
    const w = await writer(srv.url, { headers: { 'X-Scope-OrgID': 'tenant-1' } });
    expect(w.collect(1000)).toBe(SAMPLES);
    await w.idle();
    expect(srv.received).toHaveLength(1);
    const { headers, body } = srv.received[0]!;
    expect(headers['content-encoding']).toBe('snappy');
    expect(headers['content-type']).toBe('application/x-protobuf');
    expect(headers['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(headers['user-agent']).toBe('spanmeter/test');
    expect(headers['x-scope-orgid']).toBe('tenant-1');
    const msg = WriteRequest.toObject(WriteRequest.decode(decompress(body)), { longs: Number }) as PbWriteRequest;
    expect(msg.timeseries).toHaveLength(19);
    expect(w.stats()).toMatchObject({ sent: SAMPLES, dropped: { queue_full: 0, rejected: 0, shutdown: 0 }, queueLength: 0 });
    expect([...w.stats().requests]).toEqual([['204', 1]]);
  });

  it('retries a 500 with the same body, then counts the samples as sent', async () => {
    const srv = await scriptedServer([{ status: 500, body: 'try later' }, { status: 200 }]);
    const w = await writer(srv.url);
    w.collect(1000);
    await w.idle();
    expect(srv.received).toHaveLength(2);
    expect(srv.received[1]!.body.equals(srv.received[0]!.body)).toBe(true);
    expect(srv.received[1]!.at - srv.received[0]!.at).toBeGreaterThanOrEqual(15); // the first backoff, 20 ms
    expect(w.stats().sent).toBe(SAMPLES);
    expect([...w.stats().requests].sort()).toEqual([['200', 1], ['500', 1]]);
  });

  it('backs off exponentially on repeated 503s: 20, 40, 80, 160 ms, then capped at 200', async () => {
    const srv = await scriptedServer([{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 204 }]);
    const w = await writer(srv.url);
    w.collect(1000);
    await w.idle();
    expect(srv.received).toHaveLength(6);
    const gaps = srv.received.slice(1).map((r, i) => r.at - srv.received[i]!.at);
    const expected = [20, 40, 80, 160, 200];
    gaps.forEach((g, i) => {
      expect(g, `gap ${i}: ${gaps.join(', ')}`).toBeGreaterThanOrEqual(expected[i]! - 5);
      expect(g, `gap ${i}: ${gaps.join(', ')}`).toBeLessThan(expected[i]! + 150);
    });
    expect(w.stats().sent).toBe(SAMPLES);
  });

  it('never retries a 400: the request is dropped and counted as rejected', async () => {
    const srv = await scriptedServer([{ status: 400, body: 'out of order sample' }, { status: 204 }]);
    const w = await writer(srv.url);
    w.collect(1000);
    await w.idle();
    await new Promise((r) => setTimeout(r, 100)); // no late retry either
    expect(srv.received).toHaveLength(1);
    expect(w.stats()).toMatchObject({ sent: 0, dropped: { rejected: SAMPLES, queue_full: 0, shutdown: 0 } });
    expect([...w.stats().requests]).toEqual([['400', 1]]);
  });

  it.each([401, 403, 404, 413])('nor a %i', async (status) => {
    const srv = await scriptedServer([{ status }, { status: 204 }]);
    const w = await writer(srv.url);
    w.collect(1000);
    await w.idle();
    expect(srv.received).toHaveLength(1);
    expect(w.stats().dropped.rejected).toBe(SAMPLES);
  });

  it('retries a 429 after its Retry-After (1 s), not after the 20 ms backoff', async () => {
    const srv = await scriptedServer([{ status: 429, headers: { 'Retry-After': '1' } }, { status: 204 }]);
    const w = await writer(srv.url);
    w.collect(1000);
    await w.idle();
    expect(srv.received).toHaveLength(2);
    const gap = srv.received[1]!.at - srv.received[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(990);
    expect(gap).toBeLessThan(1500);
    expect(w.stats().sent).toBe(SAMPLES);
    expect([...w.stats().requests].sort()).toEqual([['204', 1], ['429', 1]]);
  });

  it('a request that gets no answer within the timeout is retried', async () => {
    const srv = await scriptedServer(['hang', { status: 204 }]);
    const w = await writer(srv.url, { timeoutMs: 150 });
    w.collect(1000);
    await w.idle();
    expect(srv.received).toHaveLength(2);
    expect([...w.stats().requests].sort()).toEqual([['204', 1], ['timeout', 1]]);
    expect(w.stats().sent).toBe(SAMPLES);
    srv.release();
  });

  it('a refused connection is a network error, retried until the shutdown deadline drops it', async () => {
    const srv = await scriptedServer([{ status: 204 }]);
    const url = srv.url;
    await new Promise<void>((r) => srv.server.close(() => r()));
    servers.length = 0;
    const w = await writer(url);
    w.collect(1000);
    await new Promise((r) => setTimeout(r, 150));
    const started = Date.now();
    await w.stop(Date.now() + 300); // the stop also collects once more: 19 series, no 0s now
    expect(Date.now() - started).toBeLessThan(1000);
    expect(w.stats().requests.get('network_error')).toBeGreaterThanOrEqual(2);
    expect(w.stats().sent).toBe(0);
    expect(w.stats().dropped.shutdown).toBe(SAMPLES + 19);
  });

  it('Retry-After as an HTTP date; backoff doubling; outcome classes', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:02 GMT', now)).toBe(2000);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, 30, 5000))).toEqual([30, 60, 120, 240, 5000]);
    expect(httpOutcome(204, null, '')).toEqual({ ok: true, code: '204' });
    expect(httpOutcome(502, '3', 'x')).toEqual({ ok: false, retry: true, code: '502', message: 'x', retryAfterMs: 3000 });
    expect(httpOutcome(429, null, 'x')).toEqual({ ok: false, retry: true, code: '429', message: 'x' });
    expect(httpOutcome(400, '3', 'x')).toEqual({ ok: false, retry: false, code: '400', message: 'x' });
    expect(redactUrl('https://user:secret@mimir.example/api/v1/push')).toBe('https://mimir.example/api/v1/push');
  });

  it('remoteWriteSender alone: the server sees the body as given', async () => {
    const srv = await scriptedServer([{ status: 204 }]);
    const send = remoteWriteSender({ url: srv.url, userAgent: 'ua/1' });
    expect(await send(Uint8Array.of(1, 2, 3), new AbortController().signal)).toEqual({ ok: true, code: '204' });
    expect([...srv.received[0]!.body]).toEqual([1, 2, 3]);
  });
});

/** A queue whose sends wait until the test answers them. */
function manualQueue(maxQueued: number) {
  const calls: { body: number; answer(o: Outcome): void }[] = [];
  const q = new DeliveryQueue({
    name: 'test',
    maxQueued,
    minBackoffMs: 5,
    maxBackoffMs: 5,
    send: (body) => new Promise<Outcome>((resolve) => calls.push({ body: body[0]!, answer: resolve })),
  });
  const tick = () => new Promise((r) => setTimeout(r, 20));
  return { q, calls, tick };
}

const ok: Outcome = { ok: true, code: '204' };
const unavailable: Outcome = { ok: false, retry: true, code: '503', message: '' };

describe('the queue', () => {
  it('holds at most maxQueued requests: the oldest waiting one is dropped and counted', async () => {
    const { q, calls, tick } = manualQueue(3);
    for (let i = 1; i <= 3; i++) q.enqueue({ body: Uint8Array.of(i), items: 10 * i });
    await tick();
    expect(calls.map((c) => c.body)).toEqual([1]); // one in flight at a time
    expect(q.length).toBe(3);
    q.enqueue({ body: Uint8Array.of(4), items: 40 }); // evicts 1 (in flight: counted when it ends)
    q.enqueue({ body: Uint8Array.of(5), items: 50 }); // evicts 2 (waiting: dropped now)
    expect(q.length).toBe(3);
    expect(q.stats.dropped.queue_full).toBe(20);
    calls[0]!.answer(ok); // 1 got through after all
    await tick();
    for (let i = 1; i < 4; i++) {
      expect(calls[i]!.body).toBe(i + 2);
      calls[i]!.answer(ok);
      await tick();
    }
    await q.idle();
    expect(q.stats.sent).toBe(10 + 30 + 40 + 50);
    expect(q.stats.dropped.queue_full).toBe(20);
    expect(q.length).toBe(0);
  });

  it('an evicted request that fails is not retried: dropped as queue_full', async () => {
    const { q, calls, tick } = manualQueue(1);
    q.enqueue({ body: Uint8Array.of(1), items: 5 });
    await tick();
    q.enqueue({ body: Uint8Array.of(2), items: 7 }); // evicts 1 while in flight
    calls[0]!.answer(unavailable);
    await tick();
    expect(calls.map((c) => c.body)).toEqual([1, 2]);
    calls[1]!.answer(ok);
    await q.idle();
    expect(q.stats).toMatchObject({ sent: 7, dropped: { queue_full: 5, rejected: 0, shutdown: 0 } });
  });

  it('a request waiting to retry is dropped at once when evicted', async () => {
    const q = new DeliveryQueue({
      name: 'test',
      maxQueued: 1,
      minBackoffMs: 60_000, // a long wait that eviction must cut short
      send: async (body) => (body[0] === 1 ? unavailable : ok),
    });
    q.enqueue({ body: Uint8Array.of(1), items: 5 });
    await new Promise((r) => setTimeout(r, 20));
    q.enqueue({ body: Uint8Array.of(2), items: 7 });
    const t = Date.now();
    await q.idle();
    expect(Date.now() - t).toBeLessThan(1000);
    expect(q.stats).toMatchObject({ sent: 7, dropped: { queue_full: 5 } });
  });

  it('close() stops at the deadline: the attempt in flight is aborted, the rest dropped as shutdown', async () => {
    let aborted = false;
    const q = new DeliveryQueue({
      name: 'test',
      maxQueued: 10,
      send: (_body, signal) =>
        new Promise<Outcome>((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ ok: false, retry: true, code: 'network_error', message: 'aborted' });
          });
        }),
    });
    q.enqueue({ body: Uint8Array.of(1), items: 3 });
    q.enqueue({ body: Uint8Array.of(2), items: 4 });
    const t = Date.now();
    await q.close(Date.now() + 200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(190);
    expect(Date.now() - t).toBeLessThan(1000);
    expect(aborted).toBe(true);
    expect(q.stats.dropped.shutdown).toBe(7);
    q.enqueue({ body: Uint8Array.of(3), items: 5 }); // after close: dropped at once
    expect(q.stats.dropped.shutdown).toBe(12);
    expect(q.length).toBe(0);
  });
});
