// assembly/spanshapes.ts takes a span's fields in the shapes SDKs write with one bound check for
// several fields at once: the trace and span ids (28 bytes), the kind with the start and end
// times (20 bytes), an empty status with the flags (8 bytes). A span ending exactly after such a
// group is taken whole; one ending a byte short of it goes to the general loop, which must refuse
// it as it refuses the field alone. Expected values come from the protobuf encoding rules (a
// fixed64 field is the tag and 8 bytes, fixed32 the tag and 4, a LEN field's length may not run
// past its message) and opentelemetry-proto's trace.proto field numbers (trace_id 1, span_id 2,
// name 5, kind 6, start_time_unix_nano 7, end_time_unix_nano 8, status 15, flags 16); every
// request is also checked against protobufjs (decodeReference).
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import * as L from '../../src/core/layout.js';
import { anyString, fFixed64, fLen, fVarint, keyValue, request, type Bytes } from './helpers.js';
import { decodeReference } from './rules.js';

const T0 = 1_700_000_000_000_000_000n;
const ids: Bytes = [...fLen(1, new Uint8Array(16).fill(1)), ...fLen(2, new Uint8Array(8).fill(2))];
const name: Bytes = fLen(5, 'op');
const times: Bytes = [...fVarint(6, 2), ...fFixed64(7, T0), ...fFixed64(8, T0 + 250_000_000n)];
const attribute: Bytes = fLen(9, keyValue('k', anyString('v')));
// Status {} (tag 0x7a, length 0), then flags: tag 0x85 0x01 (field 16, wire type 5) and 4 bytes.
const statusAndFlags: Bytes = [0x7a, 0x00, 0x85, 0x01, 1, 0, 0, 0];

async function spanMetricsCore(): Promise<Core> {
  const sm = defaultConfig().processor.span_metrics;
  return Core.create({ spanMetrics: { ...sm, dimensions: ['k'] } });
}

describe('span field groups ending exactly at the span\'s end', () => {
  it('are encoded as the fast path expects', () => {
    expect(ids.length).toBe(28);
    expect(times.slice(0, 3)).toEqual([0x30, 0x02, 0x39]);
    expect(times.length).toBe(20);
    expect(times[11]).toBe(0x41);
  });

  it.each([
    ['the ids alone', [ids], ''],
    ['the ids, the name, the kind and times', [ids, name, times], 'op'],
    ['every group, the status and flags last', [ids, name, times, attribute, statusAndFlags], 'op'],
  ] as const)('%s: taken', async (_, parts, spanName) => {
    const bytes = request([parts.flat()]);
    expect(decodeReference(bytes).ok).toBe(true);
    const core = await spanMetricsCore();
    expect(core.ingest(bytes)).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(view.used).toBe(1);
    expect(core.label(view.key(0, L.SM_KEY_SPAN_NAME))).toBe(spanName);
    if (parts.length > 1) {
      expect(view.key(0, L.SM_KEY_SPAN_KIND)).toBe(2); // SPAN_KIND_SERVER, as sent
      expect(view.value(0, L.SM_V_SUM)).toBe(0.25); // (T0 + 250 ms) - T0, by hand
    }
  });
});

describe('span field groups cut one byte short by the span\'s end', () => {
  it.each([
    // span_id: tag 0x12, length 8, then 7 bytes: the length runs past the Span; the failure is
    // recorded where the id's bytes start, the request's last 7.
    ['span_id of 7 bytes where 8 are announced', [ids.slice(0, 27)], 7,
      'length runs past the end of its message in Span.span_id (field 2)'],
    // end_time_unix_nano: tag 0x41, then 7 of its 8 bytes.
    ['end_time_unix_nano with 7 of its 8 bytes', [ids, name, times.slice(0, 19)], 7,
      'truncated data in Span.end_time_unix_nano (field 8)'],
    // flags: tag 0x85 0x01, then 3 of its 4 bytes.
    ['flags with 3 of their 4 bytes', [ids, name, times, attribute, statusAndFlags.slice(0, 7)], 3,
      'truncated data in Span.flags (field 16)'],
  ] as const)('%s: refused', async (_, parts, left, reason) => {
    const bytes = request([parts.flat()]);
    expect(decodeReference(bytes).ok).toBe(false);
    const core = await spanMetricsCore();
    const result = core.ingest(bytes);
    expect(result).toMatchObject({ ok: false, cause: 'malformed' });
    expect(!result.ok && result.reason).toBe(`invalid protobuf: ${reason} at byte ${bytes.length - left}`);
    expect(core.table('spanMetrics')!.used).toBe(0);
  });
});

// assembly/otlpfields.ts plainScope: an InstrumentationScope of up to two fields, each a name or
// version (field 1 or 2, LEN) of a one-byte length within it, is checked in straight line; any
// other scope goes through validateMessage. opentelemetry-proto common.proto: InstrumentationScope
// name 1, version 2 (strings), attributes 3, dropped_attributes_count 4; ScopeSpans scope 1,
// spans 2.
describe('instrumentation scopes', () => {
  const spanBytes = [...ids, ...name, ...times].flat();
  const withScope = (scope: Bytes): Uint8Array => new Uint8Array(fLen(1, [
    ...fLen(1, fLen(1, keyValue('service.name', anyString('svc')))),
    ...fLen(2, [...fLen(1, scope), ...fLen(2, spanBytes)]),
  ]));

  it.each([
    ['name and version', [...fLen(1, 'lib'), ...fLen(2, '1.0')]],
    ['version, then name', [...fLen(2, '1.0'), ...fLen(1, 'lib')]],
    ['a name alone', fLen(1, 'lib')],
    ['nothing', []],
    ['name, version and an attribute (the general check)', [...fLen(1, 'lib'), ...fLen(2, '1.0'), ...fLen(3, keyValue('a', anyString('b')))]],
    ['a name of 200 bytes (a two-byte length: the general check)', fLen(1, 'n'.repeat(200))],
  ] as const)('%s: taken', async (_, scope) => {
    const bytes = withScope([...scope]);
    expect(decodeReference(bytes).ok).toBe(true);
    const core = await spanMetricsCore();
    expect(core.ingest(bytes)).toEqual({ ok: true, spans: 1 });
    expect(core.table('spanMetrics')!.used).toBe(1);
  });

  it('a name announcing 5 bytes with 4 left in the scope: refused where the name starts', async () => {
    // tag 0x0a, length 5, then "QQQQ" ending the scope: the length runs past the scope's end
    const bytes = withScope([0x0a, 0x05, 0x51, 0x51, 0x51, 0x51]);
    expect(decodeReference(bytes).ok).toBe(false);
    const core = await spanMetricsCore();
    const result = core.ingest(bytes);
    expect(!result.ok && result.reason).toBe(
      `invalid protobuf: length runs past the end of its message in InstrumentationScope.name (field 1) at byte ${bytes.indexOf(0x51)}`);
  });

  it('a version sent as a varint (tag 0x10, then 0: two bytes, as a LEN field of length 0 would be): refused after its tag', async () => {
    const bytes = withScope([...fLen(1, 'lib'), 0x10, 0x00]);
    const core = await spanMetricsCore();
    const result = core.ingest(bytes);
    const scope = [0x0a, 0x03, 0x6c, 0x69, 0x62, 0x10]; // name "lib", then the tag 0x10
    const at = bytes.findIndex((_, i) => scope.every((b, j) => bytes[i + j] === b)) + scope.length; // after the tag
    expect(!result.ok && result.reason).toBe(
      `invalid protobuf: wrong wire type for a known field in InstrumentationScope.version (field 2) at byte ${at}`);
  });
});
