// Bodies the receivers send back: ExportTraceServiceResponse on success (with partial success
// when spans were rejected) and google.rpc.Status on errors, in the request's own encoding as
// OTLP/HTTP requires. JSON is written by hand: these shapes are tiny and fixed, and OTLP/JSON
// wants int64 as a decimal string and proto3 defaults left out.
import { ExportTraceServiceResponse, RpcRetryInfo, RpcStatus } from './messages.js';

export type ResponseFormat = 'protobuf' | 'json';

export interface PartialSuccess {
  /** Spans the server did not accept; 0 with a message is a warning (OTLP spec). */
  rejectedSpans: number;
  errorMessage: string;
}

export interface StatusOptions {
  /** Adds a google.rpc.RetryInfo detail asking the client to wait this long before retrying. */
  retryDelayMs?: number;
}

const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

function checkCount(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`rejectedSpans must be a non-negative integer, got ${n}`);
}

/** An ExportTraceServiceResponse; empty (`{}` in JSON) unless `partial` carries something. */
export function encodeExportResponse(format: ResponseFormat, partial?: PartialSuccess): Uint8Array {
  const rejected = partial?.rejectedSpans ?? 0;
  const message = partial?.errorMessage ?? '';
  checkCount(rejected);
  const hasPartial = rejected !== 0 || message !== '';

  if (format === 'json') {
    if (!hasPartial) return utf8.encode('{}');
    const ps: Record<string, string> = {};
    if (rejected !== 0) ps.rejectedSpans = String(rejected); // int64 → decimal string
    if (message !== '') ps.errorMessage = message;
    return utf8.encode(JSON.stringify({ partialSuccess: ps }));
  }
  if (!hasPartial) return EMPTY;
  return ExportTraceServiceResponse.encode({ partialSuccess: { rejectedSpans: rejected, errorMessage: message } }).finish();
}

function splitDelay(ms: number): { seconds: number; nanos: number } {
  const total = Math.max(0, Math.round(ms));
  return { seconds: Math.floor(total / 1000), nanos: (total % 1000) * 1_000_000 };
}

/** A google.rpc.Status, the body of OTLP/HTTP error responses (and gRPC status details). */
export function encodeStatus(format: ResponseFormat, code: number, message: string, options: StatusOptions = {}): Uint8Array {
  const delay = options.retryDelayMs === undefined ? undefined : splitDelay(options.retryDelayMs);

  if (format === 'json') {
    const status: Record<string, unknown> = {};
    if (code !== 0) status.code = code;
    if (message !== '') status.message = message;
    if (delay !== undefined) {
      // google.protobuf.Duration in JSON: seconds with a fraction of 0, 3, 6 or 9 digits, then "s".
      const frac = delay.nanos === 0 ? '' : `.${String(delay.nanos / 1_000_000).padStart(3, '0')}`;
      status.details = [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: `${delay.seconds}${frac}s` }];
    }
    return utf8.encode(JSON.stringify(status));
  }

  const msg: Record<string, unknown> = { code, message };
  if (delay !== undefined) {
    msg.details = [{ typeUrl: RETRY_INFO_TYPE_URL, value: RpcRetryInfo.encode({ retryDelay: delay }).finish() }];
  }
  return RpcStatus.encode(msg).finish();
}
