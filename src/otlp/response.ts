// Bodies the receivers send back: ExportTraceServiceResponse on success (with partial success
// when spans were rejected) and google.rpc.Status on errors, in the request's own encoding as
// OTLP/HTTP requires. JSON is written by hand: these shapes are tiny and fixed, and OTLP/JSON
// wants int64 as a decimal string and proto3 defaults left out. Protobuf is written by hand too
// (proto3: fields at their default left out, as protobufjs writes them): the receivers then do
// not load protobufjs and the OTLP schema (some 2 MB of the sidecar's resident memory).

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

/** A protobuf message being written: tag, varint and length-delimited fields. */
class PbWriter {
  readonly bytes: number[] = [];

  varint(v: number): this {
    // int32 negatives are 10-byte two's complement varints (protobuf encoding spec).
    if (v < 0) {
      let b = BigInt.asUintN(64, BigInt(v));
      while (b >= 0x80n) {
        this.bytes.push(Number(b & 0x7fn) | 0x80);
        b >>= 7n;
      }
      this.bytes.push(Number(b));
      return this;
    }
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
    return this;
  }

  /** A varint field, left out at 0. */
  uint(field: number, v: number): this {
    return v === 0 ? this : this.varint(field << 3).varint(v);
  }

  /** A length-delimited field (bytes or a message). */
  len(field: number, b: ArrayLike<number>): this {
    this.varint((field << 3) | 2).varint(b.length);
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]!);
    return this;
  }

  /** A string field, left out when empty. */
  str(field: number, s: string): this {
    return s === '' ? this : this.len(field, utf8.encode(s));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

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
  // partial_success (1) { rejected_spans (1) int64, error_message (2) string }
  return new PbWriter().len(1, new PbWriter().uint(1, rejected).str(2, message).bytes).finish();
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

  // google.rpc.Status { code (1) int32, message (2) string, details (3) repeated Any }
  const status = new PbWriter().uint(1, code).str(2, message);
  if (delay !== undefined) {
    // RetryInfo { retry_delay (1) Duration { seconds (1) int64, nanos (2) int32 } }
    const retryInfo = new PbWriter().len(1, new PbWriter().uint(1, delay.seconds).uint(2, delay.nanos).bytes);
    // Any { type_url (1) string, value (2) bytes }
    status.len(3, new PbWriter().str(1, RETRY_INFO_TYPE_URL).len(2, retryInfo.bytes).bytes);
  }
  return status.finish();
}
