import { once } from 'node:events';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { OtlpError } from '../../src/otlp/errors.js';
import { decompress } from '../../src/otlp/gzip.js';

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
