// Span metrics through the core and the text exposition, with every expected line written out
// by hand: label switches and names, attribute value formats, escaping, UTF-8 repair, value
// truncation, histogram bounds, all-or-nothing requests and the exact rejection reasons.
import { describe, expect, it } from 'vitest';
import type { SpanMetricsConfig } from '../../src/config/types.js';
import {
  type Bytes, anyInt, anyString, fDouble, fFixed64, fLen, fVarint, keyValue, makeCore, request, spanMetricsConfig, tag,
} from './helpers.js';

const T0 = 1_700_000_000_123_456_789n;
const CHECKOUT = [keyValue('service.name', anyString('checkout'))];

interface SpanSpec {
  name?: Bytes | Uint8Array | string;
  kind?: number;
  code?: number;
  message?: string;
  /** Duration in ns (default 1 ms) unless start/end are given. */
  ns?: bigint;
  start?: bigint;
  end?: bigint;
  attrs?: [string, Bytes | undefined][];
  extra?: Bytes;
}

/** Span body, fields in this order: name, kind, start, end, attributes, status, extra. */
function span(s: SpanSpec): Bytes {
  const start = s.start ?? T0;
  const end = s.end ?? start + (s.ns ?? 1_000_000n);
  const status = [...(s.message ? fLen(2, s.message) : []), ...(s.code ? fVarint(3, s.code) : [])];
  return [
    ...(s.name !== undefined ? fLen(5, s.name) : []),
    ...(s.kind ? fVarint(6, s.kind) : []),
    ...fFixed64(7, start),
    ...fFixed64(8, end),
    ...(s.attrs ?? []).flatMap(([k, v]) => fLen(9, keyValue(k, v))),
    ...(status.length ? fLen(15, status) : []),
    ...(s.extra ?? []),
  ];
}

const boolValue = (b: boolean): Bytes => fVarint(2, b ? 1 : 0);
const doubleValue = (v: number): Bytes => fDouble(4, v);
const arrayValue = (...values: Bytes[]): Bytes => fLen(5, values.flatMap((v) => fLen(1, v)));
const kvlistValue = (...kvs: Bytes[]): Bytes => fLen(6, kvs.flatMap((kv) => fLen(1, kv)));
const bytesValue = (b: number[]): Bytes => fLen(7, b);

async function expose(config: SpanMetricsConfig, ...requests: Uint8Array[]): Promise<string> {
  const { core, exposition } = await makeCore(config);
  for (const r of requests) expect(core.ingest(r)).toMatchObject({ ok: true });
  return exposition.render();
}

const lines = (text: string, prefix: string): string[] => text.split('\n').filter((l) => l.startsWith(prefix));
const calls = (text: string): string[] => lines(text, 'traces_spanmetrics_calls_total').sort();
const sorted = (l: string[]): string[] => [...l].sort();

const BUCKETS = [0.1, 1];

describe('exposition', () => {
  it('one span: the whole text, with HELP and TYPE', async () => {
    // Span: name (2 + 9) + kind (2) + start (9) + end (9) + status { code } (2 + 2) = 35 bytes.
    const text = await expose(
      spanMetricsConfig(BUCKETS, []),
      request([span({ name: 'GET /cart', kind: 2, ns: 50_000_000n, code: 1 })], CHECKOUT),
    );
    const l = 'service="checkout",span_name="GET /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_OK"';
    expect(text).toBe(
      '# HELP traces_spanmetrics_calls_total Spans counted, by service, span name, kind, status and dimensions.\n' +
      '# TYPE traces_spanmetrics_calls_total counter\n' +
      `traces_spanmetrics_calls_total{${l}} 1\n` +
      '# HELP traces_spanmetrics_latency Span duration in seconds.\n' +
      '# TYPE traces_spanmetrics_latency histogram\n' +
      `traces_spanmetrics_latency_bucket{${l},le="0.1"} 1\n` +
      `traces_spanmetrics_latency_bucket{${l},le="1"} 1\n` +
      `traces_spanmetrics_latency_bucket{${l},le="+Inf"} 1\n` +
      `traces_spanmetrics_latency_sum{${l}} 0.05\n` +
      `traces_spanmetrics_latency_count{${l}} 1\n` +
      '# HELP traces_spanmetrics_size_total Encoded size of the spans counted, in bytes.\n' +
      '# TYPE traces_spanmetrics_size_total counter\n' +
      `traces_spanmetrics_size_total{${l}} 35\n`,
    );
  });

  it('a span without service.name, name, kind or status', async () => {
    const text = await expose(spanMetricsConfig(BUCKETS, []), request([span({})], []));
    expect(calls(text)).toEqual(['traces_spanmetrics_calls_total{span_kind="SPAN_KIND_UNSPECIFIED",status_code="STATUS_CODE_UNSET"} 1']);
  });

  it('unknown kind and status values are written as numbers', async () => {
    const text = await expose(spanMetricsConfig(BUCKETS, []), request([span({ name: 'x', kind: 9, code: 3 })], CHECKOUT));
    expect(calls(text)).toEqual(['traces_spanmetrics_calls_total{service="checkout",span_name="x",span_kind="9",status_code="3"} 1']);
  });
});

describe('intrinsic dimensions', () => {
  // Sizes: server span 35 bytes (see above); client span: 11 + 2 + 9 + 9 + status
  // { message "card declined" (2 + 13), code (2) } (2 + 17) = 50 bytes.
  const twoSpans = request([
    span({ name: 'GET /cart', kind: 2, ns: 50_000_000n, code: 1 }),
    span({ name: 'GET /cart', kind: 3, ns: 50_000_000n, code: 2, message: 'card declined' }),
  ], CHECKOUT);

  it('service off', async () => {
    expect(calls(await expose(spanMetricsConfig(BUCKETS, [], { service: false }), twoSpans))).toEqual([
      'traces_spanmetrics_calls_total{span_name="GET /cart",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_ERROR"} 1',
      'traces_spanmetrics_calls_total{span_name="GET /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_OK"} 1',
    ]);
  });

  it('span_name off', async () => {
    expect(calls(await expose(spanMetricsConfig(BUCKETS, [], { span_name: false }), twoSpans))).toEqual([
      'traces_spanmetrics_calls_total{service="checkout",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_ERROR"} 1',
      'traces_spanmetrics_calls_total{service="checkout",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_OK"} 1',
    ]);
  });

  it('span_kind off', async () => {
    expect(calls(await expose(spanMetricsConfig(BUCKETS, [], { span_kind: false }), twoSpans))).toEqual([
      'traces_spanmetrics_calls_total{service="checkout",span_name="GET /cart",status_code="STATUS_CODE_ERROR"} 1',
      'traces_spanmetrics_calls_total{service="checkout",span_name="GET /cart",status_code="STATUS_CODE_OK"} 1',
    ]);
  });

  it('span_kind and status_code off: the two spans share a series', async () => {
    const text = await expose(spanMetricsConfig(BUCKETS, [], { span_kind: false, status_code: false }), twoSpans);
    expect(calls(text)).toEqual(['traces_spanmetrics_calls_total{service="checkout",span_name="GET /cart"} 2']);
    expect(lines(text, 'traces_spanmetrics_size_total')).toEqual(['traces_spanmetrics_size_total{service="checkout",span_name="GET /cart"} 85']);
    expect(lines(text, 'traces_spanmetrics_latency_sum')).toEqual(['traces_spanmetrics_latency_sum{service="checkout",span_name="GET /cart"} 0.1']);
  });

  it('status_message on: an empty message leaves the label out', async () => {
    expect(calls(await expose(spanMetricsConfig(BUCKETS, [], { status_message: true }), twoSpans))).toEqual([
      'traces_spanmetrics_calls_total{service="checkout",span_name="GET /cart",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_ERROR",status_message="card declined"} 1',
      'traces_spanmetrics_calls_total{service="checkout",span_name="GET /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_OK"} 1',
    ]);
  });

  it('every intrinsic off: one series without labels', async () => {
    const off = { service: false, span_name: false, span_kind: false, status_code: false, status_message: false };
    const text = await expose(spanMetricsConfig(BUCKETS, [], off), twoSpans);
    expect(text.split('\n').filter((l) => !l.startsWith('#'))).toEqual([
      'traces_spanmetrics_calls_total 2',
      'traces_spanmetrics_latency_bucket{le="0.1"} 2',
      'traces_spanmetrics_latency_bucket{le="1"} 2',
      'traces_spanmetrics_latency_bucket{le="+Inf"} 2',
      'traces_spanmetrics_latency_sum 0.1',
      'traces_spanmetrics_latency_count 2',
      'traces_spanmetrics_size_total 85',
      '',
    ]);
  });
});

describe('dimensions', () => {
  it('label names: sanitized, leading digit prefixed, "__" before an intrinsic name; a missing attribute leaves its label out', async () => {
    const dims = ['http.method', '1st-attr', 'service', 'span.kind', 'ünï', 'status_code', 'span_name', 'status_message', 'http_route', 'missing.attr'];
    const attrs = dims.slice(0, 9).map((d, i): [string, Bytes] => [d, anyString(`v${i + 1}`)]);
    const text = await expose(spanMetricsConfig(BUCKETS, dims), request([span({ name: 'op', attrs })], CHECKOUT));
    expect(calls(text)).toEqual([
      'traces_spanmetrics_calls_total{service="checkout",span_name="op",span_kind="SPAN_KIND_UNSPECIFIED",status_code="STATUS_CODE_UNSET",' +
      'http_method="v1",_1st_attr="v2",__service="v3",__span_kind="v4",_n_="v5",__status_code="v6",__span_name="v7",__status_message="v8",http_route="v9"} 1',
    ]);
  });

  it('the resource attribute wins over the span attribute; the first of repeated keys wins', async () => {
    const config = spanMetricsConfig(BUCKETS, ['region', 'route'], { service: false, span_kind: false, status_code: false });
    const resource = [...CHECKOUT, keyValue('region', anyString('eu')), keyValue('region', anyString('us'))];
    const text = await expose(config, request([
      span({ name: 'a', attrs: [['region', anyString('span-region')], ['route', anyString('/first')], ['route', anyString('/second')]] }),
    ], resource));
    expect(calls(text)).toEqual(['traces_spanmetrics_calls_total{span_name="a",region="eu",route="/first"} 1']);
  });

  it('a dimension named le does not give histogram lines two le labels', async () => {
    const text = await expose(spanMetricsConfig(BUCKETS, ['le'], { service: false, span_kind: false, status_code: false }),
      request([span({ name: 'a', attrs: [['le', anyString('x')]] })], CHECKOUT));
    const repeated = text.split('\n').filter((l) => (l.match(/[{,]le="/g) ?? []).length > 1);
    expect(repeated).toEqual([]);
  });
});

describe('attribute values as label values', () => {
  const config = spanMetricsConfig(BUCKETS, ['v'], { service: false, span_kind: false, status_code: false });
  const one = (name: string, v: Bytes | undefined): Bytes => span({ name, attrs: [['v', v]] });

  it('int, double, bool, array, kvlist, bytes and empty values', async () => {
    const text = await expose(config, request([
      one('int', anyInt(9007199254740993n)),
      one('int-min', anyInt(-9223372036854775808n)),
      one('double', doubleValue(1e-7)),
      one('double-big', doubleValue(1e21)),
      one('double-tenth', doubleValue(0.1)),
      one('double-neg-zero', doubleValue(-0)),
      one('double-nan', doubleValue(NaN)),
      one('double-inf', doubleValue(Infinity)),
      one('double-neg-inf', doubleValue(-Infinity)),
      one('bool-true', boolValue(true)),
      one('bool-false', boolValue(false)),
      one('array', arrayValue(anyString('a'), anyString('b'))),
      one('array-mixed', arrayValue(anyInt(1n), boolValue(true), doubleValue(2.5), anyString('x'), arrayValue(anyString('y')), kvlistValue(keyValue('k', anyString('v'))))),
      one('array-empty', arrayValue()),
      one('kvlist', kvlistValue(keyValue('k', anyString('v')))),
      one('kvlist-more', kvlistValue(keyValue('k', anyString('v')), keyValue('n', anyInt(1n)), keyValue('e'))),
      one('bytes', bytesValue([1, 2, 3])),
      one('no-member', []),
      one('no-value', undefined),
      span({ name: 'absent' }),
    ], CHECKOUT));
    expect(calls(text)).toEqual(sorted([
      'traces_spanmetrics_calls_total{span_name="int",v="9007199254740993"} 1',
      'traces_spanmetrics_calls_total{span_name="int-min",v="-9223372036854775808"} 1',
      'traces_spanmetrics_calls_total{span_name="double",v="0.0000001"} 1',
      'traces_spanmetrics_calls_total{span_name="double-big",v="1000000000000000000000"} 1',
      'traces_spanmetrics_calls_total{span_name="double-tenth",v="0.1"} 1',
      'traces_spanmetrics_calls_total{span_name="double-neg-zero",v="-0"} 1',
      'traces_spanmetrics_calls_total{span_name="double-nan",v="NaN"} 1',
      'traces_spanmetrics_calls_total{span_name="double-inf",v="+Inf"} 1',
      'traces_spanmetrics_calls_total{span_name="double-neg-inf",v="-Inf"} 1',
      'traces_spanmetrics_calls_total{span_name="bool-true",v="true"} 1',
      'traces_spanmetrics_calls_total{span_name="bool-false",v="false"} 1',
      'traces_spanmetrics_calls_total{span_name="array",v="[ab]"} 1',
      'traces_spanmetrics_calls_total{span_name="array-mixed",v="[1true2.5x[y]{k:v}]"} 1',
      'traces_spanmetrics_calls_total{span_name="array-empty",v="[]"} 1',
      'traces_spanmetrics_calls_total{span_name="kvlist",v="{k:v}"} 1',
      'traces_spanmetrics_calls_total{span_name="kvlist-more",v="{k:vn:1e:}"} 1',
      'traces_spanmetrics_calls_total{span_name="bytes"} 1',
      'traces_spanmetrics_calls_total{span_name="no-member"} 1',
      'traces_spanmetrics_calls_total{span_name="no-value"} 1',
      'traces_spanmetrics_calls_total{span_name="absent"} 1',
    ]));
  });

  it('doubles use the shortest digits that round-trip, as Go FormatFloat(v, f, -1, 64)', async () => {
    const text = await expose(config, request([
      one('a', doubleValue(251527280.93063354)),
      one('b', doubleValue(2.1571264043450355e-18)),
      one('c', doubleValue(3.6832859270275105e+34)),
      one('d', doubleValue(5e-324)),
      one('e', doubleValue(1.7976931348623157e308)),
    ], CHECKOUT));
    expect(calls(text)).toEqual([
      'traces_spanmetrics_calls_total{span_name="a",v="251527280.93063354"} 1',
      'traces_spanmetrics_calls_total{span_name="b",v="0.0000000000000000021571264043450355"} 1',
      'traces_spanmetrics_calls_total{span_name="c",v="36832859270275105000000000000000000"} 1',
      `traces_spanmetrics_calls_total{span_name="d",v="0.${'0'.repeat(323)}5"} 1`,
      `traces_spanmetrics_calls_total{span_name="e",v="17976931348623157${'0'.repeat(292)}"} 1`,
    ]);
  });

  it('a service.name that is not a string is formatted like any attribute', async () => {
    const text = await expose(spanMetricsConfig(BUCKETS, [], { span_kind: false, status_code: false }),
      request([span({ name: 'a' })], [keyValue('service.name', anyInt(42n))]));
    expect(calls(text)).toEqual(['traces_spanmetrics_calls_total{service="42",span_name="a"} 1']);
  });
});

describe('label values: escaping, UTF-8 repair, truncation', () => {
  const config = spanMetricsConfig(BUCKETS, ['v'], { service: false, span_kind: false, status_code: false });

  it('backslash, double quote and line feed are escaped; tab and carriage return are not', async () => {
    const text = await expose(config, request([span({ name: 'a\\b"c\nd', attrs: [['v', anyString('t\tr\r"')]] })], CHECKOUT));
    expect(calls(text)).toEqual([String.raw`traces_spanmetrics_calls_total{span_name="a\\b\"c\nd",v="t` + '\t' + 'r\r' + String.raw`\""} 1`]);
  });

  it('invalid UTF-8 becomes U+FFFD; spellings that repair to the same text share one series', async () => {
    const text = await expose(config, request([
      span({ name: [0x61, 0xff, 0x62] }), // a, invalid byte, b
      span({ name: [0x61, 0xfe, 0x62] }), // another invalid byte
      span({ name: [0x61, 0xc0, 0x62] }), // a lead byte that never starts a valid sequence
      span({ name: 'a\ufffdb' }), // the repaired text itself, sent as valid UTF-8
      span({ name: [0x61, 0xed, 0xa0, 0x80] }), // an encoded surrogate: three invalid bytes
      span({ name: 'ok', attrs: [['v', anyString([0x78, 0xff])]] }),
    ], CHECKOUT));
    expect(calls(text)).toEqual(sorted([
      'traces_spanmetrics_calls_total{span_name="a\ufffdb"} 4',
      'traces_spanmetrics_calls_total{span_name="a\ufffd\ufffd\ufffd"} 1',
      'traces_spanmetrics_calls_total{span_name="ok",v="x\ufffd"} 1',
    ]));
  });

  it('a truncated multi-byte sequence is one U+FFFD, as TextDecoder decodes it', async () => {
    const text = await expose(config, request([
      span({ name: [0x61, 0xe2, 0x82, 0x62] }), // a, the first two bytes of €, b
      span({ name: [0x61, 0xf0, 0x9f, 0x98, 0x62] }), // a, the first three bytes of 😀, b
    ], CHECKOUT));
    expect(new TextDecoder().decode(new Uint8Array([0x61, 0xe2, 0x82, 0x62]))).toBe('a\ufffdb');
    expect(calls(text)).toEqual(['traces_spanmetrics_calls_total{span_name="a\ufffdb"} 2']);
  });

  it('a leading byte-order mark is part of the value', async () => {
    const text = await expose(config, request([span({ name: '\ufeffx' }), span({ name: 'x' })], CHECKOUT));
    expect(calls(text)).toEqual(sorted([
      'traces_spanmetrics_calls_total{span_name="\ufeffx"} 1',
      'traces_spanmetrics_calls_total{span_name="x"} 1',
    ]));
  });

  it('values over 2048 bytes are cut to at most 2048 on a character boundary', async () => {
    const text = await expose(config, request([
      span({ name: 'a'.repeat(2048) }), // exactly 2048: kept
      span({ name: `${'b'.repeat(2047)}é` }), // é would end at byte 2049
      span({ name: 'é'.repeat(1100) }), // 2200 bytes
      span({ name: '日'.repeat(700) }), // 2100 bytes: 682 characters fit (2046 bytes)
      span({ name: '😀'.repeat(600) }), // 2400 bytes: 512 characters are exactly 2048
      span({ name: `${'c'.repeat(2048)}-one` }), // these two differ after byte 2048
      span({ name: `${'c'.repeat(2048)}-two` }),
      span({ name: 'dim', attrs: [['v', anyString('d'.repeat(3000))]] }),
    ], CHECKOUT));
    expect(calls(text)).toEqual(sorted([
      `traces_spanmetrics_calls_total{span_name="${'a'.repeat(2048)}"} 1`,
      `traces_spanmetrics_calls_total{span_name="${'b'.repeat(2047)}"} 1`,
      `traces_spanmetrics_calls_total{span_name="${'é'.repeat(1024)}"} 1`,
      `traces_spanmetrics_calls_total{span_name="${'日'.repeat(682)}"} 1`,
      `traces_spanmetrics_calls_total{span_name="${'😀'.repeat(512)}"} 1`,
      `traces_spanmetrics_calls_total{span_name="${'c'.repeat(2048)}"} 2`,
      `traces_spanmetrics_calls_total{span_name="dim",v="${'d'.repeat(2048)}"} 1`,
    ]));
  });

  it('a long run of invalid bytes becomes U+FFFDs cut at 2048 bytes, not an empty value', async () => {
    const text = await expose(config, request([span({ name: new Uint8Array(3000).fill(0x80) })], CHECKOUT));
    expect(calls(text)).toEqual([`traces_spanmetrics_calls_total{span_name="${'\ufffd'.repeat(682)}"} 1`]);
  });
});

describe('latency histogram', () => {
  it('bucket bounds are le-inclusive; a negative duration is 0; a huge one is +Inf', async () => {
    const config = spanMetricsConfig([0.002, 0.004, 1], [], { service: false, span_kind: false, status_code: false });
    const text = await expose(config, request([
      span({ name: 'h', ns: 2_000_000n }), // 0.002: le="0.002"
      span({ name: 'h', ns: 2_000_001n }), // just over: le="0.004"
      span({ name: 'h', ns: 4_000_000n }), // le="0.004"
      span({ name: 'h', ns: 1_000_000_000n }), // le="1"
      span({ name: 'h', ns: 1_000_000_001n }), // +Inf
      span({ name: 'h', start: T0, end: T0 - 5n }), // ends before it starts: 0, le="0.002"
      span({ name: 'h', start: 0n, end: 18446744073709551615n }), // 18446744073.709553 s: +Inf
    ], CHECKOUT));
    expect(text.split('\n').filter((l) => l.startsWith('traces_spanmetrics_latency'))).toEqual([
      'traces_spanmetrics_latency_bucket{span_name="h",le="0.002"} 2',
      'traces_spanmetrics_latency_bucket{span_name="h",le="0.004"} 4',
      'traces_spanmetrics_latency_bucket{span_name="h",le="1"} 5',
      'traces_spanmetrics_latency_bucket{span_name="h",le="+Inf"} 7',
      // 0.002 + 0.002000001 + 0.004 + 1 + 1.000000001 + 0 + 18446744073.709553, in that order
      'traces_spanmetrics_latency_sum{span_name="h"} 18446744075.717552',
      'traces_spanmetrics_latency_count{span_name="h"} 7',
    ]);
  });

  it('several bounds in one power of two, and values on, just under and just over them', async () => {
    // Six bounds between 2^-10 and 2^-7 (assembly/histogram.ts looks from the bounds below a
    // value's power of two); each expected bucket by hand: the first bound >= the duration.
    const config = spanMetricsConfig([0.001, 0.0015, 0.002, 0.003, 0.004, 0.006, 0.008, 1, 1.5, 2, 3], [], {
      service: false, span_kind: false, status_code: false,
    });
    const ns = [
      1_000_000n, 0n, // le="0.001"
      1_000_001n, 1_500_000n, // le="0.0015"
      1_999_999n, 2_000_000n, // le="0.002"
      5_000_000n, // le="0.006"
      8_000_001n, 1_000_000_000n, // le="1"
      1_000_000_001n, // le="1.5"
      2_999_999_999n, // le="3"
      3_000_000_001n, // +Inf
    ];
    const text = await expose(config, request(ns.map((n) => span({ name: 'b', ns: n })), CHECKOUT));
    expect(lines(text, 'traces_spanmetrics_latency_bucket')).toEqual([
      ['0.001', 2], ['0.0015', 4], ['0.002', 6], ['0.003', 6], ['0.004', 6], ['0.006', 7], ['0.008', 7],
      ['1', 9], ['1.5', 10], ['2', 10], ['3', 11], ['+Inf', 12],
    ].map(([le, n]) => `traces_spanmetrics_latency_bucket{span_name="b",le="${le}"} ${n}`));
  });

  it('a zero bound counts zero and negative durations', async () => {
    const config = spanMetricsConfig([0, 0.5], [], { service: false, span_kind: false, status_code: false });
    const text = await expose(config, request([
      span({ name: 'z', ns: 0n }),
      span({ name: 'z', start: T0, end: 0n }),
      span({ name: 'z', ns: 1n }),
    ], CHECKOUT));
    expect(lines(text, 'traces_spanmetrics_latency')).toEqual([
      'traces_spanmetrics_latency_bucket{span_name="z",le="0"} 2',
      'traces_spanmetrics_latency_bucket{span_name="z",le="0.5"} 3',
      'traces_spanmetrics_latency_bucket{span_name="z",le="+Inf"} 3',
      'traces_spanmetrics_latency_sum{span_name="z"} 1e-9',
      'traces_spanmetrics_latency_count{span_name="z"} 3',
    ]);
  });
});

describe('rejected requests', () => {
  it('leave the metrics exactly as they were, even when good spans came before the fault', async () => {
    const config = spanMetricsConfig(BUCKETS, ['v']);
    const { core, exposition } = await makeCore(config);
    const good = request([span({ name: 'GET /cart', kind: 2, attrs: [['v', anyString('x')]] })], CHECKOUT);
    expect(core.ingest(good)).toEqual({ ok: true, spans: 1 });
    const before = exposition.render();
    expect(calls(before)).toEqual(['traces_spanmetrics_calls_total{service="checkout",span_name="GET /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",v="x"} 1']);

    const truncated = good.subarray(0, good.length - 1);
    const badId = request([span({ name: 'new', attrs: [['v', anyString('y')]] }), span({ name: 'GET /cart', kind: 2, extra: fLen(2, [1, 2, 3]) })], CHECKOUT);
    const wrongType = request([span({ name: 'other', extra: [...tag(6, 2), 0] })], CHECKOUT);
    for (const bad of [truncated, badId, wrongType, new Uint8Array([0xff]), new TextEncoder().encode('{"resourceSpans":[]}')]) {
      expect(core.ingest(bad).ok).toBe(false);
      expect(exposition.render()).toBe(before);
    }
    expect(core.ingest(good)).toEqual({ ok: true, spans: 1 });
    expect(calls(exposition.render())).toEqual(['traces_spanmetrics_calls_total{service="checkout",span_name="GET /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",v="x"} 2']);
  });

  it('give the exact reason: what, where and at which byte', async () => {
    const { core } = await makeCore(spanMetricsConfig(BUCKETS, []));
    const reason = (bytes: number[] | Uint8Array): string => {
      const r = core.ingest(new Uint8Array(bytes));
      return r.ok ? 'accepted' : r.reason;
    };
    const bare = (spanBody: Bytes): Bytes => fLen(1, fLen(2, fLen(2, spanBody)));
    const ID = 'wrong id length (trace_id must be 16 bytes, span_id and parent_span_id 8, or empty)';
    // Each input with its bytes spelled out where the offset matters.
    expect(reason([0x0a, 0x05, 0x01, 0x02])).toBe('invalid protobuf: length runs past the end of its message in ExportTraceServiceRequest.resource_spans (field 1) at byte 2');
    expect(reason(new Array(11).fill(0xff))).toBe('invalid protobuf: varint overflows 64 bits at byte 10');
    expect(reason([0x08])).toBe('invalid protobuf: wrong wire type for a known field in ExportTraceServiceRequest.resource_spans (field 1) at byte 1');
    expect(reason([0x0f])).toBe('invalid protobuf: invalid wire type in ExportTraceServiceRequest.resource_spans (field 1) at byte 1');
    expect(reason([0x00])).toBe('invalid protobuf: field number 0 in ExportTraceServiceRequest at byte 1');
    expect(reason([0x14])).toBe('invalid protobuf: unmatched group end in ExportTraceServiceRequest field 2 at byte 1');
    expect(reason([0x13])).toBe('invalid protobuf: truncated data in ExportTraceServiceRequest field 2 at byte 1');
    expect(reason([0x13, 0x1c])).toBe('invalid protobuf: unmatched group end in ExportTraceServiceRequest field 2 at byte 2');
    expect(reason([0x10])).toBe('invalid protobuf: truncated data at byte 1');
    expect(reason([0x10, 0x80])).toBe('invalid protobuf: truncated data at byte 2');
    // 0a 09 | 12 07 | 12 05 | 0a 03 01 02 03: the id's content starts at byte 8
    expect(reason(bare(fLen(1, [1, 2, 3])))).toBe(`invalid protobuf: ${ID} in Span.trace_id (field 1) at byte 8`);
    // 0a 08 | 12 06 | 12 04 | 39 01 02 03: start_time needs 8 bytes after its tag at byte 7
    expect(reason(bare([0x39, 1, 2, 3]))).toBe('invalid protobuf: truncated data in Span.start_time_unix_nano (field 7) at byte 7');
    // 0a 0d | 12 0b | 12 09 | 4a 07 | 0a 01 6b 12 02 | 12 00: bool_value as bytes, tag at byte 13
    expect(reason(bare(fLen(9, keyValue('k', [0x12, 0x00]))))).toBe('invalid protobuf: wrong wire type for a known field in AnyValue.bool_value (field 2) at byte 14');
    // "hello": h = field 13 varint, e its value, l = field 13 group end
    expect(reason(new TextEncoder().encode('hello'))).toBe('invalid protobuf: unmatched group end in ExportTraceServiceRequest field 13 at byte 3');
    // JSON sent as protobuf: { = field 15 group start, " = field 4 length 0x72 (114) at byte 2
    expect(reason(new TextEncoder().encode('{"resourceSpans":[]}'))).toBe('invalid protobuf: length runs past the end of its message in ExportTraceServiceRequest field 4 at byte 3');
  });

  it('nesting: 31 arrays deep is accepted, 32 is rejected', async () => {
    const config = spanMetricsConfig(BUCKETS, ['v'], { service: false, span_kind: false, status_code: false });
    const { core, exposition } = await makeCore(config);
    const nested = (n: number): Bytes => {
      let v = anyString('x');
      for (let i = 0; i < n; i++) v = arrayValue(v);
      return v;
    };
    expect(core.ingest(request([span({ name: 'deep', attrs: [['v', nested(31)]] })], CHECKOUT))).toEqual({ ok: true, spans: 1 });
    expect(calls(exposition.render())).toEqual([`traces_spanmetrics_calls_total{span_name="deep",v="${'['.repeat(31)}x${']'.repeat(31)}"} 1`]);
    const r = core.ingest(request([span({ name: 'deeper', attrs: [['v', nested(32)]] })], CHECKOUT));
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(/^invalid protobuf: nesting deeper than 64 levels in ArrayValue at byte \d+$/);
  });
});

describe('one series per label set, whatever the core found before', () => {
  // The core remembers the record it last found for a service, span name, kind and status code
  // (assembly/spanmetrics.ts) and the id it last gave a name's bytes (assembly/intern.ts); these
  // spans make both guesses wrong, and every expected count is written out by hand.
  const cart = (region: string): Bytes => span({ name: 'GET /cart', attrs: [['region', anyString(region)]] });
  const l = 'service="checkout",span_name="GET /cart",span_kind="SPAN_KIND_UNSPECIFIED",status_code="STATUS_CODE_UNSET"';

  it('spans alike but for a dimension, alternating: each in its own series', async () => {
    const r = request([cart('eu'), cart('us'), cart('eu'), cart('eu'), cart('us')], CHECKOUT);
    expect(calls(await expose(spanMetricsConfig(BUCKETS, ['region']), r))).toEqual([
      `traces_spanmetrics_calls_total{${l},region="eu"} 3`,
      `traces_spanmetrics_calls_total{${l},region="us"} 2`,
    ]);
  });

  it('a series removed as stale, its record taken by another label set: the first starts again at 1', async () => {
    const { core, exposition } = await makeCore(spanMetricsConfig(BUCKETS, ['region']));
    const t0 = 1_700_000_000_000;
    expect(core.ingest(request([cart('eu'), cart('eu')], CHECKOUT), t0).ok).toBe(true);
    // registry.stale_duration: 15 minutes by default (src/core/index.ts sweep)
    expect(core.sweep(t0 + 16 * 60_000)).toBe(1);
    expect(core.ingest(request([cart('us')], CHECKOUT), t0 + 16 * 60_000).ok).toBe(true);
    expect(core.ingest(request([cart('eu')], CHECKOUT), t0 + 16 * 60_000).ok).toBe(true);
    expect(calls(exposition.render())).toEqual([
      `traces_spanmetrics_calls_total{${l},region="eu"} 1`,
      `traces_spanmetrics_calls_total{${l},region="us"} 1`,
    ]);
  });

  it('names of 1 to 40 bytes that differ in one byte anywhere are different names', async () => {
    // Per length n: "a" n times, and each copy with one "b" (n + 1 names), every name sent twice.
    const names: string[] = [];
    for (let n = 1; n <= 40; n++) {
      names.push('a'.repeat(n));
      for (let i = 0; i < n; i++) names.push('a'.repeat(i) + 'b' + 'a'.repeat(n - i - 1));
    }
    expect(names.length).toBe(40 + (40 * 41) / 2);
    const spans = [...names, ...names].map((name) => span({ name }));
    const text = await expose(spanMetricsConfig(BUCKETS, [], { service: false, span_kind: false, status_code: false }), request(spans, []));
    expect(calls(text)).toEqual(names.map((name) => `traces_spanmetrics_calls_total{span_name="${name}"} 2`).sort());
  });
});
