// OTLP/gRPC receiver: opentelemetry.proto.collector.trace.v1.TraceService/Export, unary, on
// @grpc/grpc-js. The service is defined with identity (de)serializers: the request's protobuf bytes
// go to the consumer (the core) untouched, with no protobufjs decode on the hot path.
// grpc-js itself enforces the receive size (before and after gzip/deflate decompression) with
// RESOURCE_EXHAUSTED, and answers UNIMPLEMENTED for an unknown grpc-encoding.
import * as grpc from '@grpc/grpc-js';
import { OtlpError } from '../otlp/errors.js';
import { encodeExportResponse } from '../otlp/response.js';
import { defaultTelemetry, type RejectReason, type Telemetry } from '../telemetry.js';
import { formatHostPort, parseEndpoint } from './endpoint.js';
import { silentLogger, type Logger, type RunningServer, type TraceConsumer } from './types.js';

export const TRACE_SERVICE_NAME = 'opentelemetry.proto.collector.trace.v1.TraceService';
export const EXPORT_METHOD_PATH = `/${TRACE_SERVICE_NAME}/Export`;

export interface GrpcReceiverOptions {
  /** `host:port`; port 0 binds an ephemeral port (see RunningServer.address). */
  endpoint: string;
  /** Largest request message accepted, bytes, on the wire and after decompression. */
  maxBodyBytes: number;
  consumer: TraceConsumer;
  logger?: Logger;
  /** Where request metrics go; defaults to defaultTelemetry(). */
  telemetry?: Telemetry;
  /** How long close() waits for calls in flight before cutting them, ms. Default 5000. */
  closeGraceMs?: number;
}

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

  // Every call's final status, including those grpc-js sends itself before the handler runs
  // (RESOURCE_EXHAUSTED over the size limit, UNIMPLEMENTED encoding, bad gzip): the base call
  // ends those through its own sendStatus, so wrapping that method on the call object sees them.
  const statusInterceptor: grpc.ServerInterceptor = (_method, call) => {
    let counted = false;
    const sendStatus = call.sendStatus.bind(call);
    call.sendStatus = (status: Parameters<typeof sendStatus>[0]): void => {
      if (!counted) {
        counted = true;
        const code = status.code;
        telemetry.countRequest('grpc', grpc.status[code] ?? String(code), reasonOf(code));
        if (code !== grpc.status.OK && code !== grpc.status.INVALID_ARGUMENT) {
          log.debug({ code: grpc.status[code], details: status.details }, 'otlp/grpc: call failed');
        }
      }
      sendStatus(status);
    };
    return new grpc.ServerInterceptingCall(call);
  };

  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxBodyBytes,
    interceptors: [statusInterceptor],
  });

  const exportHandler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const t0 = performance.now();
    try {
      const result = consumer.ingest(call.request);
      const seconds = (performance.now() - t0) / 1000;
      if (result.ok) {
        telemetry.recordIngest('grpc', seconds, result);
        callback(null, okResponse);
      } else {
        telemetry.recordIngest('grpc', seconds, result, 'malformed');
        log.debug({ reason: result.reason, spans: result.spans }, 'otlp/grpc: request rejected');
        callback({ code: grpc.status.INVALID_ARGUMENT, details: result.reason });
      }
    } catch (err) {
      telemetry.recordIngest('grpc', (performance.now() - t0) / 1000);
      if (err instanceof OtlpError) {
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
    server.bindAsync(formatHostPort(bindHost, port), grpc.ServerCredentials.createInsecure(), (err, p) =>
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
