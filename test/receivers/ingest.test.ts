// The one ingest path under both receivers: the gRPC code of each outcome, the one gRPC → HTTP
// table, and what is counted. The HTTP and gRPC tests beside this one check that each receiver
// answers what the outcome says; here the outcome itself, without a transport.
import { status as grpcStatus } from '@grpc/grpc-js';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { SupervisedCore } from '../../src/core/supervisor.js';
import { OtlpError } from '../../src/otlp/errors.js';
import { ExportTraceServiceRequest } from '../../src/otlp/messages.js';
import { silentLogger } from '../../src/log.js';
import { httpStatusOf, ingestPath, type IngestBody } from '../../src/receivers/ingest.js';
import { Telemetry } from '../../src/telemetry.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { RecordingConsumer } from './support.js';

describe('the gRPC code → HTTP status table', () => {
  it("is the Collector otlpreceiver's, but 413 for RESOURCE_EXHAUSTED and 415 for UNIMPLEMENTED", () => {
    // Expected: GetHTTPStatusCodeFromStatus in the Collector's receiver/otlpreceiver/internal/errors
    // (Canceled, DeadlineExceeded, Aborted, OutOfRange, Unavailable, DataLoss → 503;
    // ResourceExhausted → 429; InvalidArgument → 400; Unauthenticated → 401; PermissionDenied →
    // 403; Unimplemented → 404; anything else → 500), OK → 200, and spanmeter's two statuses from
    // before this table: 413 for a body over a limit, 415 for an encoding it cannot read.
    const expected: Record<string, number> = {
      OK: 200, CANCELLED: 503, UNKNOWN: 500, INVALID_ARGUMENT: 400, DEADLINE_EXCEEDED: 503, NOT_FOUND: 500,
      ALREADY_EXISTS: 500, PERMISSION_DENIED: 403, RESOURCE_EXHAUSTED: 413, FAILED_PRECONDITION: 500, ABORTED: 503,
      OUT_OF_RANGE: 503, UNIMPLEMENTED: 415, INTERNAL: 500, UNAVAILABLE: 503, DATA_LOSS: 503, UNAUTHENTICATED: 401,
    };
    const actual: Record<string, number> = {};
    for (let code = 0; code <= 16; code++) actual[grpcStatus[code]!] = httpStatusOf(code);
    expect(actual).toEqual(expected);
  });
});

function request(names: string[]): Uint8Array {
  return ExportTraceServiceRequest.encode({
    resourceSpans: [{ scopeSpans: [{ spans: names.map((name) => ({ name })) }] }],
  }).finish();
}

async function sample(telemetry: Telemetry, name: string, labels: Record<string, string> = {}): Promise<number> {
  return parsePrometheusText(await telemetry.render('text')).samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

describe('ingestPath', () => {
  const setup = () => {
    const consumer = new RecordingConsumer();
    const telemetry = new Telemetry({ defaultMetrics: false });
    const ingest = ingestPath({
      protocol: 'http', consumer, telemetry, log: silentLogger, maxBodyBytes: 1 << 20, maxDecompressionRatio: 100, retryAfterMs: 2500,
    });
    return { consumer, telemetry, ingest };
  };
  const pb = (bytes: Uint8Array, encoding?: string): IngestBody & { format: 'protobuf' } => ({ bytes, format: 'protobuf', encoding });

  it('one outcome per way a request ends, never a throw', async () => {
    const { consumer, ingest } = setup();
    expect(ingest(pb(request(['a', 'b'])))).toEqual({ code: grpcStatus.OK, message: '' });
    expect(ingest(pb(gzipSync(request(['c'])), 'gzip'))).toEqual({ code: grpcStatus.OK, message: '' });
    // OTLP/JSON is answered asynchronously (converted in a worker thread when running from dist/).
    expect(await ingest({ bytes: Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"d"}]}]}]}'), format: 'json' }))
      .toEqual({ code: grpcStatus.OK, message: '' });
    expect(consumer.allNames()).toEqual(['a', 'b', 'c', 'd']);

    // The consumer's refusal (RecordingConsumer refuses a span named poison).
    expect(ingest(pb(request(['poison'])))).toEqual({
      code: grpcStatus.INVALID_ARGUMENT, message: 'span "poison" is not welcome', reason: 'malformed',
    });
    // OtlpErrors of the decoding steps: messages from src/otlp (gzip.ts, json.ts).
    expect(ingest(pb(request(['x']), 'gzip, gzip'))).toEqual({
      code: grpcStatus.UNIMPLEMENTED,
      message: 'Content-Encoding "gzip, gzip": only one encoding (gzip or deflate) is supported, not a chain',
      reason: 'unsupported_media_type',
    });
    expect(ingest(pb(gzipSync(new Uint8Array(1 << 19)), 'gzip'))).toMatchObject({
      code: grpcStatus.RESOURCE_EXHAUSTED, reason: 'compression_ratio',
    });
    expect(ingest(pb(gzipSync(new Uint8Array(2 << 20)), 'gzip'))).toMatchObject({ code: grpcStatus.RESOURCE_EXHAUSTED });
    expect(await ingest({ bytes: Buffer.from('{'), format: 'json' })).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, reason: 'malformed' });

    // What the supervised core throws: retry later (with the delay), or a failure on our side.
    consumer.throwNext = new OtlpError('unavailable', 'the core is being rebuilt');
    expect(ingest(pb(request(['y'])))).toEqual({
      code: grpcStatus.UNAVAILABLE, message: 'the core is being rebuilt', reason: 'unavailable', retryDelayMs: 2500,
    });
    consumer.throwNext = new OtlpError('internal', 'core failure');
    expect(ingest(pb(request(['y'])))).toEqual({ code: grpcStatus.INTERNAL, message: 'core failure', reason: 'internal', retryDelayMs: undefined });
    consumer.throwNext = new TypeError('a bug');
    expect(ingest(pb(request(['y'])))).toEqual({ code: grpcStatus.INTERNAL, message: 'internal error', reason: 'internal' });
    expect(consumer.allNames()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('the memory limiter is asked first: its reason refuses the request, retryable, and nothing reaches the core', () => {
    const consumer = new RecordingConsumer();
    let reason: string | undefined = 'memory in use 70 MiB is above the soft limit of 64 MiB (memory_limiter)';
    const ingest = ingestPath({
      protocol: 'http', consumer, telemetry: new Telemetry({ defaultMetrics: false }), log: silentLogger, maxBodyBytes: 1 << 20,
      maxDecompressionRatio: 100, retryAfterMs: 2500, memory: { admit: () => reason },
    });
    const refused = ingest(pb(request(['a'])));
    expect(refused).toEqual({
      code: grpcStatus.UNAVAILABLE, reason: 'memory_limited', retryDelayMs: 2500,
      message: 'memory in use 70 MiB is above the soft limit of 64 MiB (memory_limiter): retry later',
    });
    // 429 over HTTP, as the ingest budget throttles (the brief of issue 21; the Collector says 503).
    expect(httpStatusOf(refused.code, refused.reason)).toBe(429);
    expect(httpStatusOf(grpcStatus.UNAVAILABLE as number, 'unavailable')).toBe(503);
    expect(consumer.allNames()).toEqual([]);
    reason = undefined;
    expect(ingest(pb(request(['b'])))).toEqual({ code: grpcStatus.OK, message: '' });
    expect(consumer.allNames()).toEqual(['b']);
  });

  it("inflates a compressed body, and copies one read in chunks, straight into the core's input buffer: counted as sent, refused as before", async () => {
    const supervisor = await SupervisedCore.create({ spanMetrics: defaultConfig().processor.span_metrics }, silentLogger);
    const telemetry = new Telemetry({ defaultMetrics: false });
    const ingest = ingestPath({
      protocol: 'grpc', consumer: supervisor, telemetry, log: silentLogger, maxBodyBytes: 1 << 20, maxDecompressionRatio: 100, retryAfterMs: 2500,
    });
    const written = vi.spyOn(supervisor, 'ingestWritten');
    const ok = { code: grpcStatus.OK, message: '' };
    expect(ingest(pb(gzipSync(request(['a', 'b'])), 'gzip'))).toEqual(ok);
    expect(ingest(pb(deflateSync(request(['c'])), 'deflate'))).toEqual(ok);
    expect(ingest(pb(deflateRawSync(request(['d', 'e', 'f'])), 'deflate'))).toEqual(ok);
    // 4,000 spans in ~100 KB that deflate to ~20 KB: no size trailer, so the input buffer starts
    // at 64 KiB and grows while inflating, keeping what was written
    const big = request(Array.from({ length: 4000 }, (_, i) => `GET /api/items/${i}`));
    expect(big.length).toBeGreaterThan(64 * 1024);
    expect(deflateSync(big).length * 4).toBeLessThan(64 * 1024);
    expect(ingest(pb(deflateSync(big), 'deflate'))).toEqual(ok);
    expect(written).toHaveBeenCalledTimes(4);
    // hand count: 2 + 1 + 3 + 4,000
    expect(await sample(telemetry, 'spanmeter_spans_accepted_total')).toBe(4006);

    const corrupt = Buffer.from(gzipSync(request(['x'])));
    corrupt[corrupt.length - 8]! ^= 0xff; // the CRC-32 (RFC 1952 §2.3.1)
    expect(ingest(pb(corrupt, 'gzip'))).toEqual({ code: grpcStatus.INVALID_ARGUMENT, message: 'gzip: incorrect data check', reason: 'malformed' });
    // 2 MiB of zeros deflate to ~2 KB: over 100 times, refused before 1 MiB is reached
    expect(ingest(pb(gzipSync(new Uint8Array(2 << 20)), 'gzip'))).toMatchObject({ code: grpcStatus.RESOURCE_EXHAUSTED, reason: 'compression_ratio' });
    // inflates fine, but is not an ExportTraceServiceRequest (field 1, length 5, 1 byte there): the core's refusal
    expect(ingest(pb(gzipSync(new Uint8Array([0x0a, 0x05, 0x01])), 'gzip'))).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, reason: 'malformed' });
    expect(await sample(telemetry, 'spanmeter_spans_accepted_total')).toBe(4006);
    // and the next one is counted
    expect(ingest(pb(gzipSync(request(['g'])), 'gzip'))).toEqual(ok);
    expect(await sample(telemetry, 'spanmeter_spans_accepted_total')).toBe(4007);

    // A body in the chunks the transport read it in (OTLP/HTTP) is copied into the input buffer
    // once, in order; JSON is joined first
    const parts = (b: Uint8Array, n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => b.subarray(Math.floor((i * b.length) / n), Math.floor(((i + 1) * b.length) / n)));
    expect(ingest({ bytes: parts(big, 5), format: 'protobuf' })).toEqual(ok);
    expect(ingest({ bytes: parts(request(['h', 'i']), 3), format: 'protobuf', encoding: 'identity' })).toEqual(ok);
    expect(ingest({ bytes: [], format: 'protobuf' })).toEqual(ok); // an empty request: no spans
    expect(ingest({ bytes: parts(gzipSync(request(['j'])), 2), format: 'protobuf', encoding: 'gzip' })).toEqual(ok);
    const json = Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"k"}]}]}]}');
    expect(await ingest({ bytes: parts(json, 4), format: 'json' })).toEqual(ok);
    // a chunk cut off (the last of 5) leaves a truncated request: refused whole, nothing counted
    expect(ingest({ bytes: parts(big, 5).slice(0, 4), format: 'protobuf' })).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, reason: 'malformed' });
    // hand count: 4,000 + 2 + 0 + 1 + 1 more
    expect(await sample(telemetry, 'spanmeter_spans_accepted_total')).toBe(8011);
    // every protobuf body but none of JSON: 8 above, 5 here
    expect(written).toHaveBeenCalledTimes(13);
  });

  it('times every request and counts the spans the core answered for; the transport counts the request', async () => {
    const { telemetry, ingest } = setup();
    ingest(pb(request(['a', 'b', 'c'])));
    ingest(pb(request(['poison', 'e'])));
    ingest(pb(request(['x']), 'br'));
    // 3 accepted; 2 rejected as malformed (RecordingConsumer reports both spans); 5 received.
    expect(await sample(telemetry, 'spanmeter_spans_received_total')).toBe(5);
    expect(await sample(telemetry, 'spanmeter_spans_accepted_total')).toBe(3);
    expect(await sample(telemetry, 'spanmeter_spans_rejected_total', { reason: 'malformed' })).toBe(2);
    expect(await sample(telemetry, 'spanmeter_request_duration_seconds_count', { protocol: 'http' })).toBe(3);
    expect(await sample(telemetry, 'spanmeter_requests_total')).toBe(0);
  });
});
