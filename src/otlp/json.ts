// OTLP/JSON → canonical OTLP protobuf, so JSON requests take the same core path as protobuf
// ones. The conversion is hand-written rather than protobufjs fromObject because OTLP/JSON
// differs from what protobufjs accepts: ids are hex (not base64), 64-bit integers arrive as
// strings, enums may be names, and every bad value must be reported with its path.
//
// Each JSON object is walked once with a switch over its keys: unknown keys fall through
// (ignored, as the spec requires) and lowerCamelCase and proto names share a case. Messages
// are built with a fixed shape, unset fields undefined, which protobufjs skips on encode.
import { ExportTraceServiceRequest, SpanKind, StatusCode } from './messages.js';
import { parseJson, type JsonObject } from './json-parse.js';
import { BASE64, describe, JsonReader, type Msg } from './json-reader.js';

export { quoteBigIntegerLiterals } from './json-parse.js';
export { MAX_VALUE_NESTING } from './json-reader.js';

export interface JsonToProtobufOptions {
  /**
   * How trace and span ids are written. OTLP/JSON mandates hex (the default); 'base64' reads
   * plain proto3 JSON as some tools (e.g. Tempo's test data) write it.
   */
  ids?: 'hex' | 'base64';
}

const SPAN_KIND_NAMES: Record<string, number> = { ...SpanKind.values };
const STATUS_CODE_NAMES: Record<string, number> = { ...StatusCode.values };

class Converter extends JsonReader {
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
/** Parses an OTLP/JSON ExportTraceServiceRequest into a plain object protobufjs can encode. */
export function jsonToRequestObject(body: Uint8Array | string, options: JsonToProtobufOptions = {}): Msg {
  const parsed = parseJson(body);
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
