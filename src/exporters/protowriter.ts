// A minimal protobuf writer for messages whose lengths are computed before they are written:
// remote write's TimeSeries are assembled from label bytes cached per series, so no fork/ldelim
// bookkeeping and no object per label or sample.

import { GrowableBytes } from './bytes.js';

const utf8 = new TextEncoder();

/** Bytes of a varint holding `v` (a non-negative integer below 2^53). */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

export class ProtoWriter extends GrowableBytes {
  /** A varint; `v` must be a non-negative integer below 2^53. */
  varint(v: number): this {
    this.reserve(10);
    while (v >= 128) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** A field tag: field number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32). */
  tag(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  /** A little-endian IEEE 754 double (wire type 1 payload). */
  double(v: number): this {
    this.reserve(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** Bytes as they are, no length prefix. */
  raw(bytes: Uint8Array): this {
    const n = bytes.length;
    this.reserve(n);
    if (n < 64) {
      // a loop beats TypedArray.set for the short label and sample chunks written per series
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) buf[p++] = bytes[i]!;
    } else {
      this.buf.set(bytes, this.pos);
    }
    this.pos += n;
    return this;
  }

  /** The bytes written so far as a new buffer, and the writer emptied for reuse. */
  take(): Uint8Array {
    const out = new Uint8Array(this.finish()); // a copy (Buffer's own slice would be a view)
    this.pos = 0;
    return out;
  }
}

/** A length-delimited field: tag, length, then the UTF-8 bytes of `s`. */
export function encodeStringField(field: number, s: string): Uint8Array {
  const bytes = utf8.encode(s);
  const w = new ProtoWriter(bytes.length + 16);
  w.tag(field, 2).varint(bytes.length).raw(bytes);
  return w.take();
}

/** A length-delimited field wrapping `payload`: tag, length, payload. */
export function encodeMessageField(field: number, payload: Uint8Array): Uint8Array {
  const w = new ProtoWriter(payload.length + 16);
  w.tag(field, 2).varint(payload.length).raw(payload);
  return w.take();
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
