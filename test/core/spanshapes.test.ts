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
