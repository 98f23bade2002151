// OTLP/gRPC receiver: opentelemetry.proto.collector.trace.v1.TraceService/Export, unary, on
// @grpc/grpc-js. The service is defined with identity (de)serializers: the request's protobuf bytes
// go to the consumer (the core) untouched, with no protobufjs decode on the hot path.
// grpc-js itself enforces the receive size (before and after gzip/deflate decompression) with
// RESOURCE_EXHAUSTED, and answers UNIMPLEMENTED for an unknown grpc-encoding.
import * as grpc from '@grpc/grpc-js';
import { OtlpError } from '../otlp/errors.js';
import { countSpans } from '../otlp/count.js';
import { encodeExportResponse, encodeStatus } from '../otlp/response.js';
import { defaultTelemetry, type RejectReason } from '../telemetry.js';
import { IngestBudget, type BudgetTicket } from './budget.js';
import { formatHostPort, parseEndpoint } from '../net/endpoint.js';
import { bearerChecker } from '../net/security.js';
import { silentLogger } from '../log.js';
import type { RunningServer } from '../net/server.js';
import type { ReceiverOptions } from './types.js';

export const TRACE_SERVICE_NAME = 'opentelemetry.proto.collector.trace.v1.TraceService';
export const EXPORT_METHOD_PATH = `/${TRACE_SERVICE_NAME}/Export`;

export type GrpcReceiverOptions = ReceiverOptions;

/** Metadata key by which the handler tells the status interceptor a rejection's reason; never sent. */
const REASON_KEY = 'x-spanmeter-reject-reason';

const toBuffer = (u8: Uint8Array): Buffer =>
  Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

/** TraceService with raw bytes in and out: requests stay the wire bytes, responses are pre-encoded. */
export const rawTraceServiceDefinition = {
  Export: {
    path: EXPORT_METHOD_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: toBuffer,
    requestDeserialize: (bytes: Buffer): Buffer => bytes,
    responseSerialize: toBuffer,
    responseDeserialize: (bytes: Buffer): Buffer => bytes,
  },
} satisfies grpc.ServiceDefinition;

/** The rejection reason a gRPC status stands for, if it is a rejection. */
function reasonOf(code: grpc.status): RejectReason | undefined {
  switch (code) {
    case grpc.status.OK:
    case grpc.status.CANCELLED:
    case grpc.status.DEADLINE_EXCEEDED:
      return undefined;
    case grpc.status.INVALID_ARGUMENT:
      return 'malformed';
    case grpc.status.RESOURCE_EXHAUSTED:
      return 'too_large';
    case grpc.status.UNIMPLEMENTED:
      return 'unsupported_media_type';
    case grpc.status.UNAUTHENTICATED:
      return 'unauthenticated';
    case grpc.status.UNAVAILABLE:
      return 'unavailable';
    default:
      return 'internal';
  }
}

export async function startGrpcReceiver(options: GrpcReceiverOptions): Promise<RunningServer> {
  const { host, port } = parseEndpoint(options.endpoint);
  const maxBodyBytes = options.maxBodyBytes;
  if (!(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes > 0)) {
    throw new Error(`maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);
  }
  const consumer = options.consumer;
  const log = options.logger ?? silentLogger;
  const telemetry = options.telemetry ?? defaultTelemetry();
  // An ExportTraceServiceResponse without partial success: the same bytes for every call.
  const okResponse = toBuffer(encodeExportResponse('protobuf'));
  const budget = options.budget ?? IngestBudget.unlimited();
  const maxSpans = options.maxSpansPerRequest ?? 0;
  const authorized = options.bearerToken === undefined ? undefined : bearerChecker(options.bearerToken);

  /** UNAVAILABLE with a google.rpc.Status carrying RetryInfo in grpc-status-details-bin (OTLP's throttling answer). */
  const unavailable = (details: string, reason: RejectReason): grpc.StatusObject => {
    const metadata = new grpc.Metadata();
    metadata.set('grpc-status-details-bin', toBuffer(encodeStatus('protobuf', grpc.status.UNAVAILABLE, details, { retryDelayMs: budget.retryAfterMs })));
    metadata.set(REASON_KEY, reason);
    return { code: grpc.status.UNAVAILABLE, details, metadata };
  };
  const withReason = (code: grpc.status, details: string, reason: RejectReason): grpc.StatusObject => {
    const metadata = new grpc.Metadata();
    metadata.set(REASON_KEY, reason);
    return { code, details, metadata };
  };

  // Every call's final status, including those grpc-js sends itself before the handler runs
  // (RESOURCE_EXHAUSTED over the size limit, UNIMPLEMENTED encoding, bad gzip): the base call
  // ends those through its own sendStatus, so wrapping that method on the call object sees them.
  const statusInterceptor: grpc.ServerInterceptor = (_method, call) => {
    let counted = false;
    const sendStatus = call.sendStatus.bind(call);
    call.sendStatus = (status: Parameters<typeof sendStatus>[0]): void => {
      const given = status.metadata?.get(REASON_KEY)[0];
      if (given !== undefined) status.metadata!.remove(REASON_KEY);
      if (!counted) {
        counted = true;
        const code = status.code;
        const reason = given === undefined ? reasonOf(code) : (String(given) as RejectReason);
        telemetry.countRequest('grpc', grpc.status[code] ?? String(code), reason);
        if (reason === 'throttled') telemetry.countThrottled('grpc');
        if (code !== grpc.status.OK && code !== grpc.status.INVALID_ARGUMENT) {
          log.debug({ code: grpc.status[code], details: status.details }, 'otlp/grpc: call failed');
        }
      }
      sendStatus(status);
    };
    // Admission: the bearer token and the ingest budget are checked when the call's metadata
    // arrives; the message's bytes join the budget once grpc-js has received it.
    let ticket: BudgetTicket | undefined;
    const intercepting: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            if (authorized && !authorized(metadata.get('authorization').map(String)[0])) {
              intercepting.sendStatus(withReason(grpc.status.UNAUTHENTICATED, 'missing or wrong bearer token (metadata authorization: Bearer <token>)', 'unauthenticated'));
              return;
            }
            ticket = budget.acquire(0);
            if (!ticket) {
              intercepting.sendStatus(unavailable(throttledMessage(), 'throttled'));
              return;
            }
            nextMetadata(metadata);
          },
          onReceiveMessage(message: Buffer, nextMessage) {
            if (ticket && !ticket.grow(message.length)) {
              intercepting.sendStatus(unavailable(throttledMessage(), 'throttled'));
              return;
            }
            nextMessage(message);
          },
          onCancel() {
            ticket?.release();
          },
        });
      },
      sendStatus(status, next) {
        ticket?.release();
        next(status);
      },
    });
    return intercepting;
  };
  const throttledMessage = (): string =>
    `ingest budget full (${budget.inflightRequests} requests, ${budget.inflightBytes} bytes in flight): retry after ${budget.retryAfterMs} ms`;

  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxBodyBytes,
    interceptors: [statusInterceptor],
  });

  const exportHandler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const t0 = performance.now();
    try {
      if (maxSpans > 0 && countSpans(call.request, maxSpans) > maxSpans) {
        const n = countSpans(call.request);
        telemetry.recordIngest('grpc', (performance.now() - t0) / 1000);
        telemetry.countRejectedSpans('too_many_spans', n);
        callback(withReason(grpc.status.INVALID_ARGUMENT, `request has ${n} spans, more than otlp.max_spans_per_request (${maxSpans})`, 'too_many_spans'));
        return;
      }
      const result = consumer.ingest(call.request);
      const seconds = (performance.now() - t0) / 1000;
      if (result.ok) {
        telemetry.recordIngest('grpc', seconds, result);
        callback(null, okResponse);
      } else {
        telemetry.recordIngest('grpc', seconds, result, result.cause);
        log.debug({ reason: result.reason, spans: result.spans }, 'otlp/grpc: request rejected');
        callback(withReason(grpc.status.INVALID_ARGUMENT, result.reason, result.cause));
      }
    } catch (err) {
      telemetry.recordIngest('grpc', (performance.now() - t0) / 1000);
      if (err instanceof OtlpError && err.kind === 'unavailable') {
        callback(unavailable(err.message, 'unavailable'));
      } else if (err instanceof OtlpError && err.kind === 'internal') {
        log.warn({ reason: err.message }, 'otlp/grpc: request failed');
        callback(withReason(grpc.status.INTERNAL, err.message, 'internal'));
      } else if (err instanceof OtlpError) {
        log.debug({ reason: err.message }, 'otlp/grpc: request rejected');
        const code =
          err.kind === 'too_large'
            ? grpc.status.RESOURCE_EXHAUSTED
            : err.kind === 'unsupported_media_type'
              ? grpc.status.UNIMPLEMENTED
              : grpc.status.INVALID_ARGUMENT;
        callback({ code, details: err.message });
      } else {
        log.error({ err }, 'otlp/grpc: error while handling a request');
        callback({ code: grpc.status.INTERNAL, details: 'internal error' });
      }
    }
  };
  server.addService(rawTraceServiceDefinition, { Export: exportHandler });

  const bindHost = host ?? '0.0.0.0';
  const boundPort = await new Promise<number>((resolve, reject) => {
    const tls = options.tls;
    const credentials = tls
      ? grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined)
      : grpc.ServerCredentials.createInsecure();
    server.bindAsync(formatHostPort(bindHost, port), credentials, (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  const address = formatHostPort(bindHost, boundPort);
  log.info({ address }, 'otlp/grpc receiver listening');

  let closing: Promise<void> | undefined;
  return {
    address,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), options.closeGraceMs ?? 5000);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}
