// Request body decompression with the size limit enforced while inflating: the output never
// grows past the limit (plus one byte, to tell "exactly the limit" from "over it"), so a gzip
// bomb costs at most that much memory, never its expanded size.
//
// One zlib stream per encoding is kept for the whole process and reset after each body, and its
// native handle inflates straight into memory the caller provides (`Destination`): the core's
// input buffer on the hot path, so an inflated body is neither allocated nor copied again. The
// stream objects zlib.gunzipSync builds per call, its output chunks and their concatenation cost
// more CPU than the inflating itself on 512-span bodies and made the receiver's heap collect
// several times a second under load (issue 20: bench and `node --cpu-prof`). The handle's
// synchronous write (`writeSync` and `_writeState`) is what zlib.gunzipSync itself calls; where
// a Node has no such handle, decompress() falls back to zlib's public *Sync functions.
//
// A gzip body inflated into the core's input is taken apart here (RFC 1952): the member header
// parsed by memberStart, the deflate data inflated raw (by the core, assembly/inflate.ts, where
// the destination offers it: ~14% less time than zlib per bench body), and the trailer's CRC-32 computed by the
// core over the inflated bytes where they are (Destination.crc32, assembly/crc32.ts: about half
// the instructions of this Node's zlib, which has no SIMD CRC and spent as many instructions on
// the CRC as on inflating). Anything but a well-formed body (a header flag this parser leaves to
// zlib, a bad CRC or length, a truncated or corrupt body, trailing garbage) is inflated again by
// zlib's own gunzip, so every error and every reason is zlib's, as before.
import { constants as bufferConstants } from 'node:buffer';
import zlib from 'node:zlib';
import { OtlpError } from './errors.js';
import { INFLATE_FULL } from '../core/layout.js';

/** Where inflated bytes go: `reserve` returns a view of at least `n` bytes whose first `keep` bytes are those written so far. */
export interface Destination {
  reserve(n: number, keep: number): Uint8Array;
  /** CRC-32 (RFC 1952 §8) of `length` bytes from `start` of the last view `reserve` gave; without it zlib checks gzip trailers. */
  crc32?(start: number, length: number): number;
  /**
   * Inflates the raw deflate data (RFC 1951) from byte `from` of `body` into the last view
   * `reserve` gave, after its first `written` bytes and within its first `room`: the bytes
   * written, -INFLATE_FULL (core/layout.ts) when they need more room, or another negative number
   * when zlib must inflate it (a corrupt stream, or one the inflater leaves alone); inflateEnd()
   * then tells where the deflate data ended in `body`. Without it zlib inflates gzip members.
   */
  inflate?(body: Uint8Array, from: number, written: number, room: number): number;
  inflateEnd?(): number;
}

/** The content codings spanmeter undoes. */
export type Coding = 'identity' | 'gzip' | 'deflate';

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

/** The coding a Content-Encoding (or grpc-encoding) names; throws unsupported_media_type for others. */
export function codingOf(contentEncoding: string | undefined): Coding {
  // The usual values (gRPC's grpc-encoding, most HTTP clients) as they are: no list parsed per request.
  if (contentEncoding === undefined || contentEncoding === 'identity') return 'identity';
  if (contentEncoding === 'gzip' || contentEncoding === 'deflate') return contentEncoding;
  // A list such as "gzip, identity" is legal HTTP; identity entries are no-ops.
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return 'identity';
  if (codings.length > 1) {
    throw new OtlpError(
      'unsupported_media_type',
      `Content-Encoding "${contentEncoding}": only one encoding (gzip or deflate) is supported, not a chain`,
    );
  }
  const coding = codings[0]!;
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip';
  if (coding === 'deflate') return 'deflate';
  throw new OtlpError('unsupported_media_type', `Content-Encoding "${contentEncoding}" is not supported; use gzip, deflate or identity`);
}

/** The native handle of a zlib stream, as lib/zlib.js drives it for the *Sync functions. */
interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  close(): void;
  onerror: (message: string, errno: number) => void;
}

type Format = 'gzip' | 'zlib' | 'raw';

/** One reusable inflater per format; a stream that failed is closed and made again. */
class Inflater {
  private stream: zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | undefined;
  private handle: NativeHandle | undefined;
  private state: Uint32Array | undefined;
  private error: string | undefined;

  constructor(private readonly format: Format) {}

  /** Whether this Node exposes the handle; false makes decompress() use zlib's *Sync functions. */
  static readonly native: boolean = (() => {
    const s = zlib.createGunzip() as unknown as { _handle?: Partial<NativeHandle>; _writeState?: unknown };
    const ok = typeof s._handle?.writeSync === 'function' && s._writeState instanceof Uint32Array;
    (s as unknown as zlib.Gunzip).close();
    return ok;
  })();

  /** Where the compressed stream ended in the body, after run(). */
  inEnd = 0;
  /** The room of the last view run() reserved. */
  room = 0;

  /**
   * Inflates `body` from `inOff` into `dest` after the `written` bytes already there, starting
   * with room for `first` bytes and doubling, until the compressed stream ends; more than `limit`
   * bytes of output in all is refused with `over()`. Returns the bytes written in all.
   */
  run(body: Uint8Array, dest: Destination, first: number, limit: number, over: () => OtlpError, label: string, inOff = 0, written = 0): number {
    const h = this.open();
    const state = this.state!;
    let room = Math.min(Math.max(first, written + 1), limit + 1);
    let out = dest.reserve(room, written);
    let inLen = body.length - inOff;
    for (;;) {
      h.writeSync(zlib.constants.Z_FINISH, body, inOff, inLen, out, written, room - written);
      if (this.error !== undefined) throw this.fail(label);
      const availOut = state[0]!;
      const availIn = state[1]!;
      written = room - availOut;
      inOff += inLen - availIn;
      inLen = availIn;
      if (written > limit) {
        this.drop();
        throw over();
      }
      // Room left with Z_FINISH and no error: the stream ended (zlib says Z_BUF_ERROR otherwise).
      if (availOut !== 0) break;
      room = Math.min(room * 2, limit + 1);
      out = dest.reserve(room, written);
    }
    h.reset();
    this.inEnd = inOff;
    this.room = room;
    return written;
  }

  private open(): NativeHandle {
    if (this.handle) return this.handle;
    const stream = this.format === 'gzip' ? zlib.createGunzip() : this.format === 'zlib' ? zlib.createInflate() : zlib.createInflateRaw();
    const inner = stream as unknown as { _handle: NativeHandle; _writeState: Uint32Array };
    this.stream = stream;
    this.handle = inner._handle;
    this.state = inner._writeState;
    this.error = undefined;
    // zlib reports a corrupt stream through the handle's onerror, during writeSync.
    this.handle.onerror = (message: string) => {
      this.error = message;
    };
    return this.handle;
  }

  private fail(label: string): OtlpError {
    const message = this.error || 'corrupt compressed body';
    this.drop();
    return new OtlpError('bad_request', `${label}: ${message}`);
  }

  private drop(): void {
    this.stream?.close();
    this.stream = undefined;
    this.handle = undefined;
    this.state = undefined;
    this.error = undefined;
  }
}

const inflaters: Record<Format, Inflater> = { gzip: new Inflater('gzip'), zlib: new Inflater('zlib'), raw: new Inflater('raw') };

interface Bounds {
  /** The most output allowed. */
  limit: number;
  /** The error for more. */
  over: () => OtlpError;
  /** The room to start with. */
  first: number;
}

/** The little-endian u32 at `at` (the gzip trailer's CRC-32 and ISIZE). */
const u32le = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

function boundsOf(body: Uint8Array, coding: 'gzip' | 'deflate', maxBytes: number, maxRatio: number): Bounds {
  // The ratio limit (a gzip-bomb guard) lowers the output cap for this body when it is the tighter one.
  const ratioCap = maxRatio > 0 ? Math.max(1, body.length) * maxRatio : Infinity;
  const ratioBound = ratioCap < maxBytes;
  const limit = Math.floor(Math.min(ratioBound ? ratioCap : maxBytes, bufferConstants.MAX_LENGTH - 1));
  const over = (): OtlpError =>
    ratioBound
      ? new OtlpError('compression_ratio', `${coding}: decompressed request body is more than ${maxRatio} times its compressed size of ${body.length} bytes`)
      : tooLarge(maxBytes, `${coding}: decompressed request body`);
  // Room for the size the gzip trailer announces (ISIZE, RFC 1952 §2.3.1) plus one byte, so the
  // output ends with room to spare and no second pass is needed. The claim is the sender's, so
  // it is held to 64 times the compressed size; a body that inflates to more grows by doubling.
  let first = Math.max(64 * 1024, body.length * 4);
  if (coding === 'gzip' && body.length >= 18) {
    const isize = u32le(body, body.length - 4);
    first = Math.max(64, Math.min(isize + 1, body.length * 64));
  }
  return { limit, over, first: Math.min(first, limit + 1) };
}

const FTEXT = 1;
const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/**
 * Where the deflate data of the gzip member at `at` starts (RFC 1952 §2.3.1: ID1 ID2 CM FLG
 * MTIME XFL OS, then the optional fields FLG names), or -1 for a member zlib must read: not
 * gzip, not deflate (CM 8), reserved flag bits set, a header CRC (FHCRC, checked by zlib), or
 * cut short. FTEXT is a hint about the content and changes nothing.
 */
export function memberStart(b: Uint8Array, at: number): number {
  const n = b.length;
  if (n - at < 10 || b[at] !== 0x1f || b[at + 1] !== 0x8b || b[at + 2] !== 8) return -1;
  const flags = b[at + 3]!;
  if ((flags & ~(FTEXT | FEXTRA | FNAME | FCOMMENT)) !== 0) return -1;
  let p = at + 10;
  if (flags & FEXTRA) {
    if (n - p < 2) return -1;
    p += 2 + (b[p]! | (b[p + 1]! << 8));
  }
  // FNAME and FCOMMENT: zero-terminated.
  if (flags & FNAME) p = b.indexOf(0, p) + 1 || n + 1;
  if (flags & FCOMMENT && p <= n) p = b.indexOf(0, p) + 1 || n + 1;
  return p <= n ? p : -1;
}

/** Where the last member coreMember inflated ended in the body, and the room it ended with. */
const coreResult = { end: 0, room: 0 };

/**
 * One gzip member's deflate data inflated by dest.inflate (the core) after the `written` bytes
 * already in `dest`, with the same room and limits as Inflater.run: room grows by doubling up
 * to limit + 1, more than `limit` bytes in all is `over()`. Returns the bytes written in all, or
 * -1 when zlib must inflate the member (the core refused it; zlib then gives the same output or
 * its own error).
 */
function coreMember(body: Uint8Array, dest: Destination, from: number, first: number, limit: number, over: () => OtlpError, written: number): number {
  let room = Math.min(Math.max(first, written + 1), limit + 1);
  for (;;) {
    dest.reserve(room, written);
    const n = dest.inflate!(body, from, written, room);
    if (n >= 0) {
      if (written + n > limit) throw over();
      coreResult.end = dest.inflateEnd!();
      coreResult.room = room;
      return written + n;
    }
    // The core answers "full" only for output zlib would write too before any error.
    if (n !== -INFLATE_FULL) return -1;
    if (room > limit) throw over();
    room = Math.min(room * 2, limit + 1);
  }
}

/**
 * Inflates every member of a gzip body into `dest` (RFC 1952 §2.2: members one after another;
 * after the last, the end of the body or a zero byte, the padding Node's gunzip ignores), each
 * member's deflate data raw (by the core where `dest` offers it, else or when the core refuses
 * it by zlib) and its trailer (CRC-32 and ISIZE) checked with dest.crc32. Returns the bytes
 * written, or -1 when zlib's gunzip must read the body instead (it then finds the same output
 * or gives its own error): whatever is not a well-formed member.
 */
function gunzipMembers(body: Uint8Array, dest: Destination, first: number, limit: number, over: () => OtlpError): number {
  const raw = inflaters.raw;
  let written = 0;
  let room = first;
  let at = 0;
  do {
    const start = memberStart(body, at);
    if (start < 0) return -1;
    const before = written;
    const inflated = dest.inflate !== undefined ? coreMember(body, dest, start, room, limit, over, written) : -1;
    if (inflated >= 0) {
      written = inflated;
      room = coreResult.room;
      at = coreResult.end + 8;
    } else {
      try {
        written = raw.run(body, dest, room, limit, over, 'gzip', start, written);
      } catch (err) {
        if (err instanceof OtlpError && err.kind === 'bad_request') return -1;
        throw err;
      }
      room = raw.room;
      at = raw.inEnd + 8;
    }
    if (at > body.length) return -1;
    const size = written - before;
    if (dest.crc32!(before, size) >>> 0 !== u32le(body, at - 8) || size >>> 0 !== u32le(body, at - 4)) return -1;
  } while (at < body.length && body[at] !== 0);
  return written;
}

/**
 * Inflates a gzip or deflate body into `dest`, failing with too_large once the output would
 * exceed maxBytes, or compression_ratio once it would exceed maxRatio times the body (0 = off).
 * Returns the number of bytes written at the start of the last view `dest` gave.
 */
export function inflateInto(body: Uint8Array, coding: 'gzip' | 'deflate', maxBytes: number, maxRatio: number, dest: Destination): number {
  const { limit, over, first } = boundsOf(body, coding, maxBytes, maxRatio);
  if (coding === 'gzip') {
    if (dest.crc32 !== undefined) {
      const n = gunzipMembers(body, dest, first, limit, over);
      if (n >= 0) return n;
    }
    return inflaters.gzip.run(body, dest, first, limit, over, coding);
  }
  if (!isZlibHeader(body)) return inflaters.raw.run(body, dest, first, limit, over, coding);
  // Raw deflate data can start with bytes that pass as a zlib header: fall back to raw.
  try {
    return inflaters.zlib.run(body, dest, first, limit, over, coding);
  } catch (err) {
    if (!(err instanceof OtlpError) || err.kind !== 'bad_request') throw err;
    return inflaters.raw.run(body, dest, first, limit, over, coding);
  }
}

/** A Destination on fresh memory of its own, for callers that keep the bytes. */
function freshDestination(): Destination & { bytes: Uint8Array } {
  const d = {
    bytes: new Uint8Array(0),
    reserve(n: number, keep: number): Uint8Array {
      if (n > d.bytes.length) {
        const grown = Buffer.allocUnsafe(n);
        grown.set(d.bytes.subarray(0, keep));
        d.bytes = grown;
      }
      return d.bytes;
    },
  };
  return d;
}

/** The same as inflateInto, through zlib's public *Sync functions (a Node without the handle). */
function inflatePublic(body: Uint8Array, coding: 'gzip' | 'deflate', maxBytes: number, maxRatio: number): Uint8Array {
  const { limit, over, first } = boundsOf(body, coding, maxBytes, maxRatio);
  const opts = { maxOutputLength: Math.max(1, limit), chunkSize: Math.max(64, first) };
  const publicInflate = (f: (b: Uint8Array, o: zlib.ZlibOptions) => Buffer): Buffer => {
    try {
      return f(body, opts);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE') throw over();
      throw new OtlpError('bad_request', `${coding}: ${e.message || 'corrupt compressed body'}`);
    }
  };
  let out: Buffer;
  if (coding === 'gzip') out = publicInflate(zlib.gunzipSync);
  else if (!isZlibHeader(body)) out = publicInflate(zlib.inflateRawSync);
  else {
    try {
      out = publicInflate(zlib.inflateSync);
    } catch (err) {
      if (!(err instanceof OtlpError) || err.kind !== 'bad_request') throw err;
      out = publicInflate(zlib.inflateRawSync);
    }
  }
  if (out.length > limit) throw over();
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Whether inflating goes through the reused native handles (true on the Node versions spanmeter supports); tests turn it off to check the fallback. */
export const inflateMode = { native: Inflater.native };

/**
 * Undo the request's Content-Encoding (identity, gzip, x-gzip, deflate), failing with
 * too_large once the decoded body would exceed maxBytes. The returned array may share memory
 * with `body` (identity).
 */
export function decompress(body: Uint8Array, contentEncoding: string | undefined, maxBytes: number, maxRatio = 0): Uint8Array {
  const coding = codingOf(contentEncoding);
  if (coding === 'identity') {
    if (body.length > maxBytes) throw tooLarge(maxBytes, 'request body');
    return body;
  }
  if (!inflateMode.native) return inflatePublic(body, coding, maxBytes, maxRatio);
  const dest = freshDestination();
  const n = inflateInto(body, coding, maxBytes, maxRatio, dest);
  return dest.bytes.subarray(0, n);
}
