// OTLP/JSON → canonical OTLP protobuf, so JSON requests take the same core path as protobuf
// ones. The conversion is hand-written rather than protobufjs fromObject because OTLP/JSON
// differs from what protobufjs accepts: ids are hex (not base64), 64-bit integers arrive as
// strings, enums may be names, and every bad value must be reported with its path.
//
// Each JSON object is walked once with a switch over its keys: unknown keys fall through
// (ignored, as the spec requires) and lowerCamelCase and proto names share a case. Messages
// are built with a fixed shape, unset fields undefined, which protobufjs skips on encode.
import { OtlpError } from './errors.js';
import { MAX_DEPTH } from '../core/layout.js';
import { ExportTraceServiceRequest, SpanKind, StatusCode, type LongLike } from './messages.js';

/**
 * How deep an attribute value may nest, in protobuf messages counted as the core counts them:
 * the attribute's AnyValue is level 1, each ArrayValue, KeyValueList, KeyValue and AnyValue below
 * it one more, and a message at this level or deeper is refused (31 arrays inside each other
 * pass, 32 do not; 20 key-value lists pass, 21 do not). The same bound as the core's for protobuf
 * (assembly/layout.ts MAX_DEPTH), so that a request is refused in JSON exactly when it is refused
 * in protobuf; it also keeps the converter's recursion short, whatever JSON.parse accepted.
 */
export const MAX_VALUE_NESTING = MAX_DEPTH;

export interface JsonToProtobufOptions {
  /**
   * How trace and span ids are written. OTLP/JSON mandates hex (the default); 'base64' reads
   * plain proto3 JSON as some tools (e.g. Tempo's test data) write it.
   */
  ids?: 'hex' | 'base64';
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };
type Msg = Record<string, unknown>;
type Int64 = number | LongLike;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const DECIMAL_INT = /^-?\d+$/;
const DECIMAL_NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const U32_MAX = 0xffffffff;
const I32_MIN = -0x80000000;
const I32_MAX = 0x7fffffff;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

const SPAN_KIND_NAMES: Record<string, number> = { ...SpanKind.values };
const STATUS_CODE_NAMES: Record<string, number> = { ...StatusCode.values };

// JSON.parse turns integer literals past 2^53 into the nearest double, so
// 1700000000000000064 would arrive as ...000. Integer literals of 16+ digits are quoted
// before parsing; every numeric field accepts decimal strings, so their meaning is kept.
// (Side effect: such a literal where a string is expected is accepted as that string.)
// The pre-check looks for a 16-digit run in value position (after ':' '[' ','), so bodies
// that carry 64-bit values as strings, as OTLP/JSON exporters do, skip the scan.
const BIG_INT_LITERAL_HINT = /[:[,]\s*-?\d{16}/;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export function quoteBigIntegerLiterals(text: string): string {
  if (!BIG_INT_LITERAL_HINT.test(text)) return text;
  const n = text.length;
  let out = '';
  let last = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Jump to the closing quote: the first one preceded by an even number of backslashes.
      let j = i + 1;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0) return text; // unterminated string: JSON.parse reports it
        let b = j - 1;
        while (text.charCodeAt(b) === 0x5c /* \ */) b--;
        if ((j - 1 - b) % 2 === 0) break;
        j++;
      }
      i = j + 1;
    } else if (c === 0x2d /* - */ || isDigit(c)) {
      const start = i;
      if (c === 0x2d) i++;
      const digitsFrom = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      const next = text.charCodeAt(i);
      if (next === 0x2e /* . */ || next === 0x65 /* e */ || next === 0x45 /* E */) {
        // Not an integer literal: skip the rest of the number untouched.
        while (i < n && /[0-9.eE+-]/.test(text[i]!)) i++;
      } else if (i - digitsFrom >= 16) {
        out += text.slice(last, start) + '"' + text.slice(start, i) + '"';
        last = i;
      }
    } else {
      i++;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

function describe(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  return String(v);
}

// String#isWellFormed / toWellFormed (ES2024, in Node 20) are missing from the ES2022 lib.
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };

/**
 * JSON escapes can spell lone surrogates ("\ud800"), which have no UTF-8 form; protobufjs would
 * write invalid UTF-8 that the core and any strict decoder choke on. They become U+FFFD, as in
 * Go's encoding/json.
 */
function wellFormed(s: string): string {
  return (s as unknown as WellFormed).isWellFormed() ? s : (s as unknown as WellFormed).toWellFormed();
}

function toLong(b: bigint, unsigned: boolean): LongLike {
  const u = BigInt.asUintN(64, b);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned };
}

/** `resourceSpans[0].scopeSpans[0]...` */
function pathText(segs: readonly (string | number)[]): string {
  let where = '';
  for (const seg of segs) where += typeof seg === 'number' ? `[${seg}]` : where === '' ? seg : `.${seg}`;
  return where;
}

class Converter {
  // Keys and indices from the root to the value being converted, for error messages.
  private readonly path: (string | number)[] = [];
  // Protobuf message level inside the attribute value being converted (0 outside one), and the
  // length of the path to that attribute's value.
  private nesting = 0;
  private valuePath = 0;

  constructor(private readonly base64Ids: boolean) {}

  /** Throws bad_request naming the current path (plus `key`, when a scalar field is at fault). */
  fail(reason: string, key?: string | number): never {
    const where = pathText(key === undefined ? this.path : [...this.path, key]);
    throw new OtlpError('bad_request', `${where === '' ? 'request body' : where}: ${reason}`);
  }

  /** Steps one message deeper into an attribute value; refuses (too_deep) past MAX_VALUE_NESTING. */
  private deeper(): void {
    if (this.nesting === 0) this.valuePath = this.path.length;
    if (++this.nesting < MAX_VALUE_NESTING) return;
    throw new OtlpError(
      'too_deep',
      `${pathText(this.path.slice(0, this.valuePath))}: attribute value nested more than ${MAX_VALUE_NESTING - 1} levels deep (AnyValue, ArrayValue, KeyValueList and KeyValue messages)`,
    );
  }

  /** A field given both as lowerCamelCase and as its proto name is ambiguous. */
  private once(prev: unknown, key: string): void {
    if (prev !== undefined) this.fail('field is set twice (under its JSON name and its proto name)', key);
  }

  private object(v: Json, key?: string | number): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`expected an object, got ${describe(v)}`, key);
    return v;
  }

  /** A repeated message field: converts each element, with its index on the path. */
  private list(key: string, v: Json, conv: (o: JsonObject) => Msg): Msg[] {
    if (!Array.isArray(v)) this.fail(`expected an array, got ${describe(v)}`, key);
    this.path.push(key);
    const out: Msg[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const e = v[i]!;
      if (typeof e !== 'object' || e === null || Array.isArray(e)) this.fail(`expected an object, got ${describe(e)}`, i);
      this.path.push(i);
      out[i] = conv(e);
      this.path.pop();
    }
    this.path.pop();
    return out;
  }

  private message(key: string, v: Json, conv: (o: JsonObject) => Msg): Msg {
    const o = this.object(v, key);
    this.path.push(key);
    const m = conv(o);
    this.path.pop();
    return m;
  }

  private string(key: string, v: Json): string {
    if (typeof v !== 'string') this.fail(`expected a string, got ${describe(v)}`, key);
    return wellFormed(v);
  }

  private uint32(key: string, v: Json): number {
    const n = typeof v === 'number' ? v : typeof v === 'string' && DECIMAL_INT.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > U32_MAX) this.fail(`expected an unsigned 32-bit integer, got ${describe(v)}`, key);
    return n;
  }

  /** int64 / fixed64: a decimal string or a JSON number, kept exact (see quoteBigIntegerLiterals). */
  private int64(key: string, v: Json, unsigned: boolean): Int64 {
    const what = unsigned ? 'an unsigned 64-bit integer' : 'a 64-bit integer';
    let b: bigint;
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) this.fail(`expected ${what}, got ${describe(v)}`, key);
      if (Number.isSafeInteger(v) && (!unsigned || v >= 0)) return v; // protobufjs writes these exactly
      b = BigInt(v);
    } else if (typeof v === 'string' && DECIMAL_INT.test(v)) {
      if (v.length < 16) {
        const n = Number(v); // below 2^53: exact
        if (!unsigned || n >= 0) return n;
      }
      b = BigInt(v);
    } else {
      this.fail(`expected ${what} as a decimal string or number, got ${describe(v)}`, key);
    }
    if (unsigned ? b < 0n || b > U64_MAX : b < I64_MIN || b > I64_MAX) this.fail(`${describe(v)} is out of range for ${what}`, key);
    return toLong(b, unsigned);
  }

  private double(key: string, v: Json): number {
    if (typeof v === 'number') return v;
    if (typeof v === 'string') {
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (DECIMAL_NUMBER.test(v)) return Number(v);
    }
    this.fail(`expected a number (or "NaN", "Infinity", "-Infinity"), got ${describe(v)}`, key);
  }

  private enumValue(key: string, v: Json, names: Record<string, number>): number {
    let n: number | undefined;
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= I32_MIN && v <= I32_MAX) n = v; // open enum: unknown numbers pass
    } else if (typeof v === 'string' && Object.hasOwn(names, v)) {
      n = names[v];
    }
    if (n === undefined) this.fail(`expected an integer or one of ${Object.keys(names).join(', ')}, got ${describe(v)}`, key);
    return n;
  }

  /** trace/span ids: `bytes` bytes as hex (OTLP/JSON), or empty. */
  private id(key: string, v: Json, bytes: number): Uint8Array {
    if (this.base64Ids) {
      const decoded = typeof v === 'string' && BASE64.test(v) ? Buffer.from(v, 'base64') : undefined;
      if (decoded === undefined || decoded.length !== (v === '' ? 0 : bytes))
        this.fail(`expected ${bytes} bytes in base64, got ${describe(v)}`, key);
      return decoded;
    }
    if (typeof v !== 'string' || (v.length !== bytes * 2 && v.length !== 0) || !HEX.test(v)) {
      const looksBase64 = typeof v === 'string' && v.length >= 4 && BASE64.test(v) && Buffer.from(v, 'base64').length === bytes;
      this.fail(`expected ${bytes * 2} hex digits, got ${describe(v)}${looksBase64 ? ' (OTLP/JSON ids are hex, not base64)' : ''}`, key);
    }
    return Buffer.from(v, 'hex');
  }

  request(o: JsonObject): Msg {
    let resourceSpans: Msg[] | undefined;
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue; // proto3 JSON: null means "not set"
      switch (k) {
        case 'resourceSpans':
        case 'resource_spans':
          this.once(resourceSpans, k);
          resourceSpans = this.list(k, v, (rs) => this.resourceSpans(rs));
          break;
      }
    }
    return { resourceSpans };
  }

  private resourceSpans(o: JsonObject): Msg {
    const m: Msg = { resource: undefined, scopeSpans: undefined, schemaUrl: undefined };
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue;
      switch (k) {
        case 'resource':
          m.resource = this.message(k, v, (r) => this.resource(r));
          break;
        case 'scopeSpans':
        case 'scope_spans':
          this.once(m.scopeSpans, k);
          m.scopeSpans = this.list(k, v, (ss) => this.scopeSpans(ss));
          break;
        case 'schemaUrl':
        case 'schema_url':
          this.once(m.schemaUrl, k);
          m.schemaUrl = this.string(k, v);
          break;
      }
    }
    return m;
  }

  private resource(o: JsonObject): Msg {
    const m: Msg = { attributes: undefined, droppedAttributesCount: undefined };
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue;
      switch (k) {
        case 'attributes':
          m.attributes = this.list(k, v, (kv) => this.keyValue(kv));
          break;
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          this.once(m.droppedAttributesCount, k);
          m.droppedAttributesCount = this.uint32(k, v);
          break;
      }
    }
    return m;
  }

  private scopeSpans(o: JsonObject): Msg {
    const m: Msg = { scope: undefined, spans: undefined, schemaUrl: undefined };
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue;
      switch (k) {
        case 'scope':
          m.scope = this.message(k, v, (s) => this.scope(s));
          break;
        case 'spans':
          m.spans = this.list(k, v, (s) => this.span(s));
          break;
        case 'schemaUrl':
        case 'schema_url':
          this.once(m.schemaUrl, k);
          m.schemaUrl = this.string(k, v);
          break;
      }
    }
    return m;
  }

  private scope(o: JsonObject): Msg {
    const m: Msg = { name: undefined, version: undefined, attributes: undefined, droppedAttributesCount: undefined };
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue;
      switch (k) {
        case 'name':
          m.name = this.string(k, v);
          break;
        case 'version':
          m.version = this.string(k, v);
          break;
        case 'attributes':
          m.attributes = this.list(k, v, (kv) => this.keyValue(kv));
          break;
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          this.once(m.droppedAttributesCount, k);
          m.droppedAttributesCount = this.uint32(k, v);
          break;
      }
    }
    return m;
  }

  private span(o: JsonObject): Msg {
    const m: Msg = {
      traceId: undefined,
      spanId: undefined,
      traceState: undefined,
      parentSpanId: undefined,
      flags: undefined,
      name: undefined,
      kind: undefined,
      startTimeUnixNano: undefined,
      endTimeUnixNano: undefined,
      attributes: undefined,
      droppedAttributesCount: undefined,
      events: undefined,
      droppedEventsCount: undefined,
      links: undefined,
      droppedLinksCount: undefined,
      status: undefined,
    };
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue;
      switch (k) {
        case 'traceId':
        case 'trace_id':
          this.once(m.traceId, k);
          m.traceId = this.id(k, v, 16);
          break;
        case 'spanId':
        case 'span_id':
          this.once(m.spanId, k);
          m.spanId = this.id(k, v, 8);
          break;
        case 'traceState':
        case 'trace_state':
          this.once(m.traceState, k);
          m.traceState = this.string(k, v);
          break;
        case 'parentSpanId':
        case 'parent_span_id':
          this.once(m.parentSpanId, k);
          m.parentSpanId = this.id(k, v, 8);
          break;
        case 'flags':
          m.flags = this.uint32(k, v);
          break;
        case 'name':
          m.name = this.string(k, v);
          break;
        case 'kind':
          m.kind = this.enumValue(k, v, SPAN_KIND_NAMES);
          break;
        case 'startTimeUnixNano':
        case 'start_time_unix_nano':
          this.once(m.startTimeUnixNano, k);
          m.startTimeUnixNano = this.int64(k, v, true);
          break;
        case 'endTimeUnixNano':
        case 'end_time_unix_nano':
          this.once(m.endTimeUnixNano, k);
          m.endTimeUnixNano = this.int64(k, v, true);
          break;
        case 'attributes':
          m.attributes = this.list(k, v, (kv) => this.keyValue(kv));
          break;
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          this.once(m.droppedAttributesCount, k);
          m.droppedAttributesCount = this.uint32(k, v);
          break;
        case 'events':
          m.events = this.list(k, v, (e) => this.event(e));
          break;
        case 'droppedEventsCount':
        case 'dropped_events_count':
          this.once(m.droppedEventsCount, k);
          m.droppedEventsCount = this.uint32(k, v);
          break;
        case 'links':
          m.links = this.list(k, v, (l) => this.link(l));
          break;
        case 'droppedLinksCount':
        case 'dropped_links_count':
          this.once(m.droppedLinksCount, k);
          m.droppedLinksCount = this.uint32(k, v);
          break;
        case 'status':
          m.status = this.message(k, v, (s) => this.status(s));
          break;
      }
    }
    return m;
  }

  private event(o: JsonObject): Msg {
    const m: Msg = { timeUnixNano: undefined, name: undefined, attributes: undefined, droppedAttributesCount: undefined };
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue;
      switch (k) {
        case 'timeUnixNano':
        case 'time_unix_nano':
          this.once(m.timeUnixNano, k);
          m.timeUnixNano = this.int64(k, v, true);
          break;
        case 'name':
          m.name = this.string(k, v);
          break;
        case 'attributes':
          m.attributes = this.list(k, v, (kv) => this.keyValue(kv));
          break;
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          this.once(m.droppedAttributesCount, k);
          m.droppedAttributesCount = this.uint32(k, v);
          break;
      }
    }
    return m;
  }

  private link(o: JsonObject): Msg {
    const m: Msg = {
      traceId: undefined,
      spanId: undefined,
      traceState: undefined,
      attributes: undefined,
      droppedAttributesCount: undefined,
      flags: undefined,
    };
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue;
      switch (k) {
        case 'traceId':
        case 'trace_id':
          this.once(m.traceId, k);
          m.traceId = this.id(k, v, 16);
          break;
        case 'spanId':
        case 'span_id':
          this.once(m.spanId, k);
          m.spanId = this.id(k, v, 8);
          break;
        case 'traceState':
        case 'trace_state':
          this.once(m.traceState, k);
          m.traceState = this.string(k, v);
          break;
        case 'attributes':
          m.attributes = this.list(k, v, (kv) => this.keyValue(kv));
          break;
        case 'droppedAttributesCount':
        case 'dropped_attributes_count':
          this.once(m.droppedAttributesCount, k);
          m.droppedAttributesCount = this.uint32(k, v);
          break;
        case 'flags':
          m.flags = this.uint32(k, v);
          break;
      }
    }
    return m;
  }

  private status(o: JsonObject): Msg {
    const m: Msg = { message: undefined, code: undefined };
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue;
      switch (k) {
        case 'message':
          m.message = this.string(k, v);
          break;
        case 'code':
          m.code = this.enumValue(k, v, STATUS_CODE_NAMES);
          break;
      }
    }
    return m;
  }

  private keyValue(o: JsonObject): Msg {
    const m: Msg = { key: undefined, value: undefined };
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue;
      switch (k) {
        case 'key':
          m.key = this.string(k, v);
          break;
        case 'value':
          m.value = this.message(k, v, (a) => this.anyValue(a));
          break;
      }
    }
    return m;
  }

  private anyValue(o: JsonObject): Msg {
    // Arrays and kvlists nest without bound; refuse before the recursion gets deep.
    this.deeper();
    // Oneof members are written even when they hold the default ("" or 0): presence matters.
    const m: Msg = {
      stringValue: undefined,
      boolValue: undefined,
      intValue: undefined,
      doubleValue: undefined,
      arrayValue: undefined,
      kvlistValue: undefined,
      bytesValue: undefined,
    };
    let setBy: string | undefined;
    for (const k in o) {
      const v = o[k]!;
      if (v === null) continue;
      let member: string;
      let value: unknown;
      switch (k) {
        case 'stringValue':
        case 'string_value':
          member = 'stringValue';
          value = this.string(k, v);
          break;
        case 'boolValue':
        case 'bool_value':
          if (typeof v !== 'boolean') this.fail(`expected true or false, got ${describe(v)}`, k);
          member = 'boolValue';
          value = v;
          break;
        case 'intValue':
        case 'int_value':
          member = 'intValue';
          value = this.int64(k, v, false);
          break;
        case 'doubleValue':
        case 'double_value':
          member = 'doubleValue';
          value = this.double(k, v);
          break;
        case 'arrayValue':
        case 'array_value':
          member = 'arrayValue';
          value = this.message(k, v, (a) => this.nested(() => ({ values: this.listField(a, (e) => this.anyValue(e)) })));
          break;
        case 'kvlistValue':
        case 'kvlist_value':
          member = 'kvlistValue';
          value = this.message(k, v, (a) => this.nested(() => ({ values: this.listField(a, (kv) => this.nested(() => this.keyValue(kv))) })));
          break;
        case 'bytesValue':
        case 'bytes_value':
          if (typeof v !== 'string' || !BASE64.test(v)) this.fail(`expected base64, got ${describe(v)}`, k);
          member = 'bytesValue';
          value = Buffer.from(v, 'base64');
          break;
        default:
          continue;
      }
      if (setBy !== undefined) this.fail(`only one value may be set, but "${setBy}" is set too`, k);
      setBy = k;
      m[member] = value;
    }
    this.nesting--;
    return m;
  }

  /** Converts one ArrayValue, KeyValueList or KeyValue inside an attribute value, a level deeper. */
  private nested(conv: () => Msg): Msg {
    this.deeper();
    const m = conv();
    this.nesting--;
    return m;
  }

  /** The `values` list of ArrayValue / KeyValueList. */
  private listField(o: JsonObject, conv: (e: JsonObject) => Msg): Msg[] | undefined {
    let out: Msg[] | undefined;
    for (const k in o) {
      const v = o[k]!;
      if (k === 'values' && v !== null) out = this.list(k, v, conv);
    }
    return out;
  }
}

/** Parses an OTLP/JSON ExportTraceServiceRequest into a plain object protobufjs can encode. */
export function jsonToRequestObject(body: Uint8Array | string, options: JsonToProtobufOptions = {}): Msg {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = utf8.decode(body); // also drops a leading byte-order mark
    } catch {
      throw new OtlpError('bad_request', 'request body is not valid UTF-8');
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  let parsed: Json;
  try {
    parsed = JSON.parse(quoteBigIntegerLiterals(text)) as Json;
  } catch (err) {
    throw new OtlpError('bad_request', `invalid JSON: ${(err as Error).message}`);
  }
  const conv = new Converter(options.ids === 'base64');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return conv.fail(`expected a JSON object (an ExportTraceServiceRequest), got ${describe(parsed)}`);
  }
  return conv.request(parsed);
}

/**
 * OTLP/JSON ExportTraceServiceRequest → canonical protobuf bytes (proto3 defaults omitted,
 * messages present in the input kept). Unknown fields are ignored; anything malformed throws
 * OtlpError('bad_request') naming the path of the offending value.
 */
export function jsonToProtobuf(body: Uint8Array | string, options?: JsonToProtobufOptions): Uint8Array {
  return ExportTraceServiceRequest.encode(jsonToRequestObject(body, options)).finish();
}
