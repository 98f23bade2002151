// OTLP/gRPC receiver: opentelemetry.proto.collector.trace.v1.TraceService/Export, unary, served by
// a handler on node:http2 that speaks the gRPC over HTTP/2 protocol itself (grpc-wire.ts). The
// request's protobuf bytes go to the ingest path (ingest.ts, shared with OTLP/HTTP) untouched,
// inflated in one synchronous call when grpc-encoding says gzip or deflate, as OTLP/HTTP bodies
// are. Measured against the same server on @grpc/grpc-js (bench/grpc-sink.ts, README
// "Performance"): grpc-js inflates each message through a zlib stream in 16 KiB chunks and builds
// several objects per call, and cost twice the CPU per span with gzip.
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
// - HTTP 415 for a content-type that is not application/grpc, 405 for a method other than POST.
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { Code } from './grpc-status.js';
import { encodeExportResponse, encodeStatus } from '../otlp/response.js';
import { defaultTelemetry, type RejectReason } from '../telemetry.js';
import { IngestBudget, type BudgetTicket } from './budget.js';
import { ingestPath } from './ingest.js';
import { formatHostPort, parseEndpoint } from '../net/endpoint.js';
import { answerPlaintext, bearerChecker } from '../net/security.js';
import { silentLogger } from '../log.js';
import { logServerErrors, type RunningServer } from '../net/server.js';
import { receiverLimits, type ReceiverOptions } from './types.js';
import { GrpcSessions } from './grpc-sessions.js';
import { Watchdog, type Watch } from '../net/watchdog.js';
import { warnEvery } from '../net/warn.js';
import type { CutReason } from '../telemetry.js';
import { ACCEPT_ENCODING, binHeader, ENCODINGS, frame, GRPC_CONTENT_TYPE, MessageScratch, parseTimeout, percentEncode, PREFIX_BYTES, TWO_MESSAGES, UnaryMessage } from './grpc-wire.js';

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

export type GrpcReceiverOptions = ReceiverOptions;

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

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants;

export async function startGrpcReceiver(options: GrpcReceiverOptions): Promise<RunningServer> {
  const { host, port } = parseEndpoint(options.endpoint);
  const maxBodyBytes = options.maxBodyBytes;
  if (!(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0)) {
    throw new Error(`maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  }
  const log = options.logger ?? silentLogger;
  const telemetry = options.telemetry ?? defaultTelemetry();
  // An ExportTraceServiceResponse without partial success, framed: the same bytes for every call.
  const okFrame = frame(encodeExportResponse('protobuf'));
  const budget = options.budget ?? IngestBudget.unlimited();
  // The size limit holds on the wire (the length prefix) and again while inflating (decompress);
  // no ratio limit on gRPC, as before (grpc-js had none).
  const ingest = ingestPath({
    protocol: 'grpc', consumer: options.consumer, telemetry, log, maxBodyBytes, maxDecompressionRatio: 0,
    retryAfterMs: budget.retryAfterMs, memory: options.memory,
  });
  const authorized = options.bearerToken === undefined ? undefined : bearerChecker(options.bearerToken);
  const loggedSignals = new Set<string>();
  // Messages go to the consumer synchronously, and it must not keep them past ingest (the core copies them).
  const scratch = new MessageScratch();
  const limits = receiverLimits(options.limits);
  const warn = warnEvery(log);
  const cut = (reason: CutReason, detail: Record<string, unknown>): void => {
    telemetry.countCut('grpc', reason);
    warn(reason, { reason, ...detail }, `otlp/grpc: ${reason === 'too_many_pings' ? 'connection' : 'call'} cut (${reason})`);
  };
  /** The calls' write_timeout, grpc-timeout and stalled_request_timeout deadlines, and the connections' max_connection_idle, on one timer. */
  const watchdog = new Watchdog();
  const sessions = new GrpcSessions(limits.keepalive, watchdog, (session) =>
    cut('too_many_pings', { remote: session.socket?.remoteAddress, min_time_ms: limits.keepalive.enforcement_policy.min_time }));
  const throttledMessage = (): string =>
    `ingest budget full (${budget.inflightRequests} requests, ${budget.inflightBytes} bytes in flight): retry after ${budget.retryAfterMs} ms`;

  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void => {
    let finished = false;
    let ticket: BudgetTicket | undefined;
    let timer: Watch | undefined;
    let stall: Watch | undefined;
    const session = stream.session;
    if (session) sessions.opened(session);
    // Received and answered within write_timeout, or cut: a call whose answer cannot leave (the
    // client's window stays 0) gets RST_STREAM CANCEL, freeing its stream.
    const deadline = limits.write_timeout > 0
      ? watchdog.start(limits.write_timeout, () => {
        cut('write_timeout', { write_timeout_ms: limits.write_timeout, answered: finished });
        finish(Code.UNAVAILABLE, `the call was not received and answered within ${limits.write_timeout} ms (otlp.write_timeout)`, null);
        if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      })
      : undefined;
    stream.on('error', () => {});
    stream.once('close', () => {
      ticket?.release();
      watchdog.stop(timer);
      watchdog.stop(stall);
      watchdog.stop(deadline);
      if (session) sessions.closed(session);
    });

    /**
     * Ends the call with a status (counted once, under `reason`: by default the code's, null for
     * none), trailers-only unless OK.
     */
    const finish = (code: Code, message: string, why?: RejectReason | null, retryDelayMs?: number): void => {
      if (finished) return;
      const reason = why === undefined ? reasonOf(code) : why ?? undefined;
      finished = true;
      ticket?.release();
      watchdog.stop(timer);
      watchdog.stop(stall);
      sessions.wrote(session);
      telemetry.countRequest('grpc', Code[code] ?? String(code), code === Code.OK ? undefined : reason);
      if (reason === 'throttled') telemetry.countThrottled('grpc');
      if (code !== Code.OK && code !== Code.INVALID_ARGUMENT) log.debug({ code: Code[code], details: message }, 'otlp/grpc: call failed');
      if (stream.destroyed || stream.closed) return;
      if (code === Code.OK) {
        stream.respond({ ':status': 200, 'content-type': GRPC_CONTENT_TYPE, 'grpc-accept-encoding': ACCEPT_ENCODING }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(okFrame);
        return;
      }
      const out: http2.OutgoingHttpHeaders = {
        ':status': 200, 'content-type': GRPC_CONTENT_TYPE, 'grpc-accept-encoding': ACCEPT_ENCODING,
        'grpc-status': String(code), 'grpc-message': percentEncode(message),
      };
      // OTLP's answer to throttling and to a core being rebuilt: a google.rpc.Status with RetryInfo.
      if (retryDelayMs !== undefined) out['grpc-status-details-bin'] = binHeader(encodeStatus('protobuf', code, message, { retryDelayMs }));
      stream.respond(out, { endStream: true });
      // The client may still be sending: RST_STREAM(NO_ERROR) tells it to stop (RFC 9113 §8.1).
      if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
    };

    if (headers[':method'] !== 'POST') {
      finished = true;
      stream.respond({ ':status': 405, allow: 'POST' }, { endStream: true });
      return;
    }
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !(contentType === GRPC_CONTENT_TYPE || contentType.startsWith(`${GRPC_CONTENT_TYPE}+`) || contentType.startsWith(`${GRPC_CONTENT_TYPE};`))) {
      finished = true;
      stream.respond({ ':status': 415, 'content-type': 'text/plain' }, { endStream: false });
      stream.end(`gRPC needs content-type ${GRPC_CONTENT_TYPE}`);
      return;
    }
    const path = headers[':path'];
    if (path !== EXPORT_METHOD_PATH) {
      const signal = path === undefined ? undefined : OTHER_SIGNALS.get(path);
      if (signal === undefined) {
        finish(Code.UNIMPLEMENTED, `unknown method ${path ?? ''}: this endpoint serves ${EXPORT_METHOD_PATH}`, null);
        return;
      }
      const message = notTracesGrpcMessage(signal, headers[':authority']);
      if (!loggedSignals.has(signal)) {
        loggedSignals.add(signal);
        log.warn({ signal, path }, `otlp/grpc: ${message} (logged once per signal; counted in spanmeter_requests_rejected_total{reason="not_traces"})`);
      }
      finish(Code.UNIMPLEMENTED, message, 'not_traces');
      return;
    }
    if (authorized && !authorized(headers.authorization)) {
      finish(Code.UNAUTHENTICATED, 'missing or wrong bearer token (metadata authorization: Bearer <token>)');
      return;
    }
    const given = headers['grpc-encoding'];
    const encodingName = typeof given === 'string' ? given.trim().toLowerCase() : 'identity';
    if (!ENCODINGS.has(encodingName)) {
      finish(Code.UNIMPLEMENTED, `grpc-encoding ${encodingName} is not supported; use one of ${ACCEPT_ENCODING}`, 'unsupported_media_type');
      return;
    }
    const encoding = ENCODINGS.get(encodingName);
    const timeoutMs = parseTimeout(headers['grpc-timeout'] as string | undefined);
    if (timeoutMs !== undefined) {
      timer = watchdog.start(timeoutMs, () => finish(Code.DEADLINE_EXCEEDED, 'deadline exceeded before the request message arrived'));
    }

    const msg = new UnaryMessage();
    stream.on('data', (chunk: Buffer) => {
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
      } else if (limits.stalled_request_timeout > 0 && !msg.complete) {
        // The call holds budget now: the rest of its message must keep coming.
        const stalledMs = limits.stalled_request_timeout;
        stall = watchdog.start(stalledMs, () => {
          cut('stalled', { stalled_request_timeout_ms: stalledMs, remote: session?.socket?.remoteAddress });
          finish(Code.UNAVAILABLE, `no request bytes for ${stalledMs} ms: call cut (otlp.stalled_request_timeout)`, null);
        });
      }
    });
    stream.once('end', () => {
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
    });
  };

  const tls = options.tls;
  const serverOptions: http2.ServerOptions = {
    // Room for many calls in flight on one connection (OTLP exporters keep one channel).
    maxSessionMemory: 64,
    settings: {
      initialWindowSize: 1 << 20,
      ...(limits.max_concurrent_streams > 0 ? { maxConcurrentStreams: limits.max_concurrent_streams } : {}),
    },
  };
  const server = tls
    ? http2.createSecureServer({
      ...serverOptions, cert: tls.cert, key: tls.key, allowHTTP1: false,
      ...(tls.clientCa !== undefined ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    })
    : http2.createServer(serverOptions);
  server.on('session', (session: http2.ServerHttp2Session) => sessions.add(session));
  server.on('stream', onStream);
  // A TLS client that does not offer h2 (or a handshake that fails): drop the connection.
  server.on('unknownProtocol', (socket: Duplex) => socket.destroy());
  // A failed handshake closes the connection (counted by net/connections.ts); plain HTTP/1 gets Go's 400.
  if (tls) answerPlaintext(server);

  const bindHost = host ?? '0.0.0.0';
  const boundPort = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bindHost, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
  logServerErrors(server, 'otlp/grpc receiver', log);
  const address = formatHostPort(bindHost, boundPort);
  log.info({ address }, 'otlp/grpc receiver listening');

  let closing: Promise<void> | undefined;
  return {
    address,
    listener: server,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        // GOAWAY to every connection: calls in flight finish, new ones go elsewhere; cut after the grace.
        const timer = setTimeout(() => sessions.destroyAll(), options.closeGraceMs ?? 5000);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        sessions.closeAll();
      });
      return closing;
    },
  };
}
