import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OtlpError } from '../../src/otlp/errors.js';
import { Spanmeter } from '../../src/index.js';
import { jsonToProtobuf, MAX_VALUE_NESTING, quoteBigIntegerLiterals } from '../../src/otlp/json.js';
import { ExportTraceServiceRequest } from '../../src/otlp/messages.js';
import { encodeRequest, requestToOtlpJson, type Msg } from '../support/otlp-input.js';

import { packFile, WITH_PACK } from '../support/conformance.js';

const input = (name: string): Buffer => fs.readFileSync(packFile('inputs', name));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// protobufjs decode, loosely typed: the tests pick fields out by hand.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function decode(b: Uint8Array): any {
  return ExportTraceServiceRequest.decode(b);
}

/** Wraps spans (and optional resource) in the request envelope. */
function request(spans: unknown[], resource?: unknown): string {
  return JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 's' }, spans }] }] });
}

function firstSpan(json: string) {
  return decode(jsonToProtobuf(json)).resourceSpans[0].scopeSpans[0].spans[0];
}

function firstValue(value: unknown) {
  return firstSpan(request([{ attributes: [{ key: 'k', value }] }])).attributes[0].value;
}

function errorOf(fn: () => unknown): OtlpError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OtlpError);
    return err as OtlpError;
  }
  throw new Error('expected an OtlpError, got none');
}

const TRACE_ID = '0102030405060708090a0b0c0d0e0f10';
const SPAN_ID = '1112131415161718';

describe('jsonToProtobuf: conversion', () => {
  it('produces canonical bytes for a minimal span (hand-encoded)', () => {
    const json = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}",
      "name":"op","kind":2,"startTimeUnixNano":"1700000000000000064"}]}]}]}`;
    const span = '0a10' + TRACE_ID + '1208' + SPAN_ID + '2a026f70' + '3002' + '39' + '40002a36fe9c9717'; // 43 bytes
    expect(hex(jsonToProtobuf(json))).toBe('0a2f' + '122d' + '122b' + span);
  });

  it('accepts a string or UTF-8 bytes', () => {
    const json = '{"resourceSpans":[{}]}';
    expect(hex(jsonToProtobuf(json))).toBe('0a00');
    expect(hex(jsonToProtobuf(new TextEncoder().encode(json)))).toBe('0a00');
    expect(hex(jsonToProtobuf('\ufeff' + json))).toBe('0a00');
  });

  it('treats {} (and empty or null lists) as a request with no spans', () => {
    expect(jsonToProtobuf('{}').length).toBe(0);
    expect(jsonToProtobuf('{"resourceSpans":[]}').length).toBe(0);
    expect(jsonToProtobuf('{"resourceSpans":null}').length).toBe(0);
  });

  it('keeps messages present in the input, empty or not, and drops proto3 defaults', () => {
    expect(hex(jsonToProtobuf('{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{}]}]}]}'))).toBe(
      '0a08' + '0a00' + '1204' + '0a00' + '1200',
    );
    // status {} kept (7a00); "", 0, "0", empty ids and false-y values are not written.
    const span = request([
      { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, startTimeUnixNano: '0', endTimeUnixNano: 0, flags: 0, status: {} },
    ]);
    expect(hex(jsonToProtobuf(span))).toBe('0a0b' + '1209' + '0a030a0173' + '1202' + '7a00');
  });

  it('carries every span field through', () => {
    const json = request(
      [
        {
          traceId: TRACE_ID,
          spanId: SPAN_ID,
          parentSpanId: 'a1a2a3a4a5a6a7a8',
          traceState: 'k=v',
          flags: 257,
          name: 'GET /items',
          kind: 'SPAN_KIND_SERVER',
          startTimeUnixNano: '1700000000000000064',
          endTimeUnixNano: '1700000000002000064',
          attributes: [{ key: 'http.method', value: { stringValue: 'GET' } }],
          droppedAttributesCount: 1,
          events: [{ timeUnixNano: '1700000000001000000', name: 'ev', attributes: [{ key: 'e', value: { boolValue: true } }], droppedAttributesCount: 2 }],
          droppedEventsCount: 3,
          links: [{ traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceState: 'x=y', attributes: [{ key: 'l', value: { intValue: '7' } }], droppedAttributesCount: 4, flags: 256 }],
          droppedLinksCount: 5,
          status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
        },
      ],
      { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }], droppedAttributesCount: 6 },
    );
    const req = decode(jsonToProtobuf(json));
    const rs = req.resourceSpans[0];
    expect(rs.resource.attributes[0].key).toBe('service.name');
    expect(rs.resource.attributes[0].value.stringValue).toBe('checkout');
    expect(rs.resource.droppedAttributesCount).toBe(6);
    expect(rs.scopeSpans[0].scope.name).toBe('s');
    const s = rs.scopeSpans[0].spans[0];
    expect(hex(s.traceId)).toBe(TRACE_ID);
    expect(hex(s.spanId)).toBe(SPAN_ID);
    expect(hex(s.parentSpanId)).toBe('a1a2a3a4a5a6a7a8');
    expect(s.traceState).toBe('k=v');
    expect(s.flags).toBe(257);
    expect(s.name).toBe('GET /items');
    expect(s.kind).toBe(2);
    expect(s.startTimeUnixNano.toString()).toBe('1700000000000000064');
    expect(s.endTimeUnixNano.toString()).toBe('1700000000002000064');
    expect(s.attributes[0].key).toBe('http.method');
    expect(s.attributes[0].value.stringValue).toBe('GET');
    expect(s.droppedAttributesCount).toBe(1);
    expect(s.events[0].timeUnixNano.toString()).toBe('1700000000001000000');
    expect(s.events[0].name).toBe('ev');
    expect(s.events[0].attributes[0].value.boolValue).toBe(true);
    expect(s.events[0].droppedAttributesCount).toBe(2);
    expect(s.droppedEventsCount).toBe(3);
    expect(hex(s.links[0].traceId)).toBe('ffffffffffffffffffffffffffffffff');
    expect(hex(s.links[0].spanId)).toBe('eeeeeeeeeeeeeeee');
    expect(s.links[0].traceState).toBe('x=y');
    expect(s.links[0].attributes[0].value.intValue.toString()).toBe('7');
    expect(s.links[0].droppedAttributesCount).toBe(4);
    expect(s.links[0].flags).toBe(256);
    expect(s.droppedLinksCount).toBe(5);
    expect(s.status.code).toBe(2);
    expect(s.status.message).toBe('boom');
  });

  it('reads ids as hex, in either case', () => {
    const s = firstSpan(request([{ traceId: 'ABCDEF0123456789abcdef0123456789', spanId: 'DeadBeefCafe0001' }]));
    expect(hex(s.traceId)).toBe('abcdef0123456789abcdef0123456789');
    expect(hex(s.spanId)).toBe('deadbeefcafe0001');
  });

  it('reads enums as integers or names', () => {
    const kinds = [
      ['SPAN_KIND_UNSPECIFIED', 0],
      ['SPAN_KIND_INTERNAL', 1],
      ['SPAN_KIND_SERVER', 2],
      ['SPAN_KIND_CLIENT', 3],
      ['SPAN_KIND_PRODUCER', 4],
      ['SPAN_KIND_CONSUMER', 5],
    ] as const;
    for (const [name, n] of kinds) {
      expect(firstSpan(request([{ kind: name }])).kind).toBe(n);
      expect(firstSpan(request([{ kind: n }])).kind).toBe(n);
    }
    expect(firstSpan(request([{ status: { code: 'STATUS_CODE_OK' } }])).status.code).toBe(1);
    expect(firstSpan(request([{ status: { code: 'STATUS_CODE_ERROR' } }])).status.code).toBe(2);
    expect(firstSpan(request([{ status: { code: 2 } }])).status.code).toBe(2);
    // Open enums: a number the schema does not name still passes through.
    expect(firstSpan(request([{ kind: 9 }])).kind).toBe(9);
  });

  it('keeps int64 and fixed64 exact, as strings or JSON numbers', () => {
    // As JSON number literals (not quoted): beyond 2^53 JSON.parse alone would round these.
    const json = `{"resourceSpans":[{"scopeSpans":[{"spans":[{
      "startTimeUnixNano": 1700000000000000064, "endTimeUnixNano": 18446744073709551615,
      "attributes": [
        {"key":"max","value":{"intValue": 9223372036854775807}},
        {"key":"min","value":{"intValue": -9223372036854775808}},
        {"key":"str","value":{"intValue": "-9223372036854775807"}},
        {"key":"small","value":{"intValue": 42}},
        {"key":"exp","value":{"intValue": 1e3}}
      ]}]}]}]}`;
    const s = firstSpan(json);
    expect(s.startTimeUnixNano.toString()).toBe('1700000000000000064');
    expect(s.endTimeUnixNano.toString()).toBe('18446744073709551615');
    expect(s.attributes[0].value.intValue.toString()).toBe('9223372036854775807');
    expect(s.attributes[1].value.intValue.toString()).toBe('-9223372036854775808');
    expect(s.attributes[2].value.intValue.toString()).toBe('-9223372036854775807');
    expect(s.attributes[3].value.intValue.toString()).toBe('42');
    expect(s.attributes[4].value.intValue.toString()).toBe('1000');

    const s2 = firstSpan(request([{ startTimeUnixNano: '1700000000000000064', endTimeUnixNano: '1700000001004000193' }]));
    expect(s2.startTimeUnixNano.toString()).toBe('1700000000000000064');
    expect(s2.endTimeUnixNano.toString()).toBe('1700000001004000193');
    // 1.7e18 written with an exponent is an exact integer.
    expect(firstSpan('{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":1.7e18}]}]}]}').startTimeUnixNano.toString()).toBe(
      '1700000000000000000',
    );
  });

  it('writes the intValue -1 as a 10-byte varint', () => {
    const b = jsonToProtobuf(request([{ attributes: [{ key: 'k', value: { intValue: '-1' } }] }]));
    expect(hex(b)).toContain('4a10' + '0a016b' + '120b' + '18ffffffffffffffffff01');
  });

  it('reads doubles as numbers or the special strings', () => {
    expect(firstValue({ doubleValue: 0.5 }).doubleValue).toBe(0.5);
    expect(firstValue({ doubleValue: '1.25' }).doubleValue).toBe(1.25);
    expect(firstValue({ doubleValue: -3 }).doubleValue).toBe(-3);
    expect(firstValue({ doubleValue: 'NaN' }).doubleValue).toBeNaN();
    expect(firstValue({ doubleValue: 'Infinity' }).doubleValue).toBe(Infinity);
    expect(firstValue({ doubleValue: '-Infinity' }).doubleValue).toBe(-Infinity);
    // A 0.0 member is present, so it is written.
    expect(hex(jsonToProtobuf(request([{ attributes: [{ key: 'k', value: { doubleValue: 0 } }] }])))).toContain(
      '120921' + '0000000000000000',
    );
  });

  it('reads every AnyValue kind, nested', () => {
    const v = firstValue({
      kvlistValue: {
        values: [
          { key: 's', value: { stringValue: '' } },
          { key: 'b', value: { boolValue: false } },
          { key: 'a', value: { arrayValue: { values: [{ intValue: '1' }, { doubleValue: 2.5 }, {}] } } },
          { key: 'y', value: { bytesValue: '/wA=' } },
          { key: 'u', value: { bytesValue: '_wA' } },
          { key: 'n' },
        ],
      },
    });
    const kv = v.kvlistValue.values;
    expect(v.value).toBe('kvlistValue');
    expect(kv[0].value.value).toBe('stringValue');
    expect(kv[0].value.stringValue).toBe('');
    expect(kv[1].value.value).toBe('boolValue');
    expect(kv[1].value.boolValue).toBe(false);
    expect(kv[2].value.arrayValue.values[0].intValue.toString()).toBe('1');
    expect(kv[2].value.arrayValue.values[1].doubleValue).toBe(2.5);
    expect(kv[2].value.arrayValue.values[2].value).toBeUndefined();
    expect(hex(kv[3].value.bytesValue)).toBe('ff00');
    expect(hex(kv[4].value.bytesValue)).toBe('ff00');
    expect(kv[5].key).toBe('n');
    expect(kv[5].value).toBeNull();
  });

  it('accepts the proto (snake_case) field names too', () => {
    const json = `{"resource_spans":[{"resource":{"dropped_attributes_count":1},"schema_url":"r","scope_spans":[{"schema_url":"s","spans":[{
      "trace_id":"${TRACE_ID}","span_id":"${SPAN_ID}","parent_span_id":"${SPAN_ID}","trace_state":"t",
      "start_time_unix_nano":"5","end_time_unix_nano":"6","dropped_attributes_count":2,"dropped_events_count":3,"dropped_links_count":4,
      "events":[{"time_unix_nano":"7"}],
      "links":[{"trace_id":"${TRACE_ID}","span_id":"${SPAN_ID}","trace_state":"u","dropped_attributes_count":8}],
      "attributes":[
        {"key":"a","value":{"string_value":"x"}},{"key":"b","value":{"bool_value":true}},{"key":"c","value":{"int_value":"9"}},
        {"key":"d","value":{"double_value":1.5}},{"key":"e","value":{"bytes_value":"AQ=="}},
        {"key":"f","value":{"array_value":{"values":[{"int_value":1}]}}},{"key":"g","value":{"kvlist_value":{"values":[{"key":"h"}]}}}
      ]}]}]}]}`;
    const rs = decode(jsonToProtobuf(json)).resourceSpans[0];
    expect(rs.resource.droppedAttributesCount).toBe(1);
    expect(rs.schemaUrl).toBe('r');
    expect(rs.scopeSpans[0].schemaUrl).toBe('s');
    const s = rs.scopeSpans[0].spans[0];
    expect(hex(s.traceId)).toBe(TRACE_ID);
    expect(hex(s.spanId)).toBe(SPAN_ID);
    expect(hex(s.parentSpanId)).toBe(SPAN_ID);
    expect(s.traceState).toBe('t');
    expect(s.startTimeUnixNano.toString()).toBe('5');
    expect(s.endTimeUnixNano.toString()).toBe('6');
    expect([s.droppedAttributesCount, s.droppedEventsCount, s.droppedLinksCount]).toEqual([2, 3, 4]);
    expect(s.events[0].timeUnixNano.toString()).toBe('7');
    expect(s.links[0].traceState).toBe('u');
    expect(s.links[0].droppedAttributesCount).toBe(8);
    const a = s.attributes.map((kv: any) => kv.value.value);
    expect(a).toEqual(['stringValue', 'boolValue', 'intValue', 'doubleValue', 'bytesValue', 'arrayValue', 'kvlistValue']);
    expect(s.attributes[5].value.arrayValue.values[0].intValue.toString()).toBe('1');
    expect(s.attributes[6].value.kvlistValue.values[0].key).toBe('h');
  });

  it('ignores unknown fields at every level', () => {
    const json = `{"x":1,"resourceSpans":[{"x":{"deep":[1,2]},"instrumentationLibrarySpans":[{"spans":[{"name":"old"}]}],
      "resource":{"x":"y","entityRefs":[{}],"attributes":[{"key":"k","x":null,"value":{"x":1,"stringValue":"v"}}]},
      "scopeSpans":[{"x":[],"scope":{"x":true,"name":"n"},"spans":[{"x":"y","name":"op",
        "status":{"x":1,"code":1},"events":[{"x":1}],"links":[{"x":1}]}]}]}]}`;
    // resource {attributes [{key "k", value {string_value "v"}}]}, scope {name "n"},
    // span {name "op", events [{}], links [{}], status {code OK}}
    const resource = '0a0a' + '0a08' + '0a016b' + '1203' + '0a0176';
    const span = '2a026f70' + '5a00' + '6a00' + '7a02' + '1801';
    const scopeSpans = '0a03' + '0a016e' + '120c' + span;
    expect(hex(jsonToProtobuf(json))).toBe('0a21' + resource + '1213' + scopeSpans);
  });

  it('replaces lone surrogates with U+FFFD so the protobuf carries valid UTF-8', () => {
    const s = firstSpan(String.raw`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a\ud800b","attributes":[{"key":"\udc00","value":{"stringValue":"\ud83d\ude80"}}]}]}]}]}`);
    expect(s.name).toBe('a\ufffdb');
    expect(s.attributes[0].key).toBe('\ufffd');
    expect(s.attributes[0].value.stringValue).toBe('🚀');
  });

  it('reads null as "not set"', () => {
    const s = firstSpan(request([{ name: null, kind: null, traceId: null, status: null, attributes: null }]));
    expect(s.name).toBe('');
    expect(s.status).toBeNull();
    expect(s.attributes).toEqual([]);
  });

  it.runIf(WITH_PACK)('reads the hand-written conformance inputs in place', () => {
    const req = decode(jsonToProtobuf(input('own-sm-precision.json')));
    const spans = req.resourceSpans[0].scopeSpans[0].spans;
    expect(req.resourceSpans[0].resource.attributes[0].value.stringValue).toBe('precise');
    expect(spans.map((s: any) => s.startTimeUnixNano.toString())).toEqual([
      '1700000000000000064',
      '1700000001000000192',
      '1700000002000000000',
    ]);
    expect(spans.map((s: any) => s.endTimeUnixNano.toString())).toEqual([
      '1700000000002000064',
      '1700000001004000193',
      '1700000022000000000',
    ]);
    expect(hex(spans[0].traceId)).toBe('a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9');
    expect(hex(spans[2].spanId)).toBe('aa00000000000003');

    const esc = decode(jsonToProtobuf(input('own-sm-escaping.json')));
    expect(esc.resourceSpans[0].resource.attributes[0].value.stringValue).toBe('café "au lait"');
    expect(esc.resourceSpans[0].scopeSpans[0].spans.map((s: any) => s.name)).toEqual([
      'say "hi"',
      'C:\\temp\\new',
      'multi\nline',
      '🚀 名前 ü',
      'tab\there',
    ]);
  });

  it.runIf(WITH_PACK)('reads base64 ids when asked (proto3 JSON such as Tempo test data)', () => {
    const text = input('tempo-trace-with-db-namespace.json').toString('utf8');
    const s = decode(jsonToProtobuf(text, { ids: 'base64' })).resourceSpans[0].scopeSpans[0].spans[0];
    // "QpC1h3qZMN55u0KDZTmOzA==" and "1gZXnld4dYc=" in hex
    expect(hex(s.traceId)).toBe('4290b5877a9930de79bb428365398ecc');
    expect(hex(s.spanId)).toBe('d606579e57787587');
    expect(s.kind).toBe(3);
    expect(s.startTimeUnixNano.toString()).toBe('1658320854877522688');
    // ...and say what is wrong when the default (hex) is expected.
    expect(errorOf(() => jsonToProtobuf(text)).message).toBe(
      'resourceSpans[0].scopeSpans[0].spans[0].traceId: expected 32 hex digits, got "QpC1h3qZMN55u0KDZTmOzA==" (OTLP/JSON ids are hex, not base64)',
    );
    expect(errorOf(() => jsonToProtobuf(request([{ traceId: 'AAAA' }]), { ids: 'base64' })).message).toBe(
      'resourceSpans[0].scopeSpans[0].spans[0].traceId: expected 16 bytes in base64, got "AAAA"',
    );
  });
});

describe('jsonToProtobuf: big integer literals', () => {
  it('quotes only integer literals of 16+ digits outside strings', () => {
    expect(quoteBigIntegerLiterals('{"a":1700000000000000064,"b":[-9223372036854775808, 12],"c":1.5e300}')).toBe(
      '{"a":"1700000000000000064","b":["-9223372036854775808", 12],"c":1.5e300}',
    );
    expect(quoteBigIntegerLiterals('{"a": 123456789012345}')).toBe('{"a": 123456789012345}');
    expect(quoteBigIntegerLiterals('{"a": 1234567890123456.5}')).toBe('{"a": 1234567890123456.5}');
    // Digits inside strings, escaped quotes included, are left alone.
    const s = '{"n":"x\\"1700000000000000064\\\\","a":1700000000000000064}';
    expect(quoteBigIntegerLiterals(s)).toBe('{"n":"x\\"1700000000000000064\\\\","a":"1700000000000000064"}');
  });

  it('keeps strings that contain such digits intact through the conversion', () => {
    const json = '{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"id \\"1700000000000000064\\", 1700000000000000065","startTimeUnixNano":1700000000000000066}]}]}]}';
    const s = firstSpan(json);
    expect(s.name).toBe('id "1700000000000000064", 1700000000000000065');
    expect(s.startTimeUnixNano.toString()).toBe('1700000000000000066');
  });
});

describe('jsonToProtobuf: errors name the path', () => {
  const span = (fields: Record<string, unknown>) => request([fields]);
  const at = 'resourceSpans[0].scopeSpans[0].spans[0]';
  const cases: [string, string, string][] = [
    ['invalid JSON', '{"resourceSpans":', 'invalid JSON: '],
    ['top level not an object', '[]', 'request body: expected a JSON object (an ExportTraceServiceRequest), got an array'],
    ['top level null', 'null', 'request body: expected a JSON object (an ExportTraceServiceRequest), got null'],
    ['resourceSpans not an array', '{"resourceSpans":{}}', 'resourceSpans: expected an array, got an object'],
    ['resourceSpans element', '{"resourceSpans":[1]}', 'resourceSpans[0]: expected an object, got 1'],
    ['resource an array', '{"resourceSpans":[{"resource":[]}]}', 'resourceSpans[0].resource: expected an object, got an array'],
    ['short traceId', span({ traceId: 'abc' }), `${at}.traceId: expected 32 hex digits, got "abc"`],
    ['traceId not hex', span({ traceId: 'zz'.repeat(16) }), `${at}.traceId: expected 32 hex digits, got "${'zz'.repeat(16)}"`],
    ['traceId a number', span({ traceId: 5 }), `${at}.traceId: expected 32 hex digits, got 5`],
    ['long spanId', span({ spanId: '00'.repeat(9) }), `${at}.spanId: expected 16 hex digits, got "${'00'.repeat(9)}"`],
    ['parentSpanId not hex', span({ parentSpanId: 'g'.repeat(16) }), `${at}.parentSpanId: expected 16 hex digits, got "gggggggggggggggg"`],
    [
      'kind name without prefix',
      span({ kind: 'SERVER' }),
      `${at}.kind: expected an integer or one of SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER, SPAN_KIND_CONSUMER, got "SERVER"`,
    ],
    ['kind fraction', span({ kind: 1.5 }), `${at}.kind: expected an integer or one of`],
    [
      'status code name',
      span({ status: { code: 'ERROR' } }),
      `${at}.status.code: expected an integer or one of STATUS_CODE_UNSET, STATUS_CODE_OK, STATUS_CODE_ERROR, got "ERROR"`,
    ],
    ['status message number', span({ status: { message: 1 } }), `${at}.status.message: expected a string, got 1`],
    ['name not a string', span({ name: ['x'] }), `${at}.name: expected a string, got an array`],
    ['timestamp words', span({ startTimeUnixNano: 'soon' }), `${at}.startTimeUnixNano: expected an unsigned 64-bit integer as a decimal string or number, got "soon"`],
    ['timestamp fraction', span({ endTimeUnixNano: 1.5 }), `${at}.endTimeUnixNano: expected an unsigned 64-bit integer, got 1.5`],
    ['timestamp negative', span({ startTimeUnixNano: '-1' }), `${at}.startTimeUnixNano: "-1" is out of range for an unsigned 64-bit integer`],
    [
      'timestamp past 2^64',
      span({ startTimeUnixNano: '18446744073709551616' }),
      `${at}.startTimeUnixNano: "18446744073709551616" is out of range for an unsigned 64-bit integer`,
    ],
    ['flags negative', span({ flags: -1 }), `${at}.flags: expected an unsigned 32-bit integer, got -1`],
    ['dropped count too big', span({ droppedAttributesCount: 4294967296 }), `${at}.droppedAttributesCount: expected an unsigned 32-bit integer, got 4294967296`],
    ['attributes an object', span({ attributes: {} }), `${at}.attributes: expected an array, got an object`],
    ['attribute a string', span({ attributes: ['x'] }), `${at}.attributes[0]: expected an object, got "x"`],
    ['attribute key a number', span({ attributes: [{ key: 1 }] }), `${at}.attributes[0].key: expected a string, got 1`],
    ['value a string', span({ attributes: [{ key: 'k', value: 'v' }] }), `${at}.attributes[0].value: expected an object, got "v"`],
    ['stringValue number', span({ attributes: [{ key: 'k', value: { stringValue: 5 } }] }), `${at}.attributes[0].value.stringValue: expected a string, got 5`],
    ['boolValue string', span({ attributes: [{ key: 'k', value: { boolValue: 'true' } }] }), `${at}.attributes[0].value.boolValue: expected true or false, got "true"`],
    [
      'intValue fraction string',
      span({ attributes: [{ key: 'k', value: { intValue: '1.5' } }] }),
      `${at}.attributes[0].value.intValue: expected a 64-bit integer as a decimal string or number, got "1.5"`,
    ],
    [
      'intValue past int64',
      span({ attributes: [{ key: 'k', value: { intValue: '9223372036854775808' } }] }),
      `${at}.attributes[0].value.intValue: "9223372036854775808" is out of range for a 64-bit integer`,
    ],
    [
      'doubleValue word',
      span({ attributes: [{ key: 'k', value: { doubleValue: 'inf' } }] }),
      `${at}.attributes[0].value.doubleValue: expected a number (or "NaN", "Infinity", "-Infinity"), got "inf"`,
    ],
    ['bytesValue not base64', span({ attributes: [{ key: 'k', value: { bytesValue: '%%' } }] }), `${at}.attributes[0].value.bytesValue: expected base64, got "%%"`],
    [
      'two oneof members',
      span({ attributes: [{ key: 'k', value: { stringValue: 'a', intValue: '1' } }] }),
      `${at}.attributes[0].value.intValue: only one value may be set, but "stringValue" is set too`,
    ],
    [
      'nested array element',
      span({ attributes: [{ key: 'k', value: { arrayValue: { values: [{ intValue: 1 }, { intValue: 'x' }] } } }] }),
      `${at}.attributes[0].value.arrayValue.values[1].intValue: expected a 64-bit integer as a decimal string or number, got "x"`,
    ],
    [
      'nested kvlist value',
      span({ attributes: [{ key: 'k', value: { kvlistValue: { values: [{ key: 'a', value: { boolValue: 1 } }] } } }] }),
      `${at}.attributes[0].value.kvlistValue.values[0].value.boolValue: expected true or false, got 1`,
    ],
    ['event time', span({ events: [{}, { timeUnixNano: 'x' }] }), `${at}.events[1].timeUnixNano: expected an unsigned 64-bit integer`],
    ['link spanId', span({ links: [{ spanId: 'x' }] }), `${at}.links[0].spanId: expected 16 hex digits, got "x"`],
    ['scope name', '{"resourceSpans":[{"scopeSpans":[{"scope":{"name":false}}]}]}', 'resourceSpans[0].scopeSpans[0].scope.name: expected a string, got false'],
    [
      'camelCase and snake_case both',
      '{"resourceSpans":[{"scopeSpans":[],"scope_spans":[]}]}',
      'resourceSpans[0].scope_spans: field is set twice (under its JSON name and its proto name)',
    ],
  ];

  for (const [name, json, expected] of cases) {
    it(name, () => {
      const err = errorOf(() => jsonToProtobuf(json));
      expect(err.kind).toBe('bad_request');
      if (expected.endsWith(': ') || expected.endsWith('one of') || expected.endsWith('integer')) expect(err.message.startsWith(expected)).toBe(true);
      else expect(err.message).toBe(expected);
    });
  }

  it('names the element that is wrong deep inside a request (scopeSpans[1].spans[3])', () => {
    const ok = { traceId: TRACE_ID, spanId: SPAN_ID };
    const json = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [ok] }, { spans: [ok, ok, ok, { ...ok, traceId: '0102' }] }] }],
    });
    expect(errorOf(() => jsonToProtobuf(json)).message).toBe(
      'resourceSpans[0].scopeSpans[1].spans[3].traceId: expected 32 hex digits, got "0102"',
    );
  });

  it('rejects a body that is not UTF-8', () => {
    const err = errorOf(() => jsonToProtobuf(new Uint8Array([0x7b, 0xff, 0x7d])));
    expect(err.kind).toBe('bad_request');
    expect(err.message).toBe('request body is not valid UTF-8');
  });
});

describe('jsonToProtobuf: nesting limit', () => {
  // An attribute value of `levels` arrays (or key-value lists) inside each other, a string at the
  // bottom, on the first span; the same request in OTLP/JSON and in protobuf.
  function nested(levels: number, kind: 'array' | 'kvlist'): Msg {
    let v: Msg = { stringValue: 'x' };
    for (let i = 0; i < levels; i++) v = kind === 'array' ? { arrayValue: { values: [v] } } : { kvlistValue: { values: [{ key: 'k', value: v }] } };
    const span = { traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2), name: `${kind}-${levels}`, attributes: [{ key: 'v', value: v }] };
    return { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'deep' } }] }, scopeSpans: [{ spans: [span] }] }] };
  }
  const TOO_DEEP = 'resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value: attribute value nested more than 63 levels deep (AnyValue, ArrayValue, KeyValueList and KeyValue messages)';

  it(`counts levels as the core does (MAX_VALUE_NESTING ${MAX_VALUE_NESTING}): 31 arrays or 20 key-value lists pass, 32 or 21 do not`, async () => {
    // AnyValue is level 1; an array adds ArrayValue + AnyValue (2), a key-value list adds
    // KeyValueList + KeyValue + AnyValue (3): the string sits at 2·31+1 = 63 and 3·20+1 = 61;
    // one level more reaches 65 and 64.
    const meter = await Spanmeter.create({});
    for (const [kind, ok] of [['array', 31], ['kvlist', 20]] as const) {
      const pass = nested(ok, kind);
      expect(meter.ingestJson(requestToOtlpJson(pass))).toEqual({ ok: true, spans: 1 });
      expect(meter.ingest(encodeRequest(pass))).toEqual({ ok: true, spans: 1 });
      const refuse = nested(ok + 1, kind);
      const err = errorOf(() => jsonToProtobuf(requestToOtlpJson(refuse)));
      expect([err.kind, err.message]).toEqual(['too_deep', TOO_DEEP]);
      expect(meter.ingestJson(requestToOtlpJson(refuse))).toMatchObject({ ok: false, reason: TOO_DEEP, spans: 0 });
      // the core refuses the same request in protobuf
      expect(meter.ingest(encodeRequest(refuse))).toMatchObject({ ok: false, reason: expect.stringContaining('nesting deeper than 64 levels') });
    }
    const calls = meter.metrics().split('\n').filter((l) => l.startsWith('traces_spanmetrics_calls_total')).map((l) => l.replace(/.*span_name="([^"]*)".* (\d+)$/, '$1 $2'));
    expect(calls.sort()).toEqual(['array-31 2', 'kvlist-20 2']);
  });

  it('refuses 100,000 levels with too_deep, without exhausting the stack', () => {
    const levels = 100_000;
    const value = '{"arrayValue":{"values":['.repeat(levels) + '{"stringValue":"x"}' + ']}}'.repeat(levels);
    const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":${value}}]}]}]}]}`;
    const err = errorOf(() => jsonToProtobuf(body));
    expect([err.kind, err.message]).toEqual(['too_deep', TOO_DEEP]);
  });

  it('does not mind deep unknown fields (they are never walked)', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(hex(jsonToProtobuf(`{"x":${deep},"resourceSpans":[{}]}`))).toBe('0a00');
  });
});
