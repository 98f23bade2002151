// Snappy block format (what Prometheus remote write sends, `Content-Encoding: snappy`), written
// from the format description: a varint preamble with the uncompressed length, then elements,
// each a literal run or a copy of earlier output. The tag byte's low two bits say which:
//   00 literal: length-1 in the upper six bits when < 60; 60..63 mean the length-1 follows in
//      1..4 little-endian bytes; then the bytes themselves
//   01 copy, 1-byte offset: length 4..11 in bits 2..4, offset bits 8..10 in bits 5..7, then
//      the low offset byte
//   10 copy, 2-byte offset: length 1..64 in the upper six bits, then the offset (LE, 16 bits)
//   11 copy, 4-byte offset: the same with a 32-bit offset
// A copy may overlap its own output (offset < length repeats a pattern).
//
// The compressor works on 64 KiB blocks (so every offset fits in two bytes) and finds matches
// greedily through a hash table of 4-byte sequences; past a run of misses it probes sparser, so
// incompressible input costs little. decompress() is the reference the tests hold it against.
import { GrowableBytes } from './bytes.js';

const BLOCK_SIZE = 1 << 16;
const MAX_TABLE_BITS = 14;
const MIN_MATCH = 4;
/** After this many misses since the last match, the probe stride grows by one. */
const SKIP_SHIFT = 5;

export class SnappyError extends Error {
  override name = 'SnappyError';
}

/** The compressed output. */
class Output extends GrowableBytes {
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  bytes(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += end - start;
  }

  varint(v: number): void {
    while (v >= 0x80) {
      this.byte((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.byte(v);
  }
}

/** The worst case of compress() for `n` input bytes (the format's bound: 32 + n + n/6). */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function load32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function emitLiteral(out: Output, src: Uint8Array, start: number, end: number): void {
  const n = end - start;
  if (n === 0) return;
  const m = n - 1;
  if (m < 60) {
    out.byte(m << 2);
  } else if (m < 1 << 8) {
    out.byte(60 << 2);
    out.byte(m);
  } else if (m < 1 << 16) {
    out.byte(61 << 2);
    out.byte(m & 0xff);
    out.byte(m >>> 8);
  } else if (m < 1 << 24) {
    out.byte(62 << 2);
    out.byte(m & 0xff);
    out.byte((m >>> 8) & 0xff);
    out.byte(m >>> 16);
  } else {
    out.byte(63 << 2);
    out.byte(m & 0xff);
    out.byte((m >>> 8) & 0xff);
    out.byte((m >>> 16) & 0xff);
    out.byte(m >>> 24);
  }
  out.bytes(src, start, end);
}

/** One copy element of length 1..64 (4..11 with offset < 2048 takes the short form). */
function emitCopyElement(out: Output, offset: number, length: number): void {
  if (length >= 4 && length <= 11 && offset < 2048) {
    out.byte(0x01 | ((length - 4) << 2) | ((offset >>> 8) << 5));
    out.byte(offset & 0xff);
  } else {
    out.byte(0x02 | ((length - 1) << 2));
    out.byte(offset & 0xff);
    out.byte(offset >>> 8);
  }
}

/** A copy of any length ≥ 4, split into elements of at most 64 so that none is shorter than 4. */
function emitCopy(out: Output, offset: number, length: number): void {
  while (length >= 68) {
    emitCopyElement(out, offset, 64);
    length -= 64;
  }
  if (length > 64) {
    // 65..67: 60 now leaves 5..7, which still makes a valid element
    emitCopyElement(out, offset, 60);
    length -= 60;
  }
  emitCopyElement(out, offset, length);
}

function compressBlock(out: Output, src: Uint8Array, start: number, end: number, table: Int32Array, tableBits: number): void {
  const shift = 32 - tableBits;
  table.fill(-1);
  let ip = start;
  let nextEmit = start;
  const last4 = end - MIN_MATCH; // the last position a 4-byte sequence starts at
  while (ip <= last4) {
    const seq = load32(src, ip);
    const h = Math.imul(seq, 0x1e35a7bd) >>> shift;
    const candidate = table[h]!;
    table[h] = ip;
    if (candidate < 0 || load32(src, candidate) !== seq) {
      ip += 1 + ((ip - nextEmit) >>> SKIP_SHIFT);
      continue;
    }
    emitLiteral(out, src, nextEmit, ip);
    let length = MIN_MATCH;
    while (ip + length < end && src[ip + length] === src[candidate + length]) length++;
    emitCopy(out, ip - candidate, length);
    ip += length;
    nextEmit = ip;
    // remember the sequence just before the resume point: runs of repeats chain their matches
    if (ip - 1 <= last4) table[Math.imul(load32(src, ip - 1), 0x1e35a7bd) >>> shift] = ip - 1;
  }
  emitLiteral(out, src, nextEmit, end);
}

/** Compresses `input` into one snappy block-format buffer. */
export function compress(input: Uint8Array): Uint8Array {
  const out = new Output(maxCompressedLength(input.length));
  out.varint(input.length);
  let tableBits = 8;
  while (tableBits < MAX_TABLE_BITS && 1 << tableBits < Math.min(input.length, BLOCK_SIZE)) tableBits++;
  const table = new Int32Array(1 << tableBits);
  for (let start = 0; start < input.length; start += BLOCK_SIZE) {
    compressBlock(out, input, start, Math.min(start + BLOCK_SIZE, input.length), table, tableBits);
  }
  return out.finish();
}

/** The uncompressed length from the preamble. Throws SnappyError if it is malformed. */
export function decodedLength(input: Uint8Array): number {
  return readPreamble(input)[0];
}

function readPreamble(input: Uint8Array): [length: number, next: number] {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= input.length) throw new SnappyError('truncated length preamble');
    const b = input[i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (value > 0xffffffff) throw new SnappyError('length preamble over 32 bits');
      return [value, i + 1];
    }
  }
  throw new SnappyError('length preamble over 32 bits');
}

/** Decompresses a snappy block-format buffer; throws SnappyError on anything malformed. */
export function decompress(input: Uint8Array, maxLength = 256 * 1024 * 1024): Uint8Array {
  const [length, start] = readPreamble(input);
  if (length > maxLength) throw new SnappyError(`uncompressed length ${length} over the limit ${maxLength}`);
  const out = new Uint8Array(length);
  let op = 0;
  let ip = start;
  const need = (n: number): void => {
    if (ip + n > input.length) throw new SnappyError(`truncated element at byte ${ip}`);
  };
  while (ip < input.length) {
    const tag = input[ip++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const extra = n - 59;
        need(extra);
        n = 0;
        for (let i = 0; i < extra; i++) n += input[ip + i]! * 2 ** (8 * i);
        ip += extra;
      }
      n += 1;
      need(n);
      if (op + n > length) throw new SnappyError('literal runs past the declared length');
      out.set(input.subarray(ip, ip + n), op);
      ip += n;
      op += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      need(1);
      n = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | input[ip]!;
      ip += 1;
    } else if (kind === 2) {
      need(2);
      n = 1 + (tag >>> 2);
      offset = input[ip]! | (input[ip + 1]! << 8);
      ip += 2;
    } else {
      need(4);
      n = 1 + (tag >>> 2);
      offset = load32(input, ip);
      ip += 4;
    }
    if (offset === 0 || offset > op) throw new SnappyError(`copy offset ${offset} out of range at output byte ${op}`);
    if (op + n > length) throw new SnappyError('copy runs past the declared length');
    for (let i = 0; i < n; i++, op++) out[op] = out[op - offset]!;
  }
  if (op !== length) throw new SnappyError(`decoded ${op} bytes, the preamble says ${length}`);
  return out;
}
