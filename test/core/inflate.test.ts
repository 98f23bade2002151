// The core's raw deflate decoder (assembly/inflate.ts) against node:zlib, the reference whose
// output and errors spanmeter answered with before: on valid streams from zlib's encoder (every
// level, strategy, window and memory size) the core must give zlib's bytes itself; on anything
// else it may refuse (zlib then decides) but must never give bytes zlib would not. Invalid
// streams are built by hand from RFC 1951's bit layout (§3.1.1 bit order, §3.2.3 block header,
// §3.2.4 stored, §3.2.5-3.2.7 Huffman blocks).
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { INFLATE_FULL, INFLATE_REFUSED } from '../../src/core/layout.js';
import { inflateInto } from '../../src/otlp/gzip.js';
import { generateWorkload } from '../../src/workload/workload.js';

let core: Core;
beforeAll(async () => {
  core = await Core.create({});
});

type Outcome = { ok: true; bytes: Buffer; end: number } | { ok: false; code: number };

/** The core inflating `raw` from `from` with room for `cap` bytes. */
function viaCore(raw: Uint8Array, cap: number, from = 0): Outcome {
  const d = core.input;
  d.reserve(Math.max(cap, 1), 0);
  const n = d.inflate!(raw, from, 0, cap);
  if (n < 0) return { ok: false, code: -n };
  return { ok: true, bytes: Buffer.from(d.reserve(n, n).subarray(0, n)), end: d.inflateEnd!() };
}

/** zlib's raw inflate, or undefined when it errs. */
function viaZlib(raw: Uint8Array): { bytes: Buffer } | undefined {
  try {
    return { bytes: zlib.inflateRawSync(raw) };
  } catch {
    return undefined;
  }
}

/** Core and zlib agree: the core gives zlib's bytes, or refuses where zlib errs (or, when `mayRefuse`, anywhere). */
function agrees(raw: Uint8Array, mayRefuse: boolean): 'same' | 'refused' {
  const z = viaZlib(raw);
  const c = viaCore(raw, z ? z.bytes.length + 64 : 1 << 20);
  if (!c.ok) {
    expect(c.code).toBe(INFLATE_REFUSED);
    if (z && !mayRefuse) throw new Error(`the core refused a stream zlib inflates (${raw.length} bytes)`);
    return 'refused';
  }
  if (!z) throw new Error(`the core inflated ${c.bytes.length} bytes from a stream zlib rejects`);
  expect(c.bytes.equals(z.bytes)).toBe(true);
  // zlib's encoder ends its output with the final block: the core must end there too.
  if (!mayRefuse) expect(c.end).toBe(raw.length);
  return 'same';
}

/** Seeded xorshift32. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const workload = generateWorkload({ seed: 24301, batches: 3, spansPerBatch: 512 }).batches.map((b) => Buffer.from(b));
const text = Buffer.from(Array.from({ length: 2000 }, (_, i) => `span-${i % 97} service-${i % 20} route=/api/v${i % 7}/items `).join(''));

describe('the core inflates what zlib deflates, byte for byte', () => {
  it('bench bodies at every level 0-9', () => {
    for (const body of workload) for (let level = 0; level <= 9; level++) expect(agrees(zlib.deflateRawSync(body, { level }), false)).toBe('same');
  });

  it('every strategy, window size 9-15 and memory level 1-9', () => {
    const { Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED } = zlib.constants;
    for (const strategy of [Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED]) for (const body of [workload[0]!, text]) expect(agrees(zlib.deflateRawSync(body, { strategy }), false)).toBe('same');
    for (let windowBits = 9; windowBits <= 15; windowBits++) {
      for (let memLevel = 1; memLevel <= 9; memLevel++) expect(agrees(zlib.deflateRawSync(text, { windowBits, memLevel }), false)).toBe('same');
    }
  });

  it('empty input, one byte, runs at distances 1-40, 258-byte matches, distance 32,768', () => {
    expect(agrees(zlib.deflateRawSync(Buffer.alloc(0)), false)).toBe('same');
    expect(agrees(zlib.deflateRawSync(Buffer.from([0x2a])), false)).toBe('same');
    for (let d = 1; d <= 40; d++) {
      const b = Buffer.alloc(3000);
      for (let i = 0; i < b.length; i++) b[i] = (i % d) * 37 + 1;
      expect(agrees(zlib.deflateRawSync(b), false)).toBe('same');
    }
    expect(agrees(zlib.deflateRawSync(Buffer.alloc(100_000, 7)), false)).toBe('same'); // length 258 over and over
    // 32,768 random bytes, then the same again: matches reach back exactly 32,768 (the window).
    const random = Buffer.alloc(32_768);
    const r = prng(5);
    for (let i = 0; i < random.length; i++) random[i] = (r() * 256) | 0;
    const twice = Buffer.concat([random, random]);
    expect(agrees(zlib.deflateRawSync(twice, { level: 9 }), false)).toBe('same');
  });

  it('stored blocks of 0 and 65,535 bytes (RFC 1951 §3.2.4)', () => {
    expect(agrees(Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]), false)).toBe('same');
    const big = Buffer.alloc(65_535);
    for (let i = 0; i < big.length; i++) big[i] = i * 7;
    expect(agrees(Buffer.concat([Buffer.from([0x01, 0xff, 0xff, 0x00, 0x00]), big]), false)).toBe('same');
    expect(agrees(zlib.deflateRawSync(big, { level: 0 }), false)).toBe('same');
  });

  it('the deflate data may start anywhere in the body and end before its end (a gzip member)', () => {
    const raw = zlib.deflateRawSync(text);
    const body = Buffer.concat([Buffer.from('header'), raw, Buffer.from('trailer!')]);
    const c = viaCore(body, text.length + 1, 6);
    expect(c.ok && c.bytes.equals(text) && c.end).toBe(6 + raw.length);
  });
});

describe('never more lenient than zlib', () => {
  it('random bytes', () => {
    const r = prng(11);
    for (let n = 0; n < 3000; n++) {
      const b = Buffer.alloc(1 + ((r() * 200) | 0));
      for (let i = 0; i < b.length; i++) b[i] = (r() * 256) | 0;
      agrees(b, true);
    }
  });

  it('valid streams cut at every byte', () => {
    for (const body of [text.subarray(0, 3000), Buffer.from('a'), Buffer.alloc(600, 1)]) {
      for (const raw of [zlib.deflateRawSync(body), zlib.deflateRawSync(body, { strategy: zlib.constants.Z_FIXED }), zlib.deflateRawSync(body, { level: 0 })]) {
        for (let n = 0; n < raw.length; n++) expect(agrees(raw.subarray(0, n), true)).toBe('refused');
      }
    }
  });

  it('valid streams with one bit flipped', () => {
    const r = prng(23);
    const raws = [zlib.deflateRawSync(text.subarray(0, 4000)), zlib.deflateRawSync(text.subarray(0, 500), { strategy: zlib.constants.Z_FIXED }), zlib.deflateRawSync(workload[1]!.subarray(0, 20_000))];
    let same = 0;
    for (let n = 0; n < 3000; n++) {
      const raw = Buffer.from(raws[n % raws.length]!);
      const bit = (r() * raw.length * 8) | 0;
      raw[bit >> 3]! ^= 1 << (bit & 7);
      if (agrees(raw, true) === 'same') same++;
    }
    // Flips in literal bits or extra bits keep a stream valid (with other bytes): such cases exist.
    expect(same).toBeGreaterThan(0);
  });
});

/** Bits LSB first into bytes (RFC 1951 §3.1.1); Huffman codes are written most significant bit first. */
class Bits {
  private bytes: number[] = [];
  private n = 0;
  put(value: number, count: number): this {
    for (let i = 0; i < count; i++) {
      if (this.n % 8 === 0) this.bytes.push(0);
      if ((value >> i) & 1) this.bytes[this.bytes.length - 1]! |= 1 << this.n % 8;
      this.n++;
    }
    return this;
  }
  code(code: number, length: number): this {
    for (let i = length - 1; i >= 0; i--) this.put((code >> i) & 1, 1);
    return this;
  }
  get buffer(): Buffer {
    return Buffer.from(this.bytes);
  }
}

// Fixed codes (RFC 1951 §3.2.6): literals 0-143 are 8 bits from 0x30, 256-279 7 bits from 0,
// 280-287 8 bits from 0xc0; distances 5 bits.
const fixedLit = (b: Bits, byte: number): Bits => b.code(0x30 + byte, 8);
const fixedEnd = (b: Bits): Bits => b.code(0, 7);

/** A dynamic block header (RFC 1951 §3.2.7) with code-length code lengths `cl` (in the order 16, 17, 18, 0, 8, ...) and then raw bits. */
function dynamicHeader(hlit: number, hdist: number, clLengths: number[]): Bits {
  const b = new Bits().put(1, 1).put(2, 2).put(hlit, 5).put(hdist, 5).put(clLengths.length - 4, 4);
  for (const l of clLengths) b.put(l, 3);
  return b;
}

describe('the core refuses what zlib rejects (hand-built streams)', () => {
  function refused(raw: Buffer): void {
    expect(viaZlib(raw)).toBeUndefined();
    const c = viaCore(raw, 1 << 16);
    expect(c.ok ? 'inflated' : c.code).toBe(INFLATE_REFUSED);
  }

  it('first a valid fixed block, as a check of the bit writer', () => {
    const raw = fixedEnd(fixedLit(fixedLit(new Bits().put(1, 1).put(1, 2), 0x61), 0x62)).buffer;
    expect(viaZlib(raw)?.bytes.toString()).toBe('ab');
    const c = viaCore(raw, 16);
    expect(c.ok && c.bytes.toString()).toBe('ab');
  });

  it('block type 3', () => refused(new Bits().put(1, 1).put(3, 2).put(0, 16).buffer));
  it('a stored length that is not the complement of NLEN', () => refused(Buffer.from([0x01, 0x02, 0x00, 0xfd, 0xfe, 0x61, 0x62])));
  it('a stored block longer than the input', () => refused(Buffer.from([0x01, 0x05, 0x00, 0xfa, 0xff, 0x61, 0x62])));
  it('literal/length symbols 286 and 287 (fixed code 0xc6, 0xc7)', () => {
    refused(new Bits().put(1, 1).put(1, 2).code(0xc6, 8).buffer);
    refused(new Bits().put(1, 1).put(1, 2).code(0xc7, 8).buffer);
  });
  it('distance symbols 30 and 31', () => {
    // 'a', then length 3 (symbol 257: 7-bit code 1) at distance symbol 30 or 31.
    for (const d of [30, 31]) refused(fixedEnd(fixedLit(new Bits().put(1, 1).put(1, 2), 0x61).code(1, 7).code(d, 5)).buffer);
  });
  it('a distance further back than the output so far', () => {
    // 'a' then length 3 at distance 2 (distance symbol 1).
    refused(fixedEnd(fixedLit(new Bits().put(1, 1).put(1, 2), 0x61).code(1, 7).code(1, 5)).buffer);
  });
  it('input ending before the final block ends, and a non-final last block', () => {
    refused(fixedLit(new Bits().put(1, 1).put(1, 2), 0x61).buffer);
    refused(fixedEnd(fixedLit(new Bits().put(0, 1).put(1, 2), 0x61)).buffer);
  });
  it('HLIT past 286 symbols, HDIST past 30', () => {
    const cl = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]; // code lengths 0 and 1, one bit each
    refused(dynamicHeader(30, 0, cl).put(0, 300).buffer);
    refused(dynamicHeader(0, 30, cl).put(0, 300).buffer);
  });
  it('code-length codes over-subscribed or incomplete', () => {
    refused(dynamicHeader(0, 0, [1, 1, 1, 0]).put(0, 300).buffer);
    refused(dynamicHeader(0, 0, [0, 0, 0, 1]).put(0, 300).buffer);
  });
  it('repeat code 16 with no length before it, and a repeat past HLIT + HDIST', () => {
    // Code-length code: symbols 16 and 18 with one bit each (16: code 0, 18: code 1).
    refused(dynamicHeader(0, 0, [1, 0, 1, 0]).code(0, 1).put(0, 2).put(0, 300).buffer);
    // 18 (138 zeros) twice, then 18 with 7 extra bits 0 (11 zeros): 287 > 257 + 1.
    refused(dynamicHeader(0, 0, [1, 0, 1, 0]).code(1, 1).put(127, 7).code(1, 1).put(127, 7).put(0, 50).buffer);
  });

  // Code-length code for the literal/length and distance lengths below: symbols 0, 1, 2, 17, 18
  // with lengths 2, 2, 2, 3, 3 (complete: 3/4 + 2/8). Canonical codes: 0 -> 00, 1 -> 01, 2 -> 10, 17 -> 110, 18 -> 111.
  const CL = [0, 3, 3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2]; // order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 (HCLEN 14)
  /** A dynamic block with HLIT `lens.length - 258`, one distance code, the code lengths `lens` (each 0, 1 or 2), then `tail` bits. */
  function dynamicWith(lens: number[], tail: (b: Bits) => Bits): Buffer {
    const b = dynamicHeader(lens.length - 258, 0, CL);
    for (const l of lens) b.code([0b00, 0b01, 0b10][l]!, 2);
    return tail(b).buffer;
  }
  /** 257 literal/length lengths then the distance code's (index 257), zero but for `set`. */
  const lensOf = (set: Record<number, number>, n = 258): number[] => Array.from({ length: n }, (_, i) => set[i] ?? 0);

  it('a complete dynamic code works (the header builder is right)', () => {
    // 'a' (97) and end-of-block (256) with one bit each; distance code: one code of one bit (allowed).
    const raw = dynamicWith(lensOf({ 97: 1, 256: 1, 257: 1 }), (b) => b.code(0, 1).code(0, 1).code(1, 1));
    expect(viaZlib(raw)?.bytes.toString()).toBe('aa');
    const c = viaCore(raw, 16);
    expect(c.ok && c.bytes.toString()).toBe('aa');
  });
  it('a literal/length code over-subscribed', () => refused(dynamicWith(lensOf({ 97: 1, 98: 1, 256: 1, 257: 1 }), (b) => b.put(0, 16))));
  it('a literal/length code incomplete (more than one code)', () => refused(dynamicWith(lensOf({ 97: 1, 256: 2, 257: 1 }), (b) => b.put(0, 16))));
  it('no code for end-of-block', () => refused(dynamicWith(lensOf({ 97: 1, 98: 1, 257: 1 }), (b) => b.put(0, 16))));
  it('an all-zero distance code is allowed, but no distance can be used', () => {
    const ok = dynamicWith(lensOf({ 97: 1, 256: 1 }), (b) => b.code(0, 1).code(1, 1));
    expect(viaZlib(ok)?.bytes.toString()).toBe('a');
    const c = viaCore(ok, 16);
    expect(c.ok && c.bytes.toString()).toBe('a');
  });
  it('a single distance code of one bit: the unused code is invalid', () => {
    // Literal/length: 'a' 1 bit, 256 2 bits, 257 2 bits; distance: one 1-bit code (symbol 0), used as bit 1.
    // HLIT 1: literal/length symbols 0-257, then the distance code (index 258).
    const lens = lensOf({ 97: 1, 256: 2, 257: 2, 258: 1 }, 259);
    // 'a' (code 0), length 3 (symbol 257: code 11), distance code bit 1 (unused).
    refused(dynamicWith(lens, (b) => b.code(0, 1).code(0b11, 2).code(1, 1).put(0, 16)));
    // The same with the used distance code 0 is valid: 'a' then 'aaa' (distance 1), end (10).
    const ok = dynamicWith(lens, (b) => b.code(0, 1).code(0b11, 2).code(0, 1).code(0b10, 2));
    expect(viaZlib(ok)?.bytes.toString()).toBe('aaaa');
    const c = viaCore(ok, 16);
    expect(c.ok && c.bytes.toString()).toBe('aaaa');
  });
});

describe('output room', () => {
  const raw = zlib.deflateRawSync(text);
  it('exactly the output fits; one byte less is INFLATE_FULL', () => {
    const c = viaCore(raw, text.length);
    expect(c.ok && c.bytes.equals(text)).toBe(true);
    expect(viaCore(raw, text.length - 1)).toEqual({ ok: false, code: INFLATE_FULL });
    expect(viaCore(zlib.deflateRawSync(text, { level: 0 }), text.length - 1)).toEqual({ ok: false, code: INFLATE_FULL });
  });
  it('at every room below the output, the core says full (never refuses a valid stream)', () => {
    const small = zlib.deflateRawSync(text.subarray(0, 1500));
    for (let cap = 0; cap < 1500; cap++) expect(viaCore(small, cap)).toEqual({ ok: false, code: INFLATE_FULL });
  });
  it('never writes past the room, full or not, with matches of 258 bytes up to its end', () => {
    // The fast loop copies matches in 64-byte steps, up to 63 bytes past a match's end, only while
    // that stays inside the room (inflate.ts FAST_OUT). 36 distinct bytes over and over: zlib
    // codes it as matches of the longest length (258, RFC 1951 §3.2.5) at distance 36.
    const unit = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789');
    const plain = Buffer.concat(Array.from({ length: 2000 }, () => unit));
    const raw = zlib.deflateRawSync(plain);
    const d = core.input;
    const wrong: number[] = [];
    // Rooms far from the stream's end (there the fast loop runs up to the room's end), then near it.
    const caps = [...Array.from({ length: 600 }, (_, i) => 30_000 + i), ...Array.from({ length: 400 }, (_, i) => plain.length - 336 + i)];
    for (const cap of caps) {
      d.reserve(cap + 128, 0).fill(0xa5, cap, cap + 128);
      const n = d.inflate!(raw, 0, 0, cap);
      const view = d.reserve(cap + 128, cap + 128);
      if (n !== (cap >= plain.length ? plain.length : -INFLATE_FULL) || view.subarray(cap, cap + 128).some((b) => b !== 0xa5)) wrong.push(cap);
    }
    expect(wrong).toEqual([]);
  });
});

describe('gzip bodies through inflateInto with the core inflating', () => {
  const MiB = 1024 * 1024;
  const take = (body: Uint8Array, max = MiB): Buffer | string => {
    try {
      const n = inflateInto(body, 'gzip', max, 0, core.input);
      return Buffer.from(core.input.reserve(n, n).subarray(0, n));
    } catch (err) {
      return (err as Error).message;
    }
  };
  it('single and multi-member bodies give gunzip\'s bytes', () => {
    const one = zlib.gzipSync(workload[2]!);
    expect((take(one) as Buffer).equals(zlib.gunzipSync(one))).toBe(true);
    const three = Buffer.concat([zlib.gzipSync(text), zlib.gzipSync(Buffer.alloc(0)), zlib.gzipSync(workload[0]!)]);
    expect((take(three) as Buffer).equals(zlib.gunzipSync(three))).toBe(true);
  });
  it('an ISIZE that understates the size: the room grows to the output, then zlib gives its error for the trailer', () => {
    const body = zlib.gzipSync(text);
    const lying = Buffer.from(body);
    lying.writeUInt32LE(10, lying.length - 4);
    // The trailer's ISIZE no longer matches: zlib's gunzip decides, with its own error.
    expect(take(lying)).toMatch(/incorrect length check|unexpected end/);
  });
  it('the size limit holds exactly at the output size', () => {
    const body = zlib.gzipSync(text);
    expect((take(body, text.length) as Buffer).equals(text)).toBe(true);
    expect(take(body, text.length - 1)).toMatch(/larger than the limit/);
  });
});
