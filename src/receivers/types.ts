// What both OTLP receivers are started with.
import type { TraceConsumer } from '../core/result.js';
import type { Logger } from '../log.js';
import type { TlsMaterial } from '../net/security.js';
import type { Telemetry } from '../telemetry.js';
import type { IngestBudget } from './budget.js';
import type { OtlpConfig } from '../config/types.js';
import { defaultConfig } from '../config/defaults.js';

/** The receivers' timeouts and connection limits, as config's otlp section names them (issue 21). */
export type ReceiverLimits = Pick<OtlpConfig,
  'max_connections' | 'read_header_timeout' | 'read_timeout' | 'write_timeout' | 'idle_timeout' |
  'stalled_request_timeout' | 'max_concurrent_streams' | 'keepalive'>;

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
  /** Serve over TLS (mTLS when clientCa is set). */
  tls?: TlsMaterial;
  /** The memory limiter (src/net/memory.ts), asked by the ingest path before each request. */
  memory?: { admit(): string | undefined };
  /** Require a bearer token (HTTP `Authorization`, gRPC metadata `authorization`). */
  bearerToken?: string;
  /** Timeouts and connection limits; each absent one takes its default (config/defaults.ts). */
  limits?: Partial<ReceiverLimits>;
}

/** The limits a receiver runs with: `given` over the defaults. */
export function receiverLimits(given: Partial<ReceiverLimits> = {}): ReceiverLimits {
  const d = defaultConfig().otlp;
  return {
    max_connections: d.max_connections, read_header_timeout: d.read_header_timeout, read_timeout: d.read_timeout,
    write_timeout: d.write_timeout, idle_timeout: d.idle_timeout, stalled_request_timeout: d.stalled_request_timeout,
    max_concurrent_streams: d.max_concurrent_streams, keepalive: d.keepalive, ...given,
  };
}
