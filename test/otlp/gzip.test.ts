import { createHash } from 'node:crypto';
import { once } from 'node:events';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpError } from '../../src/otlp/errors.js';
import { decompress, inflateInto, inflateMode, type Destination } from '../../src/otlp/gzip.js';

const MiB = 1024 * 1024;
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

function errorOf(fn: () => unknown): OtlpError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OtlpError);
    return err as OtlpError;
  }
  throw new Error('expected an OtlpError, got none');
}

async function gzipZeros(total: number): Promise<Buffer> {
  const gz = zlib.createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gz.on('data', (c: Buffer) => chunks.push(c));
  const done = once(gz, 'end');
  const zeros = Buffer.alloc(MiB);
  for (let n = 0; n < total; n += MiB) if (!gz.write(zeros)) await once(gz, 'drain');
  gz.end();
  await done;
  return Buffer.concat(chunks);
}

// Both ways of inflating: the reused native zlib handles (what this Node uses) and the fallback
// through zlib's public *Sync functions (a Node without them); the same answers from both.
const native = inflateMode.native;
describe.each(['native handle', 'zlib *Sync fallback'] as const)('%s', (mode) => {
  beforeAll(() => {
    inflateMode.native = mode === 'native handle';
  });
  afterAll(() => {
    inflateMode.native = native;
  });

  describe('decompress', () => {
    const hello = new TextEncoder().encode('hello, spans');

    it('passes identity bodies through', () => {
      for (const enc of [undefined, '', 'identity', 'IDENTITY', ' identity ']) {
        expect(text(decompress(hello, enc, MiB))).toBe('hello, spans');
      }
    });

    it('inflates gzip (also spelled x-gzip, any case)', () => {
      const gz = zlib.gzipSync(hello);
      for (const enc of ['gzip', 'GZIP', 'x-gzip', 'gzip, identity']) {
        expect(text(decompress(gz, enc, MiB))).toBe('hello, spans');
      }
    });

    it('inflates deflate, zlib-wrapped or raw', () => {
      expect(text(decompress(zlib.deflateSync(hello), 'deflate', MiB))).toBe('hello, spans');
      expect(text(decompress(zlib.deflateRawSync(hello), 'deflate', MiB))).toBe('hello, spans');
    });

    it('accepts output of exactly maxBytes', () => {
      const gz = zlib.gzipSync(Buffer.alloc(4096, 7));
      expect(decompress(gz, 'gzip', 4096).length).toBe(4096);
      expect(decompress(new Uint8Array(4096), undefined, 4096).length).toBe(4096);
    });

    it('rejects an uncompressed body over the limit', () => {
      const err = errorOf(() => decompress(new Uint8Array(MiB + 1), 'identity', MiB));
      expect(err.kind).toBe('too_large');
      expect(err.message).toBe('request body is larger than the limit of 1 MiB (1048576 bytes)');
    });

    it('rejects output one byte over the limit', () => {
      const err = errorOf(() => decompress(zlib.gzipSync(Buffer.alloc(4097)), 'gzip', 4096));
      expect(err.kind).toBe('too_large');
      expect(err.message).toBe('gzip: decompressed request body is larger than the limit of 4 KiB (4096 bytes)');
    });

    it('stops a gzip bomb at the limit without expanding it', async () => {
      // 100 MiB of zeros compresses to ~100 KiB; built by streaming so the test never holds it.
      const gz = await gzipZeros(100 * MiB);
      expect(gz.length).toBeLessThan(200 * 1024);

      const before = process.memoryUsage().arrayBuffers;
      const t0 = performance.now();
      const err = errorOf(() => decompress(gz, 'gzip', MiB));
      const elapsed = performance.now() - t0;
      const grown = process.memoryUsage().arrayBuffers - before;

      expect(err.kind).toBe('too_large');
      expect(err.message).toBe('gzip: decompressed request body is larger than the limit of 1 MiB (1048576 bytes)');
      // Inflating all 100 MiB would leave ~100 MiB of buffers behind (no GC ran in between)
      // and take far longer than stopping after the first MiB.
      expect(grown).toBeLessThan(16 * MiB);
      expect(elapsed).toBeLessThan(2000);
    });

    it('reports corrupt gzip as bad_request', () => {
      const gz = zlib.gzipSync(hello);
      const cases: [Uint8Array, string][] = [
        [new TextEncoder().encode('not gzip at all'), 'gzip: incorrect header check'],
        [gz.subarray(0, gz.length - 6), 'gzip: unexpected end of file'],
        [new Uint8Array(0), 'gzip: unexpected end of file'],
      ];
      for (const [body, message] of cases) {
        const err = errorOf(() => decompress(body, 'gzip', MiB));
        expect(err.kind).toBe('bad_request');
        expect(err.message).toBe(message);
      }
      // A flipped byte in the deflate data or the trailer's CRC.
      const bad = Buffer.from(gz);
      bad[bad.length - 8]! ^= 0xff;
      const err = errorOf(() => decompress(bad, 'gzip', MiB));
      expect(err.kind).toBe('bad_request');
      expect(err.message).toMatch(/^gzip: /);
    });

    it('reports corrupt deflate as bad_request', () => {
      const err = errorOf(() => decompress(new Uint8Array([0x78, 0x9c, 0xff, 0xff, 0xff]), 'deflate', MiB));
      expect(err.kind).toBe('bad_request');
      expect(err.message).toMatch(/^deflate: /);
    });

    it('refuses encodings it does not know with unsupported_media_type', () => {
      for (const enc of ['br', 'zstd', 'snappy', 'compress']) {
        const err = errorOf(() => decompress(hello, enc, MiB));
        expect(err.kind).toBe('unsupported_media_type');
        expect(err.message).toBe(`Content-Encoding "${enc}" is not supported; use gzip, deflate or identity`);
      }
      const err = errorOf(() => decompress(hello, 'gzip, gzip', MiB));
      expect(err.kind).toBe('unsupported_media_type');
      expect(err.message).toBe('Content-Encoding "gzip, gzip": only one encoding (gzip or deflate) is supported, not a chain');
    });
  });

  describe('gzip trailer size (ISIZE) as the output chunk size', () => {
    // RFC 1952 §2.3.1: the last 4 bytes are the input size mod 2^32, little endian. decompress()
    // sizes its output from them; a trailer that lies must change nothing but speed.
    const body = Buffer.from('x'.repeat(100_000) + 'y'.repeat(50_000));
    const withIsize = (isize: number): Buffer => {
      const gz = Buffer.from(zlib.gzipSync(body));
      gz.writeUInt32LE(isize >>> 0, gz.length - 4);
      return gz;
    };

    it('inflates the whole body whether the trailer says more, less or 2^32-1', () => {
      for (const isize of [body.length, 10, 0xffffffff]) {
        // zlib checks ISIZE after inflating: a wrong one is refused as corrupt, never truncated.
        let out: Uint8Array | undefined;
        try {
          out = decompress(withIsize(isize), 'gzip', MiB);
        } catch (err) {
          expect(isize).not.toBe(body.length);
          expect((err as OtlpError).kind).toBe('bad_request');
          continue;
        }
        expect(isize).toBe(body.length);
        expect(Buffer.from(out).equals(body)).toBe(true);
      }
    });

    it('still stops at the limit when the trailer claims less', () => {
      expect(errorOf(() => decompress(withIsize(10), 'gzip', 1000)).kind).toBe('too_large');
    });
  });
});

describe('inflating into memory the caller gives (the core\'s input buffer)', () => {
  /** A Destination that records each reserve and keeps what was written, as Core's input does. */
  function recording(): Destination & { calls: [number, number][]; bytes: Uint8Array } {
    const d = {
      calls: [] as [number, number][],
      bytes: new Uint8Array(0),
      reserve(n: number, keep: number): Uint8Array {
        d.calls.push([n, keep]);
        if (n > d.bytes.length) {
          const grown = new Uint8Array(n);
          grown.set(d.bytes.subarray(0, keep));
          d.bytes = grown;
        }
        return d.bytes;
      },
    };
    return d;
  }
  const inflated = (d: { bytes: Uint8Array }, n: number): string => Buffer.from(d.bytes.subarray(0, n)).toString('utf8');

  it('uses the native handles on this Node (the fallback is only for a Node without them)', () => {
    expect(inflateMode.native).toBe(true);
  });

  it('inflates body after body with one reused stream, and goes on after a corrupt one', () => {
    // hex digits of a hash chain: about 2:1 under gzip, well inside the 64:1 the room trusts
    let hex = '';
    for (let h = 'seed'; hex.length < 70_000; hex += h) h = createHash('sha256').update(h).digest('hex');
    const texts = ['first body', hex, 'third'];
    for (const t of texts) {
      const d = recording();
      const n = inflateInto(zlib.gzipSync(Buffer.from(t)), 'gzip', MiB, 0, d);
      expect(inflated(d, n)).toBe(t);
      // one reserve: ISIZE + 1 bytes of room (RFC 1952 §2.3.1), no second pass
      expect(d.calls).toEqual([[Math.max(64, t.length + 1), 0]]);
    }
    const bad = Buffer.from(zlib.gzipSync(Buffer.from('corrupt me')));
    bad[bad.length - 8]! ^= 0xff; // the CRC-32
    expect(() => inflateInto(bad, 'gzip', MiB, 0, recording())).toThrow(/^gzip: incorrect data check$/);
    const d = recording();
    expect(inflated(d, inflateInto(zlib.gzipSync(Buffer.from('after')), 'gzip', MiB, 0, d))).toBe('after');
    const r = recording();
    expect(inflated(r, inflateInto(zlib.deflateRawSync(Buffer.from('raw after')), 'deflate', MiB, 0, r))).toBe('raw after');
  });

  it('inflates every member of a multi-member gzip body (RFC 1952 §2.2), as zlib.gunzipSync does', () => {
    const body = Buffer.concat([zlib.gzipSync(Buffer.from('one ')), zlib.gzipSync(Buffer.from('two'))]);
    const d = recording();
    expect(inflated(d, inflateInto(body, 'gzip', MiB, 0, d))).toBe('one two');
    expect(zlib.gunzipSync(body).toString()).toBe('one two');
  });

  it('grows the room by doubling, keeping what was written, when the trailer claims too little', () => {
    const text = 'abcdefgh'.repeat(10_000); // 80,000 bytes
    const gz = Buffer.from(zlib.gzipSync(Buffer.from(text)));
    gz.writeUInt32LE(100, gz.length - 4); // ISIZE says 100: zlib refuses it only after inflating
    const d = recording();
    expect(() => inflateInto(gz, 'gzip', MiB, 0, d)).toThrow(/^gzip: /);
    // room 101, then doubled each time, each keeping all bytes written so far
    expect(d.calls[0]).toEqual([101, 0]);
    for (let i = 1; i < d.calls.length; i++) expect(d.calls[i]).toEqual([101 * 2 ** i, 101 * 2 ** (i - 1)]);
    expect(Buffer.from(d.bytes.subarray(0, 80_000)).toString()).toBe(text);
  });

  it('never asks for more room than the limit plus one byte', () => {
    const d = recording();
    expect(() => inflateInto(zlib.gzipSync(Buffer.alloc(10_000)), 'gzip', 4096, 0, d)).toThrow('gzip: decompressed request body is larger than the limit of 4 KiB (4096 bytes)');
    expect(Math.max(...d.calls.map(([n]) => n))).toBe(4097);
  });
});
