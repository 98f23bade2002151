// OTLP/gRPC receiver: the real OpenTelemetry gRPC exporter (with and without gzip) as client, then
// size limits and bad data with a plain grpc-js client.
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { EXPORT_METHOD_PATH, startGrpcReceiver } from '../../src/receivers/grpc.js';
import { MessageScratch, percentEncode, UnaryMessage } from '../../src/receivers/grpc-wire.js';
import type { RunningServer } from '../../src/net/server.js';
import { BufferPool } from '../../src/net/reads.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from '../../src/otlp/messages.js';
import { Telemetry } from '../../src/telemetry.js';
import { exportWith, makeSpans, RecordingConsumer, SPAN_NAMES } from './support.js';

type Compression = NonNullable<NonNullable<ConstructorParameters<typeof GrpcExporter>[0]>['compression']>;
const GZIP = 'gzip' as Compression;

const LIMIT = 64 * 1024;

function request(names: string[], padding = ''): Uint8Array {
  return ExportTraceServiceRequest.encode({
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
              attributes: padding ? [{ key: 'pad', value: { stringValue: padding } }] : [],
            })),
          },
        ],
      },
    ],
  }).finish();
}

interface CallOutcome {
  error: grpc.ServiceError | null;
  response?: Buffer;
}

/** One raw unary Export call with a plain grpc-js client (bytes in, bytes out). */
function call(client: grpc.Client, bytes: Uint8Array): Promise<CallOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT_METHOD_PATH,
      (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      (b: Buffer) => b,
      bytes,
      (error, response) => resolve({ error, response }),
    );
  });
}

describe('OTLP/gRPC receiver', () => {
  const consumer = new RecordingConsumer();
  const telemetry = new Telemetry({ defaultMetrics: false });
  let server: RunningServer;
  let spans: ReadableSpan[];
  let plain: grpc.Client;
  let gzip: grpc.Client;

  beforeAll(async () => {
    server = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: LIMIT, consumer, telemetry });
    spans = await makeSpans();
    plain = new grpc.Client(server.address, grpc.credentials.createInsecure());
    gzip = new grpc.Client(server.address, grpc.credentials.createInsecure(), {
      'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip,
    });
  });
  afterAll(async () => {
    plain.close();
    gzip.close();
    await server.close();
  });
  beforeEach(() => consumer.reset());

  it('reports the address it bound', () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  });

  for (const compressed of [false, true]) {
    it(`accepts the OpenTelemetry gRPC exporter${compressed ? ' with gzip' : ''}`, async () => {
      const exporter = new GrpcExporter({ url: `http://${server.address}`, compression: compressed ? GZIP : undefined });
      try {
        const r = await exportWith(exporter, spans);
        expect(r.error).toBeUndefined();
        expect(r.code).toBe(0);
        expect(consumer.arrivals).toHaveLength(1);
        expect(consumer.arrivals[0]!.names.slice().sort()).toEqual(['GET /users', 'SELECT users', 'render']);
        expect(consumer.arrivals[0]!.services).toEqual(['checkout', 'checkout', 'checkout']);
        expect((await exportWith(exporter, spans)).code).toBe(0);
        expect(consumer.allNames()).toEqual([...SPAN_NAMES, ...SPAN_NAMES].sort());
      } finally {
        await exporter.shutdown();
      }
    });
  }

  it('passes the request bytes through untouched and answers an empty ExportTraceServiceResponse', async () => {
    const bytes = request(['x', 'y']);
    let seen: Uint8Array | undefined;
    const probe = await startGrpcReceiver({
      endpoint: '127.0.0.1:0',
      maxBodyBytes: LIMIT,
      telemetry: new Telemetry({ defaultMetrics: false }),
      consumer: {
        ingest(b) {
          seen = Uint8Array.from(b);
          return { ok: true, spans: 2 };
        },
      },
    });
    const client = new grpc.Client(probe.address, grpc.credentials.createInsecure());
    try {
      const out = await call(client, bytes);
      expect(out.error).toBeNull();
      expect(out.response!.length).toBe(0);
      expect(ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(out.response!))).toEqual({});
      expect(seen).toEqual(Uint8Array.from(bytes));
    } finally {
      client.close();
      await probe.close();
    }
  });

  it('accepts a gzip-compressed call from a plain client', async () => {
    const out = await call(gzip, request(['g1', 'g2', 'g3']));
    expect(out.error).toBeNull();
    expect(consumer.allNames()).toEqual(['g1', 'g2', 'g3']);
  });

  it('INVALID_ARGUMENT with the reason for malformed data', async () => {
    const out = await call(plain, new Uint8Array([0x0a, 0x05, 0x01]));
    expect(out.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(out.error?.details).toMatch(/^malformed request: /);
    expect(consumer.arrivals).toHaveLength(0);
  });

  it("INVALID_ARGUMENT with the consumer's reason when it rejects", async () => {
    const out = await call(plain, request(['a', 'poison']));
    expect(out.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(out.error?.details).toBe('span "poison" is not welcome');
  });

  it('RESOURCE_EXHAUSTED for a message over the limit', async () => {
    const big = request(['big'], 'p'.repeat(LIMIT));
    expect(big.length).toBeGreaterThan(LIMIT);
    const out = await call(plain, big);
    expect(out.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(consumer.arrivals).toHaveLength(0);
  });

  it('RESOURCE_EXHAUSTED for a gzip message that decompresses over the limit', async () => {
    const big = request(['big'], 'p'.repeat(4 * LIMIT));
    const out = await call(gzip, big);
    expect(out.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(consumer.arrivals).toHaveLength(0);
  });

  it('accepts a message of exactly the limit', async () => {
    // Grow the padding until the encoded request is exactly LIMIT bytes.
    let pad = LIMIT - 200;
    let bytes = request(['edge'], 'p'.repeat(pad));
    while (bytes.length < LIMIT) bytes = request(['edge'], 'p'.repeat(++pad));
    expect(bytes.length).toBe(LIMIT);
    const out = await call(plain, bytes);
    expect(out.error).toBeNull();
    expect(consumer.allNames()).toEqual(['edge']);
  });

  it('INTERNAL when the consumer throws, and keeps serving', async () => {
    consumer.throwNext = new Error('boom');
    const out = await call(plain, request(['lost']));
    expect(out.error?.code).toBe(grpc.status.INTERNAL);
    expect(out.error?.details).toBe('internal error');
    const again = await call(plain, request(['after']));
    expect(again.error).toBeNull();
    expect(consumer.allNames()).toEqual(['after']);
  });

  it('UNIMPLEMENTED for other methods', async () => {
    const out = await new Promise<CallOutcome>((resolve) => {
      plain.makeUnaryRequest(
        '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        new Uint8Array(0),
        (error, response) => resolve({ error, response }),
      );
    });
    expect(out.error?.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('close() cuts calls still in flight after the grace period', async () => {
    const s = await startGrpcReceiver({
      endpoint: '127.0.0.1:0',
      maxBodyBytes: LIMIT,
      consumer,
      telemetry: new Telemetry({ defaultMetrics: false }),
      closeGraceMs: 100,
    });
    const client = new grpc.Client(s.address, grpc.credentials.createInsecure());
    try {
      // A call whose request message never comes: the server waits for it.
      const ended = new Promise<number>((resolve) => {
        const stream = client.makeClientStreamRequest(
          EXPORT_METHOD_PATH,
          (b: Uint8Array) => Buffer.from(b),
          (b: Buffer) => b,
          (error) => resolve(error ? error.code : grpc.status.OK),
        );
        void stream;
      });
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      await s.close();
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(await ended).not.toBe(grpc.status.OK);
    } finally {
      client.close();
    }
  });

  it('counts calls by status, including those grpc-js refuses itself', async () => {
    const t = new Telemetry({ defaultMetrics: false });
    const c = new RecordingConsumer();
    const s = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: LIMIT, consumer: c, telemetry: t });
    const client = new grpc.Client(s.address, grpc.credentials.createInsecure());
    try {
      expect((await call(client, request(['a', 'b', 'c']))).error).toBeNull();
      expect((await call(client, request(['poison', 'd']))).error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((await call(client, request(['big'], 'p'.repeat(LIMIT)))).error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      const text = await t.render();
      expect(text).toContain('spanmeter_spans_received_total 5\n');
      expect(text).toContain('spanmeter_spans_accepted_total 3\n');
      expect(text).toContain('spanmeter_spans_rejected_total{reason="malformed"} 2\n');
      expect(text).toContain('spanmeter_requests_total{protocol="grpc",code="OK"} 1\n');
      expect(text).toContain('spanmeter_requests_total{protocol="grpc",code="INVALID_ARGUMENT"} 1\n');
      expect(text).toContain('spanmeter_requests_total{protocol="grpc",code="RESOURCE_EXHAUSTED"} 1\n');
      expect(text).toContain('spanmeter_requests_rejected_total{protocol="grpc",reason="too_large"} 1\n');
      expect(text).toContain('spanmeter_requests_rejected_total{protocol="grpc",reason="malformed"} 1\n');
      expect(text).toContain('spanmeter_request_duration_seconds_count{protocol="grpc"} 2\n');
    } finally {
      client.close();
      await s.close();
      t.clear();
    }
  });

  describe('gRPC over HTTP/2 as the spec writes it (raw node:http2 client)', () => {
    interface RawOutcome {
      httpStatus: number;
      status?: number;
      message?: string;
      acceptEncoding?: string;
    }
    /** One call with hand-made frames: the HTTP status and grpc-status/-message (trailers or trailers-only). */
    const raw = (frames: Buffer[], headers: http2.OutgoingHttpHeaders = {}, path = EXPORT_METHOD_PATH, endRequest = true): Promise<RawOutcome> =>
      new Promise((resolve, reject) => {
        const session = http2.connect(`http://${server.address}`);
        session.on('error', reject);
        const out: RawOutcome = { httpStatus: 0 };
        const take = (h: http2.IncomingHttpHeaders): void => {
          if (h[':status'] !== undefined) out.httpStatus = Number(h[':status']);
          if (h['grpc-accept-encoding'] !== undefined) out.acceptEncoding = String(h['grpc-accept-encoding']);
          if (h['grpc-status'] !== undefined) {
            out.status = Number(h['grpc-status']);
            out.message = decodeURIComponent(String(h['grpc-message'] ?? ''));
          }
        };
        const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
        req.on('response', take);
        req.on('trailers', take);
        req.on('data', () => {});
        req.on('error', () => {});
        req.on('close', () => {
          session.close();
          resolve(out);
        });
        for (const f of frames) req.write(f);
        if (endRequest) req.end();
      });
    /** A Length-Prefixed-Message (PROTOCOL-HTTP2.md: Compressed-Flag, 4-byte big-endian length, message). */
    const lpm = (flag: number, message: Uint8Array): Buffer => {
      const b = Buffer.alloc(5 + message.length);
      b[0] = flag;
      b.writeUInt32BE(message.length, 1);
      b.set(message, 5);
      return b;
    };

    it('takes a gzip message flagged compressed under grpc-encoding gzip', async () => {
      const out = await raw([lpm(1, zlib.gzipSync(request(['raw-gz'])))], { 'grpc-encoding': 'gzip' });
      expect(out).toMatchObject({ httpStatus: 200, status: 0 });
      expect(consumer.allNames()).toEqual(['raw-gz']);
    });

    it('takes an uncompressed message whose prefix and body come in several DATA frames', async () => {
      const m = lpm(0, request(['split-1', 'split-2'], 'x'.repeat(3000)));
      // Written apart, with a pause between, so the frames reach the server as separate chunks.
      const session = http2.connect(`http://${server.address}`);
      const req = session.request({ ':method': 'POST', ':path': EXPORT_METHOD_PATH, 'content-type': 'application/grpc', te: 'trailers' });
      let status: string | undefined;
      req.on('trailers', (h) => { status = String(h['grpc-status']); });
      req.on('data', () => {});
      const closed = new Promise((resolve) => req.on('close', resolve));
      for (const [from, to] of [[0, 2], [2, 7], [7, 1000], [1000, m.length]] as const) {
        req.write(m.subarray(from, to));
        await new Promise((r) => setTimeout(r, 20));
      }
      req.end();
      await closed;
      session.close();
      expect(status).toBe('0');
      expect(consumer.allNames()).toEqual(['split-1', 'split-2']);
    });

    it('INTERNAL for Compressed-Flag 1 without grpc-encoding, and for a flag other than 0 and 1', async () => {
      // grpc/grpc doc/compression.md: a message flagged compressed on a call with no (or identity)
      // grpc-encoding must fail with INTERNAL; PROTOCOL-HTTP2.md allows only 0 and 1 as the flag.
      expect((await raw([lpm(1, zlib.gzipSync(request(['x'])))])).status).toBe(grpc.status.INTERNAL);
      expect((await raw([lpm(1, request(['x']))], { 'grpc-encoding': 'identity' })).status).toBe(grpc.status.INTERNAL);
      expect((await raw([lpm(2, request(['x']))])).status).toBe(grpc.status.INTERNAL);
      expect(consumer.arrivals).toHaveLength(0);
    });

    it('UNIMPLEMENTED with grpc-accept-encoding for an encoding it cannot read', async () => {
      // doc/compression.md: an unsupported message encoding is UNIMPLEMENTED and the server lists its own.
      const out = await raw([lpm(1, request(['x']))], { 'grpc-encoding': 'br' });
      expect(out.status).toBe(grpc.status.UNIMPLEMENTED);
      expect(out.acceptEncoding?.split(',')).toEqual(expect.arrayContaining(['gzip', 'identity']));
    });

    it('UNIMPLEMENTED for a unary call with two messages or none; INTERNAL for a message cut short', async () => {
      expect((await raw([lpm(0, request(['a'])), lpm(0, request(['b']))])).status).toBe(grpc.status.UNIMPLEMENTED);
      expect((await raw([])).status).toBe(grpc.status.UNIMPLEMENTED);
      expect((await raw([lpm(0, request(['a'])).subarray(0, 20)])).status).toBe(grpc.status.INTERNAL);
      expect(consumer.arrivals).toHaveLength(0);
    });

    it('RESOURCE_EXHAUSTED from the length prefix alone, before the message has come', async () => {
      const prefix = Buffer.from([0, 0, 0, 0, 0]);
      prefix.writeUInt32BE(LIMIT + 1, 1);
      const out = await raw([prefix], {}, EXPORT_METHOD_PATH, false);
      expect(out.status).toBe(grpc.status.RESOURCE_EXHAUSTED);
    });

    it('UNIMPLEMENTED as soon as bytes come past the one message, without waiting for the end', async () => {
      // The request never ends (endRequest false): only refusing on arrival can answer it.
      const out = await raw([lpm(0, request(['a'])), Buffer.alloc(64 * 1024)], {}, EXPORT_METHOD_PATH, false);
      expect(out.status).toBe(grpc.status.UNIMPLEMENTED);
      expect(out.message).toMatch(/more than one request message/);
      expect(consumer.arrivals).toHaveLength(0);
    });

    it('DEADLINE_EXCEEDED when grpc-timeout passes before the message', async () => {
      const out = await raw([], { 'grpc-timeout': '50m' }, EXPORT_METHOD_PATH, false);
      expect(out.status).toBe(grpc.status.DEADLINE_EXCEEDED);
    });

    it('415 for a content-type other than application/grpc (PROTOCOL-HTTP2.md)', async () => {
      expect((await raw([lpm(0, request(['x']))], { 'content-type': 'application/json' })).httpStatus).toBe(415);
    });
  });

  it('answers the Metrics and Logs services UNIMPLEMENTED naming the traces service, logged once each and counted', async () => {
    const t = new Telemetry({ defaultMetrics: false });
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (_o: object, msg?: string) => { warnings.push(msg ?? ''); } };
    const s = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: LIMIT, consumer, telemetry: t, logger });
    const client = new grpc.Client(s.address, grpc.credentials.createInsecure());
    const other = (path: string) => new Promise<CallOutcome>((resolve) => {
      client.makeUnaryRequest(path, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, new Uint8Array(0), (error, response) => resolve({ error, response }));
    });
    try {
      for (const path of ['/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', '/opentelemetry.proto.collector.logs.v1.LogsService/Export']) {
        for (let i = 0; i < 2; i++) {
          const out = await other(path);
          expect(out.error?.code).toBe(grpc.status.UNIMPLEMENTED);
          expect(out.error?.details).toContain('opentelemetry.proto.collector.trace.v1.TraceService/Export');
          expect(out.error?.details).toContain('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
        }
      }
      expect(warnings.filter((w) => w.includes('not metrics'))).toHaveLength(1);
      expect(warnings.filter((w) => w.includes('not logs'))).toHaveLength(1);
      const text = await t.render();
      expect(text).toContain('spanmeter_requests_total{protocol="grpc",code="UNIMPLEMENTED"} 4\n');
      expect(text).toContain('spanmeter_requests_rejected_total{protocol="grpc",reason="not_traces"} 4\n');
    } finally {
      client.close();
      await s.close();
      t.clear();
    }
  });
});

describe('percentEncode (grpc-message)', () => {
  it('writes bytes outside 0x20-0x7E and % as %XX of their UTF-8', () => {
    // PROTOCOL-HTTP2.md "Status-Message"; ü is U+00FC = UTF-8 C3 BC, % is 0x25 (hand-encoded).
    expect(percentEncode('plain text: ok')).toBe('plain text: ok');
    expect(percentEncode('ü 100%')).toBe('%C3%BC 100%25');
    expect(percentEncode('a\nb')).toBe('a%0Ab');
  });
});

describe('UnaryMessage (a unary call\'s one Length-Prefixed-Message)', () => {
  // The message: Compressed-Flag 0, Message-Length 6 (big-endian), then 'abcdef' (PROTOCOL-HTTP2.md).
  const wire = Buffer.from([0, 0, 0, 0, 6, ...Buffer.from('abcdef')]);
  const cut = (at: number[]): Buffer[] => [0, ...at].map((from, i) => wire.subarray(from, [...at, wire.length][i]));

  it('gives the message in its chunks without the prefix, also when the prefix spans chunks', () => {
    for (const at of [[2], [5], [2, 5, 8], [1, 3, 6], [7]]) {
      const msg = new UnaryMessage();
      for (const c of cut(at)) msg.push(c);
      const pieces = msg.finish(new MessageScratch(), true) as Buffer[];
      expect(Buffer.concat(pieces).toString(), `cut at ${at.join(',')}`).toBe('abcdef');
      // joined in the scratch buffer instead when asked for one buffer
      const again = new UnaryMessage();
      for (const c of cut(at)) again.push(c);
      expect((again.finish(new MessageScratch()) as Buffer).toString()).toBe('abcdef');
    }
  });

  it('with a pool, copies the message out of chunks reused after each push, at every cut, into one buffer given back after', () => {
    // h2c's chunks are views of its read buffer, overwritten by the next read: here each chunk is
    // copied into one reused buffer and that buffer filled with 0xee after the push.
    const pool = new BufferPool(1 << 20, 1 << 16);
    const reused = Buffer.alloc(wire.length);
    const pushReused = (msg: UnaryMessage, c: Buffer): boolean => {
      c.copy(reused);
      const prefixDone = msg.push(reused.subarray(0, c.length));
      // the call takes the message's buffer once it has judged the prefix (grpc-call.ts)
      if (prefixDone) msg.hold();
      reused.fill(0xee);
      return prefixDone;
    };
    for (let i = 1; i < wire.length; i++) {
      for (let j = i; j < wire.length; j++) {
        const msg = new UnaryMessage(pool);
        const done = cut(j > i ? [i, j] : [i]).map((c) => pushReused(msg, c));
        // the prefix (5 bytes) is complete in the chunk that reaches byte 5
        expect(done.indexOf(true), `cut at ${i},${j}`).toBe(i >= 5 ? 0 : j >= 5 && j > i ? 1 : done.length - 1);
        expect([msg.flag, msg.length]).toEqual([0, 6]);
        expect((msg.finish() as Buffer).toString(), `cut at ${i},${j}`).toBe('abcdef');
        msg.release();
      }
    }
    // one buffer in all: each message's was given back and taken again
    expect(pool.kept).toBe(16 * 1024);
  });

  it('with a pool, keeps no more than the one message the prefix announced', () => {
    const pool = new BufferPool(1 << 20, 1 << 16);
    const msg = new UnaryMessage(pool);
    msg.push(Buffer.concat([wire, Buffer.from('xyz')]));
    msg.hold();
    expect(msg.overrun).toBe(true);
    // PROTOCOL-HTTP2.md: a unary call carries one message; a second is refused (grpc-call.ts TWO_MESSAGES)
    expect((msg.finish() as { code: number }).code).toBe(12 /* UNIMPLEMENTED, doc/statuscodes.md */);
    msg.release();
  });
});
