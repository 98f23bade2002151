// The wire walk's fast path for an attribute (assembly/keyvalues.ts simpleKeyValue: a KeyValue of a
// key and a one-field AnyValue with one-byte lengths) must accept and refuse exactly what the
// general walk does. Expected outcomes come from protobufjs (decodeReference) and from the
// protobuf encoding rules (a varint byte >= 0x80 continues into the next byte).
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import * as L from '../../src/core/layout.js';
import { anyInt, anyString, fFixed64, fLen, fVarint, keyValue, request, spanMetricsConfig, type Bytes } from './helpers.js';
import { decodeReference } from './rules.js';

const span = (attributes: Bytes[]): Bytes => [
  ...fLen(1, new Uint8Array(16).fill(1)), ...fLen(2, new Uint8Array(8).fill(2)), ...fLen(5, 'op'), ...fVarint(6, 2),
  ...fFixed64(7, 1_000_000_000n), ...fFixed64(8, 1_500_000_000n), ...attributes.flatMap((kv) => fLen(9, kv)),
];

async function spanMetricsCore(): Promise<Core> {
  const sm = defaultConfig().processor.span_metrics;
  return Core.create({ spanMetrics: { ...sm, dimensions: ['k'] } });
}

describe('the attribute fast path', () => {
  it('refuses a value length whose first byte (0x81) would end the KeyValue if read alone, as protobufjs does', async () => {
    // key "k", then field 2 with length bytes 0x81 0x0a = 1 + (10 << 7) = 1281 bytes: past the
    // KeyValue's end. Read as one byte, 0x81 = 129 would end it exactly (2 + 127 bytes follow:
    // the tag 0x0a and the length 0x7f of a 127-byte string).
    const kv = [0x0a, 0x01, 0x6b, 0x12, 0x81, 0x0a, 0x7f, ...new Array(127).fill(0x61)];
    const bytes = request([span([kv])]);
    expect(decodeReference(bytes).ok).toBe(false);
    const core = await spanMetricsCore();
    const result = core.ingest(bytes);
    expect(result).toMatchObject({ ok: false, cause: 'malformed' });
    expect(!result.ok && result.reason).toMatch(/^invalid protobuf: length runs past the end of its message in KeyValue\.value \(field 2\) at byte \d+$/);
    expect(core.table('spanMetrics')!.used).toBe(0);
  });

  it('takes the same value with its length written in two bytes (0x81 0x01 = 129), the label being the 127 bytes', async () => {
    const kv = keyValue('k', anyString('a'.repeat(127)));
    expect(kv.slice(3, 7)).toEqual([0x12, 0x81, 0x01, 0x0a]);
    const bytes = request([span([kv])]);
    expect(decodeReference(bytes).ok).toBe(true);
    const core = await spanMetricsCore();
    expect(core.ingest(bytes)).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(core.label(view.key(0, L.SM_KEY_DIMENSIONS))).toBe('a'.repeat(127));
  });
});

// assembly/otlp.ts spanPrefix and spanSuffix: a span's fields in the order and shapes SDKs write
// them are taken in straight-line code before the general loop. The same fields in another order
// go through the loop alone: both must give the same series, and a field in nearly the usual shape
// (an id one byte short or long) must still be refused by the loop's check.
describe('the span fast path (fields in the usual order)', () => {
  const T0 = 1_700_000_000_000_000_000n;
  // Status {code: STATUS_CODE_ERROR}: tag 0x7a, length 2, then tag 0x18 and the code 2 (the
  // shape spanSuffix takes; opentelemetry-proto trace.proto: Status.code is field 3).
  const fields: Bytes[] = [
    fLen(1, new Uint8Array(16).fill(1)), fLen(2, new Uint8Array(8).fill(2)), fLen(4, new Uint8Array(8).fill(4)),
    fLen(5, 'op'), fVarint(6, 3), fFixed64(7, T0), fFixed64(8, T0 + 250_000_000n),
    fLen(9, keyValue('k', anyString('v'))), fLen(15, fVarint(3, 2)), [0x85, 0x01, 1, 0, 0, 0],
  ];

  it.each([
    ['in the usual order', fields],
    ['in reverse order', [...fields].reverse()],
    ['with the attribute first', [fields[7]!, ...fields.slice(0, 7), ...fields.slice(8)]],
  ])('%s: one series, kind client, status error, 0.25 s', async (_, order) => {
    const spanBytes = order.flat();
    const core = await spanMetricsCore();
    expect(core.ingest(request([spanBytes]))).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(view.used).toBe(1);
    expect(core.label(view.key(0, L.SM_KEY_SPAN_NAME))).toBe('op');
    expect(view.key(0, L.SM_KEY_SPAN_KIND)).toBe(3); // SPAN_KIND_CLIENT, as sent
    expect(view.key(0, L.SM_KEY_STATUS_CODE)).toBe(2); // STATUS_CODE_ERROR
    expect(core.label(view.key(0, L.SM_KEY_DIMENSIONS))).toBe('v');
    expect(view.value(0, L.SM_V_CALLS)).toBe(1);
    expect(view.value(0, L.SM_V_SUM)).toBe(0.25); // (T0 + 250 ms) - T0, by hand
  });

  const ID_LENGTH = 'wrong id length (trace_id must be 16 bytes, span_id and parent_span_id 8, or empty)';
  it.each([
    ['trace_id of 15 bytes', 0, 15, 'Span.trace_id (field 1)'],
    ['trace_id of 17 bytes', 0, 17, 'Span.trace_id (field 1)'],
    ['span_id of 7 bytes', 1, 7, 'Span.span_id (field 2)'],
    ['parent_span_id of 9 bytes', 2, 9, 'Span.parent_span_id (field 4)'],
  ] as const)('a %s in its usual place is refused', async (_, index, length, where) => {
    const field = [1, 2, 4][index]!;
    const order = fields.map((f, i) => (i === index ? fLen(field, new Uint8Array(length).fill(0xee)) : f));
    const bytes = request([order.flat()]);
    expect(decodeReference(bytes).ok).toBe(true); // protobufjs takes any length: the id rule is the core's
    const at = bytes.indexOf(0xee); // the failure is recorded where the id's bytes start
    const core = await spanMetricsCore();
    expect(core.ingest(bytes)).toMatchObject({ ok: false, cause: 'malformed' });
    const result = core.ingest(bytes);
    expect(!result.ok && result.reason).toBe(`invalid protobuf: ${ID_LENGTH} in ${where} at byte ${at}`);
    expect(core.table('spanMetrics')!.used).toBe(0);
  });
});

// assembly/watch.ts: a configured key is found from its length, first 8, last 8 and (17 to 24
// bytes) middle 8 bytes, past 24 bytes with the rest compared. Each watched key here has a
// look-alike sent before it on the same span (first occurrence wins): one that equals it on all
// but one of those words (or on the words but not the length), which must not be taken for it.
describe('watched attribute keys and their look-alikes', () => {
  const watched = [
    'abc', // under 8 bytes: read as the top of the 8 bytes ending with it
    'abcdefgh', // 8
    'network.AAAAAAAA.address', // 24: bytes 8 to 16 tell it from the look-alike
    'aaaaaaaaaaaaaaaa-one-bbbbbbbb', // 29: bytes 16 to 21 do
    'service.instance.identifier.id', // 30
  ];
  const lookalikes = [
    'xabc', 'ab', 'abcdefghabcdefgh', 'network.BBBBBBBB.address', 'aaaaaaaaaaaaaaaa-two-bbbbbbbb', 'service.instance.identifier.iD',
  ];
  it('each takes its own value, none a look-alike\'s', async () => {
    const core = await Core.create({ spanMetrics: spanMetricsConfig([1], watched) });
    const attrs = [
      ...lookalikes.map((k) => keyValue(k, anyString('wrong'))),
      ...watched.map((k, i) => keyValue(k, anyString(`right${i}`))),
    ];
    expect(core.ingest(request([span(attrs)]))).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(view.used).toBe(1);
    expect(watched.map((_, d) => core.label(view.key(0, L.SM_KEY_DIMENSIONS + d))))
      .toEqual(['right0', 'right1', 'right2', 'right3', 'right4']);
  });
});

// A watched key under 8 bytes is compared in the attribute run as the 8 bytes from it masked to
// its length (assembly/watch.ts watchedSlotRun): the byte after it (the value's tag) must not
// count, and each of its own must. Keys of 1 to 7 bytes, each after two look-alikes of its length
// on the same span, one differing in its first byte and one in its last.
describe('short watched keys and their look-alikes of the same length', () => {
  const watched = ['a', 'ab', 'abc', 'abcd', 'abcde', 'abcdef', 'abcdefg'];
  it('each takes its own value', async () => {
    const core = await Core.create({ spanMetrics: spanMetricsConfig([1], watched) });
    const attrs = [
      ...watched.flatMap((k) => [keyValue(`z${k.slice(1)}`, anyString('wrong')), keyValue(`${k.slice(0, -1)}z`, anyString('wrong'))]),
      ...watched.map((k, i) => keyValue(k, anyString(`right${i}`))),
    ];
    expect(core.ingest(request([span(attrs)]))).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(view.used).toBe(1);
    expect(watched.map((_, d) => core.label(view.key(0, L.SM_KEY_DIMENSIONS + d)))).toEqual(watched.map((_, i) => `right${i}`));
  });
});

// The attribute run compares a key with the first two watched keys of its length; a third key of
// that length is left to the general walk (assembly/keyvalues.ts attributeRun). Watched keys
// of one length, in configured order: 'keyA' and 'keyB' are the run's, 'keyC' the general walk's,
// and 'keyD' (not watched) is compared with all three. Each value expected is the one sent
// first for its key (first occurrence wins), by hand from the attributes below.
describe('watched keys sharing a length', () => {
  const dims = ['keyA', 'keyB', 'keyC', 'alpha', 'bravo'];
  it('each takes its first value, whichever of its length group it is', async () => {
    const core = await Core.create({ spanMetrics: spanMetricsConfig([1], dims) });
    const attrs = [
      keyValue('keyD', anyString('wrong')), keyValue('alphz', anyString('wrong')),
      keyValue('keyC', anyString('c1')), keyValue('bravo', anyString('e1')), keyValue('keyB', anyString('b1')),
      keyValue('keyA', anyString('a1')), keyValue('keyC', anyString('c2')), keyValue('keyA', anyString('a2')),
      keyValue('alpha', anyString('d1')), keyValue('keyB', anyString('b2')), keyValue('bravo', anyString('e2')),
    ];
    expect(core.ingest(request([span(attrs)]))).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(view.used).toBe(1);
    expect(dims.map((_, d) => core.label(view.key(0, L.SM_KEY_DIMENSIONS + d)))).toEqual(['a1', 'b1', 'c1', 'd1', 'e1']);
  });
});

// assembly/keyvalues.ts attributeRun takes an int or bool value (AnyValue field 3 or 2, a varint
// ending the KeyValue) of up to 8 bytes itself; 9 and 10 bytes, and a varint cut short, go through
// simpleKeyValue and the general walk. Labels: decimal, and "true" (Tempo's and the Collector's
// formatting of int and bool attributes).
describe('int and bool attribute values in the attribute run', () => {
  const dims = ['a', 'b', 'c', 'd', 'e'];
  it('takes varints of 1, 3 and 10 bytes and a bool', async () => {
    const core = await Core.create({ spanMetrics: spanMetricsConfig([1], dims) });
    const attrs = [
      keyValue('a', anyInt(0n)), keyValue('b', anyInt(50051n)), keyValue('c', anyInt(-1n)),
      keyValue('d', fVarint(2, 1)), keyValue('e', anyString('s')),
    ];
    expect(anyInt(50051n)).toEqual([0x18, 0x83, 0x87, 0x03]); // 3 bytes: 50051 = 3 + (7 << 7) + (3 << 14)
    expect(anyInt(-1n)).toHaveLength(11); // 10 bytes: two's complement, 64 bits
    expect(core.ingest(request([span(attrs)]))).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(dims.map((_, d) => core.label(view.key(0, L.SM_KEY_DIMENSIONS + d)))).toEqual(['0', '50051', '-1', 'true', 's']);
  });

  it('refuses an int whose last byte continues (0x83 0x87 0x83) past the end of its KeyValue, as protobufjs does', async () => {
    const bytes = request([span([keyValue('a', [0x18, 0x83, 0x87, 0x83])])]);
    expect(decodeReference(bytes).ok).toBe(false);
    const core = await Core.create({ spanMetrics: spanMetricsConfig([1], dims) });
    expect(core.ingest(bytes)).toMatchObject({ ok: false, cause: 'malformed' });
    expect(core.table('spanMetrics')!.used).toBe(0);
  });

  it('takes an 8-byte varint in the run, leaves a 9-byte one and a double to the general walk, and goes on after them', async () => {
    // Keys of five lengths (a length group each). 2^55 has 56 bits: 8 varint bytes; 2^56, 57 bits:
    // 9 (protobuf encoding: 7 bits a byte). Decimal labels by hand: 2^55 = 36028797018963968,
    // 2^56 = 72057594037927936; the double 2.5 in plain decimal (assembly/labelvalue.ts, as
    // Tempo's strconv.FormatFloat(v, 'f', -1, 64)).
    const keys = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
    const attrs = [
      keyValue('a', anyInt(1n << 55n)), keyValue('bb', anyInt(1n << 56n)), keyValue('ccc', fFixed64(4, 0x4004000000000000n)),
      keyValue('dddd', anyInt(200n)), keyValue('eeeee', anyString('s')),
    ];
    expect(anyInt(1n << 55n)).toHaveLength(9);
    expect(anyInt(1n << 56n)).toHaveLength(10);
    const core = await Core.create({ spanMetrics: spanMetricsConfig([1], keys) });
    expect(core.ingest(request([span(attrs)]))).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(keys.map((_, d) => core.label(view.key(0, L.SM_KEY_DIMENSIONS + d))))
      .toEqual(['36028797018963968', '72057594037927936', '2.5', '200', 's']);
  });
});

// attributeRun checks an int's varint bytes (s + 1 of them, ending the KeyValue) as the top bytes
// of the u64 ending there: every byte but the last continues (>= 0x80), the last does not. A
// varint that ends before its KeyValue does (a byte under 0x80 inside it) leaves bytes that
// must be read as another field of the AnyValue: here a tag of field number 0, or a varint tag
// of 7 bytes (field (0x81..0x01 without the wire type) with wire type 1, I64) whose 8 bytes are
// not there. Both are malformed (protobuf encoding rules; protobufjs refuses them too).
describe('an int attribute whose varint ends inside its KeyValue', () => {
  it.each([
    ['3 bytes, the middle one ending it (0x83 0x07, then 0x03: field 0)', [0x18, 0x83, 0x07, 0x03]],
    ['8 bytes, the first ending it (0x01, then 7 bytes of a tag that wants 8 more)', [0x18, 0x01, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01]],
  ])('%s is refused', async (_, value) => {
    const bytes = request([span([keyValue('a', value)])]);
    expect(decodeReference(bytes).ok).toBe(false);
    const core = await Core.create({ spanMetrics: spanMetricsConfig([1], ['a']) });
    expect(core.ingest(bytes)).toMatchObject({ ok: false, cause: 'malformed' });
    expect(core.table('spanMetrics')!.used).toBe(0);
  });
});

// attributeRun reads an attribute's first four bytes before it knows that four are left in the
// span (the input keeps wire.ts INPUT_SLACK bytes readable past its end). A span ending with an
// empty attribute (0x4a 0x00), followed in its ScopeSpans by the scope (tag 0x0a, opentelemetry-
// proto trace.proto ScopeSpans.scope is field 1): the four bytes then look like an attribute's
// start (0x4a, a length, a key tag 0x0a, a key length), which the run must not take; the general
// walk takes the empty attribute (a key-less KeyValue, valid protobuf), and the scope after it.
describe('the attribute run at the end of a span', () => {
  it('leaves an empty last attribute followed by bytes that look like a key to the general walk', async () => {
    const spanBytes = [...span([keyValue('a', anyString('x'))]), 0x4a, 0x00];
    const scope = fLen(1, 'lib'); // InstrumentationScope.name
    const scopeSpans = [...fLen(2, spanBytes), ...fLen(1, scope)];
    const resource = fLen(1, keyValue('service.name', anyString('svc')));
    const bytes = new Uint8Array(fLen(1, [...fLen(1, resource), ...fLen(2, scopeSpans)]));
    const end = bytes.indexOf(0x4a, bytes.length - scope.length - 6);
    expect([...bytes.subarray(end, end + 4)]).toEqual([0x4a, 0x00, 0x0a, scope.length]);
    expect(decodeReference(bytes).ok).toBe(true);
    const core = await Core.create({ spanMetrics: spanMetricsConfig([1], ['a']) });
    expect(core.ingest(bytes)).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(view.used).toBe(1);
    expect(core.label(view.key(0, L.SM_KEY_DIMENSIONS))).toBe('x');
  });
});

// assembly/otlp.ts walkScopeSpans reads a span's tag and length as one u32 when the length takes
// one byte (spans under 128 bytes) or two (128 to 16,383; the second byte 1 to 0x7f), as lenAt
// reads a length; anything else (a length written in more bytes than it needs, one running past
// the ScopeSpans) goes through the general path. Span sizes by hand: the span() fields but the
// name take 48 bytes (trace id 2 + 16, span id 2 + 8, kind 2, times 2 x 9), the name 2 + its length.
describe('span lengths in one and two bytes', () => {
  const named = (name: string): Bytes => span([]).slice(0, 28).concat(fLen(5, name), span([]).slice(32));

  it('takes spans of 127 bytes (length 0x7f) and 128 bytes (0x80 0x01)', async () => {
    const a = named('a'.repeat(77));
    const b = named('b'.repeat(78));
    expect([a.length, b.length]).toEqual([127, 128]);
    const bytes = request([a, b]);
    expect(fLen(2, a).slice(0, 2)).toEqual([0x12, 0x7f]);
    expect(fLen(2, b).slice(0, 3)).toEqual([0x12, 0x80, 0x01]);
    const core = await spanMetricsCore();
    expect(core.ingest(bytes)).toEqual({ ok: true, spans: 2 });
    const view = core.table('spanMetrics')!;
    expect([0, 1].map((i) => core.label(view.key(i, L.SM_KEY_SPAN_NAME))).sort()).toEqual(['a'.repeat(77), 'b'.repeat(78)]);
  });

  it('takes a length written in two bytes where one would do (0xbc 0x00 = 60), as protobufjs does', async () => {
    const s = named('c'.repeat(10));
    expect(s.length).toBe(60);
    const scopeSpans = [0x12, 0xbc, 0x00, ...s];
    const resource = fLen(1, keyValue('service.name', anyString('svc')));
    const bytes = new Uint8Array(fLen(1, [...fLen(1, resource), ...fLen(2, scopeSpans)]));
    expect(decodeReference(bytes).ok).toBe(true);
    const core = await spanMetricsCore();
    expect(core.ingest(bytes)).toEqual({ ok: true, spans: 1 });
    expect(core.label(core.table('spanMetrics')!.key(0, L.SM_KEY_SPAN_NAME))).toBe('c'.repeat(10));
  });

  it('refuses a span tag and the first byte of a two-byte length at the end of a ScopeSpans, whatever follows it', async () => {
    // After the ScopeSpans, ResourceSpans.schema_url (field 3, tag 0x1a): read as the length's
    // second byte it would make a length of 5 + (0x1a << 7) = 3333, past the end either way.
    const scopeSpans = [...fLen(2, named('d')), 0x12, 0x85];
    const resource = fLen(1, keyValue('service.name', anyString('svc')));
    const bytes = new Uint8Array(fLen(1, [...fLen(1, resource), ...fLen(2, scopeSpans), ...fLen(3, 'x')]));
    expect(bytes[bytes.indexOf(0x85) + 1]).toBe(0x1a);
    expect(decodeReference(bytes).ok).toBe(false);
    const core = await spanMetricsCore();
    expect(core.ingest(bytes)).toMatchObject({ ok: false, cause: 'malformed' });
    expect(core.table('spanMetrics')!.used).toBe(0);
  });
});

// assembly/otlp.ts walkResource takes a resource attribute in simpleKeyValue's shape without
// walkKeyValue; any other goes through it. service.name: the first occurrence names the service
// (a linear search would find it first; the OTel SDKs' Resource holds one). A dimension read from
// the resource wins over the span's (Tempo looks at the resource first: assembly/attributes.ts
// resourceOrSpanSlot). Expected labels: the values sent.
describe('resource attributes', () => {
  it('names the service from the first service.name, and takes watched keys past a double and a nested value', async () => {
    const resource = [
      keyValue('host.arch', fFixed64(4, 0x4004000000000000n)), // a double: the general walk
      keyValue('service.name', anyString('first')),
      keyValue('k8s', fLen(6, fLen(1, keyValue('x', anyString('y'))))), // a kvlist value: the general walk
      keyValue('service.name', anyString('second')),
      keyValue('dim', anyString('from-resource')),
      keyValue('dim', anyString('later')),
    ];
    const core = await Core.create({ spanMetrics: spanMetricsConfig([1], ['dim', 'host.arch']) });
    const bytes = request([span([keyValue('dim', anyString('from-span'))])], resource);
    expect(decodeReference(bytes).ok).toBe(true);
    expect(core.ingest(bytes)).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(view.used).toBe(1);
    expect(core.label(view.key(0, L.SM_KEY_SERVICE))).toBe('first');
    expect(core.label(view.key(0, L.SM_KEY_DIMENSIONS))).toBe('from-resource');
    expect(core.label(view.key(0, L.SM_KEY_DIMENSIONS + 1))).toBe('2.5');
  });
});
