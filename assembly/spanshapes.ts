// The shapes SDKs write a span's fields in, taken by walkSpan (otlp.ts) in straight-line code
// before and after its general loop, which takes whatever does not fit them.
import {
  SPAN_NAME_PTR, SPAN_NAME_LEN, SPAN_KIND, SPAN_STATUS_CODE, SPAN_START, SPAN_END, SPAN_TRACE_ID, SPAN_ID, SPAN_PARENT_ID,
} from './staging';
import { maxStringLength } from './limits';

/**
 * The fields every SDK writes first, in field order (trace id, span id, parent span id, name,
 * kind, start and end times), each in its common shape (one-byte tag and length, ids of their
 * full size, a one-byte kind): what walkSpan's loop does with each, in straight-line code.
 * Where one is absent or in another shape, the next is tried; the loop takes whatever is left
 * (its checks, and the failures they record, then apply). Returns where the loop starts. The
 * trace and span ids, and the kind with both times, are first tried as one group each (one
 * bound check, one compare of their tags), then field by field.
 */
// @ts-ignore: decorator
@inline export function spanPrefix(p: usize, end: usize, span: usize): usize {
  // The trace and span ids together (28 bytes), else each on its own. (The two tags as one
  // u32, one compare: binaryen makes a select chain of an && of two compares.)
  if (end - p >= 28 && (<u32>load<u16>(p) | (<u32>load<u16>(p, 18) << 16)) == 0x0812100a) {
    store<u32>(span, <u32>(p + 2), SPAN_TRACE_ID);
    store<u32>(span, <u32>(p + 20), SPAN_ID);
    p += 28;
  } else {
    if (end - p >= 18) {
      if (<u32>load<u16>(p) == 0x100a) { // trace_id, 16 bytes
        store<u32>(span, <u32>(p + 2), SPAN_TRACE_ID);
        p += 18;
      }
    }
    if (end - p >= 10) {
      if (<u32>load<u16>(p) == 0x0812) { // span_id, 8 bytes
        store<u32>(span, <u32>(p + 2), SPAN_ID);
        p += 10;
      }
    }
  }
  if (end - p >= 10) {
    if (<u32>load<u16>(p) == 0x0822) { // parent_span_id, 8 bytes
      store<u32>(span, <u32>(p + 2), SPAN_PARENT_ID);
      p += 10;
    }
  }
  if (end - p >= 2) {
    let t = <u32>load<u16>(p);
    if ((t & 0x80ff) == 0x2a) { // name, a one-byte length within the span and the string limit
      let n = <usize>(t >> 8);
      // n <= end - p - 2 and n <= maxStringLength: the top bit of either difference taken in 64
      // bits (both operands under 2^32) tells it went below zero; one branch for the two
      if ((((<u64>(end - p - 2) - <u64>n) | (<u64>maxStringLength - <u64>n)) >> 63) == 0) {
        store<u32>(span, <u32>(p + 2), SPAN_NAME_PTR);
        store<u32>(span, <u32>n, SPAN_NAME_LEN);
        p += 2 + n;
      }
    }
  }
  // The kind, start and end times together (20 bytes: the kind's tag 0x30 and one byte, the
  // start's tag 0x39 in one u32, the end's tag 0x41 at byte 11), else each on its own.
  if (end - p >= 20) {
    let x = load<u32>(p);
    if ((((x & 0x00ff80ff) ^ 0x00390030) | (<u32>load<u8>(p, 11) ^ 0x41)) == 0) {
      store<i32>(span, <i32>((x >> 8) & 0xff), SPAN_KIND);
      store<u64>(span, load<u64>(p, 3), SPAN_START);
      store<u64>(span, load<u64>(p, 12), SPAN_END);
      return p + 20;
    }
  }
  if (end - p >= 2) {
    let t = <u32>load<u16>(p);
    if ((t & 0x80ff) == 0x30) { // kind, one byte
      store<i32>(span, <i32>(t >> 8), SPAN_KIND);
      p += 2;
    }
  }
  if (end - p >= 9) {
    if (load<u8>(p) == 0x39) { // start_time_unix_nano
      store<u64>(span, load<u64>(p, 1), SPAN_START);
      p += 9;
    }
  }
  if (end - p >= 9) {
    if (load<u8>(p) == 0x41) { // end_time_unix_nano
      store<u64>(span, load<u64>(p, 1), SPAN_END);
      p += 9;
    }
  }
  return p;
}

/**
 * What SDKs write after the attributes, in its common shapes: a status, empty or of a one-byte
 * code only, then the flags; as spanPrefix, what the loop does with them, else nothing.
 */
// @ts-ignore: decorator
@inline export function spanSuffix(p: usize, end: usize, span: usize): usize {
  // An empty status, then the flags (7a 00 85 01, then 4 bytes): one bound check, one compare.
  if (end - p >= 8) {
    if (load<u32>(p) == 0x0185007a) return p + 8;
  }
  if (end - p >= 2) {
    let t = <u32>load<u16>(p);
    if (t == 0x007a) p += 2; // status, empty
    else if (t == 0x027a) {
      if (end - p >= 4) {
        let c = <u32>load<u16>(p, 2);
        if ((c & 0x80ff) == 0x18) { // status of a code only
          store<i32>(span, <i32>(c >> 8), SPAN_STATUS_CODE);
          p += 4;
        }
      }
    }
  }
  if (end - p >= 6) {
    if (<u32>load<u16>(p) == 0x0185) p += 6; // flags, fixed32
  }
  return p;
}
