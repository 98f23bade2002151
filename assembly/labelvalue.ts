// An attribute's AnyValue as a label value, the way Tempo stringifies it: strings as they are,
// ints in decimal, bools as true/false, doubles in plain decimal (no exponent), arrays as
// "[" + elements + "]", key-value lists as "{" + key ":" value ... "}", bytes as "".
// Runs once per span per dimension, so it writes into a static buffer and allocates nothing.
import { rp, seek, readTag, readLen, readVarint, readFixed64 } from './wire';
import { MAX_VALUE_BYTES } from './intern';
import { sanitizeUtf8 } from './utf8';
import { shortestDigits, digitsExponent, DIGITS } from './dtoa';

const CAP: usize = MAX_VALUE_BYTES * 2;
const OUT: usize = memory.data(<i32>CAP + 8);
const DTOA: usize = memory.data(64 * 2);
let w: usize = 0;

/** Where the last formatted value lies; a string value points into the request itself. */
export let valuePtr: usize = 0;
export let valueLen: usize = 0;

// The oneof field of the AnyValue last found: proto3 keeps the last one on the wire.
let kind: u32 = 0;
let at: usize = 0;
let len: usize = 0;
let bits: u64 = 0;
// Where the run of fields of that kind starts: protobuf merges an array or key-value list sent
// several times in a row, so its elements are all of theirs.
let runFrom: usize = 0;
let valueEnd: usize = 0;

function findValue(p: usize, n: usize): void {
  let end = p + n;
  kind = 0;
  valueEnd = end;
  seek(p);
  while (rp < end) {
    let tagAt = rp;
    let tag = readTag(end, 0);
    let field = tag >>> 3;
    let wt = tag & 7;
    if (wt == 2) {
      let m = readLen(end, 0, 0);
      if (field >= 1 && field <= 7) {
        if (field != kind) runFrom = tagAt;
        kind = field;
        at = rp;
        len = m;
      }
      seek(rp + m);
    } else if (wt == 0) {
      let v = readVarint(end);
      if (field == 2 || field == 3) { kind = field; bits = v; }
    } else if (wt == 1) {
      let v = readFixed64(end, 0, 0);
      if (field == 4) { kind = 4; bits = v; }
    } else {
      seek(wt == 5 ? rp + 4 : end); // validated already: only fixed32 or nothing else remains
    }
  }
}

function put(p: usize, n: usize): void {
  if (w >= CAP) return;
  if (n > CAP - w) n = CAP - w;
  memory.copy(OUT + w, p, n);
  w += n;
}

/** A string inside an array or key-value list: repaired on its own, as each element is decoded alone. */
function putString(p: usize, n: usize): void {
  if (w < CAP) w += sanitizeUtf8(p, n, OUT + w, CAP - w);
}

function putByte(b: u8): void {
  if (w < CAP) store<u8>(OUT + w++, b);
}

function putInt(v: i64): void {
  let neg = v < 0;
  let u: u64 = neg ? <u64>(0 - v) : <u64>v; // two's complement makes i64.MIN come out right
  let tmp = DTOA;
  let k: usize = 0;
  do {
    store<u8>(tmp + k++, <u8>(48 + <u32>(u % 10)));
    u /= 10;
  } while (u != 0);
  if (neg) putByte(0x2d);
  while (k > 0) putByte(load<u8>(tmp + --k));
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent. */
function putDouble(v: f64): void {
  if (isNaN(v)) { put(changetype<usize>(NAN_TEXT), 3); return; }
  if (!isFinite(v)) { put(changetype<usize>(v > 0 ? PINF_TEXT : NINF_TEXT), 4); return; }
  if ((reinterpret<u64>(v) >>> 63) != 0) putByte(0x2d); // also -0
  // |v| = digits × 10^exponent, the digits without leading or trailing zeros (0 is "0").
  let m = shortestDigits(v);
  let point = m + digitsExponent;
  let d = DIGITS;
  if (point <= 0) {
    putByte(0x30);
    putByte(0x2e);
    for (let z = point; z < 0; z++) putByte(0x30);
    put(d, m);
  } else if (point >= m) {
    put(d, m);
    for (let z = m; z < point; z++) putByte(0x30);
  } else {
    put(d, point);
    putByte(0x2e);
    put(d + point, m - point);
  }
}

const NAN_TEXT = memory.data<u8>([0x4e, 0x61, 0x4e]);
const PINF_TEXT = memory.data<u8>([0x2b, 0x49, 0x6e, 0x66]);
const NINF_TEXT = memory.data<u8>([0x2d, 0x49, 0x6e, 0x66]);
const TRUE_TEXT = memory.data<u8>([0x74, 0x72, 0x75, 0x65]);
const FALSE_TEXT = memory.data<u8>([0x66, 0x61, 0x6c, 0x73, 0x65]);

function putValue(p: usize, n: usize): void {
  findValue(p, n);
  switch (kind) {
    case 1: putString(at, len); break;
    case 2: if (bits != 0) put(TRUE_TEXT, 4); else put(FALSE_TEXT, 5); break;
    case 3: putInt(<i64>bits); break;
    case 4: putDouble(reinterpret<f64>(bits)); break;
    case 5: {
      putByte(0x5b);
      putRun(5, runFrom, valueEnd);
      putByte(0x5d);
      break;
    }
    case 6: {
      putByte(0x7b);
      putRun(6, runFrom, valueEnd);
      putByte(0x7d);
      break;
    }
    default: break; // bytes or no value: ""
  }
}

/** The elements of every occurrence of list field `field` (5 array, 6 key-value list) in [from, end). */
function putRun(field: u32, from: usize, end: usize): void {
  seek(from);
  while (rp < end) {
    let tag = readTag(end, 0);
    let wt = tag & 7;
    if (wt == 2) {
      let m = readLen(end, 0, 0);
      let next = rp + m;
      if ((tag >>> 3) == field) putElements(rp, m, field == 6);
      seek(next);
    } else if (wt == 0) readVarint(end);
    else if (wt == 1) seek(rp + 8);
    else seek(wt == 5 ? rp + 4 : end);
  }
}

/** Elements of an ArrayValue (AnyValues) or of a KeyValueList (KeyValues: key ":" value). */
function putElements(p: usize, n: usize, keyed: bool): void {
  let end = p + n;
  seek(p);
  while (rp < end) {
    let tag = readTag(end, 0);
    let wt = tag & 7;
    if ((tag >>> 3) != 1 || wt != 2) {
      // Unknown field: skip it the way the validator accepted it.
      if (wt == 0) readVarint(end);
      else if (wt == 1) seek(rp + 8);
      else if (wt == 5) seek(rp + 4);
      else if (wt == 2) { let m = readLen(end, 0, 0); seek(rp + m); }
      else seek(end);
      continue;
    }
    let m = readLen(end, 0, 0);
    let next = rp + m;
    if (keyed) putKeyValue(rp, m);
    else putValue(rp, m);
    seek(next);
  }
}

function putKeyValue(p: usize, n: usize): void {
  let end = p + n;
  let keyAt: usize = 0, keyLen: usize = 0, valAt: usize = 0, valLen: usize = 0;
  let hasValue = false;
  seek(p);
  while (rp < end) {
    let tag = readTag(end, 0);
    let wt = tag & 7;
    if (wt == 2) {
      let m = readLen(end, 0, 0);
      if ((tag >>> 3) == 1) { keyAt = rp; keyLen = m; }
      else if ((tag >>> 3) == 2) { valAt = rp; valLen = m; hasValue = true; }
      seek(rp + m);
    } else if (wt == 0) readVarint(end);
    else if (wt == 1) seek(rp + 8);
    else if (wt == 5) seek(rp + 4);
    else seek(end);
  }
  putString(keyAt, keyLen);
  putByte(0x3a);
  if (hasValue) putValue(valAt, valLen);
}

/** Formats the AnyValue message at [p, p+n) and sets valuePtr/valueLen. */
export function formatAnyValue(p: usize, n: usize): void {
  findValue(p, n);
  if (kind == 1) {
    valuePtr = at;
    valueLen = len;
    return;
  }
  w = 0;
  putValue(p, n);
  valuePtr = OUT;
  valueLen = w;
}

/** The integer an AnyValue gives: its int value, or a string of 1 to 18 decimal digits; -1 otherwise. */
export function integerValue(p: usize, n: usize): i64 {
  findValue(p, n);
  if (kind == 3) return <i64>bits;
  if (kind != 1 || len == 0 || len > 18) return -1;
  let v: i64 = 0;
  for (let i: usize = 0; i < len; i++) {
    let c = <i64>load<u8>(at + i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

// The AnyValue's typed value as Go's getters read it (Tempo's filter policies and span
// multiplier): a getter of another type than the value's answers its zero value.

/** The double value (0 unless the AnyValue holds a double). */
export function doubleOf(p: usize, n: usize): f64 {
  findValue(p, n);
  return kind == 4 ? reinterpret<f64>(bits) : 0;
}

/** The int value (0 unless the AnyValue holds an int). */
export function intOf(p: usize, n: usize): i64 {
  findValue(p, n);
  return kind == 3 ? <i64>bits : 0;
}

/** The bool value (false unless the AnyValue holds a bool). */
export function boolOf(p: usize, n: usize): bool {
  findValue(p, n);
  return kind == 2 && bits != 0;
}

/** The string value into valuePtr/valueLen, pointing into the request ("" unless the AnyValue holds a string). */
export function stringOf(p: usize, n: usize): void {
  findValue(p, n);
  valuePtr = at;
  valueLen = kind == 1 ? len : 0;
}
