// The wire walk's fast path for an attribute (assembly/otlp.ts simpleKeyValue: a KeyValue of a
// key and a one-field AnyValue with one-byte lengths) must accept and refuse exactly what the
// general walk does. Expected outcomes come from protobufjs (decodeReference) and from the
// protobuf encoding rules (a varint byte >= 0x80 continues into the next byte).
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import * as L from '../../src/core/layout.js';
import { anyString, fFixed64, fLen, fVarint, keyValue, request, type Bytes } from './helpers.js';
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
