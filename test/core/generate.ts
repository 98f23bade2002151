// Random OTLP ExportTraceServiceRequests (plain objects for protobufjs) and random mutations of
// their encoding, all driven by a seeded Prng (test/support/prng.ts) so every run sees the same inputs.
import {
  InstrumentationScope,
  Resource,
  Span,
} from '../../src/otlp/messages.js';
import type { Prng } from '../support/prng.js';
import { type Bytes, encode, fLen, i64, tag, u64, varint } from './helpers.js';

export interface GenOptions {
  maxResources: number;
  maxScopes: number;
  maxSpans: number;
  maxAttributes: number;
  /** Nesting of array/kvlist attribute values. */
  maxValueDepth: number;
  /** Probability that a string is made long (over the 2048-byte label limit). */
  longStrings: number;
}

export const SMALL: GenOptions = { maxResources: 2, maxScopes: 2, maxSpans: 3, maxAttributes: 3, maxValueDepth: 2, longStrings: 0 };
export const FULL: GenOptions = { maxResources: 3, maxScopes: 3, maxSpans: 6, maxAttributes: 5, maxValueDepth: 3, longStrings: 0.03 };

// Characters that stress label handling: escapes, multi-byte UTF-8 of every length, the edges
// of each UTF-8 length, NUL, a byte-order mark, U+FFFD, and lone surrogates (which protobufjs
// writes as invalid UTF-8).
const CHARS = [
  'a', 'b', 'c', 'x', 'y', 'z', 'A', 'Q', '0', '7', ' ', '-', '_', '/', '.', ':', '{', '}', '[', ']', '=', ',',
  '\\', '"', '\n', '\t', '\r', 'é', 'ß', 'Ω', '日', '本', '😀', '\u0000', '\u007f', '\u0080', '\u07ff', '\u0800',
  '\uffff', '\u{10000}', '\u{10ffff}', '\ufffd', '\ufeff',
];
const LONE_SURROGATES = ['\ud800', '\udfff'];
const NAMES = ['GET /api/users', 'SELECT users', 'process', 'span', 'HTTP POST', 'db.query', 'é', 'a"b\\c'];
export const ATTRIBUTE_KEYS = ['http.method', 'peer.service', 'service.name', 'db.system', 'attr', 'other', 'x', ''];
const STRING_VALUES = ['GET', 'POST', 'postgresql', 'svc-a', 'svc-b', '', 'line\nbreak', 'quote"', 'back\\slash'];
const INTS = [0n, 1n, -1n, 42n, 9007199254740993n, -9007199254740993n, 9223372036854775807n, -9223372036854775808n, 18446744073709551615n];
const DOUBLES = [
  0, -0, 1, -1.5, 0.1, 0.30000000000000004, 1 / 3, 1e-7, 1.5e-7, 1e21, 1.5e21, 123.456, 1e-300, 5e-324,
  1.7976931348623157e308, 2 ** 53, 2 ** 53 + 2, NaN, Infinity, -Infinity, 251527280.93063354,
];
const KINDS = [0, 1, 2, 3, 4, 5, 9];
const DEFAULT_BOUND_NS = 2_000_000n;

export function randomString(rng: Prng, maxLen = 12, longP = 0): string {
  if (rng.chance(longP)) {
    // Around the 2048-byte limit, with multi-byte characters straddling it.
    const unit = rng.pick(['a', 'é', '日', '😀', 'ab', 'aé']);
    const bytes = new TextEncoder().encode(unit).length;
    return unit.repeat(Math.ceil((2040 + rng.below(40)) / bytes)) + randomString(rng, 4);
  }
  const n = rng.chance(0.1) ? 0 : rng.int(1, maxLen);
  let s = '';
  for (let i = 0; i < n; i++) {
    s += rng.chance(0.6) ? rng.pick(CHARS.slice(0, 10)) : rng.chance(0.99) ? rng.pick(CHARS) : rng.pick(LONE_SURROGATES);
  }
  return s;
}

function randomInt(rng: Prng): bigint {
  return rng.chance(0.5) ? rng.pick(INTS) : rng.chance(0.5) ? BigInt(rng.int(-1000, 1000)) : BigInt.asIntN(64, rng.u64());
}

function randomDouble(rng: Prng): number {
  switch (rng.below(4)) {
    case 0: return rng.pick(DOUBLES);
    case 1: {
      const dv = new DataView(new ArrayBuffer(8));
      dv.setUint32(0, rng.u32());
      dv.setUint32(4, rng.u32());
      return dv.getFloat64(0);
    }
    case 2: return rng.below(1_000_000) / 1000;
    default: return (rng.next() - 0.5) * 10 ** rng.int(-30, 30);
  }
}

/** An AnyValue object; `depth` bounds array/kvlist nesting. */
export function randomAnyValue(rng: Prng, depth: number, o: GenOptions): object {
  switch (rng.below(depth > 0 ? 9 : 7)) {
    case 0:
    case 1: return { stringValue: rng.chance(0.5) ? rng.pick(STRING_VALUES) : randomString(rng, 10, o.longStrings) };
    case 2: return { boolValue: rng.chance(0.5) };
    case 3: return { intValue: i64(randomInt(rng)) };
    case 4: return { doubleValue: randomDouble(rng) };
    case 5: return { bytesValue: rng.bytes(rng.below(5)) };
    case 6: return {};
    case 7: return { arrayValue: { values: Array.from({ length: rng.below(4) }, () => randomAnyValue(rng, depth - 1, o)) } };
    default: return { kvlistValue: { values: Array.from({ length: rng.below(4) }, () => randomKeyValue(rng, depth - 1, o)) } };
  }
}

export function randomKeyValue(rng: Prng, depth: number, o: GenOptions): object {
  const key = rng.chance(0.85) ? rng.pick(ATTRIBUTE_KEYS) : randomString(rng, 6);
  return rng.chance(0.05) ? { key } : { key, value: randomAnyValue(rng, depth, o) };
}

function randomAttributes(rng: Prng, o: GenOptions): object[] {
  return Array.from({ length: rng.below(o.maxAttributes + 1) }, () => randomKeyValue(rng, o.maxValueDepth, o));
}

function randomTimes(rng: Prng): [bigint, bigint] {
  const base = 1_700_000_000_000_000_000n + BigInt(rng.u32()) * 1000n + BigInt(rng.below(1000));
  switch (rng.below(12)) {
    case 0: return [base, base];
    case 1: return [base, base + BigInt(rng.below(2_000_000))];
    case 2: return [base, base + (DEFAULT_BOUND_NS << BigInt(rng.below(14)))]; // exactly on a default bound
    case 3: return [base, base + (DEFAULT_BOUND_NS << BigInt(rng.below(14))) + 1n];
    case 4: return [base, base - BigInt(rng.u32())]; // ends before it starts
    case 5: return [0n, 18446744073709551615n]; // huge
    case 6: return [base, 0n];
    case 7: return [0n, 0n];
    case 8: return [rng.u64(), rng.u64()];
    default: return [base, base + BigInt(Math.floor(rng.next() ** 3 * 30e9))];
  }
}

function maybe<T>(rng: Prng, p: number, v: () => T): T | undefined {
  return rng.chance(p) ? v() : undefined;
}

function randomSpan(rng: Prng, o: GenOptions): object {
  const [start, end] = randomTimes(rng);
  return {
    traceId: rng.chance(0.85) ? rng.bytes(16) : rng.chance(0.5) ? new Uint8Array(0) : undefined,
    spanId: rng.chance(0.85) ? rng.bytes(8) : new Uint8Array(0),
    parentSpanId: rng.chance(0.5) ? rng.bytes(8) : undefined,
    traceState: maybe(rng, 0.2, () => randomString(rng, 8)),
    name: rng.chance(0.6) ? rng.pick(NAMES) : randomString(rng, 12, o.longStrings),
    kind: rng.pick(KINDS),
    startTimeUnixNano: start === 0n && rng.chance(0.5) ? undefined : u64(start),
    endTimeUnixNano: end === 0n && rng.chance(0.5) ? undefined : u64(end),
    attributes: randomAttributes(rng, o),
    droppedAttributesCount: maybe(rng, 0.1, () => rng.u32()),
    events: Array.from({ length: rng.below(3) }, () => ({
      timeUnixNano: u64(rng.u64()),
      name: randomString(rng, 6),
      attributes: randomAttributes(rng, o),
      droppedAttributesCount: maybe(rng, 0.2, () => rng.below(10)),
    })),
    droppedEventsCount: maybe(rng, 0.1, () => rng.below(100)),
    links: Array.from({ length: rng.below(3) }, () => ({
      traceId: rng.bytes(16),
      spanId: rng.bytes(8),
      traceState: maybe(rng, 0.3, () => randomString(rng, 6)),
      attributes: randomAttributes(rng, o),
      droppedAttributesCount: maybe(rng, 0.2, () => rng.below(10)),
      flags: maybe(rng, 0.5, () => rng.u32()),
    })),
    droppedLinksCount: maybe(rng, 0.1, () => rng.below(100)),
    status: maybe(rng, 0.7, () => ({
      code: rng.chance(0.03) ? 3 : rng.below(3),
      message: rng.chance(0.4) ? randomString(rng, 10, o.longStrings) : undefined,
    })),
    flags: maybe(rng, 0.3, () => rng.u32()),
  };
}

function randomResource(rng: Prng, o: GenOptions): object {
  const attributes: object[] = [];
  const r = rng.next();
  if (r < 0.85) attributes.push({ key: 'service.name', value: { stringValue: rng.chance(0.7) ? rng.pick(['checkout', 'cart', 'db', '']) : randomString(rng, 10, o.longStrings) } });
  else if (r < 0.92) attributes.push({ key: 'service.name', value: randomAnyValue(rng, 1, o) }); // not a string
  attributes.push(...randomAttributes(rng, o));
  if (rng.chance(0.2)) attributes.unshift(...randomAttributes(rng, o));
  return { attributes, droppedAttributesCount: maybe(rng, 0.1, () => rng.below(5)) };
}

export function randomRequest(rng: Prng, o: GenOptions): { resourceSpans: object[] } {
  return {
    resourceSpans: Array.from({ length: rng.int(rng.chance(0.03) ? 0 : 1, o.maxResources) }, () => ({
      resource: maybe(rng, 0.95, () => randomResource(rng, o)),
      scopeSpans: Array.from({ length: rng.int(1, o.maxScopes) }, () => ({
        scope: maybe(rng, 0.7, () => ({
          name: randomString(rng, 8),
          version: maybe(rng, 0.5, () => randomString(rng, 4)),
          attributes: randomAttributes(rng, o),
          droppedAttributesCount: maybe(rng, 0.1, () => rng.below(5)),
        })),
        spans: Array.from({ length: rng.below(o.maxSpans + 1) }, () => randomSpan(rng, o)),
        schemaUrl: maybe(rng, 0.2, () => randomString(rng, 10)),
      })),
      schemaUrl: maybe(rng, 0.2, () => randomString(rng, 10)),
    })),
  };
}

/** An unknown field (number above every OTLP field) of any wire type, groups nested. */
export function unknownField(rng: Prng, depth = 0): Bytes {
  const field = rng.pick([17, 18, 31, 100, 1000, 536870911]);
  switch (rng.below(depth < 3 ? 5 : 4)) {
    case 0: return [...tag(field, 0), ...varint(rng.chance(0.5) ? rng.below(300) : rng.u64())];
    case 1: return [...tag(field, 1), ...rng.bytes(8)];
    case 2: return fLen(field, rng.bytes(rng.below(6)));
    case 3: return [...tag(field, 5), ...rng.bytes(4)];
    default: {
      const inner = Array.from({ length: rng.below(3) }, () => unknownField(rng, depth + 1)).flat();
      return [...tag(field, 3), ...inner, ...tag(field, 4)];
    }
  }
}

const maybeUnknown = (rng: Prng): Bytes => (rng.chance(0.3) ? unknownField(rng) : []);

/**
 * Encodes the request the way another encoder might: fields of ResourceSpans out of order and
 * unknown fields of every wire type (groups included) in the request, ResourceSpans, ScopeSpans
 * and spans. Spans stay in order.
 */
export function encodeWithUnknownFields(rng: Prng, req: { resourceSpans: object[] }): Uint8Array {
  const out: Bytes = [...maybeUnknown(rng)];
  for (const rs of req.resourceSpans as { resource?: object; scopeSpans: { scope?: object; spans: object[] }[] }[]) {
    const resource = rs.resource ? fLen(1, Resource.encode(rs.resource).finish()) : [];
    const scopes: Bytes = [];
    for (const ss of rs.scopeSpans) {
      const body: Bytes = [...maybeUnknown(rng)];
      if (ss.scope) body.push(...fLen(1, InstrumentationScope.encode(ss.scope).finish()));
      for (const span of ss.spans) body.push(...fLen(2, [...Span.encode(span).finish(), ...maybeUnknown(rng)]), ...maybeUnknown(rng));
      scopes.push(...fLen(2, body));
    }
    const body = rng.chance(0.3) ? [...scopes, ...maybeUnknown(rng), ...resource] : [...resource, ...maybeUnknown(rng), ...scopes];
    out.push(...fLen(1, body), ...maybeUnknown(rng));
  }
  return new Uint8Array(out);
}

export function encodeRandomly(rng: Prng, req: { resourceSpans: object[] }): Uint8Array {
  return rng.chance(0.5) ? encode(req) : encodeWithUnknownFields(rng, req);
}

const INTERESTING = [0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x0b, 0x0c, 0x0f, 0x10, 0x12, 0x1a, 0x2a, 0x7f, 0x80, 0x81, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xff];

/** One to three random edits: truncation, byte overwrite, bit flip, ±1, insertion, deletion, duplication. */
export function mutate(rng: Prng, input: Uint8Array): Uint8Array {
  let b = Uint8Array.from(input);
  const edits = rng.chance(0.7) ? 1 : rng.int(2, 3);
  for (let e = 0; e < edits; e++) {
    const at = rng.below(b.length + 1);
    switch (rng.below(9)) {
      case 0: b = b.slice(0, rng.below(b.length)); break;
      case 1: if (at < b.length) b[at] = rng.below(256); break;
      case 2: if (at < b.length) b[at] = rng.pick(INTERESTING); break;
      case 3: if (at < b.length) b[at]! ^= 1 << rng.below(8); break;
      case 4: if (at < b.length) b[at] = (b[at]! + (rng.chance(0.5) ? 1 : 255)) & 0xff; break;
      case 5: {
        const ins = rng.chance(0.5) ? rng.bytes(rng.int(1, 4)) : Uint8Array.from(Array.from({ length: rng.int(1, 3) }, () => rng.pick(INTERESTING)));
        const c = new Uint8Array(b.length + ins.length);
        c.set(b.subarray(0, at));
        c.set(ins, at);
        c.set(b.subarray(at), at + ins.length);
        b = c;
        break;
      }
      case 6: {
        const n = rng.int(1, 4);
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]);
        break;
      }
      case 7: {
        const n = rng.int(1, 16);
        b = Uint8Array.from([...b.subarray(0, at + n), ...b.subarray(at, at + n), ...b.subarray(at + n)]);
        break;
      }
      default: if (at < b.length) b[at] = rng.below(128); break;
    }
  }
  return b;
}
