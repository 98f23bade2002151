// The common shapes of a span's attributes (KeyValue messages), taken by walkSpan and
// walkKeyValue (otlp.ts) without the general walk: a key and a simple value, one-byte lengths,
// and the run of attributes a span holds, looked up in the watch table inline.
import { watchedSlotOf, watchedSlotRun, watchFirstShort } from './watch';
import { SLOT_SIZE } from './staging';
import { maxStringLength, maxAttributesPerSpan } from './limits';

/** Whether [v, end) is an AnyValue of exactly one string, int, bool or double field. */
// @ts-ignore: decorator
@inline function isSimpleValue(v: usize, end: usize): bool {
  if (end - v < 2) return false;
  let s = <u32>load<u16>(v);
  let tag = s & 0xff;
  if (tag == 0x0a) return (s & 0x8000) == 0 && v + 2 + <usize>(s >> 8) == end; // string
  if (tag == 0x21) return end - v == 9; // double
  if (tag == 0x10 || tag == 0x18) { // bool, int: a varint ending exactly at end, at most 10 bytes
    let n = end - v - 1;
    if (n > 10 || load<u8>(end - 1) >= 0x80) return false;
    for (let i: usize = 1; i < n; i++) if (load<u8>(v + i) < 0x80) return false;
    return n < 10 || load<u8>(end - 1) <= 1;
  }
  return false;
}

/**
 * Where the value field (tag 0x12) of the KeyValue [p, end) starts when it is what every SDK
 * writes: the key, then a value holding one string, int, bool or double (or nothing), lengths
 * under 128, and the whole within the string limit (should that be lower); else 0, and
 * walkKeyValue's general walk reads it.
 */
// @ts-ignore: decorator
@inline export function simpleKeyValue(p: usize, end: usize): usize {
  if (end - p < 4) return 0;
  // Two bytes at a time: a tag, then a length byte under 0x80 (a byte of 0x80 or more starts a
  // longer varint, even where its low bits alone would happen to match `end`).
  let k = <u32>load<u16>(p);
  if ((k & 0x80ff) != 0x0a) return 0; // key
  let q = p + 2 + <usize>(k >> 8);
  if (q + 2 > end) return 0;
  let w = <u32>load<u16>(q);
  if ((w & 0x80ff) != 0x12) return 0; // value
  let m = <usize>(w >> 8);
  if (q + 2 + m != end) return 0; // ending the KeyValue
  // A string (most values): its tag, then its length, one byte, filling the value; else the
  // general check (that of isSimpleValue's first case, in one compare).
  if (m >= 2 && <usize>load<u16>(q + 2) == (0x0a | ((m - 2) << 8))) {
    // a string
  } else if (m != 0 && !isSimpleValue(q + 2, end)) return 0;
  return end - p <= maxStringLength ? q : 0;
}

/**
 * A run of a span's attributes from p, at a tag 0x4a: each taken as walkSpan's general path
 * takes an attribute, while it is in the common shape (one-byte lengths, a key and a string, or
 * an int or bool of up to 8 bytes, as simpleKeyValue takes them; a key watchedSlotRun answers)
 * and the attribute limit is not reached. Returns where it
 * stopped (at the next field's tag, or at the tag of an attribute left to the general path) in
 * the low 32 bits, the span's attribute count then in the high 32. It neither calls nor loops
 * inside (V8 stores to the frame, each round, what a call or an inner loop's stack check keeps
 * live): an attribute in any other shape (a double, an empty value, a longer varint, a key of a
 * length more than two watched keys share, ...) is left to the general path.
 */
export function attributeRun(p: usize, end: usize, slots: usize, count: u32): u64 {
  // Lengths here are under 0x80: simpleKeyValue's string limit counts only when set lower.
  if (maxStringLength < 0x7f) return (<u64>count << 32) | <u64>p;
  while (true) {
    if (count >= maxAttributesPerSpan) break;
    // The attribute's tag, its length, the key's tag and the key's length: one u32, read even
    // when fewer than four bytes are left (the input keeps wire.ts INPUT_SLACK readable past any
    // end): an attribute taken here has 6 or more, and with under 4 left the tests below fail
    // (kvEnd past the end, or s below zero). The tag 0x4a, a one-byte length (under 0x80) and a
    // key tag 0x0a in one compare.
    let x = load<u32>(p);
    if ((x & 0x00ff80ff) != 0x000a004a) break;
    let n = <usize>((x >>> 8) & 0xff);
    let kvEnd = p + 2 + n;
    if (kvEnd > end) break;
    let k = <usize>(x >>> 24); // the key's length byte: under 0x80 wherever an attribute is taken
    let q = p + 4 + k; // the value's tag
    // s: the string's length if the value is a string filling the KeyValue (kvEnd - q - 4); from
    // 0 to 0x79 exactly when the key's length is one byte and q + 4 <= kvEnd (n is under 0x80).
    // The value's tag, length (s + 2), string tag and string length are then one u32.
    let s = <u32>(n - k - 6);
    if (s >= 0x80) break;
    let w = load<u32>(q);
    if (w != s * 0x01000100 + 0x0a0212) {
      // An int or bool (tag 0x18 or 0x10 after the value's tag and length): a varint of s + 1
      // bytes ending the KeyValue, up to 8 here, read as the top bytes of the u64 that ends
      // there (kvEnd - 8 lies within the input: the KeyValue's 8 or more bytes from p). Its
      // bytes but the last have their top bit set, the last not: no byte's flag in `top` among
      // the s + 1 high bytes, that is, at least (s + 1) * 8 leading zeros (a count rather than a
      // shift by a variable, which x64 takes only in cl, where V8 then moves values around).
      if (s >= 8) break;
      if ((w & 0xf7ffff) != s * 0x100 + 0x100212) break;
      let top = (load<u64>(kvEnd - 8) ^ 0x0080808080808080) & 0x8080808080808080;
      if (clz<u64>(top) < <u64>((s + 1) << 3)) break;
    }
    let first = watchFirstShort(k);
    if (first != 0) {
      let slot = watchedSlotRun(first, p + 4, k);
      if (slot < -1) break;
      if (slot >= 0) {
        let v = slots + <usize>slot * SLOT_SIZE;
        if (load<u32>(v) == 0) {
          store<u32>(v, <u32>(q + 2));
          store<u32>(v, <u32>(kvEnd - q - 2), 4);
        }
      }
    }
    count++;
    p = kvEnd;
  }
  return (<u64>count << 32) | <u64>p;
}

/** A watched key [keyPtr, +keyLen) stores where its value sits in its slot of `slots`, unless an earlier one did. */
// @ts-ignore: decorator
@inline export function watchValue(slots: usize, keyPtr: usize, keyLen: usize, valuePtr: usize, valueLen: usize): void {
  let slot = watchedSlotOf(keyPtr, keyLen);
  if (slot >= 0) {
    let s = slots + <usize>slot * SLOT_SIZE;
    if (load<u32>(s) == 0) {
      store<u32>(s, <u32>valuePtr);
      store<u32>(s, <u32>valueLen, 4);
    }
  }
}
