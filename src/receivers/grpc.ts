// OTLP/gRPC receiver: opentelemetry.proto.collector.trace.v1.TraceService/Export, unary, served by
// a handler on node:http2 that speaks the gRPC over HTTP/2 protocol itself (grpc-wire.ts). The
// request's protobuf bytes go to the ingest path (ingest.ts, shared with OTLP/HTTP) untouched,
// inflated in one synchronous call when grpc-encoding says gzip or deflate, as OTLP/HTTP bodies
// are. Measured against the same server on @grpc/grpc-js (bench/grpc-sink.ts, README
// "Performance"): grpc-js inflates each message through a zlib stream in 16 KiB chunks and builds
// several objects per call, and cost twice the CPU per span with gzip.
//
// The per-call logic (header checks, deadlines, budget, the message, ingest, the answer) is
// grpc-call.ts's; here it runs on node:http2's streams, through a CallTransport each. On a
// plaintext port, connections that open with the HTTP/2 preface are served without node:http2
// (grpc-h2c.ts, net/h2c.ts) and run the same call logic; TLS ports stay on node:http2.
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { encodeExportResponse } from '../otlp/response.js';
import { defaultTelemetry, type CutReason } from '../telemetry.js';
import { IngestBudget } from './budget.js';
import { ingestPath } from './ingest.js';
import { formatHostPort, parseEndpoint } from '../net/endpoint.js';
import { answerPlaintext, bearerChecker } from '../net/security.js';
import { silentLogger } from '../log.js';
import { logServerErrors, type RunningServer } from '../net/server.js';
import { receiverLimits, type ReceiverOptions } from './types.js';
import { GrpcSessions, type KeptConnection } from './grpc-sessions.js';
import { Watchdog } from '../net/watchdog.js';
import { warnEvery } from '../net/warn.js';
import { callHandler, type CallTransport } from './grpc-call.js';
import { installH2c } from './grpc-h2c.js';
import { ACCEPT_ENCODING, frame, GRPC_CONTENT_TYPE } from './grpc-wire.js';
import { Buffer } from 'node:buffer'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

export { EXPORT_METHOD_PATH, notTracesGrpcMessage, TRACE_SERVICE_NAME } from './grpc-call.js';

export type GrpcReceiverOptions = ReceiverOptions;

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** What a call may send before its message's prefix has come and the budget holds it (SETTINGS_INITIAL_WINDOW_SIZE). */
const INITIAL_WINDOW_SIZE = 1 << 20;
/** SETTINGS_MAX_HEADER_LIST_SIZE of the plaintext port: a request's header fields, 32 bytes each counted besides their text (RFC 9113 §6.5.2). */
const MAX_HEADER_LIST_SIZE = 65536;

/** A header's value when it has exactly one. */
function single(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

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
  const limits = receiverLimits(options.limits);
  const warn = warnEvery(log);
  const cut = (reason: CutReason, detail: Record<string, unknown>): void => {
    telemetry.countCut('grpc', reason);
    warn(reason, { reason, ...detail }, `otlp/grpc: ${reason === 'too_many_pings' ? 'connection' : 'call'} cut (${reason})`);
  };
  /** The calls' write_timeout, grpc-timeout and stalled_request_timeout deadlines, and the connections' max_connection_idle, on one timer. */
  const watchdog = new Watchdog();
  const sessions = new GrpcSessions(limits.keepalive, watchdog, (connection) =>
    cut('too_many_pings', { remote: connection.remoteAddress, min_time_ms: limits.keepalive.enforcement_policy.min_time }));
  const startCall = callHandler({ maxBodyBytes, telemetry, log, budget, ingest, authorized, limits, watchdog, sessions, cut });
  /** node:http2's sessions as the keepalive rules see them. */
  const kept = new WeakMap<http2.Http2Session, KeptConnection>();

  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void => {
    const session = stream.session;
    const call: CallTransport = {
      connection: session && kept.get(session),
      get remoteAddress() {
        return session?.socket?.remoteAddress;
      },
      get done() {
        return stream.destroyed || stream.closed;
      },
      respondOk() {
        stream.respond({ ':status': 200, 'content-type': GRPC_CONTENT_TYPE, 'grpc-accept-encoding': ACCEPT_ENCODING }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(okFrame);
      },
      respond(status, fields, body) {
        const out: http2.OutgoingHttpHeaders = { ':status': status };
        for (const [name, value] of fields) out[name] = value;
        if (body === undefined) stream.respond(out, { endStream: true });
        else {
          stream.respond(out, { endStream: false });
          stream.end(body);
        }
        // The client may still be sending: RST_STREAM(NO_ERROR) tells it to stop (RFC 9113 §8.1).
        if (status === 200 && !stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
      },
      cancel() {
        stream.close(NGHTTP2_CANCEL);
      },
    };
    stream.on('error', () => {});
    const events = startCall(call, {
      method: single(headers[':method']), path: single(headers[':path']), authority: single(headers[':authority']),
      contentType: single(headers['content-type']), authorization: single(headers.authorization),
      encoding: single(headers['grpc-encoding']), timeout: single(headers['grpc-timeout']),
    });
    stream.once('close', events.close);
    stream.on('data', events.data);
    stream.once('end', events.end);
  };

  const tls = options.tls;
  const serverOptions: http2.ServerOptions = {
    // Room for many calls in flight on one connection (OTLP exporters keep one channel).
    maxSessionMemory: 64,
    settings: {
      initialWindowSize: INITIAL_WINDOW_SIZE,
      ...(limits.max_concurrent_streams > 0 ? { maxConcurrentStreams: limits.max_concurrent_streams } : {}),
    },
  };
  const server = tls
    ? http2.createSecureServer({
      ...serverOptions, cert: tls.cert, key: tls.key, allowHTTP1: false,
      ...(tls.clientCa !== undefined ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    })
    : http2.createServer(serverOptions);
  // Plaintext: h2c connections are served by grpc-h2c.ts (node:http2 takes the rest); TLS stays on node:http2.
  if (!tls) {
    installH2c({
      server, okMessage: okFrame, startCall, sessions,
      settings: { maxConcurrentStreams: limits.max_concurrent_streams, initialWindowSize: INITIAL_WINDOW_SIZE, maxHeaderListSize: MAX_HEADER_LIST_SIZE },
    });
  }
  server.on('session', (session: http2.ServerHttp2Session) => {
    const connection: KeptConnection = {
      close: () => session.close(),
      destroy: () => session.destroy(undefined, NGHTTP2_CANCEL),
      calm: () => {
        session.goaway(NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
        // A moment for the GOAWAY to leave before the socket goes.
        setTimeout(() => session.destroy(), 100).unref();
      },
      get destroyed() {
        return session.destroyed;
      },
      get remoteAddress() {
        return session.socket?.remoteAddress;
      },
    };
    kept.set(session, connection);
    sessions.add(connection);
    session.on('error', () => {});
    session.on('ping', () => sessions.ping(connection));
    session.once('close', () => sessions.removed(connection));
  });
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
