// otlp.max_string_length, otlp.max_attributes_per_span and otlp.max_spans_per_request in the core:
// a string, an attribute count or a span count one over the limit refuses the request whole,
// with the place named (the span limit: with the request's spans counted); at the limit passes.
// Byte offsets are found in the hand-built request (where the offending string starts).
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { type Bytes, anyString, fFixed64, fLen, fVarint, keyValue, request, spanMetricsConfig } from './helpers.js';

const T0 = 1_700_000_000_000_000_000n;

async function core(maxStringLength: number, maxAttributesPerSpan: number, maxSpansPerRequest = 0): Promise<Core> {
  return Core.create({
    spanMetrics: { ...spanMetricsConfig([1], ['k']), events: { enabled: true, dimensions: [] } },
    limits: { maxStringLength, maxAttributesPerSpan, maxSpansPerRequest },
  });
}

function span(name: string, more: Bytes = []): Bytes {
  return [...fLen(5, name), ...fVarint(6, 2), ...fFixed64(7, T0), ...fFixed64(8, T0 + 1_000_000n), ...more];
}

/** Where the bytes of `needle` (UTF-8) first start in `haystack`. */
function offsetOf(haystack: Uint8Array, needle: string): number {
  const n = new TextEncoder().encode(needle);
  for (let i = 0; i + n.length <= haystack.length; i++) if (n.every((b, j) => haystack[i + j] === b)) return i;
  throw new Error(`${needle} not in the request`);
}

/** An AnyValue kvlist {inner: [ "nnnnnnnnn" ]}. */
const NESTED: Bytes = fLen(6, fLen(1, keyValue('inner', fLen(5, fLen(1, anyString('nnnnnnnnnnnnn'))))));

const attr = (key: string, value: string): Bytes => fLen(9, keyValue(key, anyString(value)));

describe('otlp.max_string_length (12 bytes here: "service.name" is at the limit)', () => {
  const ok = [
    ['a span name', span('123456789012')],
    ['an attribute key and value', span('a', attr('kkkkkkkkkkkk', 'vvvvvvvvvvvv'))],
    ['an event name', span('a', fLen(11, fLen(2, 'eeeeeeeeeeee')))],
    ['a status message', span('a', fLen(15, fLen(2, 'mmmmmmmmmmmm')))],
  ] as const;
  it.each(ok)('at the limit: %s passes', async (_, s) => {
    expect((await core(12, 0)).ingest(request([s]))).toEqual({ ok: true, spans: 1 });
  });

  const over: [string, Bytes, string, string][] = [
    ['span name', span('1234567890123'), '1234567890123', 'Span.name (field 5)'],
    ['attribute key', span('a', attr('kkkkkkkkkkkkk', 'v')), 'kkkkkkkkkkkkk', 'KeyValue.key (field 1)'],
    ['attribute string value', span('a', attr('k', 'vvvvvvvvvvvvv')), 'vvvvvvvvvvvvv', 'AnyValue.string_value (field 1)'],
    // In an array inside a kvlist: the general walk and the validator check at any depth.
    ['nested string value', span('a', fLen(9, keyValue('k', NESTED))), 'nnnnnnnnnnnnn', 'AnyValue.string_value (field 1)'],
    ['event name', span('a', fLen(11, fLen(2, 'eeeeeeeeeeeee'))), 'eeeeeeeeeeeee', 'Span.Event.name (field 2)'],
    ['event attribute key', span('a', fLen(11, fLen(3, keyValue('xxxxxxxxxxxxx', anyString('v'))))), 'xxxxxxxxxxxxx', 'KeyValue.key (field 1)'],
    ['status message', span('a', fLen(15, fLen(2, 'mmmmmmmmmmmmm'))), 'mmmmmmmmmmmmm', 'Status.message (field 2)'],
  ];
  it.each(over)('one byte over: %s is refused, nothing counted', async (_, s, needle, where) => {
    const c = await core(12, 0);
    const good = request([span('fine')]);
    const bad = request([span('fine'), s]);
    expect(c.ingest(bad)).toEqual({
      ok: false,
      spans: 2,
      cause: 'string_too_long',
      reason: `over a limit: string longer than otlp.max_string_length in ${where} at byte ${offsetOf(bad, needle)}`,
    });
    expect(c.ingest(good)).toEqual({ ok: true, spans: 1 });
    const t = c.table('spanMetrics')!;
    expect(t.value(0, 0)).toBe(1); // only the good request's span
  });

  it('resource attributes are bounded too; 0 means no limit', async () => {
    const long = 'r'.repeat(100_000);
    const bad = request([span('a')], [keyValue('service.name', anyString(long))]);
    expect((await core(12, 0)).ingest(bad)).toMatchObject({ ok: false, cause: 'string_too_long' });
    expect((await core(0, 0)).ingest(bad)).toEqual({ ok: true, spans: 1 });
  });
});

describe('otlp.max_attributes_per_span (3 here)', () => {
  const attrs = (n: number): Bytes => Array.from({ length: n }, (_, i) => attr(`a${i}`, 'v')).flat();

  it('3 attributes pass; the 4th is refused at its tag; resource and event attributes do not count', async () => {
    const c = await core(0, 3);
    const resource = Array.from({ length: 10 }, (_, i) => keyValue(`r${i}`, anyString('v')));
    const eventAttrs = Array.from({ length: 10 }, (_, i) => fLen(3, keyValue(`e${i}`, anyString('v')))).flat();
    expect(c.ingest(request([span('a', [...attrs(3), ...fLen(11, eventAttrs)])], resource))).toEqual({ ok: true, spans: 1 });
    const bad = request([span('a', attrs(4))]);
    // The failure is noted before the 4th attribute's length is read: at its tag's end.
    const at = offsetOf(bad, 'a3') - 3; // tag (1 byte) and length (1 byte) of the KeyValue, then its key's tag and length
    expect(c.ingest(bad)).toEqual({
      ok: false,
      spans: 1,
      cause: 'too_many_attributes',
      reason: `over a limit: more attributes than otlp.max_attributes_per_span in Span.attributes (field 9) at byte ${at}`,
    });
  });
});

describe('otlp.max_spans_per_request (3 here)', () => {
  // ResourceSpans with a service.name resource and the given ScopeSpans; a ScopeSpans of named spans.
  const resourceSpans = (...scopes: Bytes[]): Bytes => fLen(1, [...fLen(1, fLen(1, keyValue('service.name', anyString('svc')))), ...scopes.flat()]);
  const scope = (...names: string[]): Bytes => fLen(2, names.flatMap((n) => fLen(2, span(n))));
  const calls = (c: Core): number => {
    const t = c.table('spanMetrics')!;
    let n = 0;
    for (let slot = 0; slot < t.used; slot++) n += t.value(slot, 0);
    return n;
  };

  it('3 spans across resources and scopes pass; 7 are refused whole, every span counted', async () => {
    const c = await core(0, 0, 3);
    expect(c.ingest(new Uint8Array([...resourceSpans(scope('a', 'b')), ...resourceSpans(scope('c'))]))).toEqual({ ok: true, spans: 3 });
    // The 4th span (d) is the first over: two resources, three scopes, 7 spans in all.
    const bad = new Uint8Array([...resourceSpans(scope('a', 'b'), scope('c')), ...resourceSpans(scope('d', 'e', 'f', 'g'))]);
    expect(c.ingest(bad)).toEqual({
      ok: false,
      spans: 7,
      cause: 'too_many_spans',
      reason: 'request has 7 spans, more than otlp.max_spans_per_request (3)',
    });
    expect(calls(c)).toBe(3); // the first request only
  });

  it('the limit wins over a malformation after it; spans are counted up to the malformation', async () => {
    const c = await core(0, 0, 3);
    // 4 spans, then a ResourceSpans whose length runs past the end (tag 0x0a, length 0x7f).
    const bad = new Uint8Array([...resourceSpans(scope('a', 'b', 'c', 'd')), 0x0a, 0x7f, 0x00]);
    expect(c.ingest(bad)).toEqual({
      ok: false,
      spans: 4,
      cause: 'too_many_spans',
      reason: 'request has 4 spans, more than otlp.max_spans_per_request (3)',
    });
    // Within the limit the same malformation is what is reported.
    const within = new Uint8Array([...resourceSpans(scope('a', 'b', 'c')), 0x0a, 0x7f, 0x00]);
    expect(c.ingest(within)).toMatchObject({ ok: false, spans: 3, cause: 'malformed' });
    expect(calls(c)).toBe(0);
  });

  it('0 means no limit', async () => {
    const names = Array.from({ length: 1000 }, (_, i) => `s${i}`);
    expect((await core(0, 0, 0)).ingest(new Uint8Array(resourceSpans(scope(...names))))).toEqual({ ok: true, spans: 1000 });
  });
});
