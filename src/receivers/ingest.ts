// The one ingest path under both OTLP receivers (as the Collector's otlpreceiver has one Export for
// gRPC and HTTP): a request body, once the transport has admitted and read it, is decompressed
// (HTTP), converted from OTLP/JSON (HTTP), handed to the core, timed and counted, and answered
// with one outcome: a gRPC status code, a message and the reason it is counted under. The HTTP
// receiver answers httpStatusOf(outcome.code); the gRPC receiver answers the code itself.
// The span limit (otlp.max_spans_per_request), like the string and attribute limits, is the
// core's: it refuses such a request whole, as it refuses a malformed one.
import { Code } from './grpc-status.js';
import type { IngestResult, TraceConsumer } from '../core/result.js';
import type { Logger } from '../log.js';
import { OtlpError, type OtlpErrorKind } from '../otlp/errors.js';
import { codingOf, decompress, inflateInto, inflateMode, type Destination } from '../otlp/gzip.js';
import { JsonConverter } from '../otlp/json-converter.js';
import type { Protocol, RejectReason, Telemetry } from '../telemetry.js';
import { Buffer } from 'node:buffer'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)
import { performance } from 'node:perf_hooks'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

export { Code } from './grpc-status.js';

/** What became of one request. */
export interface IngestOutcome {
  /** The gRPC status code; OK when the core took the request. */
  code: Code;
  /** Why not, for the sender (empty when OK). */
  message: string;
  /** The reason it is counted under, when refused. */
  reason?: RejectReason;
  /** The retry delay to advertise (RetryInfo, Retry-After), when the sender should come back. */
  retryDelayMs?: number;
}

/**
 * The HTTP status of each gRPC code, the one table both receivers go by. It is the Collector
 * otlpreceiver's (GetHTTPStatusCodeFromStatus in receiver/otlpreceiver/internal/errors) except for
 * two codes whose statuses spanmeter answered before and keeps: RESOURCE_EXHAUSTED (a body over a
 * size or decompression limit) is 413, where the Collector says 429, and UNIMPLEMENTED (a body
 * encoding it cannot read) is 415, where the Collector says 404. Codes not listed are 500.
 * Throttling is not an outcome of ingest: the HTTP receiver answers it 429 at admission.
 */
const HTTP_STATUS: ReadonlyMap<Code, number> = new Map([
  [Code.OK, 200],
  [Code.INVALID_ARGUMENT, 400],
  [Code.UNAUTHENTICATED, 401],
  [Code.PERMISSION_DENIED, 403],
  [Code.RESOURCE_EXHAUSTED, 413],
  [Code.UNIMPLEMENTED, 415],
  [Code.CANCELLED, 503],
  [Code.DEADLINE_EXCEEDED, 503],
  [Code.ABORTED, 503],
  [Code.OUT_OF_RANGE, 503],
  [Code.UNAVAILABLE, 503],
  [Code.DATA_LOSS, 503],
]);

/**
 * The HTTP status of an outcome: the code's (HTTP_STATUS), except a refusal that asks the sender
 * to slow down (the ingest budget, the memory limiter), answered 429 as OTLP/HTTP throttles, with
 * UNAVAILABLE in its Status as over gRPC. (The Collector answers its memory_limiter's refusals
 * 503; both are retryable for OTLP exporters.)
 */
export function httpStatusOf(code: Code, reason?: RejectReason): number {
  if (code === Code.UNAVAILABLE && (reason === 'throttled' || reason === 'memory_limited')) return 429;
  return HTTP_STATUS.get(code) ?? 500;
}

/** The gRPC code and counted reason of each OtlpError kind (HTTP: through httpStatusOf). */
const ERRORS: Readonly<Record<OtlpErrorKind, readonly [Code, RejectReason]>> = {
  bad_request: [Code.INVALID_ARGUMENT, 'malformed'],
  too_deep: [Code.INVALID_ARGUMENT, 'too_deep'],
  too_large: [Code.RESOURCE_EXHAUSTED, 'too_large'],
  compression_ratio: [Code.RESOURCE_EXHAUSTED, 'compression_ratio'],
  unsupported_media_type: [Code.UNIMPLEMENTED, 'unsupported_media_type'],
  unavailable: [Code.UNAVAILABLE, 'unavailable'],
  internal: [Code.INTERNAL, 'internal'],
};

export interface IngestPathOptions {
  protocol: Protocol;
  consumer: TraceConsumer;
  telemetry: Telemetry;
  log: Logger;
  /** Largest body after decompression, bytes. */
  maxBodyBytes: number;
  /** Largest decompressed/compressed size ratio; 0 = off. */
  maxDecompressionRatio: number;
  /** The delay advertised when the core cannot take requests for a moment, ms. */
  retryAfterMs: number;
  /** The memory limiter (src/net/memory.ts): asked first; a reason refuses the request, retryable. */
  memory?: { admit(): string | undefined };
}

/** The body as the transport read it: its OTLP encoding and its Content-Encoding (HTTP only). */
export interface IngestBody {
  /** One buffer, or the chunks it arrived in, in order: joined only where a step needs one buffer. */
  bytes: Uint8Array | readonly Uint8Array[];
  format: 'protobuf' | 'json';
  encoding?: string;
}

function lengthOf(bytes: IngestBody['bytes']): number {
  return bytes instanceof Uint8Array ? bytes.length : bytes.reduce((n, b) => n + b.length, 0);
}

function joined(bytes: IngestBody['bytes']): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  return bytes.length === 1 ? bytes[0]! : Buffer.concat(bytes);
}

/** Copies the chunks into the core's input buffer, once; returns their length. */
function copyInto(chunks: readonly Uint8Array[], input: Destination, length: number): number {
  const out = input.reserve(length, 0);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return at;
}

const OK: IngestOutcome = { code: Code.OK, message: '' };

/**
 * A receiver's ingest function. Protobuf bodies are handled synchronously (the gRPC receiver
 * reuses the message buffer as soon as it returns); OTLP/JSON bodies go to the converter's worker
 * thread (src/otlp/json-converter.ts) and are answered when converted and ingested.
 */
export interface Ingest {
  (body: IngestBody & { format: 'protobuf' }): IngestOutcome;
  (body: IngestBody): IngestOutcome | Promise<IngestOutcome>;
}

/**
 * The ingest function of one receiver: takes a body, never throws. Records the handling time and
 * the spans (spanmeter_request_duration_seconds, spanmeter_spans_*_total); the receiver counts
 * the answered request itself (spanmeter_requests_total), since only it knows every status it
 * sends.
 */
export function ingestPath(options: IngestPathOptions): Ingest {
  const { protocol, consumer, telemetry, log, maxBodyBytes, maxDecompressionRatio, retryAfterMs, memory } = options;
  const prefix = `otlp/${protocol}`;
  let json: JsonConverter | undefined;

  const failed = (err: unknown, t0: number): IngestOutcome => {
    telemetry.recordIngest(protocol, (performance.now() - t0) / 1000);
    if (!(err instanceof OtlpError)) {
      log.error({ err }, `${prefix}: error while handling a request`);
      return { code: Code.INTERNAL, message: 'internal error', reason: 'internal' };
    }
    const [code, reason] = ERRORS[err.kind];
    if (code === Code.INTERNAL) log.warn({ reason: err.message }, `${prefix}: request failed`);
    else log.debug({ reason: err.message }, `${prefix}: request rejected`);
    return { code, message: err.message, reason, retryDelayMs: code === Code.UNAVAILABLE ? retryAfterMs : undefined };
  };

  const take = (body: IngestBody, run: () => IngestResult, t0: number): IngestOutcome => {
    const seconds = (): number => (performance.now() - t0) / 1000;
    let result: IngestResult;
    try {
      result = run();
    } catch (err) {
      return failed(err, t0);
    }
    if (result.ok) {
      telemetry.recordIngest(protocol, seconds(), result);
      // One line per request at debug: what arrived and how much (its object built only then).
      if (log.isLevelEnabled?.('debug') ?? true) log.debug({ spans: result.spans, bytes: lengthOf(body.bytes), format: body.format, encoding: body.encoding ?? 'identity' }, `${prefix}: request accepted`);
      return OK;
    }
    log.debug({ reason: result.reason, spans: result.spans }, `${prefix}: request rejected`);
    if (result.cause === 'too_many_spans') {
      // Counted as before the limit moved into the core: rejected, not received.
      telemetry.recordIngest(protocol, seconds());
      telemetry.countRejectedSpans('too_many_spans', result.spans);
    } else {
      telemetry.recordIngest(protocol, seconds(), result, result.cause);
    }
    return { code: Code.INVALID_ARGUMENT, message: result.reason, reason: result.cause };
  };

  const ingest = (body: IngestBody): IngestOutcome | Promise<IngestOutcome> => {
    // Before anything is inflated or converted: a refused request reached nothing, so the
    // sender's retry can neither lose nor double-count spans.
    const full = memory?.admit();
    if (full !== undefined) {
      log.debug({ reason: full }, `${prefix}: refused by the memory limiter`);
      return { code: Code.UNAVAILABLE, message: `${full}: retry later`, reason: 'memory_limited', retryDelayMs: retryAfterMs };
    }
    const t0 = performance.now();
    if (body.format === 'json') {
      json ??= new JsonConverter({ maxBodyBytes, maxDecompressionRatio });
      return json.convert(joined(body.bytes), body.encoding).then((bytes) => take(body, () => consumer.ingest(bytes), t0), (err: unknown) => failed(err, t0));
    }
    try {
      const coding = codingOf(body.encoding);
      // A compressed body is inflated, and a body read in chunks copied, straight into the core's
      // input buffer where it can be: no joined copy in between.
      const chunks = body.bytes;
      if (consumer.ingestWritten && coding === 'identity' && !(chunks instanceof Uint8Array)) {
        const length = lengthOf(chunks);
        if (length <= maxBodyBytes) return take(body, () => consumer.ingestWritten!((input) => copyInto(chunks, input, length)), t0);
      }
      if (consumer.ingestWritten && coding !== 'identity' && inflateMode.native) {
        const compressed = joined(body.bytes);
        return take(body, () => consumer.ingestWritten!((input) => inflateInto(compressed, coding, maxBodyBytes, maxDecompressionRatio, input)), t0);
      }
      const bytes = decompress(joined(body.bytes), body.encoding, maxBodyBytes, maxDecompressionRatio);
      return take(body, () => consumer.ingest(bytes), t0);
    } catch (err) {
      return failed(err, t0);
    }
  };
  return ingest as Ingest;
}
