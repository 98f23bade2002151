// The what-if preview (assembly/preview.ts) keeps example values as label values are written:
// ints in decimal, bools as true/false, doubles in plain decimal (Tempo stringifies an AnyValue
// with strconv.FormatInt, strconv.FormatBool and strconv.FormatFloat(v, 'f', -1, 64); README
// "Span metrics"). The expected strings are written here by hand from the values sent. Varint
// lengths (1, 2, 5, 9, 10 bytes) and a padded varint cover each way the core reads an int.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { anyInt, anyString, fDouble, fLen, fFixed64, fVarint, keyValue, request, varint, type Bytes } from './helpers.js';

const NOW = 1_700_000_000_000;
const anyBool = (v: number): Bytes => fVarint(2, v);

const VALUES: [string, Bytes, string][] = [
  ['n.zero', anyInt(0n), '0'],
  ['n.127', anyInt(127n), '127'],
  ['n.128', anyInt(128n), '128'],
  ['n.u32max', anyInt(4294967295n), '4294967295'],
  ['n.u32max.plus1', anyInt(4294967296n), '4294967296'],
  ['n.i64max', anyInt(9223372036854775807n), '9223372036854775807'],
  ['n.minus1', anyInt(-1n), '-1'],
  ['n.i64min', anyInt(-9223372036854775808n), '-9223372036854775808'],
  // 5 as a three-byte varint (0x85 0x80 0x00): protobuf reads the value, not the encoding
  ['n.padded', [0x18, 0x85, 0x80, 0x00], '5'],
  ['b.true', anyBool(1), 'true'],
  ['b.false', anyBool(0), 'false'],
  ['d.half', [...fDouble(4, 1.5)], '1.5'],
  ['s.text', anyString('GET'), 'GET'],
];

describe('the what-if preview', () => {
  it('keeps each sampled value as its label value would read', async () => {
    const end = BigInt(NOW) * 1_000_000n;
    const span = [
      ...fLen(5, 'GET /cart'), ...fVarint(6, 2), ...fFixed64(7, end - 5_000_000n), ...fFixed64(8, end),
      ...VALUES.flatMap(([k, v]) => fLen(9, keyValue(k, v))),
    ];
    expect(varint(9223372036854775807n)).toHaveLength(9);
    expect(varint(-1n)).toHaveLength(10);
    const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics });
    // the first span looked at is sampled (one in 64, from the first)
    expect(core.ingest(request([span], [keyValue('service.name', anyString('shop'))]), NOW)).toEqual({ ok: true, spans: 1 });
    expect(core.previewSampled()).toBe(1);
    const keys = core.previewKeys();
    for (const [key, , text] of VALUES) {
      const k = keys.find((x) => x.key === key);
      expect(k, key).toMatchObject({ service: 'shop', spans: 1, examples: [text] });
      // one value: linear counting, 1024 · ln(1024 / 1023) = 1.0005
      expect(k!.estimate).toBeCloseTo(1.0005, 4);
    }
    expect(keys).toHaveLength(VALUES.length);
  });
});
