// What the receivers need from the rest of the host. Kept structural so that the receivers do not
// depend on the core's class or on the logging library.
import type { IngestResult } from '../core/result.js';

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
