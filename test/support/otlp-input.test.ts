// The harness's input conversion (pack input → canonical OTLP protobuf / OTLP JSON), checked
// against hand-assembled bytes and on every input file of the conformance pack.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, test } from 'vitest';
import { PACK_DIR, PACK_FOUND, WITH_PACK } from './conformance.js';
import { convertInput, loadInput, parseInput } from './otlp-input.js';
import { ExportTraceServiceRequest } from './otlp-schema.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface DecodedSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  status?: { code?: number; message?: string };
  attributes?: { key: string; value: Record<string, unknown> }[];
}
function decodeSpans(bytes: Uint8Array): { service?: string; span: DecodedSpan }[] {
  const obj = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(bytes), {
    longs: String,
    bytes: String,
    enums: Number,
  }) as { resourceSpans?: { resource?: { attributes?: { key: string; value: { stringValue?: string } }[] }; scopeSpans?: { spans?: DecodedSpan[] }[] }[] };
  const out: { service?: string; span: DecodedSpan }[] = [];
  for (const rs of obj.resourceSpans ?? []) {
    const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
    for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) out.push({ service, span });
  }
  return out;
}

describe('otlp-input', () => {
  test('canonical bytes of a small request, assembled by hand', () => {
    const json = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'a', value: { stringValue: '' } }] },
          scopeSpans: [
            {
              scope: {},
              spans: [
                {
                  traceId: '01020304050607080910111213141516',
                  spanId: '0102030405060708',
                  parentSpanId: '',
                  name: 'n',
                  kind: 2,
                  startTimeUnixNano: '1',
                  endTimeUnixNano: '0',
                  status: {},
                },
              ],
            },
          ],
        },
      ],
    });
    const { protobuf: bytes } = convertInput('own-x.json', json);
    const span =
      '0a10' + '01020304050607080910111213141516' + // trace_id
      '1208' + '0102030405060708' + // span_id (parent_span_id "" not written)
      '2a01' + '6e' + // name "n"
      '3002' + // kind SERVER
      '39' + '0100000000000000' + // start_time_unix_nano fixed64 1 (end 0 not written)
      '7a00'; // status present but empty
    expect(span.length / 2).toBe(44);
    const scopeSpans = '0a00' + '122c' + span; // scope present but empty, spans
    const resource = '0a07' + '0a0161' + '1202' + '0a00'; // KeyValue{key "a", AnyValue{string_value ""}}
    const resourceSpans = '0a09' + resource + '1230' + scopeSpans;
    expect(hex(bytes)).toBe('0a3d' + resourceSpans);
  });

  test.runIf(WITH_PACK)('full int64 precision for timestamps', () => {
    const { protobuf: bytes } = loadInput(join(PACK_DIR, 'inputs', 'own-sm-precision.json'));
    const spans = decodeSpans(bytes);
    expect(spans.map((s) => [s.span.startTimeUnixNano, s.span.endTimeUnixNano])).toEqual([
      ['1700000000000000064', '1700000000002000064'],
      ['1700000001000000192', '1700000001004000193'],
      ['1700000002000000000', '1700000022000000000'],
    ]);
    // fixed64 little-endian of 1700000000000000064 = 0x17979cfe362a0040
    expect(hex(bytes)).toContain('39' + '40002a36fe9c9717');
  });

  test.runIf(WITH_PACK)('tempo format: base64 ids and enum names', () => {
    const { protobuf: bytes } = loadInput(join(PACK_DIR, 'inputs', 'tempo-trace-with-virtual-nodes.json'));
    const spans = decodeSpans(bytes);
    expect(spans.map((s) => [s.service, s.span.name, s.span.kind, s.span.status?.code ?? 0])).toEqual([
      ['mythical-server', 'requester', 2, 1],
      ['mythical-requester', 'HTTP GET /ready', 3, 0],
      ['internal-consumer', 'Consumed', 5, 0],
    ]);
    const s0 = spans[0]!.span;
    // "QpC1h3qZMN55u0KDZTmOzA==" and "1gZXnld4dYc=" as hex (python3 base64.b64decode)
    expect(Buffer.from(s0.traceId!, 'base64').toString('hex')).toBe('4290b5877a9930de79bb428365398ecc');
    expect(Buffer.from(s0.spanId!, 'base64').toString('hex')).toBe('d606579e57787587');
    expect(s0.startTimeUnixNano).toBe('1658320854877522688');
    expect(spans[1]!.span.parentSpanId).toBe(s0.spanId);
  });

  test.runIf(WITH_PACK)('otelcol format: YAML scalars read by field type, hex ids, empty ids not written', () => {
    const { protobuf: bytes, message } = loadInput(join(PACK_DIR, 'inputs', 'otelcol-failed-label-not-work-simple-trace.yaml'));
    const spans = decodeSpans(bytes);
    expect(spans).toHaveLength(6);
    expect(spans.map((s) => [s.service, s.span.kind, s.span.status?.code ?? 0])).toEqual([
      ['foo', 3, 0],
      ['foo', 3, 0],
      ['foo', 3, 0],
      ['bar', 2, 0],
      ['bar', 2, 2],
      ['bar', 2, 0],
    ]);
    expect(Buffer.from(spans[0]!.span.spanId!, 'base64').toString('hex')).toBe('83c55286956529e1');
    expect(spans[0]!.span.parentSpanId ?? '').toBe('');
    expect(spans[4]!.span.spanId ?? '').toBe(''); // spanId: "" in the input
    expect(spans[0]!.span.endTimeUnixNano).toBe('1641092646000000006');
    // status: {} is kept as a present, empty message
    const firstSpan = (message.resourceSpans as { scopeSpans: { spans: Record<string, unknown>[] }[] }[])[0]!.scopeSpans[0]!.spans[0]!;
    expect(firstSpan.status).toEqual({});
  });

  test.runIf(WITH_PACK)('attribute value types (own-sm-sanitize)', () => {
    const { protobuf: bytes } = loadInput(join(PACK_DIR, 'inputs', 'own-sm-sanitize.json'));
    const [s] = decodeSpans(bytes);
    const attrs = Object.fromEntries(s!.span.attributes!.map((a) => [a.key, a.value]));
    expect(attrs['http.status_code']).toEqual({ intValue: '200' });
    expect(attrs['big']).toEqual({ intValue: '9007199254740993' });
    expect(attrs['retry']).toEqual({ boolValue: true });
    expect(attrs['tiny']).toEqual({ doubleValue: 1e-7 });
    expect(attrs['empty']).toEqual({ stringValue: '' });
    expect(attrs['tags']).toEqual({ arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } });
  });

  test('rejects what it cannot represent exactly', () => {
    const wrap = (span: Record<string, unknown>): string =>
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
    expect(() => convertInput('own-x.json', wrap({ bogus: 1 }))).toThrow(/unknown field/);
    expect(() => convertInput('own-x.json', wrap({ spanId: 'xyz' }))).toThrow(/not hex/);
    expect(() => convertInput('own-x.json', `{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":1700000000000000064}]}]}]}`)).toThrow(/2\^53/);
    expect(() => convertInput('own-x.json', wrap({ kind: 'SPAN_KIND_NOPE' }))).toThrow(/not a value/);
    expect(() => convertInput('own-x.json', wrap({ attributes: [{ key: 'k', value: { stringValue: 'a', intValue: '1' } }] }))).toThrow(/oneof/);
    expect(() => convertInput('foo.json', '{}')).toThrow(/unknown input format/);
  });

  const inputs = PACK_FOUND ? readdirSync(join(PACK_DIR, 'inputs')).sort() : [];
  test.runIf(WITH_PACK)('the pack has inputs', () => {
    expect(inputs.length).toBeGreaterThan(0);
  });
  for (const f of inputs) {
    test(`converts ${f}; the JSON form encodes to the same bytes`, () => {
      const c = loadInput(join(PACK_DIR, 'inputs', f));
      expect(c.protobuf.length).toBeGreaterThan(0);
      // protobufjs decodes it and re-encodes the same bytes (fields in number order)
      const again = ExportTraceServiceRequest.encode(ExportTraceServiceRequest.decode(c.protobuf)).finish();
      expect(hex(again)).toBe(hex(c.protobuf));
      // the OTLP/JSON form read back as OTLP/JSON gives the same protobuf
      const back = ExportTraceServiceRequest.encode(parseInput('own', c.json)).finish();
      expect(hex(back)).toBe(hex(c.protobuf));
      // ids in the JSON form are hex
      const j = JSON.parse(c.json) as { resourceSpans: { scopeSpans: { spans: { traceId?: string }[] }[] }[] };
      for (const rs of j.resourceSpans) for (const ss of rs.scopeSpans ?? []) for (const sp of ss.spans ?? []) {
        if (sp.traceId !== undefined) expect(sp.traceId).toMatch(/^[0-9a-f]{32}$/);
      }
    });
  }
  void protobuf;
});
