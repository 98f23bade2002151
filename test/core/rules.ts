// The reference decoder as the core tests use it: protobufjs, with proto3's UTF-8 verification relaxed
// where the design says the core accepts anything; and the rules the core enforces beyond protobufjs,
// checked independently, with the failure reason the core must give.
import protobuf from 'protobufjs';
import { referenceDecode, type RefSpan } from '../support/reference.js';
import { otlpRoot, ExportTraceServiceRequest } from '../../src/otlp/messages.js';

// The reference: protobufjs, with proto3's UTF-8 verification relaxed where the design says the
// core accepts anything (invalid bytes become U+FFFD, as a TextDecoder turns them).

const readerProto = protobuf.Reader.prototype as unknown as { string: () => string; stringVerify: () => string };
const looseString = readerProto.string;

export type ReferenceResult =
  | { ok: true; spans: RefSpan[]; /** false when some string held invalid UTF-8 */ utf8Valid: boolean }
  | { ok: false; error: string };

export function decodeReference(bytes: Uint8Array): ReferenceResult {
  try {
    return { ok: true, spans: referenceDecode(bytes), utf8Valid: true };
  } catch (strictErr) {
    const saved = readerProto.stringVerify;
    readerProto.stringVerify = looseString;
    try {
      return { ok: true, spans: referenceDecode(bytes), utf8Valid: false };
    } catch {
      return { ok: false, error: (strictErr as Error).message };
    } finally {
      readerProto.stringVerify = saved;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The core's documented rules beyond protobufjs, checked independently with protobufjs's
// reflection of the OTLP schema: a known field with the wrong wire type, a span's trace_id /
// span_id / parent_span_id of the wrong length, nesting 64 deep. Only meaningful on input that
// protobufjs decodes. Returns the first violation in wire order, with the reason the core must give.

export const FAILURE_TEXT = {
  truncated: 'truncated data',
  varint: 'varint overflows 64 bits',
  wireType: 'invalid wire type',
  fieldWireType: 'wrong wire type for a known field',
  length: 'length runs past the end of its message',
  depth: 'nesting deeper than 64 levels',
  idLength: 'wrong id length (trace_id must be 16 bytes, span_id and parent_span_id 8, or empty)',
  group: 'unmatched group end',
  fieldZero: 'field number 0',
} as const;

export interface RuleViolation {
  rule: 'fieldWireType' | 'idLength' | 'depth' | 'varint';
  reason: string;
}

otlpRoot.resolveAll();

const coreMessageName = (t: protobuf.Type): string => (t.name === 'Event' ? 'Span.Event' : t.name === 'Link' ? 'Span.Link' : t.name);
const snake = (camel: string): string => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function wireTypeOf(field: protobuf.Field): number {
  if (field.resolvedType instanceof protobuf.Type) return 2;
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  switch (field.type) {
    case 'string': case 'bytes': return 2;
    case 'double': case 'fixed64': case 'sfixed64': return 1;
    case 'float': case 'fixed32': case 'sfixed32': return 5;
    default: return 0;
  }
}

function where(type: protobuf.Type, field: number): string {
  if (field === 0) return ` in ${coreMessageName(type)}`;
  const f = type.fieldsById[field];
  return f ? ` in ${coreMessageName(type)}.${snake(f.name)} (field ${field})` : ` in ${coreMessageName(type)} field ${field}`;
}

// Messages the core walks itself (no depth count); everything below them that it only validates
// counts depth from 1.
const WALKED = new Set(['ExportTraceServiceRequest', 'ResourceSpans', 'Resource', 'ScopeSpans', 'Span', 'Status']);
const SPAN_ID_LENGTHS: Record<number, number> = { 1: 16, 2: 8, 4: 8 };
const MAX_DEPTH = 64;

class Stop extends Error {
  constructor(readonly violation: RuleViolation) {
    super(violation.reason);
  }
}

export function findRuleViolation(buf: Uint8Array): RuleViolation | null {
  const violation = (rule: RuleViolation['rule'], type: protobuf.Type | null, field: number, at: number): never => {
    throw new Stop({ rule, reason: `invalid protobuf: ${FAILURE_TEXT[rule]}${type ? where(type, field) : ''} at byte ${at}` });
  };
  let p = 0;
  // protobufjs reads past 64 bits (an 11-byte varint, or a 10th byte above 1); Go and the core do not.
  const readVarint = (): number => {
    let x = 0;
    let mul = 1;
    for (let i = 1; ; i++) {
      const b = buf[p++]!;
      if (i === 10 && b > 1) violation('varint', null, 0, p);
      x += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return x;
    }
  };
  const skip = (type: protobuf.Type, wt: number, field: number, depth: number): void => {
    switch (wt) {
      case 0: readVarint(); break;
      case 1: p += 8; break;
      case 5: p += 4; break;
      case 2: { const n = readVarint(); p += n; break; }
      case 3: {
        if (depth >= MAX_DEPTH) violation('depth', type, field, p);
        for (;;) {
          const t = readVarint();
          if (t % 8 === 4) return;
          skip(type, t % 8, Math.floor(t / 8), depth + 1);
        }
      }
      default: throw new Error(`wire type ${wt} in input protobufjs accepted`);
    }
  };
  // `depth` is null for the messages the core walks, else the validator's depth.
  const walk = (type: protobuf.Type, end: number, depth: number | null): void => {
    while (p < end) {
      const t = readVarint();
      const fieldNo = Math.floor(t / 8);
      const wt = t % 8;
      const field = type.fieldsById[fieldNo];
      if (!field) {
        skip(type, wt, fieldNo, depth ?? 0);
        continue;
      }
      if (wt !== wireTypeOf(field)) violation('fieldWireType', type, fieldNo, p);
      if (wt !== 2) {
        skip(type, wt, fieldNo, depth ?? 0);
        continue;
      }
      const n = readVarint();
      const subEnd = p + n;
      if (type.name === 'Span' && SPAN_ID_LENGTHS[fieldNo] && n !== 0 && n !== SPAN_ID_LENGTHS[fieldNo]) violation('idLength', type, fieldNo, p);
      const sub = field.resolvedType;
      if (sub instanceof protobuf.Type) {
        let subDepth: number | null;
        if (depth !== null) subDepth = depth + 1;
        else if (WALKED.has(sub.name)) subDepth = null;
        else if (sub.name === 'KeyValue') subDepth = null; // span and resource attributes: walked
        else subDepth = 1;
        if (subDepth !== null && subDepth >= MAX_DEPTH) violation('depth', sub, 0, p);
        walk(sub, subEnd, subDepth);
      }
      p = subEnd;
    }
  };
  try {
    walk(ExportTraceServiceRequest, buf.length, null);
    return null;
  } catch (e) {
    if (e instanceof Stop) return e.violation;
    throw e;
  }
}

/** The documented failure of a reason string, or undefined. */
export function failureOf(reason: string): keyof typeof FAILURE_TEXT | undefined {
  for (const [k, text] of Object.entries(FAILURE_TEXT)) if (reason.startsWith(`invalid protobuf: ${text}`)) return k as keyof typeof FAILURE_TEXT;
  return undefined;
}
