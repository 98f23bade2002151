// Walks an OTLP ExportTraceServiceRequest in protobuf wire format, in place, and stages one
// record per resource and per span. Fields nobody aggregates are skipped or, for known
// sub-messages, structure-checked without being decoded.
import {
  rp, failCode, fail, seek, readTag, readLen, skipField, expectWireType, tagAt, lenAt, lenBytes, NO_LEN,
  readTagSlow, readLenSlow, readVarint, readVarintSlow, WT_VARINT, WT_I64, WT_LEN, WT_I32,
} from './wire';
import { validateMessage, plainScope } from './otlpfields';
import { spanPrefix, spanSuffix } from './spanshapes';
import {
  E_ID_LENGTH, E_TRUNCATED, M_REQUEST, M_RESOURCE_SPANS, M_RESOURCE, M_SCOPE_SPANS, M_SPAN, M_STATUS, M_KEY_VALUE,
  M_ANY_VALUE, M_SCOPE, M_EVENT, M_LINK,
} from './layout';
import {
  addResource, addSpan, resourceCount, RES_SLOTS, RES_SERVICE_PTR, RES_SERVICE_LEN,
  SPAN_SLOTS, SPAN_ATTRIBUTES, SPAN_NAME_PTR, SPAN_NAME_LEN, SPAN_KIND, SPAN_STATUS_CODE, SPAN_STATUS_MSG_PTR,
  SPAN_STATUS_MSG_LEN, SPAN_START, SPAN_END, SPAN_TRACE_ID, SPAN_ID, SPAN_PARENT_ID, SPAN_TRACE_STATE_PTR, SPAN_TRACE_STATE_LEN,
  spanCount, stageEvents, addEvent, EVENT_NAME_PTR, EVENT_NAME_LEN, EVENT_SLOTS, spanAt, SPAN_SCOPE,
} from './staging';
import { attributeRun, simpleKeyValue, watchValue } from './keyvalues';
import { bytesEqual } from './bytes';
import { stageResourceAttributes, beginResource, noteResourceAttribute, resetTargetInfo } from './targetinfo';
import { stageScopes, resetScopes, beginScopeSpans, noteScope } from './scopes';
import {
  stringWithin, attributeWithin, maxStringLength, maxAttributesPerSpan, maxSpansPerRequest, spanOver, resetSpanCount, checkSpanCount,
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
    // An attribute (tag 0x0a) of a one-byte length within the resource, in simpleKeyValue's
    // shape: what the general path below (readTag, readLen, walkKeyValue) does with it, without
    // the call. (When target_info stages resource attributes, the general path takes them all.)
    let p = rp;
    if (!stageResourceAttributes && end - p >= 2 && load<u8>(p) == 0x0a) {
      let kvEnd = p + 2 + <usize>load<u8>(p, 1);
      if (load<u8>(p, 1) < 0x80 && kvEnd <= end) {
        let q = simpleKeyValue(p + 2, kvEnd);
        if (q != 0) {
          let keyLen = q - p - 4;
          if (keyLen == SERVICE_NAME_LEN && load<u32>(resource, RES_SERVICE_PTR) == 0
              && load<u64>(p + 4) == load<u64>(SERVICE_NAME) && load<u32>(p + 12) == load<u32>(SERVICE_NAME, 8)) {
            store<u32>(resource, <u32>(q + 2), RES_SERVICE_PTR);
            store<u32>(resource, <u32>(kvEnd - q - 2), RES_SERVICE_LEN);
          }
          watchValue(resource + RES_SLOTS, p + 4, keyLen, q + 2, kvEnd - q - 2);
          seek(kvEnd);
          continue;
        }
      }
    }
    let tag = readTag(end, M_RESOURCE);
    if (failCode != 0) return;
    let field = tag >>> 3;
    if (field == 1) {
      if (!expectWireType(tag & 7, WT_LEN, M_RESOURCE, 1)) return;
      let n = readLen(end, M_RESOURCE, 1);
      if (failCode != 0) return;
      let subEnd = rp + n;
      walkKeyValue(rp, subEnd, resource + RES_SLOTS, resource, 0);
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
  let p = rp;
  while (p < end) {
    // A span (tag 0x12) whose length, in one byte or two, fits, within the limit: what the
    // general path below does with it, with the cursor in a local (rp is in memory). The tag and
    // the length as one u32 (the input keeps wire.ts INPUT_SLACK readable past any end; past
    // the end the start + n test fails), tested as lenAt tests a length. (The limit first:
    // binaryen turns two nested compares into one select chain unless the inner one reads memory.)
    if (spanCount < maxSpansPerRequest) {
      let x = load<u32>(p);
      let start = end + 1; // (no span: the test below fails)
      let n: usize = 0;
      if ((x & 0x80ff) == 0x8012) {
        // two bytes (spans of 128 bytes to 16 KiB, most): the second from 1 to 0x7f
        let c = (x >>> 16) & 0xff;
        if (c - 1 < 0x7f) {
          start = p + 3;
          n = <usize>(((x >>> 8) & 0x7f) | (c << 7));
        }
      } else if ((x & 0x80ff) == 0x0012) {
        start = p + 2;
        n = <usize>((x >>> 8) & 0xff);
      }
      if (start + n <= end) {
        p = start + n;
        if (walkSpan(start, p, resourceIndex, scope)) return;
        continue;
      }
    }
    seek(p);
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
        if (!plainScope(start, subEnd)) validateMessage(M_SCOPE, subEnd, 1);
        if (stageScopes && failCode == 0) {
          seek(start);
          noteScope(scope, subEnd);
        }
      } else if (spanCount < maxSpansPerRequest) {
        if (walkSpan(rp, subEnd, resourceIndex, scope)) return;
      } else {
        spanOver();
      }
      seek(subEnd);
    } else {
      if (field == 3 && !expectWireType(tag & 7, WT_LEN, M_SCOPE_SPANS, 3)) return;
      skipField(tag & 7, field, end, M_SCOPE_SPANS, 0);
    }
    if (failCode != 0) return;
    p = rp;
  }
  seek(p);
}

/** Records that `field` of `message`, whose tag ends at `p`, has wire type `wt` where `expected` is due. */
function wrongType(p: usize, wt: u32, expected: u32, message: i32, field: i32): void {
  seek(p);
  expectWireType(wt, expected, message, field);
}

/**
 * One span, [p, end): in the shapes SDKs write (spanshapes.ts, keyvalues.ts attributeRun) in
 * straight line, and whatever is left by walkSpanFields. Inlined into walkScopeSpans' loop (a
 * call there costs the frame traffic of both); returns whether the span failed (only the general
 * walk can fail).
 */
// @ts-ignore: decorator
@inline function walkSpan(p: usize, end: usize, resourceIndex: u32, scope: u32): bool {
  let span = addSpan(resourceIndex, <u32>(end - p), <u32>p);
  if (stageScopes) store<u32>(span, scope, SPAN_SCOPE);
  let attributes: u32 = 0;
  p = spanPrefix(p, end, span);
  if (p < end) {
    if (load<u8>(p) == 0x4a) {
      store<u32>(span, <u32>p, SPAN_ATTRIBUTES);
      let r = attributeRun(p, end, span + SPAN_SLOTS, 0);
      let q = <usize><u32>r;
      if (q != p) {
        attributes = <u32>(r >>> 32);
        p = spanSuffix(q, end, span);
      }
    }
    if (p != end) {
      walkSpanFields(p, end, span, attributes);
      return failCode != 0;
    }
  }
  return false;
}

/**
 * The span's fields from p on, after those walkSpan took in their common shapes. Its cursor is
 * the local `p` (rp is set from it before anything that reads rp or records a failure, and taken
 * back after); the checks, their order and the failures they record (code, offset, message,
 * field) are those of the wire.ts readers. rp is left anywhere: the caller seeks the span's end.
 */
function walkSpanFields(p: usize, end: usize, span: usize, attributes: u32): void {
  while (p < end) {
    if (load<u8>(p) == 0x4a) {
      // Attributes (field 9, LEN), most of a span's fields, come in a run: attributeRun takes
      // those in the common shape; one it leaves goes through the general path below.
      let r = attributeRun(p, end, span + SPAN_SLOTS, attributes);
      let q = <usize><u32>r;
      if (q != p) {
        attributes = <u32>(r >>> 32);
        p = spanSuffix(q, end, span);
        continue;
      }
    }
    let tag = tagAt(p, end);
    if (tag != 0) p++;
    else if (end - p >= 2 && load<u8>(p) >= 0x80 && <u32>load<u8>(p, 1) - 1 < 0x7f) {
      // two bytes in the shortest form: field 16 (flags) and up
      tag = (<u32>load<u8>(p) & 0x7f) | (<u32>load<u8>(p, 1) << 7);
      p += 2;
    } else {
      seek(p);
      tag = readTagSlow(end, M_SPAN);
      if (failCode != 0) return;
      p = rp;
    }
    if (tag == 0x4a) {
      // an attribute attributeRun left (any shape), or over the limit
      if (++attributes > maxAttributesPerSpan) {
        seek(p);
        attributeWithin(attributes, M_SPAN, 9);
        return;
      }
      let n = lenAt(p, end);
      if (n != NO_LEN) p += lenBytes(n);
      else {
        seek(p);
        n = readLenSlow(end, M_SPAN, 9);
        if (failCode != 0) return;
        p = rp;
      }
      let subEnd = p + n;
      let q = simpleKeyValue(p, subEnd);
      if (q != 0) watchValue(span + SPAN_SLOTS, p + 2, q - p - 2, q + 2, subEnd - q - 2);
      else {
        walkKeyValue(p, subEnd, span + SPAN_SLOTS, 0, 0);
        if (failCode != 0) return;
      }
      p = subEnd;
      continue;
    }
    let field = tag >>> 3;
    let wt = tag & 7;
    switch (field) {
      case 9: { // an attribute of another wire type than LEN (tag 0x4a went above)
        wrongType(p, wt, WT_LEN, M_SPAN, 9);
        return;
      }
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
      case 11:
      case 13:
      case 15: {
        if (wt != WT_LEN) {
          wrongType(p, wt, WT_LEN, M_SPAN, field);
          return;
        }
        let n = lenAt(p, end);
        if (n != NO_LEN) p += lenBytes(n);
        else {
          seek(p);
          n = readLenSlow(end, M_SPAN, field);
          if (failCode != 0) return;
          p = rp;
        }
        let subEnd = p + n;
        // (branches on field, not a test of several fields at once: cheaper compiled)
        if (field < 5) {
          if (field != 3) {
            // a trace id of 16 bytes, a span or parent span id of 8, or empty
            if (n != 0 && n != (field == 1 ? 16 : 8)) {
              seek(p);
              fail(E_ID_LENGTH, M_SPAN, field);
              return;
            }
            let id = n == 0 ? 0 : <u32>p;
            if (field == 1) store<u32>(span, id, SPAN_TRACE_ID);
            else if (field == 2) store<u32>(span, id, SPAN_ID);
            else store<u32>(span, id, SPAN_PARENT_ID);
          } else {
            store<u32>(span, <u32>p, SPAN_TRACE_STATE_PTR);
            store<u32>(span, <u32>n, SPAN_TRACE_STATE_LEN);
          }
        } else if (field == 5) {
          if (n > maxStringLength) {
            seek(p);
            stringWithin(n, M_SPAN, 5);
            return;
          }
          store<u32>(span, <u32>p, SPAN_NAME_PTR);
          store<u32>(span, <u32>n, SPAN_NAME_LEN);
        } else {
          seek(p);
          if (field == 15) walkStatus(subEnd, span);
          else if (field == 11 && stageEvents) walkEvent(subEnd, spanCount - 1);
          else validateMessage(field == 11 ? M_EVENT : M_LINK, subEnd, 1);
        }
        if (failCode != 0) return;
        p = subEnd;
        break;
      }
      case 6: // kind
      case 10:
      case 12:
      case 14: {
        if (wt != WT_VARINT) {
          wrongType(p, wt, WT_VARINT, M_SPAN, field);
          return;
        }
        let v: u64;
        if (p < end && load<u8>(p) < 0x80) v = <u64>load<u8>(p++);
        else {
          seek(p);
          v = readVarintSlow(end);
          if (failCode != 0) return;
          p = rp;
        }
        if (field == 6) store<i32>(span, <i32>v, SPAN_KIND);
        break;
      }
      case 7: // start and end times
      case 8: {
        if (wt != WT_I64) {
          wrongType(p, wt, WT_I64, M_SPAN, field);
          return;
        }
        if (end - p < 8) {
          seek(p);
          fail(E_TRUNCATED, M_SPAN, field);
          return;
        }
        if (field == 7) store<u64>(span, load<u64>(p), SPAN_START);
        else store<u64>(span, load<u64>(p), SPAN_END);
        p += 8;
        break;
      }
      case 16: { // flags
        if (wt != WT_I32) {
          wrongType(p, wt, WT_I32, M_SPAN, 16);
          return;
        }
        if (end - p < 4) {
          seek(p);
          fail(E_TRUNCATED, M_SPAN, 16);
          return;
        }
        p += 4;
        break;
      }
      default: {
        seek(p);
        skipField(wt, field, end, M_SPAN, 0);
        if (failCode != 0) return;
        p = rp;
      }
    }
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
        walkKeyValue(rp, subEnd, event + EVENT_SLOTS, 0, 2);
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

/**
 * One attribute, a KeyValue message at nesting `depth`. A watched key stores where its AnyValue
 * sits in `slots` (first occurrence wins, as a linear search would find it); on a resource
 * (`resource` != 0) service.name is also recorded.
 */
function walkKeyValue(p: usize, end: usize, slots: usize, resource: usize, depth: i32): void {
  let keyPtr: usize = 0;
  let keyLen: usize = 0;
  let valuePtr: usize = 0;
  let valueLen: usize = 0;
  let q = simpleKeyValue(p, end);
  if (q != 0) {
    keyPtr = p + 2;
    keyLen = q - keyPtr;
    valuePtr = q + 2;
    valueLen = end - valuePtr;
    p = end;
  }
  // (p == end: the fast path read it all, or it is empty; rp is not this attribute's cursor then)
  if (p < end) seek(p);
  while (p < end && rp < end) {
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
      && bytesEqual(keyPtr, SERVICE_NAME, SERVICE_NAME_LEN)) {
    store<u32>(resource, <u32>valuePtr, RES_SERVICE_PTR);
    store<u32>(resource, <u32>valueLen, RES_SERVICE_LEN);
  }
  watchValue(slots, keyPtr, keyLen, valuePtr, valueLen);
}
