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

  // The sets sit behind a memo keyed by a key's first and last 8 bytes, its length and the
  // service (assembly/preview.ts entryFor): keys alike in all of those but their middle bytes,
  // a key under 8 bytes, and one key under two services must each keep their own count. Spans
  // sampled: the 1st, 65th, 129th, ... looked at (one in 64, from the first); counts by hand.
  it('counts keys alike at both ends, short keys and one key of two services apart', async () => {
    const end = BigInt(NOW) * 1_000_000n;
    const K1 = 'span.attr.one.x.suffix';
    const K2 = 'span.attr.two.x.suffix';
    const span = (attrs: [string, string][]) => [
      ...fLen(5, 'op'), ...fVarint(6, 2), ...fFixed64(7, end - 5_000_000n), ...fFixed64(8, end),
      ...attrs.flatMap(([k, v]) => fLen(9, keyValue(k, anyString(v)))),
    ];
    const spans = (sampled: [string, string][][]) => sampled.flatMap((attrs) => [span(attrs), ...Array.from({ length: 63 }, () => span([]))]);
    const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics });
    const shop = spans([[[K1, 'a'], ['ab', 'x']], [[K2, 'b']], [[K1, 'c'], ['ab', 'y']], [[K2, 'e'], [K1, 'd']]]);
    expect(core.ingest(request(shop, [keyValue('service.name', anyString('shop'))]), NOW)).toEqual({ ok: true, spans: 256 });
    const cart = spans([[[K1, 'f']]]);
    expect(core.ingest(request(cart, [keyValue('service.name', anyString('cart'))]), NOW)).toEqual({ ok: true, spans: 64 });
    expect(core.previewSampled()).toBe(5);
    const counts = core.previewKeys().map((k) => `${k.service} ${k.key} ${k.spans}`).sort();
    expect(counts).toEqual(['cart span.attr.one.x.suffix 1', 'shop ab 2', 'shop span.attr.one.x.suffix 3', 'shop span.attr.two.x.suffix 2']);
  });

  // The preview reads a span's attributes from the first one the walk found after the fields
  // SDKs write first (assembly/staging.ts SPAN_ATTRIBUTES), else from the span's start: an
  // attribute before those fields, one between them and one after the times are all read.
  it('reads attributes wherever they sit among the span fields', async () => {
    const end = BigInt(NOW) * 1_000_000n;
    const attr = (k: string) => fLen(9, keyValue(k, anyString('v')));
    const ids = [...fLen(1, new Uint8Array(16).fill(1)), ...fLen(2, new Uint8Array(8).fill(2))];
    const times = [...fVarint(6, 2), ...fFixed64(7, end - 5_000_000n), ...fFixed64(8, end)];
    const spans = [
      [...attr('a.first'), ...ids, ...fLen(5, 'op'), ...times, ...attr('a.last')],
      [...ids, ...attr('b.between'), ...fLen(5, 'op'), ...times, ...attr('b.last')],
      [...ids, ...fLen(5, 'op'), ...times, ...attr('c.after'), ...fVarint(6, 2), ...attr('c.last')],
    ];
    const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics });
    // one span sampled per 64: each of the three first in a request of 64
    for (const s of spans) {
      const req = [s, ...Array.from({ length: 63 }, () => [...ids, ...fLen(5, 'op'), ...times])];
      expect(core.ingest(request(req, [keyValue('service.name', anyString('shop'))]), NOW)).toEqual({ ok: true, spans: 64 });
    }
    expect(core.previewSampled()).toBe(3);
    expect(core.previewKeys().map((k) => k.key).sort()).toEqual(['a.first', 'a.last', 'b.between', 'b.last', 'c.after', 'c.last']);
  });
});
