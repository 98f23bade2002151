// What both OTLP receivers are started with.
import type { TraceConsumer } from '../core/result.js';
import type { Logger } from '../log.js';
import type { TlsMaterial } from '../net/security.js';
import type { Telemetry } from '../telemetry.js';
import type { IngestBudget } from './budget.js';

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
}
