// The OTLP field table: for the message types whose contents spanmeter does not aggregate
// (events, links, scopes, nested attribute values), the wire type and sub-message of each
// field, and a validator driven by it: their structure is still checked, so a request is
// accepted or rejected whole. Message ids (M_*, also reported to the host in failures): layout.ts.
import {
  rp, failCode, fail, readTag, readLen, seek, skipField, expectWireType, WT_VARINT, WT_I64, WT_LEN, WT_I32,
} from './wire';
import { stringWithin } from './limits';
import {
  E_DEPTH, MAX_DEPTH, M_KEY_VALUE, M_ANY_VALUE, M_ARRAY_VALUE, M_KEY_VALUE_LIST, M_SCOPE, M_EVENT, M_LINK,
} from './layout';

const FIELDS_PER_MESSAGE: i32 = 16;

// Field spec byte: 0 = unknown field (skipped), else (wire type + 1) | (sub-message id << 3),
// plus STRING for the strings otlp.max_string_length bounds.
const STRING: u32 = 0x80;
// @ts-ignore: decorator
@inline function spec(wt: u32, sub: i32 = 0, flags: u32 = 0): u8 {
  return <u8>((wt + 1) | (<u32>sub << 3) | flags);
}

const SPECS: usize = memory.data(FIELDS_PER_MESSAGE * 14);

function define(message: i32, field: i32, s: u8): void {
  store<u8>(SPECS + message * FIELDS_PER_MESSAGE + field, s);
}

/** Fills the field table; called once at start. */
export function initFieldTable(): void {
  // AnyValue: string, bool, int, double, array, kvlist, bytes
  define(M_ANY_VALUE, 1, spec(WT_LEN, 0, STRING));
  define(M_ANY_VALUE, 2, spec(WT_VARINT));
  define(M_ANY_VALUE, 3, spec(WT_VARINT));
  define(M_ANY_VALUE, 4, spec(WT_I64));
  define(M_ANY_VALUE, 5, spec(WT_LEN, M_ARRAY_VALUE));
  define(M_ANY_VALUE, 6, spec(WT_LEN, M_KEY_VALUE_LIST));
  define(M_ANY_VALUE, 7, spec(WT_LEN));
  define(M_ARRAY_VALUE, 1, spec(WT_LEN, M_ANY_VALUE));
  define(M_KEY_VALUE_LIST, 1, spec(WT_LEN, M_KEY_VALUE));
  define(M_KEY_VALUE, 1, spec(WT_LEN, 0, STRING));
  define(M_KEY_VALUE, 2, spec(WT_LEN, M_ANY_VALUE));
  // InstrumentationScope: name, version, attributes, dropped_attributes_count
  define(M_SCOPE, 1, spec(WT_LEN));
  define(M_SCOPE, 2, spec(WT_LEN));
  define(M_SCOPE, 3, spec(WT_LEN, M_KEY_VALUE));
  define(M_SCOPE, 4, spec(WT_VARINT));
  // Span.Event: time_unix_nano, name, attributes, dropped_attributes_count
  define(M_EVENT, 1, spec(WT_I64));
  define(M_EVENT, 2, spec(WT_LEN, 0, STRING));
  define(M_EVENT, 3, spec(WT_LEN, M_KEY_VALUE));
  define(M_EVENT, 4, spec(WT_VARINT));
  // Span.Link: trace_id, span_id, trace_state, attributes, dropped_attributes_count, flags
  define(M_LINK, 1, spec(WT_LEN));
  define(M_LINK, 2, spec(WT_LEN));
  define(M_LINK, 3, spec(WT_LEN));
  define(M_LINK, 4, spec(WT_LEN, M_KEY_VALUE));
  define(M_LINK, 5, spec(WT_VARINT));
  define(M_LINK, 6, spec(WT_I32));
}

/**
 * Whether [p, end) is an InstrumentationScope of at most two fields, each a name or version
 * (field 1 or 2, LEN) of a one-byte length within it: what SDKs send, and what
 * validateMessage(M_SCOPE) takes without a failure (these strings are not bounded by the string
 * limit), checked in straight line; anything else is left to validateMessage.
 */
// @ts-ignore: decorator
@inline export function plainScope(p: usize, end: usize): bool {
  // (A length running past the scope's end leaves p past it: then p != end.)
  if (p < end) {
    if (end - p < 2) return false;
    let t = <u32>load<u16>(p);
    if ((t & 0x80ff) != 0x0a) {
      if ((t & 0x80ff) != 0x12) return false;
    }
    p += 2 + <usize>(t >> 8);
    if (p < end) {
      if (end - p < 2) return false;
      t = <u32>load<u16>(p);
      if ((t & 0x80ff) != 0x0a) {
        if ((t & 0x80ff) != 0x12) return false;
      }
      p += 2 + <usize>(t >> 8);
    }
  }
  return p == end;
}

/** Checks the structure of one message of type `message` spanning [rp, end). */
export function validateMessage(message: i32, end: usize, depth: i32): void {
  if (depth >= MAX_DEPTH) {
    fail(E_DEPTH, message, 0);
    return;
  }
  while (rp < end) {
    let tag = readTag(end, message);
    if (failCode != 0) return;
    let field = tag >>> 3;
    let wt = tag & 7;
    let s: u32 = field < <u32>FIELDS_PER_MESSAGE
      ? <u32>load<u8>(SPECS + message * FIELDS_PER_MESSAGE + field)
      : 0;
    if (s == 0) {
      skipField(wt, field, end, message, depth);
    } else {
      if (!expectWireType(wt, (s & 7) - 1, message, field)) return;
      let sub = <i32>((s >>> 3) & 15);
      if ((s & STRING) != 0) {
        let n = readLen(end, message, field);
        if (failCode != 0 || !stringWithin(n, message, field)) return;
        seek(rp + n);
      } else if (sub != 0) {
        let n = readLen(end, message, field);
        if (failCode != 0) return;
        let subEnd = rp + n;
        validateMessage(sub, subEnd, depth + 1);
        if (failCode != 0) return;
        seek(subEnd);
      } else {
        skipField(wt, field, end, message, depth);
      }
    }
    if (failCode != 0) return;
  }
}
