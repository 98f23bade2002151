// OTLP/HTTP receiver: POST /v1/traces, protobuf or JSON, optionally gzip, on node:http.
// Transport rules only: the bytes go to the consumer (the core) as one ExportTraceServiceRequest.
import http from 'node:http';
import https from 'node:https';
import { encodeExportResponse, encodeStatus } from '../otlp/response.js';
import { defaultTelemetry, type RejectReason } from '../telemetry.js';
import { IngestBudget, type BudgetTicket } from './budget.js';
import { Code, httpStatusOf, ingestPath } from './ingest.js';
import { listenHttp, type RunningServer } from '../net/server.js';
import { installFastPath, type FastAnswer } from './http-fast.js';
import { parseEndpoint } from '../net/endpoint.js';
import { bearerChecker } from '../net/security.js';
import { silentLogger } from '../log.js';
import { receiverLimits, type ReceiverOptions } from './types.js';
import { applyHttpTimeouts } from '../net/timeouts.js';
import { Watchdog } from '../net/watchdog.js';
import { warnEvery } from '../net/warn.js';
import type { CutReason } from '../telemetry.js';

export const TRACES_PATH = '/v1/traces';

/**
 * The OTLP/HTTP paths of the other signals. An SDK given the generic OTEL_EXPORTER_OTLP_ENDPOINT
 * sends its metrics and logs here too; they are answered 404 with a Status that names
 * /v1/traces and the variable to use, logged once per signal and counted (reason not_traces).
 */
const OTHER_SIGNALS: ReadonlyMap<string, string> = new Map([['/v1/metrics', 'metrics'], ['/v1/logs', 'logs']]);

/** The answer to a metrics or logs export: what spanmeter takes and how to send only traces. */
export function notTracesMessage(signal: string, host: string | undefined): string {
  const base = `http://${host ?? '127.0.0.1:4318'}`;
  return `spanmeter receives traces only, not ${signal}: send traces to ${base}${TRACES_PATH} ` +
    `(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=${base}${TRACES_PATH} instead of OTEL_EXPORTER_OTLP_ENDPOINT) ` +
    `and ${signal} to your ${signal} backend`;
}

export interface HttpReceiverOptions extends ReceiverOptions {
  /** Largest decompressed/compressed size ratio; 0 or absent = off. */
  maxDecompressionRatio?: number;
}

type Format = 'protobuf' | 'json';

/** Throttling (see throttle()). */
const TOO_MANY_REQUESTS = 429;
/** Metrics and logs exports (notTraces): not retryable for OTLP exporters, unlike 429/502/503/504. */
const NOT_FOUND = 404;

const CONTENT_TYPES: Record<Format, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/** The request's format from its Content-Type (parameters such as charset ignored), or undefined. */
export function formatOf(contentType: string | undefined): Format | undefined {
  if (!contentType) return undefined;
  const semi = contentType.indexOf(';');
  const media = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (media === 'application/x-protobuf') return 'protobuf';
  if (media === 'application/json') return 'json';
  return undefined;
}

/**
 * Whether the Content-Encoding names something decompress() can undo (identity, gzip, x-gzip,
 * deflate), so unknown encodings get 415 before the body is read. decompress() has the last word.
 */
function encodingSupported(encoding: string | undefined): boolean {
  if (encoding === undefined) return true;
  for (const part of encoding.split(',')) {
    const e = part.trim().toLowerCase();
    if (e !== '' && e !== 'identity' && e !== 'gzip' && e !== 'x-gzip' && e !== 'deflate') return false;
  }
  return true;
}

export async function startHttpReceiver(options: HttpReceiverOptions): Promise<RunningServer> {
  const { host, port } = parseEndpoint(options.endpoint);
  const maxBodyBytes = options.maxBodyBytes;
  if (!(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0)) {
    throw new Error(`maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  }
  const log = options.logger ?? silentLogger;
  const telemetry = options.telemetry ?? defaultTelemetry();
  const budget = options.budget ?? IngestBudget.unlimited();
  const ingest = ingestPath({
    protocol: 'http', consumer: options.consumer, telemetry, log, maxBodyBytes,
    maxDecompressionRatio: options.maxDecompressionRatio ?? 0, retryAfterMs: budget.retryAfterMs, memory: options.memory,
  });
  const authorized = options.bearerToken === undefined ? undefined : bearerChecker(options.bearerToken);
  const retryAfterSeconds = Math.max(1, Math.ceil(budget.retryAfterMs / 1000));
  /** The signals already logged by notTraces (once each). */
  const signalsLogged = new Set<string>();
  const limits = receiverLimits(options.limits);
  const warn = warnEvery(log);
  /** The requests' deadlines, on one timer: write_timeout and stalled_request_timeout here, and all the fast path's. */
  const watchdog = new Watchdog();
  /** Cuts a request that ran out of time (issue 21 item 3): counted, logged now and then, its connection closed. */
  const cut = (reason: CutReason, socket: { remoteAddress?: string; destroy(): void } | undefined, detail: Record<string, unknown>): void => {
    telemetry.countCut('http', reason);
    warn(reason, { reason, remote: socket?.remoteAddress, ...detail }, `otlp/http: request cut (${reason})`);
    socket?.destroy();
  };

  const dispatch = (req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): void => {
    // Received and answered within write_timeout (Go's WriteTimeout: from the end of the headers
    // to the end of the response), or the connection is cut: bounds slow bodies and slow readers.
    if (limits.write_timeout > 0) {
      const watch = watchdog.start(limits.write_timeout, () => cut('write_timeout', req.socket, { write_timeout_ms: limits.write_timeout }));
      res.once('close', () => watchdog.stop(watch));
    }
    handle(req, res, expectContinue).catch((err: unknown) => {
      // handle() catches everything itself; this is the last line of defence.
      log.error({ err }, 'otlp/http: unhandled error');
      if (!res.headersSent) sendText(res, 500, 'internal error\n');
      else res.destroy();
    });
  };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => dispatch(req, res, false);
  const tls = options.tls;
  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key, ca: tls.clientCa, requestCert: tls.clientCa !== undefined, rejectUnauthorized: tls.clientCa !== undefined }, onRequest)
    : http.createServer(onRequest);
  // `Expect: 100-continue`: the client waits for our go-ahead, so a refusal (404/405/415/413 by
  // Content-Length) costs it no upload; 100 Continue is sent only when the body will be read.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => dispatch(req, res, true));
  // Malformed HTTP (bad request line, oversized headers) is answered 400/431 and the socket
  // closed, headers or request not read in time 408 (counted as read_timeout); it never reaches handle().
  applyHttpTimeouts(server, limits, (socket) => cut('read_timeout', undefined, {
    remote: (socket as { remoteAddress?: string }).remoteAddress, read_header_timeout_ms: server.headersTimeout, read_timeout_ms: server.requestTimeout,
  }));

  /** Counts a request refused before its body reached ingest (ingest times and counts the spans of the others). */
  function record(status: number, rejected: RejectReason | undefined): void {
    telemetry.countRequest('http', status, rejected);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): Promise<void> {
    // Refused before 100 Continue, the body was never sent: the connection cannot be reused.
    if (expectContinue) res.setHeader('Connection', 'close');
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const signal = OTHER_SIGNALS.get(path);
    if (signal !== undefined && req.method === 'POST') {
      notTraces(req, res, signal);
      return;
    }
    if (path !== TRACES_PATH) {
      dropUnreadBody(req, res);
      sendText(res, 404, 'not found\n');
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      dropUnreadBody(req, res);
      sendText(res, 405, 'method not allowed: use POST\n');
      return;
    }
    if (authorized && !authorized(req.headers.authorization)) {
      log.debug({ remote: req.socket.remoteAddress }, 'otlp/http: missing or wrong bearer token');
      res.setHeader('WWW-Authenticate', 'Bearer realm="spanmeter"');
      dropUnreadBody(req, res);
      sendText(res, httpStatusOf(Code.UNAUTHENTICATED), 'unauthorized: send Authorization: Bearer <token>\n');
      record(httpStatusOf(Code.UNAUTHENTICATED), 'unauthenticated');
      return;
    }
    const format = formatOf(req.headers['content-type']);
    if (!format) {
      log.debug({ contentType: req.headers['content-type'] }, 'otlp/http: unsupported content type');
      dropUnreadBody(req, res);
      sendText(res, httpStatusOf(Code.UNIMPLEMENTED), 'unsupported media type: use application/x-protobuf or application/json\n');
      record(httpStatusOf(Code.UNIMPLEMENTED), 'unsupported_media_type');
      return;
    }
    const encoding = req.headers['content-encoding'];
    if (!encodingSupported(encoding)) {
      log.debug({ contentEncoding: encoding }, 'otlp/http: unsupported content encoding');
      dropUnreadBody(req, res);
      sendStatus(res, format, Code.UNIMPLEMENTED, `unsupported Content-Encoding "${encoding}": use gzip, deflate or identity`);
      record(httpStatusOf(Code.UNIMPLEMENTED), 'unsupported_media_type');
      return;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      const msg = `request body of ${declared} bytes exceeds the limit of ${maxBodyBytes} bytes`;
      log.debug({ contentLength: declared, limit: maxBodyBytes }, `otlp/http: ${msg}`);
      refuseBody(req, res, format, msg, expectContinue);
      record(httpStatusOf(Code.RESOURCE_EXHAUSTED), 'too_large');
      return;
    }

    const ticket = budget.acquire(declared === undefined ? 0 : Number(declared) || 0);
    if (!ticket) {
      throttle(req, res, format, expectContinue);
      return;
    }
    try {
      await receive(req, res, format, encoding, declared === undefined ? ticket : undefined, expectContinue);
    } finally {
      ticket.release();
    }
  }

  /** Refuses an export of metrics or logs (OTHER_SIGNALS): 404, a Status with notTracesMessage. */
  function notTraces(req: http.IncomingMessage, res: http.ServerResponse, signal: string): void {
    const message = notTracesMessage(signal, req.headers.host);
    if (!signalsLogged.has(signal)) {
      signalsLogged.add(signal);
      log.warn({ signal, path: req.url, user_agent: req.headers['user-agent'] }, `otlp/http: ${message} (logged once; counted in spanmeter_requests_rejected_total{reason="not_traces"})`);
    }
    dropUnreadBody(req, res);
    sendStatus(res, formatOf(req.headers['content-type']) ?? 'json', Code.UNIMPLEMENTED, message, undefined, NOT_FOUND);
    record(NOT_FOUND, 'not_traces');
  }

  /**
   * Answers 429 with Retry-After and a Status carrying RetryInfo; the body is discarded. The one
   * status not from httpStatusOf: OTLP/HTTP throttles with 429, OTLP/gRPC with UNAVAILABLE
   * (what the gRPC receiver answers and the Status body says), and UNAVAILABLE is otherwise 503.
   */
  function throttle(req: http.IncomingMessage, res: http.ServerResponse, format: Format, expectContinue: boolean): void {
    const msg = `ingest budget full (${budget.inflightRequests} requests, ${budget.inflightBytes} bytes in flight): retry after ${retryAfterSeconds} s`;
    log.debug({ inflight_requests: budget.inflightRequests, inflight_bytes: budget.inflightBytes }, 'otlp/http: throttled');
    res.setHeader('Retry-After', String(retryAfterSeconds));
    refuseBody(req, res, format, msg, expectContinue, TOO_MANY_REQUESTS, Code.UNAVAILABLE, budget.retryAfterMs);
    record(TOO_MANY_REQUESTS, 'throttled');
    telemetry.countThrottled('http');
  }

  async function receive(
    req: http.IncomingMessage, res: http.ServerResponse, format: Format, encoding: string | undefined,
    growing: BudgetTicket | undefined, expectContinue: boolean,
  ): Promise<void> {
    if (expectContinue) {
      res.removeHeader('Connection');
      res.writeContinue();
    }
    // A body that stops coming while it holds budget is cut after stalled_request_timeout.
    const body = await readBody(req, maxBodyBytes, growing, watchdog, limits.stalled_request_timeout,
      () => cut('stalled', req.socket, { stalled_request_timeout_ms: limits.stalled_request_timeout }));
    if (body === 'aborted') return; // the client went away; nobody to answer
    if (body === 'throttled') {
      throttle(req, res, format, false);
      return;
    }
    if (body === 'too_large') {
      const msg = `request body exceeds the limit of ${maxBodyBytes} bytes`;
      log.debug({ limit: maxBodyBytes }, `otlp/http: ${msg}`);
      refuseBody(req, res, format, msg, false); // 100 Continue was sent: the body is coming
      record(httpStatusOf(Code.RESOURCE_EXHAUSTED), 'too_large');
      return;
    }

    const outcome = await ingest({ bytes: body, format, encoding: encoding ?? 'identity' });
    const status = httpStatusOf(outcome.code, outcome.reason);
    if (outcome.code === Code.OK) {
      send(res, status, CONTENT_TYPES[format], encodeExportResponse(format));
    } else {
      if (outcome.retryDelayMs !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(outcome.retryDelayMs / 1000))));
      sendStatus(res, format, outcome.code, outcome.message, outcome.retryDelayMs, status);
    }
    record(status, outcome.reason);
  }

  // Plain HTTP: the common request (POST /v1/traces, protobuf, Content-Length) is read off the
  // connection by the fast path (http-fast.ts); everything else still comes through handle().
  const fast = tls ? undefined : installFastPath({
    server, maxBodyBytes,
    accepts: (type, encoding, authorization) =>
      formatOf(type) === 'protobuf' && encodingSupported(encoding) && (!authorized || authorized(authorization)),
    acquire: (bytes) => budget.acquire(bytes),
    answer: (body, encoding) => {
      const outcome = ingest({ bytes: body, format: 'protobuf', encoding: encoding ?? 'identity' });
      const status = httpStatusOf(outcome.code, outcome.reason);
      record(status, outcome.reason);
      if (outcome.code === Code.OK) return OK_PROTOBUF;
      const retryAfter = outcome.retryDelayMs === undefined ? undefined : Math.max(1, Math.ceil(outcome.retryDelayMs / 1000));
      try {
        const body = encodeStatus('protobuf', outcome.code, outcome.message, outcome.retryDelayMs === undefined ? {} : { retryDelayMs: outcome.retryDelayMs });
        return { status, contentType: CONTENT_TYPES.protobuf, body, retryAfter };
      } catch {
        return { status, contentType: 'text/plain; charset=utf-8', body: Buffer.from(`${outcome.message}\n`, 'utf8'), retryAfter };
      }
    },
    watchdog,
    write_timeout: limits.write_timeout,
    stalled_request_timeout: limits.stalled_request_timeout,
    onCut: (reason, socket) => cut(reason, undefined, reason === 'stalled'
      ? { stalled_request_timeout_ms: limits.stalled_request_timeout, remote: socket.remoteAddress }
      : { write_timeout_ms: limits.write_timeout, remote: socket.remoteAddress }),
    onError: (err) => log.error({ err }, 'otlp/http: unhandled error'),
    onReadTimeout: (socket) => cut('read_timeout', undefined, {
      remote: socket.remoteAddress, read_header_timeout_ms: server.headersTimeout, read_timeout_ms: server.requestTimeout,
    }),
  });

  return listenHttp(server, { host, port }, 'otlp/http receiver', log, options.closeGraceMs, fast);
}

/** The fast path's answer to an accepted protobuf request: an empty ExportTraceServiceResponse. */
const OK_PROTOBUF: FastAnswer = { status: 200, contentType: CONTENT_TYPES.protobuf, body: encodeExportResponse('protobuf') };

/**
 * Reads the whole body, refusing more than max bytes: past the cap it stops reading and answers
 * 'too_large' (the caller then closes the connection rather than drain an unbounded body). When
 * no bytes come for `stallMs` (0 = no limit), `onStall` is called and the read ends 'aborted'.
 */
function readBody(
  req: http.IncomingMessage, max: number, ticket: BudgetTicket | undefined, watchdog: Watchdog, stallMs: number, onStall: () => void,
): Promise<Uint8Array | Buffer[] | 'too_large' | 'aborted' | 'throttled'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const stall = stallMs > 0 && !req.complete
      ? watchdog.start(stallMs, () => {
        finish('aborted');
        onStall();
      })
      : undefined;
    const finish = (v: Uint8Array | Buffer[] | 'too_large' | 'aborted' | 'throttled'): void => {
      if (done) return;
      done = true;
      watchdog.stop(stall);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      if (stall) watchdog.refresh(stall);
      total += chunk.length;
      if (total > max) {
        chunks.length = 0;
        req.pause();
        finish('too_large');
        return;
      }
      // A body of unknown length (chunked) takes its budget as it arrives.
      if (ticket && !ticket.grow(chunk.length)) {
        chunks.length = 0;
        req.pause();
        finish('throttled');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      finish(chunks.length === 1 ? chunks[0]! : chunks); // joined, if at all, by the ingest path
    };
    const onAbort = (): void => finish('aborted');
    const onClose = (): void => {
      if (!req.complete) finish('aborted');
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}

/** Bodies of refused requests up to this size are read and discarded to keep the connection. */
const DRAIN_LIMIT = 64 * 1024;
/** How much of a refused (too large) body is read and discarded so the sender can read its 413. */
const REFUSED_DRAIN_LIMIT = 256 * 1024 * 1024;

/**
 * For a refusal that does not read the body: a small declared body is left for node to read and
 * discard (the connection stays alive); a larger or chunked one closes the connection instead.
 */
function dropUnreadBody(req: http.IncomingMessage, res: http.ServerResponse): void {
  const length = req.headers['content-length'];
  if (length !== undefined ? Number(length) > DRAIN_LIMIT : req.headers['transfer-encoding'] !== undefined) {
    res.setHeader('Connection', 'close');
  }
}

/**
 * Answers 413 at once. A client told to go ahead (no `Expect: 100-continue`) is sending the body
 * anyway and most read no answer before they finish, so the connection stays open and the rest of
 * the body is read and thrown away (up to REFUSED_DRAIN_LIMIT; past that the connection is cut):
 * the sender sees a 413, not a broken pipe. A client that asked first never sends it: close.
 */
function refuseBody(
  req: http.IncomingMessage, res: http.ServerResponse, format: Format, message: string, expectContinue: boolean,
  status = httpStatusOf(Code.RESOURCE_EXHAUSTED), code = Code.RESOURCE_EXHAUSTED, retryDelayMs?: number,
): void {
  if (expectContinue) {
    res.setHeader('Connection', 'close');
    sendStatus(res, format, code, message, retryDelayMs, status);
    req.pause();
    return;
  }
  sendStatus(res, format, code, message, retryDelayMs, status);
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > REFUSED_DRAIN_LIMIT) req.destroy();
  });
  req.resume();
}

/** A google.rpc.Status with `code`, answered with httpStatusOf(code) unless `status` says otherwise (429). */
function sendStatus(res: http.ServerResponse, format: Format, code: Code, message: string, retryDelayMs?: number, status = httpStatusOf(code)): void {
  let body: Uint8Array;
  try {
    body = encodeStatus(format, code, message, retryDelayMs === undefined ? {} : { retryDelayMs });
  } catch {
    sendText(res, status, `${message}\n`);
    return;
  }
  send(res, status, CONTENT_TYPES[format], body);
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  send(res, status, 'text/plain; charset=utf-8', Buffer.from(text, 'utf8'));
}

function send(res: http.ServerResponse, status: number, contentType: string, body: Uint8Array): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.byteLength });
  res.end(body);
}
