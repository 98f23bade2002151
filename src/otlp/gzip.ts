// Request body decompression with the size limit enforced while inflating: zlib's
// maxOutputLength aborts as soon as the output passes the limit, so a gzip bomb costs at most
// maxBytes (plus one zlib chunk) of memory, never its expanded size.
import { constants as bufferConstants } from 'node:buffer';
import zlib from 'node:zlib';
import { OtlpError } from './errors.js';

function describeLimit(maxBytes: number): string {
  if (maxBytes >= 1024 * 1024 && maxBytes % (1024 * 1024) === 0) return `${maxBytes / (1024 * 1024)} MiB (${maxBytes} bytes)`;
  if (maxBytes >= 1024 && maxBytes % 1024 === 0) return `${maxBytes / 1024} KiB (${maxBytes} bytes)`;
  return `${maxBytes} bytes`;
}

function tooLarge(maxBytes: number, what: string): OtlpError {
  return new OtlpError('too_large', `${what} is larger than the limit of ${describeLimit(maxBytes)}`);
}

// zlib headers (RFC 1950): compression method 8 and a header checksum divisible by 31.
// HTTP "deflate" is meant to be zlib-wrapped, but some clients send raw deflate (RFC 1951).
function isZlibHeader(body: Uint8Array): boolean {
  return body.length >= 2 && (body[0]! & 0x0f) === 8 && ((body[0]! << 8) | body[1]!) % 31 === 0;
}

/**
 * Undo the request's Content-Encoding (identity, gzip, x-gzip, deflate), failing with
 * too_large once the decoded body would exceed maxBytes. The returned array may share memory
 * with `body` (identity).
 */
export function decompress(body: Uint8Array, contentEncoding: string | undefined, maxBytes: number, maxRatio = 0): Uint8Array {
  // A list such as "gzip, identity" is legal HTTP; identity entries are no-ops.
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');

  if (codings.length === 0) {
    if (body.length > maxBytes) throw tooLarge(maxBytes, 'request body');
    return body;
  }
  if (codings.length > 1) {
    throw new OtlpError(
      'unsupported_media_type',
      `Content-Encoding "${contentEncoding}": only one encoding (gzip or deflate) is supported, not a chain`,
    );
  }

  const coding = codings[0]!;
  let inflate: (buf: Uint8Array, opts: zlib.ZlibOptions) => Buffer;
  let label: string;
  if (coding === 'gzip' || coding === 'x-gzip') {
    inflate = zlib.gunzipSync;
    label = 'gzip';
  } else if (coding === 'deflate') {
    // Raw deflate data can start with bytes that pass as a zlib header: fall back to raw.
    inflate = isZlibHeader(body)
      ? (buf, opts) => {
          try {
            return zlib.inflateSync(buf, opts);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw err;
            return zlib.inflateRawSync(buf, opts);
          }
        }
      : zlib.inflateRawSync;
    label = 'deflate';
  } else {
    throw new OtlpError(
      'unsupported_media_type',
      `Content-Encoding "${contentEncoding}" is not supported; use gzip, deflate or identity`,
    );
  }

  // The ratio limit (a gzip-bomb guard) lowers the output cap for this body when it is the tighter one.
  const ratioCap = maxRatio > 0 ? Math.max(1, body.length) * maxRatio : Infinity;
  const ratioBound = ratioCap < maxBytes;
  const limit = ratioBound ? ratioCap : maxBytes;
  const overRatio = (): OtlpError =>
    new OtlpError(
      'compression_ratio',
      `${label}: decompressed request body is more than ${maxRatio} times its compressed size of ${body.length} bytes`,
    );
  // maxOutputLength must be ≥ 1; a zero limit still rejects any non-empty output below.
  const cap = Math.max(1, Math.min(Math.floor(limit), bufferConstants.MAX_LENGTH));
  // One output chunk of the size the gzip trailer announces (ISIZE, RFC 1952 §2.3.1) instead of
  // 16 KiB chunks joined at the end: a third less CPU on 512-span bodies (bench, issue 20). The
  // claim is the sender's, so it is held to the cap and to 64 times the compressed size; a body
  // that inflates to more still inflates whole, in further chunks.
  let chunkSize = 16 * 1024;
  if (label === 'gzip' && body.length >= 18) {
    const isize = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(body.length - 4, true);
    chunkSize = Math.max(64, Math.min(isize + 1, cap + 1, body.length * 64));
  }
  let out: Buffer;
  try {
    out = inflate(body, { maxOutputLength: cap, chunkSize });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE') throw ratioBound ? overRatio() : tooLarge(maxBytes, `${label}: decompressed request body`);
    throw new OtlpError('bad_request', `${label}: ${e.message || 'corrupt compressed body'}`);
  }
  if (out.length > limit) throw ratioBound ? overRatio() : tooLarge(maxBytes, `${label}: decompressed request body`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
