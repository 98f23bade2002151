// The OTLP objects the workload builds, in the shape protobufjs encodes as an
// ExportTraceServiceRequest: attributes, spans, their kinds and status codes, times in nanoseconds.

export const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;
export const STATUS_UNSET = 0;
export const STATUS_ERROR = 2;

export interface KV {
  key: string;
  value: AnyValueObj;
}
export type AnyValueObj = { stringValue: string } | { intValue: number } | { boolValue: boolean } | { doubleValue: number };

export const str = (key: string, v: string): KV => ({ key, value: { stringValue: v } });
export const int = (key: string, v: number): KV => ({ key, value: { intValue: v } });
export const bool = (key: string, v: boolean): KV => ({ key, value: { boolValue: v } });

export interface LongBits {
  low: number;
  high: number;
  unsigned: boolean;
}

export interface SpanObj {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId?: Uint8Array;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: LongBits;
  endTimeUnixNano: LongBits;
  attributes: KV[];
  events?: { timeUnixNano: LongBits; name: string; attributes: KV[] }[];
  status?: { code: number; message?: string };
}

export const EPOCH_NS = 1_760_000_000_000_000_000n;

export function nanos(ms: number): LongBits {
  const v = EPOCH_NS + BigInt(Math.round(ms * 1e6));
  return { low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0, unsigned: true };
}
