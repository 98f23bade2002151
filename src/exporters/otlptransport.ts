// Sending one encoded ExportMetricsServiceRequest: OTLP/gRPC (MetricsService/Export on a
// @grpc/grpc-js client with raw serializers) or OTLP/HTTP (POST {endpoint}/v1/metrics,
// protobuf). Failures are classified as the OTLP specification says: retried for HTTP 5xx and
// 429 (after Retry-After) and for the gRPC codes that may pass later (UNAVAILABLE, ...,
// RESOURCE_EXHAUSTED only with a RetryInfo), with the server's RetryInfo delay when it gives one.
import * as grpc from '@grpc/grpc-js';
import {
  ExportMetricsServiceResponse,
  METRICS_SERVICE_EXPORT_PATH,
  RpcRetryInfo,
  RpcStatus,
} from '../otlp/messages.js';
import { fetchErrorOutcome, httpOutcome, withTimeout, type Outcome, type Send } from './delivery.js';

export interface OtlpTransportOptions {
  /** http(s)://host:port; HTTP posts to its path + /v1/metrics. */
  endpoint: string;
  protocol: 'grpc' | 'http/protobuf';
  headers?: Readonly<Record<string, string>>;
  /** Timeout of one export, ms (default 10 s). */
  timeoutMs?: number;
  /** `spanmeter/<version>`. */
  userAgent: string;
}

export interface OtlpSender {
  /** Where the exports go: the URL (HTTP) or host:port (gRPC). */
  target: string;
  send: Send;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** The URL OTLP/HTTP metrics are posted to: the endpoint's path + /v1/metrics (kept if already there). */
export function metricsUrl(endpoint: string): string {
  const u = new URL(endpoint);
  const path = u.pathname.replace(/\/+$/, '');
  u.pathname = path.endsWith('/v1/metrics') ? path : `${path}/v1/metrics`;
  return u.toString();
}

/** A partial success in an ExportMetricsServiceResponse, as a warning; undefined if none. */
function partialSuccessWarning(body: Uint8Array): string | undefined {
  if (body.length === 0) return undefined;
  try {
    const res = ExportMetricsServiceResponse.decode(body) as unknown as {
      partialSuccess?: { rejectedDataPoints?: number | { toNumber(): number }; errorMessage?: string } | null;
    };
    const ps = res.partialSuccess;
    if (!ps) return undefined;
    const rejected = typeof ps.rejectedDataPoints === 'number' ? ps.rejectedDataPoints : (ps.rejectedDataPoints?.toNumber() ?? 0);
    if (rejected === 0 && !ps.errorMessage) return undefined;
    return `partial success: ${rejected} data points rejected${ps.errorMessage ? `: ${ps.errorMessage}` : ''}`;
  } catch {
    return undefined;
  }
}

export function createOtlpSender(options: OtlpTransportOptions): OtlpSender {
  return options.protocol === 'grpc' ? grpcSender(options) : httpSender(options);
}

function httpSender(options: OtlpTransportOptions): OtlpSender {
  const url = metricsUrl(options.endpoint);
  const headers = { ...options.headers, 'Content-Type': 'application/x-protobuf', 'User-Agent': options.userAgent };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    target: url,
    close: () => {},
    async send(body, shutdown) {
      const t = withTimeout(shutdown, timeoutMs);
      try {
        const res = await fetch(url, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer>, signal: t.signal });
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (res.ok) {
          const warning = partialSuccessWarning(bytes);
          return { ok: true, code: String(res.status), ...(warning ? { warning } : {}) };
        }
        const text = Buffer.from(bytes.subarray(0, 512)).toString('utf8').trim();
        return httpOutcome(res.status, res.headers.get('retry-after'), text);
      } catch (err) {
        return fetchErrorOutcome(err, t.timedOut());
      } finally {
        t.clear();
      }
    },
  };
}

/** gRPC codes worth retrying (the OTLP specification's list; RESOURCE_EXHAUSTED only with RetryInfo). */
const RETRYABLE = new Set([
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.OUT_OF_RANGE,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

/** The RetryInfo delay in a status's details (grpc-status-details-bin), ms. */
function retryDelayMs(metadata: grpc.Metadata | undefined): number | undefined {
  const raw = metadata?.get('grpc-status-details-bin')[0];
  if (!raw || typeof raw === 'string') return undefined;
  try {
    const status = RpcStatus.decode(raw) as unknown as { details: { typeUrl: string; value: Uint8Array }[] };
    for (const d of status.details) {
      if (!d.typeUrl.endsWith('/google.rpc.RetryInfo')) continue;
      const info = RpcRetryInfo.decode(d.value) as unknown as {
        retryDelay?: { seconds?: number | { toNumber(): number }; nanos?: number } | null;
      };
      const s = info.retryDelay?.seconds;
      const seconds = typeof s === 'number' ? s : (s?.toNumber() ?? 0);
      return seconds * 1000 + Math.round((info.retryDelay?.nanos ?? 0) / 1e6);
    }
  } catch {
    /* no usable details */
  }
  return undefined;
}

/** "host:port" for a gRPC channel from an http(s) URL (default port 80 / 443). */
export function grpcTarget(endpoint: string): { target: string; secure: boolean } {
  const u = new URL(endpoint);
  const secure = u.protocol === 'https:';
  return { target: `${u.hostname}:${u.port || (secure ? '443' : '80')}`, secure };
}

function grpcSender(options: OtlpTransportOptions): OtlpSender {
  const { target, secure } = grpcTarget(options.endpoint);
  const client = new grpc.Client(target, secure ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(), {
    'grpc.primary_user_agent': options.userAgent,
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const identity = (b: Buffer): Buffer => b;
  return {
    target,
    close: () => client.close(),
    send(body, shutdown) {
      return new Promise<Outcome>((resolve) => {
        if (shutdown.aborted) {
          resolve({ ok: false, retry: false, code: 'CANCELLED', message: 'shutting down' });
          return;
        }
        const metadata = new grpc.Metadata();
        for (const [k, v] of Object.entries(options.headers ?? {})) metadata.set(k, v);
        const call = client.makeUnaryRequest<Buffer, Buffer>(
          METRICS_SERVICE_EXPORT_PATH,
          identity,
          identity,
          Buffer.from(body.buffer, body.byteOffset, body.byteLength),
          metadata,
          { deadline: Date.now() + timeoutMs },
          (err, response) => {
            shutdown.removeEventListener('abort', cancel);
            if (!err) {
              const warning = response ? partialSuccessWarning(response) : undefined;
              resolve({ ok: true, code: 'OK', ...(warning ? { warning } : {}) });
              return;
            }
            const code = err.code ?? grpc.status.UNKNOWN;
            const delay = retryDelayMs(err.metadata);
            const retry = RETRYABLE.has(code) || (code === grpc.status.RESOURCE_EXHAUSTED && delay !== undefined);
            resolve({
              ok: false,
              retry,
              code: grpc.status[code] ?? String(code),
              message: err.details || err.message,
              ...(delay !== undefined ? { retryAfterMs: delay } : {}),
            });
          },
        );
        const cancel = (): void => call.cancel();
        shutdown.addEventListener('abort', cancel, { once: true });
      });
    },
  };
}
