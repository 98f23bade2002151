// The snappy block-format compressor against the decoder (and hand-written element bytes); the
// end-to-end test has a real Prometheus (Go's snappy) decode it too.
import { describe, expect, it } from 'vitest';
import { compress, decodedLength, decompress, maxCompressedLength, SnappyError } from '../../src/exporters/snappy.js';
import { Prng, seedNote, testSeed } from '../support/prng.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Byte equality without vitest's element-by-element diff (slow on large arrays). */
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

describe('snappy: hand-computed encodings', () => {
  it('empty input is the length 0 alone', () => {
    expect([...compress(new Uint8Array(0))]).toEqual([0x00]);
    expect(decompress(bytes(0x00))).toEqual(new Uint8Array(0));
  });

  it('"abc": no 4-byte repeat, one literal', () => {
    // preamble 3; literal tag (3-1)<<2 = 0x08; the bytes
    expect([...compress(ascii('abc'))]).toEqual([0x03, 0x08, 0x61, 0x62, 0x63]);
  });

  it('"abcdabcdabcd": a literal "abcd" and one overlapping copy (offset 4, length 8)', () => {
    // preamble 12; literal tag (4-1)<<2 = 0x0c + "abcd"; copy with 1-byte offset:
    // tag 0b01 | (8-4)<<2 | (4>>8)<<5 = 0x11, offset low byte 0x04
    expect([...compress(ascii('abcdabcdabcd'))]).toEqual([0x0c, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x11, 0x04]);
    expect(new TextDecoder().decode(decompress(bytes(0x0c, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x11, 0x04)))).toBe('abcdabcdabcd');
  });

  it('100 zero bytes: a 1-byte literal, then copies of offset 1 (64, then 35)', () => {
    // preamble 100 = 0x64; literal of 1 (tag 0x00, byte 0); 99 more from offset 1, split into
    // 64 (tag 0b10 | 63<<2 = 0xfe, offset 01 00) and 35 (tag 0b10 | 34<<2 = 0x8a, offset 01 00):
    // both longer than 11, so the 2-byte-offset form
    const out = compress(new Uint8Array(100));
    expect([...out]).toEqual([0x64, 0x00, 0x00, 0xfe, 0x01, 0x00, 0x8a, 0x01, 0x00]);
    expect(decompress(out)).toEqual(new Uint8Array(100));
  });

  it('decodes every element form written by hand', () => {
    // literal with a 1-byte length (tag 60<<2 = 0xf0, length-1 = 69): 70 bytes
    const lit = Array.from({ length: 70 }, (_, i) => i);
    expect([...decompress(bytes(70, 0xf0, 69, ...lit))]).toEqual(lit);
    // literal with a 2-byte length (tag 61<<2 = 0xf4): 300 bytes
    const lit300 = Array.from({ length: 300 }, (_, i) => i & 0xff);
    expect([...decompress(bytes(0xac, 0x02, 0xf4, 299 & 0xff, 299 >> 8, ...lit300))]).toEqual(lit300);
    // "xy" then a copy with a 4-byte offset (tag 0b11 | (3-1)<<2 = 0x0b), offset 2: "xyxyx"
    expect(new TextDecoder().decode(decompress(bytes(5, 0x04, 0x78, 0x79, 0x0b, 2, 0, 0, 0)))).toBe('xyxyx');
    // copy with a 2-byte offset, length 1 (tag 0b10 | 0<<2 = 0x02): "ab" + "a"
    expect(new TextDecoder().decode(decompress(bytes(3, 0x04, 0x61, 0x62, 0x02, 2, 0)))).toBe('aba');
  });

  it('reads the preamble alone', () => {
    expect(decodedLength(bytes(0xac, 0x02))).toBe(300);
    expect(decodedLength(compress(new Uint8Array(70000)))).toBe(70000);
  });
});

const ROUND_TRIP_SEED = testSeed(7);

describe(`snappy: round trips (${seedNote(ROUND_TRIP_SEED)})`, () => {
  const rng = new Prng(ROUND_TRIP_SEED);
  const cases: [string, Uint8Array][] = [
    ['random 1 byte', rng.bytes(1)],
    ['random 100 bytes', rng.bytes(100)],
    ['random 70000 bytes (two blocks, incompressible)', rng.bytes(70_000)],
    ['zeros 200000 (long copies over blocks)', new Uint8Array(200_000)],
    ['a run of 66 (a copy split 60 + 6)', Uint8Array.from({ length: 70 }, (_, i) => (i < 4 ? i : i % 4))],
    ['a repeated phrase', ascii('traces_spanmetrics_latency_bucket{service="checkout",le="0.004"} '.repeat(3000))],
    ['text with few symbols', Uint8Array.from({ length: 50_000 }, () => 97 + rng.below(3))],
    ['random runs', Uint8Array.from({ length: 100_000 }, (_, i) => (i % 1000 < 500 ? (i >> 7) & 0xff : rng.below(256)))],
    ['pattern with a period just over 2048 (2-byte offsets)', Uint8Array.from({ length: 20_000 }, (_, i) => (i % 2053) & 0xff)],
  ];
  it.each(cases)('%s', (_name, input) => {
    const out = compress(input);
    expect(out.length).toBeLessThanOrEqual(maxCompressedLength(input.length));
    expect(same(decompress(out), input)).toBe(true);
  });

  it('200 random inputs of random sizes and repetitiveness', () => {
    for (let i = 0; i < 200; i++) {
      const n = rng.below(5000);
      const alphabet = 1 + rng.below(255);
      const input = Uint8Array.from({ length: n }, () => rng.below(alphabet));
      // splice in copies of earlier stretches
      for (let k = 0; k < 5 && n > 100; k++) {
        const from = rng.below(n - 50);
        const to = rng.below(n - 50);
        input.copyWithin(to, from, from + 1 + rng.below(49));
      }
      expect(same(decompress(compress(input)), input)).toBe(true);
    }
  });

  it('repetitive data compresses well', () => {
    const input = ascii('abcdefgh'.repeat(10_000));
    expect(compress(input).length).toBeLessThan(input.length / 20);
  });
});

describe('snappy: the decoder rejects corrupt input', () => {
  it.each([
    ['an empty buffer', bytes()],
    ['a truncated preamble', bytes(0x80)],
    ['a literal past the end of the input', bytes(5, 0x10, 0x61)],
    ['a copy before the start of the output', bytes(4, 0x00, 0x61, 0x05, 0x02)],
    ['a zero offset', bytes(5, 0x00, 0x61, 0x01, 0x00)],
    ['output longer than the preamble says', bytes(1, 0x04, 0x61, 0x62)],
    ['output shorter than the preamble says', bytes(3, 0x00, 0x61)],
  ])('%s', (_name, input) => {
    expect(() => decompress(input)).toThrow(SnappyError);
  });
});
