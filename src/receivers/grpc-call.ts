// One OTLP/gRPC call, whatever carries it: the checks of its request headers (method, content-type,
// path, bearer token, grpc-encoding), its deadlines (grpc-timeout, otlp.write_timeout,
// otlp.stalled_request_timeout), the ingest budget, the reassembly of its one message
// (UnaryMessage), the ingest path, and its answer. The transport (node:http2's stream in grpc.ts,
// or the receiver's own HTTP/2 connection, grpc-h2c.ts) hands it the request headers, the DATA
// bytes and the end of the request, and answers through the CallTransport it passes in.
//
// What it answers (gRPC status codes, doc/statuscodes.md; grpc-status/grpc-message trailers, or
// trailers-only when the call fails before a response message):
// - OK with an empty ExportTraceServiceResponse when the core took the request;
// - INVALID_ARGUMENT, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE as ingest says (ingest.ts);
// - RESOURCE_EXHAUSTED as soon as a message's length prefix exceeds the size limit, and when it
//   inflates past it;
// - INTERNAL for Compressed-Flag 1 on a call without grpc-encoding (or identity) and for a flag
//   other than 0 and 1 (the spec's answer to both), and for a message cut short;
// - UNIMPLEMENTED for an unknown grpc-encoding (with grpc-accept-encoding), for a unary call
//   without exactly one message, for other methods, and for the Metrics and Logs services with a
//   message naming the traces service (logged once each, counted under not_traces);
// - UNAUTHENTICATED without the bearer token; UNAVAILABLE with RetryInfo in
//   grpc-status-details-bin while the ingest budget is full;
// - DEADLINE_EXCEEDED when grpc-timeout passes before the message has arrived;
// - UNAVAILABLE when the message stops coming for otlp.stalled_request_timeout after its length
//   prefix (the call held ingest budget) or the call is not received and answered within
//   otlp.write_timeout (then RST_STREAM CANCEL if the answer cannot be sent: a zero window);
// Budget is taken when the 5-byte length prefix has come, for the whole message: a call that
// sent headers only holds a stream of its own connection (max_concurrent_streams), no budget.
// - HTTP 415 for a content-type that is not application/grpc, 405 for a method other than POST
//   (both with a text/plain explanation; not to HEAD).
import { Code } from './grpc-status.js';
import { encodeStatus } from '../otlp/response.js';
import type { RejectReason, Telemetry, CutReason } from '../telemetry.js';
import type { BudgetTicket, IngestBudget } from './budget.js';
import type { Ingest } from './ingest.js';
import type { Logger } from '../log.js';
import type { ReceiverLimits } from './types.js';
import type { GrpcSessions, KeptConnection } from './grpc-sessions.js';
import type { Watch, Watchdog } from '../net/watchdog.js';
import { BufferPool } from '../net/reads.js';
import { ACCEPT_ENCODING, binHeader, ENCODINGS, GRPC_CONTENT_TYPE, MESSAGE_POOL_BYTES, MESSAGE_POOL_LARGEST, MessageScratch, parseTimeout, percentEncode, PREFIX_BYTES, TWO_MESSAGES, UnaryMessage } from './grpc-wire.js';
import { Buffer } from 'node:buffer'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

export const TRACE_SERVICE_NAME = 'opentelemetry.proto.collector.trace.v1.TraceService';
export const EXPORT_METHOD_PATH = `/${TRACE_SERVICE_NAME}/Export`;

/** The OTLP services of the other signals: answered UNIMPLEMENTED with notTracesGrpcMessage. */
const OTHER_SIGNALS: ReadonlyMap<string, string> = new Map([
  ['/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', 'metrics'],
  ['/opentelemetry.proto.collector.logs.v1.LogsService/Export', 'logs'],
]);

/** The answer to a metrics or logs export over gRPC: what spanmeter takes and where. */
export function notTracesGrpcMessage(signal: string, authority: string | undefined): string {
  const base = `http://${authority ?? '127.0.0.1:4317'}`;
  return `spanmeter receives traces only, not ${signal}: send traces to ${TRACE_SERVICE_NAME}/Export at ${base} ` +
    `(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${base} instead of OTEL_EXPORTER_OTLP_ENDPOINT) and ${signal} to your ${signal} backend`;
}

/** The request headers a call is judged by (each undefined when absent or not a single value). */
export interface CallHeaders {
  method: string | undefined;
  path: string | undefined;
  authority: string | undefined;
  contentType: string | undefined;
  authorization: string | undefined;
  /** grpc-encoding. */
  encoding: string | undefined;
  /** grpc-timeout. */
  timeout: string | undefined;
}

/** The response header fields of a trailers-only answer (or of a plain HTTP one), in order. */
export type ResponseFields = [name: string, value: string][];

/** One call as its transport carries it: what the call logic answers through. */
export interface CallTransport {
  /** The connection it came on (keepalive: calls open, server writes), when the transport has one. */
  readonly connection: KeptConnection | undefined;
  readonly remoteAddress: string | undefined;
  /** Nothing can be sent any more (the stream is closed or reset). */
  readonly done: boolean;
  /** The chunks data() gets are views of read buffers reused once it returns (the call copies the message out). */
  readonly reusesReads?: boolean;
  /** HEADERS (:status 200, content-type, grpc-accept-encoding), the OK answer's message, trailers grpc-status 0. */
  respondOk(): void;
  /**
   * One HEADERS frame ending the stream (:status first, then `fields`): a trailers-only gRPC
   * answer, or an HTTP error without body; with `body`, the body follows in DATA. The client may
   * still be sending: the transport then sends RST_STREAM(NO_ERROR) (RFC 9113 §8.1).
   */
  respond(status: number, fields: ResponseFields, body?: string): void;
  /** RST_STREAM CANCEL. */
  cancel(): void;
  /**
   * The call holds budget for a message of `bytes` (prefix included): the transport may let the
   * stream receive that much (its flow-control window); absent where the transport's window is fixed.
   */
  expect?(bytes: number): void;
}

/** What the transport tells a call. */
export interface CallEvents {
  /** A chunk of the request's DATA (the transport reuses none of it until the call ends, unless it reusesReads). */
  data(chunk: Buffer): void;
  /** The client ended the request (END_STREAM). */
  end(): void;
  /** The stream closed (answered, reset, or its connection gone). */
  close(): void;
}

/** The rejection reason a gRPC status stands for, if it is a rejection. */
function reasonOf(code: Code): RejectReason | undefined {
  switch (code) {
    case Code.OK:
    case Code.CANCELLED:
    case Code.DEADLINE_EXCEEDED:
      return undefined;
    case Code.INVALID_ARGUMENT:
      return 'malformed';
    case Code.RESOURCE_EXHAUSTED:
      return 'too_large';
    case Code.UNIMPLEMENTED:
      return 'unsupported_media_type';
    case Code.UNAUTHENTICATED:
      return 'unauthenticated';
    case Code.UNAVAILABLE:
      return 'unavailable';
    default:
      return 'internal';
  }
}

export interface CallContext {
  maxBodyBytes: number;
  telemetry: Telemetry;
  log: Logger;
  budget: IngestBudget;
  ingest: Ingest;
  authorized: ((authorization: string | undefined) => boolean) | undefined;
  limits: ReceiverLimits;
  watchdog: Watchdog;
  sessions: GrpcSessions;
  /** Counts and logs a cut call (or connection). */
  cut(reason: CutReason, detail: Record<string, unknown>): void;
}

const OK_FIELDS: ResponseFields = [['content-type', GRPC_CONTENT_TYPE], ['grpc-accept-encoding', ACCEPT_ENCODING]];

/** The call logic of one receiver: `start` takes a call's transport and headers and returns what the transport tells it. */
export function callHandler(ctx: CallContext): (call: CallTransport, headers: CallHeaders) => CallEvents {
  const { maxBodyBytes, telemetry, log, budget, ingest, authorized, limits, watchdog, sessions } = ctx;
  const loggedSignals = new Set<string>();
  // Messages go to the consumer synchronously, and it must not keep them past ingest (the core copies them).
  const scratch = new MessageScratch();
  /** The message buffers of calls on transports that reuse their reads. */
  const messages = new BufferPool(MESSAGE_POOL_BYTES, MESSAGE_POOL_LARGEST);
  const throttledMessage = (): string =>
    `ingest budget full (${budget.inflightRequests} requests, ${budget.inflightBytes} bytes in flight): retry after ${budget.retryAfterMs} ms`;

  return (call, headers) => {
    let finished = false;
    let ticket: BudgetTicket | undefined;
    let timer: Watch | undefined;
    let stall: Watch | undefined;
    const connection = call.connection;
    const msg = new UnaryMessage(call.reusesReads === true ? messages : undefined);
    if (connection) sessions.opened(connection);

    /**
     * Ends the call with a status (counted once, under `reason`: by default the code's, null for
     * none), trailers-only unless OK.
     */
    const finish = (code: Code, message: string, why?: RejectReason | null, retryDelayMs?: number): void => {
      if (finished) return;
      const reason = why === undefined ? reasonOf(code) : why ?? undefined;
      finished = true;
      ticket?.release();
      msg.release();
      watchdog.stop(timer);
      watchdog.stop(stall);
      sessions.wrote(connection);
      telemetry.countRequest('grpc', Code[code] ?? String(code), code === Code.OK ? undefined : reason);
      if (reason === 'throttled') telemetry.countThrottled('grpc');
      if (code !== Code.OK && code !== Code.INVALID_ARGUMENT) log.debug({ code: Code[code], details: message }, 'otlp/grpc: call failed');
      if (call.done) return;
      if (code === Code.OK) {
        call.respondOk();
        return;
      }
      const out: ResponseFields = [...OK_FIELDS, ['grpc-status', String(code)], ['grpc-message', percentEncode(message)]];
      // OTLP's answer to throttling and to a core being rebuilt: a google.rpc.Status with RetryInfo.
      if (retryDelayMs !== undefined) out.push(['grpc-status-details-bin', binHeader(encodeStatus('protobuf', code, message, { retryDelayMs }))]);
      call.respond(200, out);
    };

    // Received and answered within write_timeout, or cut: a call whose answer cannot leave (the
    // client's window stays 0) gets RST_STREAM CANCEL, freeing its stream.
    const deadline = limits.write_timeout > 0
      ? watchdog.start(limits.write_timeout, () => {
        ctx.cut('write_timeout', { write_timeout_ms: limits.write_timeout, answered: finished });
        finish(Code.UNAVAILABLE, `the call was not received and answered within ${limits.write_timeout} ms (otlp.write_timeout)`, null);
        if (!call.done) call.cancel();
      })
      : undefined;
    let encodingName = 'identity';
    let encoding: string | undefined;
    const events: CallEvents = {
      data(chunk) {
        if (finished) return;
        if (stall) watchdog.refresh(stall);
        if (!msg.push(chunk)) {
          // Bytes past the one message a unary call may carry: refused now, not buffered.
          if (msg.overrun) finish(Code.UNIMPLEMENTED, TWO_MESSAGES);
          return;
        }
        // The prefix is in: refuse early what could never be taken.
        if (msg.flag > 1 || (msg.flag === 1 && encoding === undefined)) {
          finish(Code.INTERNAL, msg.flag > 1
            ? `compressed flag ${msg.flag} is not 0 or 1`
            : `the message is flagged compressed but the call's grpc-encoding is ${encodingName}`);
        } else if (msg.length > maxBodyBytes) {
          finish(Code.RESOURCE_EXHAUSTED, `request message of ${msg.length} bytes is larger than the limit of ${maxBodyBytes} bytes`, 'too_large');
        } else if (!(ticket = budget.acquire(PREFIX_BYTES + msg.length))) {
          finish(Code.UNAVAILABLE, throttledMessage(), 'throttled', budget.retryAfterMs);
        } else {
          // The call holds budget now: the whole message may come (into its buffer), and must keep coming.
          msg.hold();
          if (msg.complete) return;
          call.expect?.(PREFIX_BYTES + msg.length);
          if (limits.stalled_request_timeout > 0) {
            const stalledMs = limits.stalled_request_timeout;
            stall = watchdog.start(stalledMs, () => {
              ctx.cut('stalled', { stalled_request_timeout_ms: stalledMs, remote: call.remoteAddress });
              finish(Code.UNAVAILABLE, `no request bytes for ${stalledMs} ms: call cut (otlp.stalled_request_timeout)`, null);
            });
          }
        }
      },
      end() {
        watchdog.stop(stall);
        if (finished) return;
        // An uncompressed message stays in its chunks: the ingest path copies them into the core's input.
        const m = msg.finish(scratch, msg.flag === 0);
        if (!Buffer.isBuffer(m) && !Array.isArray(m)) {
          finish(m.code, m.message);
          return;
        }
        const outcome = ingest({ bytes: m, format: 'protobuf', encoding: msg.flag === 1 ? encoding : undefined });
        finish(outcome.code, outcome.message, outcome.reason ?? 'internal', outcome.retryDelayMs);
      },
      close() {
        ticket?.release();
        msg.release();
        watchdog.stop(timer);
        watchdog.stop(stall);
        watchdog.stop(deadline);
        if (connection) sessions.closed(connection);
      },
    };

    if (headers.method !== 'POST') {
      finished = true;
      // RFC 9110 §15.5: a 4xx carries an explanation, except to HEAD (§9.3.2: no content).
      if (headers.method === 'HEAD') call.respond(405, [['allow', 'POST']]);
      else call.respond(405, [['allow', 'POST'], ['content-type', 'text/plain']], `gRPC calls are POST ${EXPORT_METHOD_PATH}`);
      return events;
    }
    const contentType = headers.contentType;
    if (contentType === undefined || !(contentType === GRPC_CONTENT_TYPE || contentType.startsWith(`${GRPC_CONTENT_TYPE}+`) || contentType.startsWith(`${GRPC_CONTENT_TYPE};`))) {
      finished = true;
      call.respond(415, [['content-type', 'text/plain']], `gRPC needs content-type ${GRPC_CONTENT_TYPE}`);
      return events;
    }
    const path = headers.path;
    if (path !== EXPORT_METHOD_PATH) {
      const signal = path === undefined ? undefined : OTHER_SIGNALS.get(path);
      if (signal === undefined) {
        finish(Code.UNIMPLEMENTED, `unknown method ${path ?? ''}: this endpoint serves ${EXPORT_METHOD_PATH}`, null);
        return events;
      }
      const message = notTracesGrpcMessage(signal, headers.authority);
      if (!loggedSignals.has(signal)) {
        loggedSignals.add(signal);
        log.warn({ signal, path }, `otlp/grpc: ${message} (logged once per signal; counted in spanmeter_requests_rejected_total{reason="not_traces"})`);
      }
      finish(Code.UNIMPLEMENTED, message, 'not_traces');
      return events;
    }
    if (authorized && !authorized(headers.authorization)) {
      finish(Code.UNAUTHENTICATED, 'missing or wrong bearer token (metadata authorization: Bearer <token>)');
      return events;
    }
    const given = headers.encoding;
    // The usual value ("gzip") as it is: no trimmed and lowercased copy per call.
    encodingName = given === undefined ? 'identity' : ENCODINGS.has(given) ? given : given.trim().toLowerCase();
    if (!ENCODINGS.has(encodingName)) {
      finish(Code.UNIMPLEMENTED, `grpc-encoding ${encodingName} is not supported; use one of ${ACCEPT_ENCODING}`, 'unsupported_media_type');
      return events;
    }
    encoding = ENCODINGS.get(encodingName);
    const timeoutMs = parseTimeout(headers.timeout);
    if (timeoutMs !== undefined) {
      timer = watchdog.start(timeoutMs, () => finish(Code.DEADLINE_EXCEEDED, 'deadline exceeded before the request message arrived'));
    }
    return events;
  };
}
