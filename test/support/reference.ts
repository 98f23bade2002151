// The reference decoder: protobufjs full decode, flattened into one record per span with the
// facts the core extracts. Tests hold the WASM core's wire walk against it, so it favours
// obviousness over speed. Attribute semantics follow Tempo's metrics-generator: the first
// attribute with a given key wins (FindAttributeValue), and values become label text the way
// Tempo's StringifyAnyValue does (formatAttributeValue).
import protobuf from 'protobufjs';
import { OtlpError } from '../../src/otlp/errors.js';
import {
  ExportTraceServiceRequest,
  type LongLike,
  type PbAnyValue,
  type PbExportTraceServiceRequest,
  type PbKeyValue,
} from '../../src/otlp/messages.js';

export type RefValue =
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint }
  | { kind: 'double'; value: number }
  | { kind: 'bytes'; value: Uint8Array }
  | { kind: 'array'; values: RefValue[] }
  | { kind: 'kvlist'; values: { key: string; value: RefValue }[] }
  /** An AnyValue with no member set, or a KeyValue without a value. */
  | { kind: 'empty' };

export interface RefSpan {
  /** First resource attribute `service.name`, formatted as a label value; undefined if absent. */
  service: string | undefined;
  resourceAttributes: Map<string, RefValue>;
  name: string;
  kind: number;
  statusCode: number;
  statusMessage: string;
  /** start/end_time_unix_nano, exact. */
  start: bigint;
  end: bigint;
  /** Lower-case hex; "" when the field is empty or absent. */
  traceId: string;
  spanId: string;
  parentSpanId: string;
  /** Byte length of the Span message as received (the payload of its length-delimited field). */
  size: number;
  attributes: Map<string, RefValue>;
}

function toHex(b: Uint8Array | undefined): string {
  return b === undefined || b.length === 0 ? '' : Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

function toBigInt(v: LongLike | number | undefined, signed: boolean): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return signed ? BigInt.asIntN(64, bits) : bits;
}

function toRefValue(v: PbAnyValue | null | undefined): RefValue {
  switch (v?.value) {
    case 'stringValue':
      return { kind: 'string', value: v.stringValue ?? '' };
    case 'boolValue':
      return { kind: 'bool', value: v.boolValue ?? false };
    case 'intValue':
      return { kind: 'int', value: toBigInt(v.intValue, true) };
    case 'doubleValue':
      return { kind: 'double', value: v.doubleValue ?? 0 };
    case 'bytesValue':
      return { kind: 'bytes', value: v.bytesValue ?? new Uint8Array(0) };
    case 'arrayValue':
      return { kind: 'array', values: (v.arrayValue?.values ?? []).map(toRefValue) };
    case 'kvlistValue':
      return { kind: 'kvlist', values: (v.kvlistValue?.values ?? []).map((kv) => ({ key: kv.key, value: toRefValue(kv.value) })) };
    default:
      return { kind: 'empty' };
  }
}

function toAttributeMap(kvs: PbKeyValue[] | undefined): Map<string, RefValue> {
  const m = new Map<string, RefValue>();
  for (const kv of kvs ?? []) if (!m.has(kv.key)) m.set(kv.key, toRefValue(kv.value));
  return m;
}

/**
 * Calls fn with the [start, end) of each length-delimited occurrence of field `field` in
 * buf[start, end). Fields with another wire type are skipped, as protobufjs skips them.
 */
function eachLenField(buf: Uint8Array, start: number, end: number, field: number, fn: (s: number, e: number) => void): void {
  const r = protobuf.Reader.create(buf.subarray(start, end));
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === field && (tag & 7) === 2) {
      const len = r.uint32();
      fn(start + r.pos, start + r.pos + len);
      r.skip(len);
    } else {
      r.skipType(tag & 7);
    }
  }
}

/** Sizes of every Span message in wire order: request.1 → ResourceSpans.2 → ScopeSpans.2. */
function spanSizes(buf: Uint8Array): number[] {
  const sizes: number[] = [];
  eachLenField(buf, 0, buf.length, 1, (s1, e1) =>
    eachLenField(buf, s1, e1, 2, (s2, e2) => eachLenField(buf, s2, e2, 2, (s3, e3) => sizes.push(e3 - s3))),
  );
  return sizes;
}

/** Decodes an ExportTraceServiceRequest into one RefSpan per span, in input order. */
export function referenceDecode(bytes: Uint8Array): RefSpan[] {
  let req: PbExportTraceServiceRequest;
  try {
    req = ExportTraceServiceRequest.decode(bytes) as unknown as PbExportTraceServiceRequest;
  } catch (err) {
    throw new OtlpError('bad_request', `invalid protobuf ExportTraceServiceRequest: ${(err as Error).message}`);
  }
  const sizes = spanSizes(bytes);

  const out: RefSpan[] = [];
  for (const rs of req.resourceSpans) {
    const resourceAttributes = toAttributeMap(rs.resource?.attributes);
    const svc = resourceAttributes.get('service.name');
    const service = svc === undefined ? undefined : formatAttributeValue(svc);
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        out.push({
          service,
          resourceAttributes,
          name: span.name,
          kind: span.kind,
          statusCode: span.status?.code ?? 0,
          statusMessage: span.status?.message ?? '',
          start: toBigInt(span.startTimeUnixNano, false),
          end: toBigInt(span.endTimeUnixNano, false),
          traceId: toHex(span.traceId),
          spanId: toHex(span.spanId),
          parentSpanId: toHex(span.parentSpanId),
          size: sizes[out.length] ?? -1,
          attributes: toAttributeMap(span.attributes),
        });
      }
    }
  }
  // Both walks visit repeated fields in wire order, so they must agree span for span.
  if (sizes.length !== out.length) throw new Error(`reference decoder: ${out.length} spans decoded but ${sizes.length} span fields found`);
  return out;
}

/**
 * A double as Go's strconv.FormatFloat(v, 'f', -1, 64) writes it: the shortest digits that
 * round-trip (which Number#toString also produces), in plain decimal without an exponent.
 */
export function formatDouble(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const sign = v < 0 ? '-' : '';
  const s = String(Math.abs(v));
  const m = /^(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return sign + s;
  const digits = m[1]! + (m[2] ?? '');
  const point = m[1]!.length + Number(m[3]); // digits before the decimal point
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** An attribute value as Tempo turns it into a label value (pkg/util StringifyAnyValue). */
export function formatAttributeValue(v: RefValue): string {
  switch (v.kind) {
    case 'string':
      return v.value;
    case 'int':
      return v.value.toString();
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'double':
      return formatDouble(v.value);
    case 'array': {
      let s = '[';
      for (const e of v.values) s += formatAttributeValue(e);
      return s + ']';
    }
    case 'kvlist': {
      let s = '{';
      for (const kv of v.values) s += kv.key + ':' + formatAttributeValue(kv.value);
      return s + '}';
    }
    case 'bytes':
    case 'empty':
      return '';
  }
}
