// Protobuf wire-format reading over raw WASM memory. Every read is bounds-checked:
// malformed input records a failure (code, offset, message, field) and never traps.

export const WT_VARINT: u32 = 0;
export const WT_I64: u32 = 1;
export const WT_LEN: u32 = 2;
export const WT_SGROUP: u32 = 3;
export const WT_EGROUP: u32 = 4;
export const WT_I32: u32 = 5;

// Failure codes (E_*, with the reason the host reports) and message ids (M_*): layout.ts.
import {
  E_TRUNCATED, E_VARINT, E_WIRE_TYPE, E_FIELD_WIRE_TYPE, E_LENGTH, E_DEPTH, E_GROUP, E_FIELD_NUMBER, MAX_DEPTH,
} from './layout';

/**
 * Bytes the input buffer (index.ts input_reserve) keeps readable past any request's end: a
 * reader may load a word at a position up to the end and decide on it after (keyvalues.ts
 * attributeRun), without a bound check of its own that the checks after the load repeat.
 */
export const INPUT_SLACK: usize = 8;

/** Read cursor. */
export let rp: usize = 0;
export let failCode: i32 = 0;
export let failAt: usize = 0;
/** Message type (an M_ id, layout.ts) and field number being read when the failure happened. */
export let failMessage: i32 = 0;
export let failField: i32 = 0;

export function resetReader(start: usize): void {
  rp = start;
  failCode = 0;
  failAt = 0;
  failMessage = 0;
  failField = 0;
}

export function seek(p: usize): void {
  rp = p;
}

/** Records the first failure only; callers return as soon as failCode is set. */
export function fail(code: i32, message: i32, field: i32): void {
  if (failCode == 0) {
    failCode = code;
    failAt = rp;
    failMessage = message;
    failField = field;
  }
}

// The reads below are inlined into the walkers with a one-byte fast path (most tags, lengths and
// enum values fit in 7 bits); the general cases live in the *Slow functions.

// @ts-ignore: decorator
@inline export function readVarint(end: usize): u64 {
  if (rp < end) {
    let b = load<u8>(rp);
    if (b < 0x80) {
      rp++;
      return <u64>b;
    }
  }
  return readVarintSlow(end);
}

export function readVarintSlow(end: usize): u64 {
  let result: u64 = 0;
  let shift: u64 = 0;
  while (true) {
    if (rp >= end) {
      fail(E_TRUNCATED, 0, 0);
      return 0;
    }
    let b = load<u8>(rp++);
    // The 10th byte holds bit 63 only: anything more overflows 64 bits (Go refuses it too).
    if (shift == 63 && b > 1) {
      fail(E_VARINT, 0, 0);
      return 0;
    }
    result |= (<u64>(b & 0x7f)) << shift;
    if (b < 0x80) return result;
    shift += 7;
  }
}

/** Reads a tag; 0 means failure (field number 0 is invalid in protobuf). */
// @ts-ignore: decorator
@inline export function readTag(end: usize, message: i32): u32 {
  if (rp < end) {
    let b = <u32>load<u8>(rp);
    if (b - 8 < 0x78) { // 8 <= b < 0x80, in one compare
      rp++;
      return b;
    }
  }
  return readTagSlow(end, message);
}

export function readTagSlow(end: usize, message: i32): u32 {
  let start = rp;
  let t = readVarint(end);
  if (failCode != 0) return 0;
  // A 32-bit varint takes at most 5 bytes; protobuf decoders refuse longer (padded) encodings.
  if (rp - start > 5) {
    fail(E_VARINT, message, 0);
    return 0;
  }
  if (t > 0xffffffff) {
    fail(E_VARINT, message, 0);
    return 0;
  }
  if ((<u32>t >>> 3) == 0) {
    fail(E_FIELD_NUMBER, message, 0);
    return 0;
  }
  return <u32>t;
}

/** Reads a length prefix and checks the bytes it announces lie inside `end`. */
// @ts-ignore: decorator
@inline export function readLen(end: usize, message: i32, field: i32): usize {
  let n = lenAt(rp, end);
  if (n != NO_LEN) {
    rp += lenBytes(n);
    return n;
  }
  return readLenSlow(end, message, field);
}

export function readLenSlow(end: usize, message: i32, field: i32): usize {
  let start = rp;
  let n = readVarint(end);
  if (failCode != 0) return 0;
  if (rp - start > 5) {
    fail(E_VARINT, message, field);
    return 0;
  }
  if (n > <u64>(end - rp)) {
    fail(E_LENGTH, message, field);
    return 0;
  }
  return <usize>n;
}

// Walkers that keep their cursor in a local (the module's rp lives in memory, and a walk that
// reads and writes it per byte waits on it) use these one-byte fast paths and fall back to the
// *Slow functions with rp set to their cursor, taking rp back after.

/** lenAt's answer when the length is not one or two bytes within `end`: the caller takes readLenSlow. */
export const NO_LEN: usize = <usize>0xffffffff;

/**
 * readLen's fast path at p: the length when it takes one byte, or two in the shortest form (the
 * second byte 1..127, so the length is 128 or more), and what it announces lies within `end`;
 * else NO_LEN. The length took lenBytes(n) bytes.
 */
// @ts-ignore: decorator
@inline export function lenAt(p: usize, end: usize): usize {
  if (p < end) {
    let b = <usize>load<u8>(p);
    if (b < 0x80) {
      if (b < end - p) return b;
    } else if (end - p > 2) {
      let c = <usize>load<u8>(p, 1);
      if (c - 1 < 0x7f) {
        let n = (b & 0x7f) | (c << 7);
        if (n <= end - p - 2) return n;
      }
    }
  }
  return NO_LEN;
}

/** How many bytes the length lenAt answered took. */
// @ts-ignore: decorator
@inline export function lenBytes(n: usize): usize {
  return n < 0x80 ? 1 : 2;
}

/** readTag's fast path at p: the tag when it is one byte (field number 1..15), else 0. */
// @ts-ignore: decorator
@inline export function tagAt(p: usize, end: usize): u32 {
  if (p < end) {
    let b = <u32>load<u8>(p);
    if (b - 8 < 0x78) return b; // 8 <= b < 0x80, in one compare
  }
  return 0;
}

export function readFixed64(end: usize, message: i32, field: i32): u64 {
  if (end - rp < 8) {
    fail(E_TRUNCATED, message, field);
    return 0;
  }
  let v = load<u64>(rp);
  rp += 8;
  return v;
}

export function expectWireType(wt: u32, expected: u32, message: i32, field: i32): bool {
  if (wt == expected) return true;
  fail(wt == 6 || wt == 7 ? E_WIRE_TYPE : E_FIELD_WIRE_TYPE, message, field);
  return false;
}

/** Skips one field's value of wire type `wt` (groups included, as old encoders may write them). */
export function skipField(wt: u32, field: u32, end: usize, message: i32, depth: i32): void {
  switch (wt) {
    case WT_VARINT: {
      readVarint(end);
      break;
    }
    case WT_I64: {
      if (end - rp < 8) fail(E_TRUNCATED, message, field);
      else rp += 8;
      break;
    }
    case WT_LEN: {
      let n = readLen(end, message, field);
      rp += n;
      break;
    }
    case WT_I32: {
      if (end - rp < 4) fail(E_TRUNCATED, message, field);
      else rp += 4;
      break;
    }
    case WT_SGROUP: {
      if (depth >= MAX_DEPTH) {
        fail(E_DEPTH, message, field);
        return;
      }
      while (true) {
        if (rp >= end) {
          fail(E_TRUNCATED, message, field);
          return;
        }
        let t = readTag(end, message);
        if (failCode != 0) return;
        if ((t & 7) == WT_EGROUP) {
          if ((t >>> 3) != field) fail(E_GROUP, message, field);
          return;
        }
        skipField(t & 7, t >>> 3, end, message, depth + 1);
        if (failCode != 0) return;
      }
    }
    case WT_EGROUP: {
      fail(E_GROUP, message, field);
      break;
    }
    default:
      fail(E_WIRE_TYPE, message, field);
  }
}
