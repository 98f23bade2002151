// OTLP/HTTP receiver: real OpenTelemetry JS exporters (protobuf and JSON, with and without gzip)
// as clients, then the transport rules with hand-made requests.
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startHttpReceiver } from '../../src/receivers/http.js';
import type { RunningServer } from '../../src/net/server.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RpcStatus } from '../../src/otlp/messages.js';
import { Telemetry } from '../../src/telemetry.js';
import { exportWith, makeSpans, RecordingConsumer, SPAN_NAMES } from './support.js';

type Compression = NonNullable<NonNullable<ConstructorParameters<typeof ProtoExporter>[0]>['compression']>;
const GZIP = 'gzip' as Compression;

const LIMIT = 64 * 1024;

/** A valid ExportTraceServiceRequest with the given span names, service `svc`. */
function request(names: string[]): Uint8Array<ArrayBuffer> {
  const bytes = ExportTraceServiceRequest.encode({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [
          {
            spans: names.map((name, i) => ({
              traceId: new Uint8Array(16).fill(1),
              spanId: new Uint8Array(8).fill(i + 1),
              name,
              kind: 2,
              startTimeUnixNano: 1_700_000_000_000_000_000,
              endTimeUnixNano: 1_700_000_000_500_000_000,
            })),
          },
        ],
      },
    ],
  }).finish();
  return new Uint8Array(bytes); // a copy with its own ArrayBuffer, as fetch's BodyInit wants
}

/** One raw HTTP request with node:http (full control over headers); resolves with the answer. */
function rawRequest(
  address: string,
  opts: { method?: string; path?: string; headers?: Record<string, string | number>; body?: Uint8Array | string; chunks?: Uint8Array[] },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const [host, port] = splitAddress(address);
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method: opts.method ?? 'POST', path: opts.path ?? '/v1/traces', headers: opts.headers, agent: false });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server may close while we are still writing a refused body; the answer already came.
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else if (opts.body !== undefined) req.end(opts.body);
    else if (opts.headers?.['Content-Length'] === undefined) req.end();
    // With a declared Content-Length and no body: send the headers only, wait for the server.
    else req.flushHeaders();
  });
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), Number(address.slice(i + 1))];
}

describe('OTLP/HTTP receiver', () => {
  const consumer = new RecordingConsumer();
  const telemetry = new Telemetry({ defaultMetrics: false });
  let server: RunningServer;
  let url: string;
  let spans: ReadableSpan[];

  beforeAll(async () => {
    server = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: LIMIT, consumer, telemetry });
    url = `http://${server.address}/v1/traces`;
    spans = await makeSpans();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => consumer.reset());

  it('reports the address it bound', () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(splitAddress(server.address)[1]).toBeGreaterThan(0);
  });

  describe('real OpenTelemetry exporters', () => {
    const cases = [
      { name: 'protobuf', make: (c?: Compression) => new ProtoExporter({ url, compression: c }) },
      { name: 'JSON', make: (c?: Compression) => new JsonExporter({ url, compression: c }) },
    ];
    for (const { name, make } of cases) {
      for (const gzip of [false, true]) {
        it(`accepts ${name}${gzip ? ' + gzip' : ''}`, async () => {
          const exporter = make(gzip ? GZIP : undefined);
          try {
            const r = await exportWith(exporter, spans);
            expect(r.error).toBeUndefined();
            expect(r.code).toBe(0);
            expect(consumer.arrivals).toHaveLength(1);
            expect(consumer.arrivals[0]!.names.slice().sort()).toEqual(['GET /users', 'SELECT users', 'render']);
            expect(consumer.arrivals[0]!.services).toEqual(['checkout', 'checkout', 'checkout']);
            // Twice more on the same exporter: kept-alive connection, exactly 3 more spans each time.
            expect((await exportWith(exporter, spans)).code).toBe(0);
            expect((await exportWith(exporter, spans)).code).toBe(0);
            expect(consumer.allNames()).toEqual([...SPAN_NAMES, ...SPAN_NAMES, ...SPAN_NAMES].sort());
          } finally {
            await exporter.shutdown();
          }
        });
      }
    }
  });

  describe('success responses', () => {
    it('answers protobuf with an empty ExportTraceServiceResponse', async () => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: request(['a', 'b']) });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-protobuf');
      const body = new Uint8Array(await res.arrayBuffer());
      expect(body.length).toBe(0);
      expect(ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(body))).toEqual({});
      expect(consumer.allNames()).toEqual(['a', 'b']);
    });

    it('answers JSON with {} and accepts Content-Type parameters', async () => {
      const json = JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: '0102030405060708090a0b0c0d0e0f10',
                    spanId: '0102030405060708',
                    name: 'json-span',
                    kind: 2,
                    startTimeUnixNano: '1700000000000000000',
                    endTimeUnixNano: '1700000000500000000',
                  },
                ],
              },
            ],
          },
        ],
      });
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'Application/JSON; charset=utf-8' }, body: json });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual({});
      expect(consumer.allNames()).toEqual(['json-span']);
    });

    it('takes a query string on the path', async () => {
      const res = await fetch(`${url}?x=1`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: request(['q']) });
      expect(res.status).toBe(200);
      expect(consumer.allNames()).toEqual(['q']);
    });

    it('keeps the connection alive between requests', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const [host, port] = splitAddress(server.address);
      const one = (): Promise<{ status: number; reused: boolean }> =>
        new Promise((resolve, reject) => {
          const req = http.request({ host, port, method: 'POST', path: '/v1/traces', agent, headers: { 'Content-Type': 'application/x-protobuf' } }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
          });
          req.on('error', reject);
          req.end(request(['k']));
        });
      try {
        expect(await one()).toEqual({ status: 200, reused: false });
        expect(await one()).toEqual({ status: 200, reused: true });
        expect(await one()).toEqual({ status: 200, reused: true });
      } finally {
        agent.destroy();
      }
      expect(consumer.allNames()).toEqual(['k', 'k', 'k']);
    });
  });

  describe('refusals', () => {
    it('415 for an unknown Content-Type', async () => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: request(['x']) });
      expect(res.status).toBe(415);
      expect(consumer.arrivals).toHaveLength(0);
    });

    it('415 without a Content-Type', async () => {
      const res = await rawRequest(server.address, { body: Buffer.from(request(['x'])) });
      expect(res.status).toBe(415);
    });

    it('415 for an unknown Content-Encoding', async () => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'br' },
        body: request(['x']),
      });
      expect(res.status).toBe(415);
      // google.rpc.Code UNIMPLEMENTED (12), what the gRPC receiver answers for an encoding it cannot read.
      expect(RpcStatus.decode(new Uint8Array(await res.arrayBuffer())).toJSON()).toEqual({
        code: 12,
        message: 'unsupported Content-Encoding "br": use gzip, deflate or identity',
      });
      expect(consumer.arrivals).toHaveLength(0);
    });

    it('405 with Allow: POST for GET and PUT', async () => {
      for (const method of ['GET', 'PUT']) {
        const res = await fetch(url, { method });
        expect(res.status).toBe(405);
        expect(res.headers.get('allow')).toBe('POST');
      }
    });

    it('404 for other paths', async () => {
      for (const path of ['/', '/v1/metrics', '/v1/traces/', '/v1/tracesx']) {
        const res = await fetch(`http://${server.address}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: request(['x']) });
        expect(res.status, path).toBe(404);
      }
      expect(consumer.arrivals).toHaveLength(0);
    });

    it('refusals with a large unread body close the connection instead of draining it', async () => {
      const big = new Uint8Array(1024 * 1024);
      const notFound = await rawRequest(server.address, { path: '/nope', headers: { 'Content-Type': 'application/x-protobuf' }, body: big });
      expect(notFound.status).toBe(404);
      expect(notFound.headers.connection).toBe('close');
      const wrongType = await rawRequest(server.address, { headers: { 'Content-Type': 'text/plain' }, body: big });
      expect(wrongType.status).toBe(415);
      expect(wrongType.headers.connection).toBe('close');
      // A small body is drained and the connection kept.
      const agent = new http.Agent({ keepAlive: true });
      const [host, port] = splitAddress(server.address);
      try {
        const small = await new Promise<http.IncomingMessage>((resolve, reject) => {
          const req = http.request({ host, port, method: 'POST', path: '/nope', agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res));
          });
          req.on('error', reject);
          req.end('x');
        });
        expect(small.statusCode).toBe(404);
        expect(small.headers.connection).toBe('keep-alive');
      } finally {
        agent.destroy();
      }
    });

    it('400 with the reason in a JSON Status for invalid JSON', async () => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"resourceSpans": [' });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/json');
      const status = (await res.json()) as { code: number; message: string };
      expect(status.code).toBe(3);
      expect(typeof status.message).toBe('string');
      expect(status.message.length).toBeGreaterThan(0);
      expect(consumer.arrivals).toHaveLength(0);
    });

    it("400 with the consumer's reason in a protobuf Status when the consumer rejects", async () => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: request(['ok', 'poison']) });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/x-protobuf');
      const status = RpcStatus.toObject(RpcStatus.decode(new Uint8Array(await res.arrayBuffer())));
      expect(status).toEqual({ code: 3, message: 'span "poison" is not welcome' });
    });

    it('400 for a corrupt gzip body', async () => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' },
        body: Buffer.from('this is not gzip'),
      });
      expect(res.status).toBe(400);
      const status = RpcStatus.toObject(RpcStatus.decode(new Uint8Array(await res.arrayBuffer())));
      expect(status.code).toBe(3);
      expect(status.message).toMatch(/gzip/);
    });

    it('413 when Content-Length is over the limit, before any body is sent', async () => {
      const res = await rawRequest(server.address, {
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': LIMIT + 1 },
      });
      expect(res.status).toBe(413);
      expect(res.headers.connection).toBe('close');
      const status = RpcStatus.toObject(RpcStatus.decode(res.body));
      expect(status).toEqual({ code: 8, message: `request body of ${LIMIT + 1} bytes exceeds the limit of ${LIMIT} bytes` });
    });

    it('413 when a chunked body grows over the limit', async () => {
      const chunk = new Uint8Array(16 * 1024).fill(7);
      const res = await rawRequest(server.address, {
        headers: { 'Content-Type': 'application/x-protobuf', 'Transfer-Encoding': 'chunked' },
        chunks: [chunk, chunk, chunk, chunk, chunk, chunk],
      });
      expect(res.status).toBe(413);
      expect(RpcStatus.decode(res.body).toJSON()).toEqual({ code: 8, message: `request body exceeds the limit of ${LIMIT} bytes` });
      expect(consumer.arrivals).toHaveLength(0);
    });

    it('accepts a body of exactly the limit (the consumer then decides)', async () => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: new Uint8Array(LIMIT) });
      // LIMIT zero bytes are field 0: not valid protobuf, so the consumer says 400; not 413.
      expect(res.status).toBe(400);
    });

    it('413 for a gzip bomb (checked after decompression)', async () => {
      const bomb = gzipSync(new Uint8Array(16 * 1024 * 1024));
      expect(bomb.length).toBeLessThan(LIMIT);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' },
        body: bomb,
      });
      expect(res.status).toBe(413);
      const status = RpcStatus.toObject(RpcStatus.decode(new Uint8Array(await res.arrayBuffer())));
      expect(status.code).toBe(8);
      expect(consumer.arrivals).toHaveLength(0);
    });

    it('500 when the consumer throws, and keeps serving', async () => {
      consumer.throwNext = new Error('boom');
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ code: 13, message: 'internal error' });
      const again = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: request(['after']) });
      expect(again.status).toBe(200);
      expect(consumer.allNames()).toEqual(['after']);
    });

    it('survives garbage on the socket', async () => {
      const net = await import('node:net');
      const [host, port] = splitAddress(server.address);
      const answer = await new Promise<string>((resolve) => {
        const s = net.connect(port, host, () => s.write('NOT HTTP AT ALL\r\n\r\n'));
        let data = '';
        s.on('data', (d) => (data += d.toString()));
        s.on('close', () => resolve(data));
        s.on('error', () => resolve(data));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: request(['still']) });
      expect(res.status).toBe(200);
    });
  });

  it('counts requests and spans in the telemetry registry', async () => {
    const t = new Telemetry({ defaultMetrics: false });
    const c = new RecordingConsumer();
    const s = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: LIMIT, consumer: c, telemetry: t });
    const u = `http://${s.address}/v1/traces`;
    try {
      const post = (body: Uint8Array<ArrayBuffer> | string, type = 'application/x-protobuf'): Promise<Response> =>
        fetch(u, { method: 'POST', headers: { 'Content-Type': type }, body });
      expect((await post(request(['a', 'b', 'c']))).status).toBe(200);
      expect((await post(request(['d', 'e']))).status).toBe(200);
      expect((await post(request(['poison', 'f']))).status).toBe(400);
      expect((await post('nope', 'text/plain')).status).toBe(415);
      expect((await post('{', 'application/json')).status).toBe(400);
      expect((await rawRequest(s.address, { headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': LIMIT + 1 } })).status).toBe(413);

      const text = await t.render();
      expect(text).toContain('spanmeter_spans_received_total 7\n');
      expect(text).toContain('spanmeter_spans_accepted_total 5\n');
      expect(text).toContain('spanmeter_spans_rejected_total{reason="malformed"} 2\n');
      expect(text).toContain('spanmeter_requests_total{protocol="http",code="200"} 2\n');
      expect(text).toContain('spanmeter_requests_total{protocol="http",code="400"} 2\n');
      expect(text).toContain('spanmeter_requests_total{protocol="http",code="413"} 1\n');
      expect(text).toContain('spanmeter_requests_total{protocol="http",code="415"} 1\n');
      expect(text).toContain('spanmeter_requests_rejected_total{protocol="http",reason="malformed"} 2\n');
      expect(text).toContain('spanmeter_requests_rejected_total{protocol="http",reason="too_large"} 1\n');
      expect(text).toContain('spanmeter_requests_rejected_total{protocol="http",reason="unsupported_media_type"} 1\n');
      // Handling time observed for the four requests whose body was read.
      expect(text).toContain('spanmeter_request_duration_seconds_count{protocol="http"} 4\n');
    } finally {
      await s.close();
      t.clear();
    }
  });

  it('Expect: 100-continue: 100 then 200 when accepted, 413 without 100 when refused', async () => {
    const [host, port] = splitAddress(server.address);
    const body = request(['continued']);
    const one = (length: number): Promise<{ continued: boolean; status: number }> =>
      new Promise((resolve, reject) => {
        let continued = false;
        const req = http.request({
          host,
          port,
          method: 'POST',
          path: '/v1/traces',
          agent: false,
          headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': length, Expect: '100-continue' },
        });
        req.on('continue', () => {
          continued = true;
          req.end(body);
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve({ continued, status: res.statusCode ?? 0 }));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
    expect(await one(body.length)).toEqual({ continued: true, status: 200 });
    expect(await one(LIMIT + 1)).toEqual({ continued: false, status: 413 });
    expect(consumer.allNames()).toEqual(['continued']);
  });

  it('logs the rejection reason at debug level', async () => {
    const lines: Array<{ level: string; obj: object; msg?: string }> = [];
    const logger = {
      debug: (obj: object, msg?: string) => lines.push({ level: 'debug', obj, msg }),
      info: (obj: object, msg?: string) => lines.push({ level: 'info', obj, msg }),
      warn: (obj: object, msg?: string) => lines.push({ level: 'warn', obj, msg }),
      error: (obj: object, msg?: string) => lines.push({ level: 'error', obj, msg }),
    };
    const s = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: LIMIT, consumer, telemetry, logger });
    try {
      const res = await fetch(`http://${s.address}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: request(['poison']) });
      expect(res.status).toBe(400);
      expect(lines).toContainEqual({ level: 'debug', obj: { reason: 'span "poison" is not welcome', spans: 1 }, msg: 'otlp/http: request rejected' });
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('close() cuts requests still in flight after the grace period', async () => {
    const s = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: LIMIT, consumer, telemetry, closeGraceMs: 100 });
    const [host, port] = splitAddress(s.address);
    // Headers sent, body never finished.
    const req = http.request({ host, port, method: 'POST', path: '/v1/traces', agent: false, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': 10 } });
    const ended = new Promise<string>((resolve) => {
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.on('response', (res) => resolve(`status ${res.statusCode}`));
    });
    req.write('abc');
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await s.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await ended).toBe('ECONNRESET');
  });

  it('fails to start on a port in use, naming nothing it did not bind', async () => {
    await expect(
      startHttpReceiver({ endpoint: server.address, maxBodyBytes: LIMIT, consumer, telemetry }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
