// gzip bodies inflated into the core's input: the member header parsed by spanmeter (RFC 1952
// §2.3), the deflate data inflated raw, the trailer's CRC-32 computed by the core
// (assembly/crc32.ts) over the inflated bytes. Every expected value comes from elsewhere: CRCs
// from zlib.crc32 and the CRC catalogue's check value, bodies from the gzip program and zlib,
// outputs and error messages from zlib.gunzipSync (what spanmeter answered before this path).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { OtlpError } from '../../src/otlp/errors.js';
import { inflateInto, memberStart, type Destination } from '../../src/otlp/gzip.js';

const MiB = 1024 * 1024;
let core: Core;
beforeAll(async () => {
  core = await Core.create({});
});

/** core.input, recording the CRC calls the trailer checks make. */
function coreInput(): Destination & { crcs: [number, number][] } {
  const d = {
    crcs: [] as [number, number][],
    reserve: (n: number, keep: number): Uint8Array => core.input.reserve(n, keep),
    crc32: (start: number, length: number): number => {
      d.crcs.push([start, length]);
      return core.input.crc32!(start, length);
    },
  };
  return d;
}

/** Bytes as a short string (length and digest), so that outcomes compare quickly. */
const bytes = (b: Uint8Array): string => `${b.length} bytes, sha256 ${createHash('sha256').update(b).digest('hex')}`;

/** What inflating `body` into the core gives: the bytes, or the error's kind and message. */
function viaCore(body: Uint8Array, maxBytes = MiB, dest = coreInput()): string {
  try {
    const n = inflateInto(body, 'gzip', maxBytes, 0, dest);
    return bytes(core.input.reserve(n, n).subarray(0, n));
  } catch (err) {
    if (!(err instanceof OtlpError)) throw err;
    return `${err.kind}: ${err.message}`;
  }
}

/** What zlib's gunzip gives for the same body: the reference. */
function viaZlib(body: Uint8Array): string {
  try {
    return bytes(zlib.gunzipSync(body));
  } catch (err) {
    return `bad_request: gzip: ${(err as Error).message}`;
  }
}

function pseudoRandom(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    b[i] = seed >>> 24;
  }
  return b;
}

// A protobuf-like body: text with repeats, about 4:1 under gzip.
const spansLike = Buffer.from(Array.from({ length: 3000 }, (_, i) => `span-${i % 97} service-${i % 20} http.route=/api/v${i % 7}/items `).join(''));

describe('the core\'s CRC-32', () => {
  it('gives the CRC catalogue\'s check value for "123456789"', () => {
    // CRC-32/ISO-HDLC (the gzip CRC) in Greg Cook's catalogue of parametrised CRC algorithms: check=0xcbf43926.
    const d = core.input;
    d.reserve(9, 0).set(Buffer.from('123456789'));
    expect(d.crc32!(0, 9)).toBe(0xcbf43926);
  });

  it('agrees with zlib.crc32 at every length from 0 to 5,000 bytes and on long inputs, at any offset', () => {
    const data = pseudoRandom(300_000, 7);
    const lengths = [...Array.from({ length: 5001 }, (_, i) => i), 8191, 8192, 8193, 10_440, 10_441, 65_536, 222_005, 299_990];
    const d = core.input;
    const view = d.reserve(data.length, 0);
    view.set(data);
    const wrong: string[] = [];
    for (const len of lengths) {
      for (const off of len > 5000 ? [0, 1, 3, 7] : [len % 8]) {
        if (d.crc32!(off, len) !== zlib.crc32(data.subarray(off, off + len))) wrong.push(`${len}@${off}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('agrees with zlib.crc32 around the folding loop\'s boundaries (sixteen v128 a pass, 4,096-word blocks, the last 300 words)', () => {
    // assembly/crc32.ts folds whole 8-byte words into a 4,096-word block, 32 words a pass as sixteen
    // 16-byte v128 (WebAssembly SIMD), then a word at a time until 300 words before the end; the
    // rest go through the tables (inputs under 512 words go through the tables alone). Lengths (in
    // words, then 0, 1, 5 or 7 bytes more) one either side of where each of those loops ends, every
    // head length (words before the last 300) from 212 to 260 (a v128 is 2 words, a pass 32: odd and
    // even counts, 6 to 8 passes) and around 127 to 129 passes (a block is 128), at offsets 0, 3
    // (unaligned) and 8 (word but not v128 aligned).
    const words = new Set<number>();
    for (const w of [512, 513, 300 + 16, 300 + 32, 300 + 4096, 300 + 2 * 4096, 4096, 2 * 4096, 3 * 4096 + 300]) {
      for (let d = -17; d <= 17; d++) words.add(w + d);
    }
    for (let h = 212; h <= 260; h++) words.add(300 + h);
    for (const pass of [127, 128, 129]) for (const d of [-2, -1, 0, 1, 2]) words.add(300 + 32 * pass + d);
    const data = pseudoRandom(8 * (3 * 4096 + 300 + 17) + 16, 11);
    const d = core.input;
    d.reserve(data.length, 0).set(data);
    const wrong: string[] = [];
    for (const w of words) {
      for (const extra of [0, 1, 5, 7]) {
        const len = 8 * w + extra;
        for (const off of [0, 3, 8]) {
          if (d.crc32!(off, len) !== zlib.crc32(data.subarray(off, off + len))) wrong.push(`${len}@${off}`);
        }
      }
    }
    expect(words.size).toBeGreaterThan(290);
    expect(wrong).toEqual([]);
  });
});

describe('gzip bodies into the core', () => {
  it('inflates a file compressed by the gzip program (FNAME set), its trailer checked by the core', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spanmeter-gunzip-'));
    try {
      const file = join(dir, 'spans.bin');
      writeFileSync(file, spansLike);
      const body = execFileSync('gzip', ['-c', '-N', '-6', file]);
      expect(body[3]! & 8).toBe(8); // FNAME: the program stores the file name (gzip(1) -N)
      const d = coreInput();
      expect(viaCore(body, MiB, d)).toBe(bytes(spansLike));
      expect(d.crcs).toEqual([[0, spansLike.length]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the optional header fields and skips them as zlib does (FTEXT, FEXTRA, FNAME, FCOMMENT)', () => {
    const gz = zlib.gzipSync(spansLike);
    const deflate = gz.subarray(10);
    const header = (flags: number, ...fields: Buffer[]): Buffer => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 3]), ...fields, deflate]);
    const extra = Buffer.from([6, 0, 0x41, 0x70, 2, 0, 0xaa, 0xbb]); // XLEN 6: one subfield 'Ap' of 2 bytes (RFC 1952 §2.3.1.1)
    const bodies = [
      header(1), // FTEXT
      header(4, extra),
      header(8, Buffer.from('spans.pb\0')),
      header(16, Buffer.from('a comment\0')),
      header(4 | 8 | 16 | 1, extra, Buffer.from('name\0'), Buffer.from('comment\0')),
      header(4, Buffer.from([0, 0])), // an empty extra field
    ];
    for (const body of bodies) {
      expect(memberStart(body, 0)).toBe(body.length - deflate.length);
      expect(viaZlib(body)).toBe(bytes(spansLike));
      const d = coreInput();
      expect(viaCore(body, MiB, d)).toBe(bytes(spansLike));
      expect(d.crcs).toEqual([[0, spansLike.length]]); // the core checked the trailer
    }
  });

  it('leaves a header CRC (FHCRC) and reserved flag bits to zlib: the same output and errors as before', () => {
    const gz = zlib.gzipSync(spansLike);
    const withFlags = (flags: number, hcrc?: number): Buffer => {
      const head = Buffer.from(gz.subarray(0, 10));
      head[3] = flags;
      if (hcrc === undefined) return Buffer.concat([head, gz.subarray(10)]);
      const crc16 = Buffer.alloc(2);
      crc16.writeUInt16LE(hcrc);
      return Buffer.concat([head, crc16, gz.subarray(10)]);
    };
    const headCrc = (flags: number): number => {
      const head = Buffer.from(gz.subarray(0, 10));
      head[3] = flags;
      return zlib.crc32(head) & 0xffff; // RFC 1952 §2.3.1: the two low bytes of the header's CRC-32
    };
    const good = withFlags(2, headCrc(2));
    const cases = [good, withFlags(2, headCrc(2) ^ 1), withFlags(0x20), withFlags(0x80)];
    const expected = [bytes(spansLike), 'bad_request: gzip: header crc mismatch', 'bad_request: gzip: unknown header flags set', 'bad_request: gzip: unknown header flags set'];
    expect(cases.map(viaZlib)).toEqual(expected);
    expect(cases.map((b) => viaCore(b))).toEqual(expected);
    for (const b of cases) expect(memberStart(b, 0)).toBe(-1);
  });

  it('answers a bad CRC, a bad length, a truncated body and trailing garbage with zlib\'s reasons', () => {
    const gz = zlib.gzipSync(spansLike);
    const flip = (at: number): Buffer => {
      const b = Buffer.from(gz);
      b[at]! ^= 0x01;
      return b;
    };
    const cases: [Buffer, string][] = [
      [flip(gz.length - 8), 'bad_request: gzip: incorrect data check'], // CRC-32
      [flip(gz.length - 1), 'bad_request: gzip: incorrect length check'], // ISIZE's top byte
      [gz.subarray(0, gz.length - 3), 'bad_request: gzip: unexpected end of file'], // in the trailer
      [gz.subarray(0, gz.length - 8), 'bad_request: gzip: unexpected end of file'], // no trailer
      [gz.subarray(0, 500), 'bad_request: gzip: unexpected end of file'], // in the deflate data
      [gz.subarray(0, 6), 'bad_request: gzip: unexpected end of file'], // in the header
      [Buffer.concat([gz, Buffer.from('garbage')]), 'bad_request: gzip: incorrect header check'],
      [Buffer.from('not gzip at all'), 'bad_request: gzip: incorrect header check'],
      [Buffer.from([0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 3, 0, 0]), 'bad_request: gzip: unknown compression method'],
    ];
    for (const [body, message] of cases) {
      expect(viaZlib(body)).toBe(message);
      expect(viaCore(body)).toBe(message);
    }
  });

  it('inflates every member of a multi-member body and ignores zero padding after the last, as Node\'s gunzip', () => {
    const a = zlib.gzipSync(spansLike.subarray(0, 70_000));
    const b = zlib.gzipSync(spansLike.subarray(70_000));
    const empty = zlib.gzipSync(Buffer.alloc(0));
    for (const body of [Buffer.concat([a, b]), Buffer.concat([a, empty, b]), Buffer.concat([a, b, Buffer.alloc(5)]), Buffer.concat([a, b, Buffer.from([0, 1, 2])])]) {
      expect(viaZlib(body)).toBe(bytes(spansLike));
      const d = coreInput();
      expect(viaCore(body, MiB, d)).toBe(bytes(spansLike));
      expect(d.crcs.map(([, n]) => n).filter((n) => n > 0)).toEqual([70_000, spansLike.length - 70_000]);
    }
    // A bad CRC in the first member is refused, whatever follows.
    const bad = Buffer.concat([a, b]);
    bad[a.length - 8]! ^= 0xff;
    expect(viaCore(bad)).toBe(viaZlib(bad));
  });

  it('keeps the size limit while inflating, across members too', () => {
    const body = zlib.gzipSync(Buffer.alloc(10_000));
    expect(viaCore(body, 4096)).toBe('too_large: gzip: decompressed request body is larger than the limit of 4 KiB (4096 bytes)');
    expect(viaCore(body, 10_000)).toBe(bytes(Buffer.alloc(10_000)));
    const two = Buffer.concat([zlib.gzipSync(Buffer.alloc(3000)), zlib.gzipSync(Buffer.alloc(3000))]);
    expect(viaCore(two, 5999)).toBe('too_large: gzip: decompressed request body is larger than the limit of 5999 bytes');
    expect(viaCore(two, 6000)).toBe(bytes(Buffer.alloc(6000)));
  });

  it('gives zlib\'s answer for every corrupted or cut copy of a body (a byte changed, or cut, at 400 places)', () => {
    const gz = zlib.gzipSync(spansLike.subarray(0, 40_000), { level: 1 });
    let seed = 11;
    const differ: string[] = [];
    for (let i = 0; i < 400; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const at = seed % gz.length;
      const body = i % 4 === 3 ? gz.subarray(0, at) : Buffer.from(gz);
      if (i % 4 !== 3) body[at]! ^= 1 << (i % 8);
      const want = viaZlib(body);
      const got = viaCore(body);
      if (got !== want) differ.push(`${i}@${at}: ${got} vs ${want}`);
    }
    expect(differ).toEqual([]);
  });
});
