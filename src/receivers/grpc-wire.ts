// The pieces of the gRPC over HTTP/2 protocol (github.com/grpc/grpc, doc/PROTOCOL-HTTP2.md) the
// OTLP/gRPC receiver speaks on node:http2: the Length-Prefixed-Message (1-byte Compressed-Flag,
// 4-byte big-endian Message-Length, the message), grpc-timeout, grpc-message's percent-encoding
// and the binary (-bin) metadata's base64, and the reassembly of a unary call's one message.
import { Code } from './grpc-status.js';
import type { BufferPool } from '../net/reads.js';
import { keepShape } from '../net/shapes.js';
import { Buffer } from 'node:buffer'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

export const GRPC_CONTENT_TYPE = 'application/grpc';
/** The message encodings the receiver inflates (grpc-encoding), as it advertises them. */
export const ACCEPT_ENCODING = 'identity,deflate,gzip';
/** grpc-encoding values and what decompress() (otlp/gzip.ts) calls them. */
export const ENCODINGS: ReadonlyMap<string, string | undefined> = new Map([['identity', undefined], ['gzip', 'gzip'], ['deflate', 'deflate']]);

/** Bytes before each message: Compressed-Flag (1) + Message-Length (4). */
export const PREFIX_BYTES = 5;

/** A Length-Prefixed-Message holding `message` uncompressed. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(PREFIX_BYTES + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, PREFIX_BYTES);
  return out;
}

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** grpc-timeout (TimeoutValue: 1-8 ASCII digits, then H M S m u n) in ms; undefined when absent or malformed. */
export function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

/**
 * grpc-message as the spec writes it: the UTF-8 bytes, each outside 0x20-0x7E or equal to '%'
 * written %XX.
 */
export function percentEncode(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const b of Buffer.from(message, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A -bin metadata value: base64 without padding (receivers accept both). */
export function binHeader(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

/** Messages up to this size are reassembled in the receiver's scratch buffer (MessageScratch). */
export const SCRATCH_MAX_BYTES = 8 * 1024 * 1024;

/**
 * The one buffer a receiver reassembles messages of several DATA chunks in, grown by doubling up
 * to SCRATCH_MAX_BYTES: a message is handed to the core synchronously and copied into its memory
 * there, so the next call can reuse the bytes. Saves allocating (and collecting) a body-sized
 * buffer per request: Node counts it as external memory, and that churn drove full garbage
 * collections (bench: --trace-gc, "external memory pressure").
 */
export class MessageScratch {
  private buffer = Buffer.allocUnsafe(0);

  /** `n` bytes of the scratch buffer (valid until the next take). */
  take(n: number): Buffer {
    if (n > this.buffer.length) this.buffer = Buffer.allocUnsafe(Math.min(SCRATCH_MAX_BYTES, Math.max(n, 2 * this.buffer.length, 64 * 1024)));
    return this.buffer.subarray(0, n);
  }
}

/** Why a unary call's DATA is not one well-formed message: a gRPC status and its message. */
export interface FramingError {
  code: Code;
  message: string;
}

/** The answer to a unary call that carries more than one message. */
export const TWO_MESSAGES = 'more than one request message on a unary call (Export is unary)';

/** Message buffers of calls whose transport reuses its read buffers (UnaryMessage with a pool): given back when the call ends. */
export const MESSAGE_POOL_BYTES = 4 * 1024 * 1024;
export const MESSAGE_POOL_LARGEST = 1024 * 1024;
/** Message buffers' lengths are multiples of this. */
const MESSAGE_UNIT = 16 * 1024;

/**
 * Collects the DATA of a unary call: learns the message's flag and length from its prefix as soon
 * as 5 bytes have come, and keeps the chunks (one copy at the end, none when a single chunk holds
 * it all). With a `pool` (a transport whose chunks are views of read buffers it reuses once data()
 * returns: h2c), it copies the message instead, once, as it comes, into one buffer of its exact
 * length (hold(), called once the call has judged the prefix; release() gives it back).
 */
export class UnaryMessage {
  private readonly chunks: Buffer[] = [];
  private total = 0;
  /** Compressed-Flag and Message-Length, once 5 bytes have arrived. */
  flag = -1;
  length = -1;
  /**
   * With a pool: the prefix's flag and length as their bytes come (small integers, as flag and
   * length: a field that once holds a fraction or more than 2^31 changes the object's shape, which
   * shapes.ts keeps), the message's buffer, and the rest of the chunk that completed the prefix (until hold()).
   */
  private prefixFlag = 0;
  private prefixLength = 0;
  private body: Buffer | undefined;
  private pending: Buffer | undefined;

  constructor(private readonly pool?: BufferPool) {}

  /** Adds a chunk; true when this chunk completed the prefix (flag and length are now known). */
  push(chunk: Buffer): boolean {
    const had = this.total;
    this.total += chunk.length;
    if (this.pool !== undefined) return this.copy(chunk, had);
    this.chunks.push(chunk);
    if (had >= PREFIX_BYTES || this.total < PREFIX_BYTES) return false;
    const head = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.total);
    this.flag = head[0]!;
    this.length = head.readUInt32BE(1);
    return true;
  }

  private copy(chunk: Buffer, had: number): boolean {
    if (had >= PREFIX_BYTES) {
      const body = this.body;
      const at = had - PREFIX_BYTES;
      if (body !== undefined && at < this.length) body.set(at + chunk.length <= this.length ? chunk : chunk.subarray(0, this.length - at), at);
      return false;
    }
    const n = Math.min(PREFIX_BYTES - had, chunk.length);
    for (let i = 0; i < n; i++) {
      if (had + i === 0) this.prefixFlag = chunk[i]!;
      else this.prefixLength = this.prefixLength * 256 + chunk[i]!;
    }
    if (this.total < PREFIX_BYTES) return false;
    this.flag = this.prefixFlag;
    this.length = this.prefixLength;
    this.pending = chunk.subarray(n);
    return true;
  }

  /** With a pool: takes the message's buffer and copies into it what came with the prefix. */
  hold(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (this.pool === undefined || this.body !== undefined) return;
    const body = this.pool.take(this.length, MESSAGE_UNIT);
    this.body = body;
    if (pending !== undefined && pending.length > 0) body.set(pending.length <= this.length ? pending : pending.subarray(0, this.length));
  }

  /** Gives the message's buffer back to the pool (what finish() returned is not read any more). */
  release(): void {
    this.pending = undefined;
    if (this.body !== undefined) this.pool!.give(this.body);
    this.body = undefined;
  }

  /** True once the prefix and the whole message it announced have come. */
  get complete(): boolean {
    return this.length >= 0 && this.total >= PREFIX_BYTES + this.length;
  }

  /** True once more bytes have come than the one message the prefix announced. */
  get overrun(): boolean {
    return this.length >= 0 && this.total > PREFIX_BYTES + this.length;
  }

  /**
   * At the end of the request: the message, or why there is not exactly one. A message in several
   * chunks is copied into `scratch` when it fits there (it is then valid until the next finish);
   * with `inPieces`, it is returned as its chunks instead (the prefix cut off), for a consumer that
   * copies them into its own memory anyway: an uncompressed message is then copied once, not twice.
   * With a pool, the message is a view of its buffer (valid until release()).
   */
  finish(scratch?: MessageScratch, inPieces = false): Buffer | Buffer[] | FramingError {
    if (this.total === 0) return { code: Code.UNIMPLEMENTED, message: 'the call ended without a request message (Export is unary)' };
    if (this.total < PREFIX_BYTES || this.total < PREFIX_BYTES + this.length) {
      return { code: Code.INTERNAL, message: `the request message was cut short: ${this.total} bytes of ${PREFIX_BYTES + Math.max(0, this.length)}` };
    }
    if (this.overrun) return { code: Code.UNIMPLEMENTED, message: TWO_MESSAGES };
    if (this.pool !== undefined) {
      // hold() comes with the budget, before any byte past the prefix's chunk is kept.
      if (this.body === undefined) return { code: Code.INTERNAL, message: 'the request message was not kept' };
      return this.body.subarray(0, this.length);
    }
    if (this.chunks.length === 1) return this.chunks[0]!.subarray(PREFIX_BYTES);
    if (inPieces) {
      // Drop the prefix, which may itself span chunks.
      const pieces = this.chunks;
      let skip = PREFIX_BYTES;
      while (skip > 0) {
        const first = pieces[0]!;
        if (first.length > skip) {
          pieces[0] = first.subarray(skip);
          break;
        }
        skip -= first.length;
        pieces.shift();
      }
      return pieces;
    }
    if (scratch === undefined || this.total > SCRATCH_MAX_BYTES) return Buffer.concat(this.chunks, this.total).subarray(PREFIX_BYTES);
    const out = scratch.take(this.total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out.subarray(PREFIX_BYTES);
  }
}
keepShape(new UnaryMessage()); // its shape kept (shapes.ts)
