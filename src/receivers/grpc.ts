// OTLP/gRPC receiver: opentelemetry.proto.collector.trace.v1.TraceService/Export, unary, on
// @grpc/grpc-js. The service is defined with identity (de)serializers: the request's protobuf bytes
// go to the consumer (the core) untouched, with no protobufjs decode on the hot path.
// grpc-js itself enforces the receive size (before and after gzip/deflate decompression) with
// RESOURCE_EXHAUSTED, and answers UNIMPLEMENTED for an unknown grpc-encoding.
import * as grpc from '@grpc/grpc-js';
import { encodeExportResponse, encodeStatus } from '../otlp/response.js';
import { defaultTelemetry, type RejectReason } from '../telemetry.js';
import { IngestBudget, type BudgetTicket } from './budget.js';
import { ingestPath } from './ingest.js';
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
  const log = options.logger ?? silentLogger;
  const telemetry = options.telemetry ?? defaultTelemetry();
  // An ExportTraceServiceResponse without partial success: the same bytes for every call.
  const okResponse = toBuffer(encodeExportResponse('protobuf'));
  const budget = options.budget ?? IngestBudget.unlimited();
  // grpc-js has decompressed the message and held it to maxBodyBytes already.
  const ingest = ingestPath({
    protocol: 'grpc', consumer: options.consumer, telemetry, log, maxBodyBytes, maxDecompressionRatio: 0,
    retryAfterMs: budget.retryAfterMs,
  });
  const authorized = options.bearerToken === undefined ? undefined : bearerChecker(options.bearerToken);

  /**
   * A status with the reason it is counted under (for the status interceptor) and, given a retry
   * delay, a google.rpc.Status carrying RetryInfo in grpc-status-details-bin (OTLP's answer to
   * throttling and to a core being rebuilt).
   */
  const statusOf = (code: grpc.status, details: string, reason: RejectReason, retryDelayMs?: number): grpc.StatusObject => {
    const metadata = new grpc.Metadata();
    if (retryDelayMs !== undefined) {
      metadata.set('grpc-status-details-bin', toBuffer(encodeStatus('protobuf', code, details, { retryDelayMs })));
    }
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
              intercepting.sendStatus(statusOf(grpc.status.UNAUTHENTICATED, 'missing or wrong bearer token (metadata authorization: Bearer <token>)', 'unauthenticated'));
              return;
            }
            ticket = budget.acquire(0);
            if (!ticket) {
              intercepting.sendStatus(statusOf(grpc.status.UNAVAILABLE, throttledMessage(), 'throttled', budget.retryAfterMs));
              return;
            }
            nextMetadata(metadata);
          },
          onReceiveMessage(message: Buffer, nextMessage) {
            if (ticket && !ticket.grow(message.length)) {
              intercepting.sendStatus(statusOf(grpc.status.UNAVAILABLE, throttledMessage(), 'throttled', budget.retryAfterMs));
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
    const outcome = ingest({ bytes: call.request, format: 'protobuf' });
    if (outcome.code === grpc.status.OK) callback(null, okResponse);
    else callback(statusOf(outcome.code, outcome.message, outcome.reason ?? 'internal', outcome.retryDelayMs));
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
