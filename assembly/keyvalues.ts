// The common shapes of a span's attributes (KeyValue messages), taken by walkSpan and
// walkKeyValue (otlp.ts) without the general walk: a key and a simple value, one-byte lengths,
// and the run of attributes a span holds, looked up in the watch table inline.
import { watchedSlotOf, watchedSlotIn, watchFirst } from './watch';
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
 * takes an attribute, while it is in the common shape (a one-byte length, a simpleKeyValue, a key
 * the watch table answers inline) and the attribute limit is not reached. Returns where it
 * stopped (at the next field's tag, or at the tag of an attribute left to the general path) in
 * the low 32 bits, the span's attribute count then in the high 32. It calls nothing, so that its
 * locals stay in registers.
 */
export function attributeRun(p: usize, end: usize, slots: usize, count: u32): u64 {
  while (true) {
    if (count >= maxAttributesPerSpan) break;
    let avail = end - p; // at least 1: p is at a tag within the span
    if (avail < 2) break;
    let n = <usize>load<u8>(p, 1);
    if (n >= 0x80) break;
    if (n > avail - 2) break;
    let kv = p + 2;
    let kvEnd = kv + n;
    // A key and a string value (most attributes), as simpleKeyValue takes them, in fewer
    // compares: with n under 0x80, a length byte of 0x80 or more cannot fit (the key's puts q
    // past kvEnd), and the value's tag, length, string tag and string length are one u32 whose
    // lengths follow from where the KeyValue ends. Else simpleKeyValue's general checks.
    if (n < 4) break; // (not a simpleKeyValue)
    let q = kv + 2 + <usize>load<u8>(kv, 1);
    if (load<u8>(kv) != 0x0a) break;
    if (q + 4 <= kvEnd) {
      let m = <u32>(kvEnd - q - 2);
      let w = load<u32>(q);
      if (w != (0x0a0012 | (m << 8) | ((m - 2) << 24))) {
        // An int or bool (tag 0x18 or 0x10 after the value's tag and length): a varint of at
        // most 9 bytes ending the KeyValue is what isSimpleValue takes; else its own checks.
        let taken = false;
        if ((w & 0xf7ffff) == (0x100012 | (m << 8))) {
          let i = q + 3;
          let last = kvEnd - 1;
          while (i < last && load<u8>(i) >= 0x80) i++;
          if (i == last) {
            if (load<u8>(i) < 0x80) {
              if (last - q < 12) taken = true;
            }
          }
        }
        if (!taken) q = simpleKeyValue(kv, kvEnd);
      }
      if (n > maxStringLength) q = 0;
    } else q = simpleKeyValue(kv, kvEnd);
    if (q == 0) break;
    let keyLen = q - kv - 2;
    let first = watchFirst(keyLen);
    if (first != 0) {
      let slot = watchedSlotIn(first, kv + 2, keyLen, false);
      if (slot < -1) break;
      if (slot >= 0) {
        let s = slots + <usize>slot * SLOT_SIZE;
        if (load<u32>(s) == 0) {
          store<u32>(s, <u32>(q + 2));
          store<u32>(s, <u32>(kvEnd - q - 2), 4);
        }
      }
    }
    count++;
    p = kvEnd;
    if (p >= end) break;
    if (load<u8>(p) != 0x4a) break;
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
