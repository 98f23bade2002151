// What the receivers need from the rest of the host. Kept structural so that the receivers do not
// depend on the core's class or on the logging library.
import type { IngestResult } from '../core/result.js';
import type { Telemetry } from '../telemetry.js';
import type { IngestBudget } from './budget.js';
import type { TlsMaterial } from './security.js';

/**
 * Takes one OTLP ExportTraceServiceRequest in protobuf wire format, synchronously.
 * All or nothing: a rejected request changes nothing. The bytes are only valid during the call.
 */
export interface TraceConsumer {
  ingest(bytes: Uint8Array): IngestResult;
}

/** The subset of a pino logger the receivers and servers use. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};
/** A logger that drops everything (the default when none is given). */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** A running server. */
export interface RunningServer {
  /** The address actually bound, `host:port` (IPv6 hosts in brackets); the real port when 0 was asked. */
  readonly address: string;
  /** Stops accepting, ends idle keep-alive connections, resolves when the server is closed. */
  close(): Promise<void>;
}

/** What both OTLP receivers are started with. */
export interface ReceiverOptions {
  /** `host:port`; port 0 binds an ephemeral port (see RunningServer.address). */
  endpoint: string;
  /** Largest request accepted, bytes, on the wire and again after decompression. */
  maxBodyBytes: number;
  consumer: TraceConsumer;
  logger?: Logger;
  /** Where request metrics go; defaults to defaultTelemetry(). */
  telemetry?: Telemetry;
  /** How long close() waits for requests in flight before cutting them, ms. Default 5000. */
  closeGraceMs?: number;
  /** Bytes and requests in flight, shared by both receivers; default unlimited. */
  budget?: IngestBudget;
  /** Most spans in one request; 0 or absent = unlimited. */
  maxSpansPerRequest?: number;
  /** Serve over TLS (mTLS when clientCa is set). */
  tls?: TlsMaterial;
  /** Require a bearer token (HTTP `Authorization`, gRPC metadata `authorization`). */
  bearerToken?: string;
}
