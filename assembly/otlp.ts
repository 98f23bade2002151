// Walks an OTLP ExportTraceServiceRequest in protobuf wire format, in place, and stages one
// record per resource and per span. Fields nobody aggregates are skipped or, for known
// sub-messages, structure-checked without being decoded.
import {
  rp, failCode, fail, seek, readTag, readLen, readVarint, readFixed64, skipField, expectWireType,
  WT_VARINT, WT_I64, WT_LEN, WT_I32,
} from './wire';
import { validateMessage } from './otlpfields';
import {
  E_ID_LENGTH, M_REQUEST, M_RESOURCE_SPANS, M_RESOURCE, M_SCOPE_SPANS, M_SPAN, M_STATUS, M_KEY_VALUE,
  M_ANY_VALUE, M_SCOPE, M_EVENT, M_LINK,
} from './layout';
import {
  addResource, addSpan, resourceCount, SLOT_SIZE, RES_SLOTS, RES_SERVICE_PTR, RES_SERVICE_LEN,
  SPAN_SLOTS, SPAN_NAME_PTR, SPAN_NAME_LEN, SPAN_KIND, SPAN_STATUS_CODE, SPAN_STATUS_MSG_PTR,
  SPAN_STATUS_MSG_LEN, SPAN_SIZE, SPAN_START, SPAN_END, SPAN_TRACE_ID, SPAN_ID, SPAN_PARENT_ID, SPAN_TRACE_STATE_PTR, SPAN_TRACE_STATE_LEN,
  spanCount, stageEvents, addEvent, EVENT_NAME_PTR, EVENT_NAME_LEN, EVENT_SLOTS, spanAt, SPAN_SCOPE, SPAN_BODY,
} from './staging';
import { watchedSlotOf } from './watch';
import { stageResourceAttributes, beginResource, noteResourceAttribute, resetTargetInfo } from './targetinfo';
import { stageScopes, resetScopes, beginScopeSpans, noteScope } from './scopes';
import {
  stringWithin, attributeWithin, maxStringLength, maxSpansPerRequest, spanOver, resetSpanCount, checkSpanCount,
} from './limits';

// "service.name"
const SERVICE_NAME: usize = memory.data<u8>([0x73, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65, 0x2e, 0x6e, 0x61, 0x6d, 0x65]);
const SERVICE_NAME_LEN: usize = 12;

// @ts-ignore: decorator
@inline function tagOf(field: u32, wt: u32): u32 {
  return (field << 3) | wt;
}

export function walkRequest(end: usize): void {
  resetSpanCount();
  if (stageResourceAttributes) resetTargetInfo();
  if (stageScopes) resetScopes();
  walkRequestFields(end);
  checkSpanCount();
}

function walkRequestFields(end: usize): void {
  while (rp < end) {
    let tag = readTag(end, M_REQUEST);
    if (failCode != 0) return;
    if ((tag >>> 3) == 1) {
      if (!expectWireType(tag & 7, WT_LEN, M_REQUEST, 1)) return;
      let n = readLen(end, M_REQUEST, 1);
      if (failCode != 0) return;
      let subEnd = rp + n;
      walkResourceSpans(subEnd);
      seek(subEnd);
    } else {
      skipField(tag & 7, tag >>> 3, end, M_REQUEST, 0);
    }
    if (failCode != 0) return;
  }
}

function walkResourceSpans(end: usize): void {
  let resource = addResource();
  let index = resourceCount - 1;
  if (stageResourceAttributes) beginResource(index);
  while (rp < end) {
    let tag = readTag(end, M_RESOURCE_SPANS);
    if (failCode != 0) return;
    let field = tag >>> 3;
    if (field == 1 || field == 2) {
      if (!expectWireType(tag & 7, WT_LEN, M_RESOURCE_SPANS, field)) return;
      let n = readLen(end, M_RESOURCE_SPANS, field);
      if (failCode != 0) return;
      let subEnd = rp + n;
      if (field == 1) walkResource(subEnd, resource);
      else walkScopeSpans(subEnd, index);
      seek(subEnd);
    } else {
      if (field == 3 && !expectWireType(tag & 7, WT_LEN, M_RESOURCE_SPANS, 3)) return;
      skipField(tag & 7, field, end, M_RESOURCE_SPANS, 0);
    }
    if (failCode != 0) return;
  }
}

function walkResource(end: usize, resource: usize): void {
  while (rp < end) {
    let tag = readTag(end, M_RESOURCE);
    if (failCode != 0) return;
    let field = tag >>> 3;
    if (field == 1) {
      if (!expectWireType(tag & 7, WT_LEN, M_RESOURCE, 1)) return;
      let n = readLen(end, M_RESOURCE, 1);
      if (failCode != 0) return;
      let subEnd = rp + n;
      walkKeyValue(subEnd, resource + RES_SLOTS, resource, 0);
      seek(subEnd);
    } else {
      if (field == 2 && !expectWireType(tag & 7, WT_VARINT, M_RESOURCE, 2)) return;
      skipField(tag & 7, field, end, M_RESOURCE, 0);
    }
    if (failCode != 0) return;
  }
}

function walkScopeSpans(end: usize, resourceIndex: u32): void {
  let scope: u32 = stageScopes ? beginScopeSpans() : 0;
  while (rp < end) {
    let tag = readTag(end, M_SCOPE_SPANS);
    if (failCode != 0) return;
    let field = tag >>> 3;
    if (field == 1 || field == 2) {
      if (!expectWireType(tag & 7, WT_LEN, M_SCOPE_SPANS, field)) return;
      let n = readLen(end, M_SCOPE_SPANS, field);
      if (failCode != 0) return;
      let subEnd = rp + n;
      if (field == 1) {
        let start = rp;
        validateMessage(M_SCOPE, subEnd, 1);
        if (stageScopes && failCode == 0) {
          seek(start);
          noteScope(scope, subEnd);
        }
      } else if (spanCount < maxSpansPerRequest) {
        walkSpan(subEnd, resourceIndex, n);
        if (stageScopes) store<u32>(spanAt(spanCount - 1), scope, SPAN_SCOPE);
      } else {
        spanOver();
      }
      seek(subEnd);
    } else {
      if (field == 3 && !expectWireType(tag & 7, WT_LEN, M_SCOPE_SPANS, 3)) return;
      skipField(tag & 7, field, end, M_SCOPE_SPANS, 0);
    }
    if (failCode != 0) return;
  }
}

/** Reads a trace or span id of `want` bytes (or empty) and returns its address, 0 when empty. */
function readId(end: usize, field: u32, want: usize): usize {
  let n = readLen(end, M_SPAN, field);
  if (failCode != 0) return 0;
  if (n != 0 && n != want) {
    fail(E_ID_LENGTH, M_SPAN, field);
    return 0;
  }
  let p: usize = n == 0 ? 0 : rp;
  seek(rp + n);
  return p;
}

function walkSpan(end: usize, resourceIndex: u32, size: usize): void {
  let span = addSpan(resourceIndex);
  let attributes: u32 = 0;
  store<u32>(span, <u32>size, SPAN_SIZE);
  store<u32>(span, <u32>rp, SPAN_BODY);
  while (rp < end) {
    let tag = readTag(end, M_SPAN);
    if (failCode != 0) return;
    let field = tag >>> 3;
    let wt = tag & 7;
    switch (field) {
      case 1: {
        if (!expectWireType(wt, WT_LEN, M_SPAN, 1)) return;
        store<u32>(span, <u32>readId(end, 1, 16), SPAN_TRACE_ID);
        break;
      }
      case 2: {
        if (!expectWireType(wt, WT_LEN, M_SPAN, 2)) return;
        store<u32>(span, <u32>readId(end, 2, 8), SPAN_ID);
        break;
      }
      case 4: {
        if (!expectWireType(wt, WT_LEN, M_SPAN, 4)) return;
        store<u32>(span, <u32>readId(end, 4, 8), SPAN_PARENT_ID);
        break;
      }
      case 5: {
        if (!expectWireType(wt, WT_LEN, M_SPAN, 5)) return;
        let n = readLen(end, M_SPAN, 5);
        if (failCode != 0 || !stringWithin(n, M_SPAN, 5)) return;
        store<u32>(span, <u32>rp, SPAN_NAME_PTR);
        store<u32>(span, <u32>n, SPAN_NAME_LEN);
        seek(rp + n);
        break;
      }
      case 6: {
        if (!expectWireType(wt, WT_VARINT, M_SPAN, 6)) return;
        store<i32>(span, <i32>readVarint(end), SPAN_KIND);
        break;
      }
      case 7: {
        if (!expectWireType(wt, WT_I64, M_SPAN, 7)) return;
        store<u64>(span, readFixed64(end, M_SPAN, 7), SPAN_START);
        break;
      }
      case 8: {
        if (!expectWireType(wt, WT_I64, M_SPAN, 8)) return;
        store<u64>(span, readFixed64(end, M_SPAN, 8), SPAN_END);
        break;
      }
      case 9: {
        if (!expectWireType(wt, WT_LEN, M_SPAN, 9) || !attributeWithin(++attributes, M_SPAN, 9)) return;
        let n = readLen(end, M_SPAN, 9);
        if (failCode != 0) return;
        let subEnd = rp + n;
        walkKeyValue(subEnd, span + SPAN_SLOTS, 0, 0);
        seek(subEnd);
        break;
      }
      case 11:
      case 13:
      case 15: {
        if (!expectWireType(wt, WT_LEN, M_SPAN, field)) return;
        let n = readLen(end, M_SPAN, field);
        if (failCode != 0) return;
        let subEnd = rp + n;
        if (field == 15) walkStatus(subEnd, span);
        else if (field == 11 && stageEvents) walkEvent(subEnd, spanCount - 1);
        else validateMessage(field == 11 ? M_EVENT : M_LINK, subEnd, 1);
        seek(subEnd);
        break;
      }
      case 3: {
        if (!expectWireType(wt, WT_LEN, M_SPAN, 3)) return;
        let n = readLen(end, M_SPAN, 3);
        if (failCode != 0) return;
        store<u32>(span, <u32>rp, SPAN_TRACE_STATE_PTR);
        store<u32>(span, <u32>n, SPAN_TRACE_STATE_LEN);
        seek(rp + n);
        break;
      }
      case 10:
      case 12:
      case 14: {
        if (!expectWireType(wt, WT_VARINT, M_SPAN, field)) return;
        skipField(wt, field, end, M_SPAN, 0);
        break;
      }
      case 16: {
        if (!expectWireType(wt, WT_I32, M_SPAN, 16)) return;
        skipField(wt, field, end, M_SPAN, 0);
        break;
      }
      default:
        skipField(wt, field, end, M_SPAN, 0);
    }
    if (failCode != 0) return;
  }
}

function walkStatus(end: usize, span: usize): void {
  while (rp < end) {
    let tag = readTag(end, M_STATUS);
    if (failCode != 0) return;
    let field = tag >>> 3;
    let wt = tag & 7;
    if (field == 2) {
      if (!expectWireType(wt, WT_LEN, M_STATUS, 2)) return;
      let n = readLen(end, M_STATUS, 2);
      if (failCode != 0 || !stringWithin(n, M_STATUS, 2)) return;
      store<u32>(span, <u32>rp, SPAN_STATUS_MSG_PTR);
      store<u32>(span, <u32>n, SPAN_STATUS_MSG_LEN);
      seek(rp + n);
    } else if (field == 3) {
      if (!expectWireType(wt, WT_VARINT, M_STATUS, 3)) return;
      store<i32>(span, <i32>readVarint(end), SPAN_STATUS_CODE);
    } else {
      skipField(wt, field, end, M_STATUS, 0);
    }
    if (failCode != 0) return;
  }
}

/** One span event (the events metric is on): its name and watched attributes, checked as validateMessage would. */
function walkEvent(end: usize, spanIndex: u32): void {
  let event = addEvent(spanIndex);
  while (rp < end) {
    let tag = readTag(end, M_EVENT);
    if (failCode != 0) return;
    let field = tag >>> 3;
    let wt = tag & 7;
    if (field == 2 || field == 3) {
      if (!expectWireType(wt, WT_LEN, M_EVENT, field)) return;
      let n = readLen(end, M_EVENT, field);
      if (failCode != 0 || (field == 2 && !stringWithin(n, M_EVENT, 2))) return;
      let subEnd = rp + n;
      if (field == 2) {
        store<u32>(event, <u32>rp, EVENT_NAME_PTR);
        store<u32>(event, <u32>n, EVENT_NAME_LEN);
      } else {
        walkKeyValue(subEnd, event + EVENT_SLOTS, 0, 2);
      }
      seek(subEnd);
    } else {
      if (field == 1 && !expectWireType(wt, WT_I64, M_EVENT, 1)) return;
      if (field == 4 && !expectWireType(wt, WT_VARINT, M_EVENT, 4)) return;
      skipField(wt, field, end, M_EVENT, 1);
    }
    if (failCode != 0) return;
  }
}

/** Whether [v, end) is an AnyValue of exactly one string, int, bool or double field. */
// @ts-ignore: decorator
@inline function isSimpleValue(v: usize, end: usize): bool {
  if (end - v < 2) return false;
  let tag = load<u8>(v);
  if (tag == 0x0a) return v + 2 + <usize>load<u8>(v, 1) == end && load<u8>(v, 1) < 0x80; // string
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
 * One attribute, a KeyValue message at nesting `depth`. A watched key stores where its AnyValue
 * sits in `slots` (first occurrence wins, as a linear search would find it); on a resource
 * (`resource` != 0) service.name is also recorded.
 */
function walkKeyValue(end: usize, slots: usize, resource: usize, depth: i32): void {
  let keyPtr: usize = 0;
  let keyLen: usize = 0;
  let valuePtr: usize = 0;
  let valueLen: usize = 0;
  // Fast path for what every SDK writes: the key, then a value holding one string, int, bool or
  // double (or nothing), lengths under 128 (and the whole within the string limit, should that
  // be lower). Anything else takes the general walk below.
  let p = rp;
  if (end - p >= 4 && load<u8>(p) == 0x0a && load<u8>(p, 1) < 0x80) {
    let q = p + 2 + <usize>load<u8>(p, 1);
    if (q + 2 <= end && load<u8>(q) == 0x12 && q + 2 + <usize>load<u8>(q, 1) == end) {
      let v = q + 2;
      if ((v == end || isSimpleValue(v, end)) && end - p <= maxStringLength) {
        keyPtr = p + 2;
        keyLen = q - keyPtr;
        valuePtr = v;
        valueLen = end - v;
        seek(end);
      }
    }
  }
  while (rp < end) {
    let tag = readTag(end, M_KEY_VALUE);
    if (failCode != 0) return;
    let field = tag >>> 3;
    if (field == 1 || field == 2) {
      if (!expectWireType(tag & 7, WT_LEN, M_KEY_VALUE, field)) return;
      let n = readLen(end, M_KEY_VALUE, field);
      if (failCode != 0) return;
      if (field == 1) {
        if (!stringWithin(n, M_KEY_VALUE, 1)) return;
        keyPtr = rp;
        keyLen = n;
        seek(rp + n);
      } else {
        valuePtr = rp;
        valueLen = n;
        validateMessage(M_ANY_VALUE, rp + n, depth + 1);
        if (failCode != 0) return;
        seek(valuePtr + n);
      }
    } else {
      skipField(tag & 7, field, end, M_KEY_VALUE, depth);
    }
    if (failCode != 0) return;
  }
  // A key with no value field is present with an empty value: point the slot at the key.
  if (valuePtr == 0) valuePtr = keyPtr != 0 ? keyPtr : end;
  if (resource != 0 && stageResourceAttributes) noteResourceAttribute(keyPtr, keyLen, valuePtr, valueLen);
  if (resource != 0 && keyLen == SERVICE_NAME_LEN && load<u32>(resource, RES_SERVICE_PTR) == 0
      && memory.compare(keyPtr, SERVICE_NAME, SERVICE_NAME_LEN) == 0) {
    store<u32>(resource, <u32>valuePtr, RES_SERVICE_PTR);
    store<u32>(resource, <u32>valueLen, RES_SERVICE_LEN);
  }
  let slot = watchedSlotOf(keyPtr, keyLen);
  if (slot >= 0) {
    let s = slots + <usize>slot * SLOT_SIZE;
    if (load<u32>(s) == 0) {
      store<u32>(s, <u32>valuePtr);
      store<u32>(s, <u32>valueLen, 4);
    }
  }
}
