import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OtlpError } from '../../src/otlp/errors.js';
import { jsonToProtobuf } from '../../src/otlp/json.js';
import { formatAttributeValue, formatDouble, referenceDecode, type RefValue } from '../support/reference.js';

import { packFile, WITH_PACK } from '../support/conformance.js';

const input = (name: string): Buffer => fs.readFileSync(packFile('inputs', name));
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

/** A length-delimited field, in hex: tag byte, varint length, payload. */
function ld(tag: string, payload: string): string {
  let n = payload.replace(/\s+/g, '').length / 2;
  let len = '';
  do {
    len += ((n & 0x7f) | (n > 0x7f ? 0x80 : 0)).toString(16).padStart(2, '0');
    n >>>= 7;
  } while (n > 0);
  return tag + len + payload;
}
const str = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
const kv = (key: string, anyValue: string): string => ld('0a', ld('0a', str(key)) + ld('12', anyValue));

// 93 bytes: the span of schema.test.ts (ids, name "op", SERVER, exact times, {k: -1}, ERROR "m", flags).
const SPAN_A = [
  '0a10 0102030405060708090a0b0c0d0e0f10',
  '1208 1112131415161718',
  '2208 2122232425262728',
  '2a02 6f70',
  '3002',
  '39 40002a36fe9c9717',
  '41 c0844836fe9c9717',
  '4a10 0a016b 120b 18ffffffffffffffffff01',
  '7a05 12016d 1802',
  '8501 01010000',
].join('');
const SPAN_B = '2a0162 3003'; // name "b", CLIENT: 5 bytes
const SPAN_C = '2a0163 980601'; // name "c" + unknown field 99 (varint 1): 6 bytes
const SPAN_D = '2a0178 2a0179'; // name written twice (last wins): 6 bytes

describe('referenceDecode', () => {
  const resource1 = ld(
    '0a',
    kv('service.name', ld('0a', str('svc'))) + kv('service.name', ld('0a', str('dup'))) + kv('region', '1805'),
  );
  const resource3 = ld('0a', kv('service.name', '182a')); // service.name = int 42
  const request =
    ld('0a', resource1 + ld('12', ld('12', SPAN_A) + ld('12', SPAN_B)) + ld('12', '1001' + ld('12', SPAN_C))) +
    ld('0a', ld('12', ld('12', SPAN_D))) +
    ld('0a', resource3 + ld('12', ld('0a', ld('0a', str('scope'))) + ld('12', '')));
  const spans = referenceDecode(bytes(request));

  it('returns one record per span, in input order', () => {
    expect(spans.map((s) => s.name)).toEqual(['op', 'b', 'c', 'y', '']);
  });

  it('reads the span fields the core reads', () => {
    const a = spans[0]!;
    expect(a.kind).toBe(2);
    expect(a.statusCode).toBe(2);
    expect(a.statusMessage).toBe('m');
    expect(a.start).toBe(1700000000000000064n);
    expect(a.end).toBe(1700000000002000064n);
    expect(a.traceId).toBe('0102030405060708090a0b0c0d0e0f10');
    expect(a.spanId).toBe('1112131415161718');
    expect(a.parentSpanId).toBe('2122232425262728');
    expect(a.attributes).toEqual(new Map([['k', { kind: 'int', value: -1n }]]));

    const b = spans[1]!;
    expect(b.kind).toBe(3);
    expect(b.statusCode).toBe(0);
    expect(b.statusMessage).toBe('');
    expect(b.start).toBe(0n);
    expect(b.traceId).toBe('');
    expect(b.parentSpanId).toBe('');
    expect(b.attributes.size).toBe(0);
  });

  it('measures each span as received, unknown and repeated fields included', () => {
    expect(spans.map((s) => s.size)).toEqual([93, 5, 6, 6, 0]);
  });

  it('takes service from the first service.name, formatted like any attribute', () => {
    expect(spans[0]!.service).toBe('svc');
    expect(spans[1]!.service).toBe('svc');
    expect(spans[0]!.resourceAttributes).toEqual(
      new Map<string, RefValue>([
        ['service.name', { kind: 'string', value: 'svc' }],
        ['region', { kind: 'int', value: 5n }],
      ]),
    );
    expect(spans[3]!.service).toBeUndefined();
    expect(spans[3]!.resourceAttributes.size).toBe(0);
    expect(spans[4]!.service).toBe('42');
  });

  it.runIf(WITH_PACK)('measures spans of a converted OTLP/JSON input', () => {
    const refs = referenceDecode(jsonToProtobuf(input('own-sm-size.json')));
    // ids 18 + 10, name "a" 3, kind 2, two fixed64 times 9 + 9 = 51; the third adds
    // attributes [{http.method: "GET"}] (22) and status {code: ERROR} (4).
    expect(refs.map((s) => s.size)).toEqual([51, 51, 77]);
    expect(refs.map((s) => s.service)).toEqual(['sized', 'sized', 'sized']);
    expect(refs[2]!.statusCode).toBe(2);
    expect(refs[2]!.attributes.get('http.method')).toEqual({ kind: 'string', value: 'GET' });
    expect(refs[0]!.traceId).toBe('c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0');
    expect(refs[0]!.end - refs[0]!.start).toBe(1_000_000n);
  });

  it.runIf(WITH_PACK)('keeps the precision of the times', () => {
    const refs = referenceDecode(jsonToProtobuf(input('own-sm-precision.json')));
    expect(refs.map((s) => s.end - s.start)).toEqual([2_000_000n, 4_000_001n, 20_000_000_000n]);
  });

  it('reads every AnyValue kind', () => {
    // Span.attributes (9) entries, one per AnyValue kind.
    const attrs = [
      ld('4a', ld('0a', str('s')) + ld('12', ld('0a', str('x')))),
      ld('4a', ld('0a', str('b')) + ld('12', '1001')),
      ld('4a', ld('0a', str('i')) + ld('12', '18ffffffffffffffff7f')),
      ld('4a', ld('0a', str('d')) + ld('12', '21000000000000f83f')),
      ld('4a', ld('0a', str('a')) + ld('12', ld('2a', ld('0a', '1001') + ld('0a', ld('0a', str('y')))))),
      ld('4a', ld('0a', str('m')) + ld('12', ld('32', kv('k', '1802')))),
      ld('4a', ld('0a', str('y')) + ld('12', ld('3a', 'ff00'))),
      ld('4a', ld('0a', str('none'))),
      ld('4a', ld('0a', str('e')) + ld('12', '')),
    ].join('');
    const [s] = referenceDecode(bytes(ld('0a', ld('12', ld('12', attrs)))));
    expect([...s!.attributes]).toEqual([
      ['s', { kind: 'string', value: 'x' }],
      ['b', { kind: 'bool', value: true }],
      ['i', { kind: 'int', value: 9223372036854775807n }],
      ['d', { kind: 'double', value: 1.5 }],
      ['a', { kind: 'array', values: [{ kind: 'bool', value: true }, { kind: 'string', value: 'y' }] }],
      ['m', { kind: 'kvlist', values: [{ key: 'k', value: { kind: 'int', value: 2n } }] }],
      ['y', { kind: 'bytes', value: expect.anything() }],
      ['none', { kind: 'empty' }],
      ['e', { kind: 'empty' }],
    ]);
    const y = s!.attributes.get('y') as { kind: 'bytes'; value: Uint8Array };
    expect([...y.value]).toEqual([0xff, 0x00]);
  });

  it('treats an empty body as a request without spans', () => {
    expect(referenceDecode(new Uint8Array(0))).toEqual([]);
  });

  it('rejects what protobufjs cannot decode with bad_request', () => {
    const bad = [
      '0a05 0a03', // length runs past the end
      '0f', // wire type 7 does not exist
      ld('0a', ld('12', ld('12', '0a05 0102'))), // truncated trace_id inside a span
    ];
    for (const h of bad) {
      let err: unknown;
      try {
        referenceDecode(bytes(h));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OtlpError);
      expect((err as OtlpError).kind).toBe('bad_request');
      expect((err as OtlpError).message).toMatch(/^invalid protobuf ExportTraceServiceRequest: /);
    }
  });

  it('rejects strings that are not UTF-8, as proto3 requires', () => {
    // span { name: 0xff }
    expect(() => referenceDecode(bytes(ld('0a', ld('12', ld('12', '2a01ff')))))).toThrow(
      /^invalid protobuf ExportTraceServiceRequest: /,
    );
  });

  it('rejects nesting past protobufjs recursion limit instead of overflowing the stack', () => {
    // AnyValue { array_value { values [ AnyValue { ... } ] } } nested 2000 times: build inside out.
    let v: Uint8Array = new Uint8Array(0);
    const wrap = (tag: number, inner: Uint8Array): Uint8Array => {
      const len: number[] = [];
      let n = inner.length;
      do {
        len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
        n >>>= 7;
      } while (n > 0);
      return new Uint8Array([tag, ...len, ...inner]);
    };
    for (let i = 0; i < 2000; i++) v = wrap(0x2a, wrap(0x0a, v));
    const req = wrap(0x0a, wrap(0x12, wrap(0x12, wrap(0x4a, wrap(0x12, v)))));
    expect(() => referenceDecode(req)).toThrow(OtlpError);
  });
});

describe('formatAttributeValue (Tempo StringifyAnyValue)', () => {
  const f = formatAttributeValue;
  it('formats scalars', () => {
    expect(f({ kind: 'string', value: 'café' })).toBe('café');
    expect(f({ kind: 'string', value: '' })).toBe('');
    expect(f({ kind: 'int', value: 42n })).toBe('42');
    expect(f({ kind: 'int', value: -9223372036854775808n })).toBe('-9223372036854775808');
    expect(f({ kind: 'int', value: 9223372036854775807n })).toBe('9223372036854775807');
    expect(f({ kind: 'bool', value: true })).toBe('true');
    expect(f({ kind: 'bool', value: false })).toBe('false');
    expect(f({ kind: 'bytes', value: new Uint8Array([1, 2]) })).toBe('');
    expect(f({ kind: 'empty' })).toBe('');
  });

  it('formats doubles like strconv.FormatFloat(v, \'f\', -1, 64)', () => {
    const cases: [number, string][] = [
      [0.25, '0.25'],
      [1e-7, '0.0000001'],
      [-1e-7, '-0.0000001'],
      [1e21, '1000000000000000000000'],
      [1e20, '100000000000000000000'],
      [3, '3'],
      [-3, '-3'],
      [0, '0'],
      [-0, '-0'],
      [123.456, '123.456'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1.5e300, '15' + '0'.repeat(299)],
      [5e-324, '0.' + '0'.repeat(323) + '5'],
      [1.2345e-5, '0.000012345'],
      [9007199254740993, '9007199254740992'],
      [NaN, 'NaN'],
      [Infinity, '+Inf'],
      [-Infinity, '-Inf'],
    ];
    for (const [v, want] of cases) {
      expect(formatDouble(v)).toBe(want);
      expect(f({ kind: 'double', value: v })).toBe(want);
    }
  });

  it('concatenates arrays and kvlists without separators', () => {
    expect(f({ kind: 'array', values: [] })).toBe('[]');
    expect(
      f({
        kind: 'array',
        values: [
          { kind: 'string', value: 'a' },
          { kind: 'int', value: 1n },
          { kind: 'bool', value: true },
          { kind: 'double', value: 0.5 },
          { kind: 'empty' },
        ],
      }),
    ).toBe('[a1true0.5]');
    expect(f({ kind: 'kvlist', values: [] })).toBe('{}');
    expect(
      f({
        kind: 'kvlist',
        values: [
          { key: 'a', value: { kind: 'int', value: 1n } },
          { key: 'b', value: { kind: 'array', values: [{ kind: 'string', value: 'x' }, { kind: 'string', value: 'y' }] } },
          { key: 'c', value: { kind: 'kvlist', values: [{ key: 'd', value: { kind: 'empty' } }] } },
        ],
      }),
    ).toBe('{a:1b:[xy]c:{d:}}');
  });
});
