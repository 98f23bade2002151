// Attribute look-ups on staged spans, through the watched-key slots.
import {
  SPAN_SLOTS, RES_SLOTS, SLOT_SIZE, RES_SERVICE_PTR, RES_SERVICE_LEN, RES_SERVICE_ID, SPAN_NAME_PTR, SPAN_NAME_LEN,
  SPAN_NAME_ID, NOT_INTERNED, SPAN_TRACE_STATE_PTR, SPAN_TRACE_STATE_LEN,
} from './staging';
import { tracestateMultiplier } from './tracestate';
import { formatAnyValue, doubleOf, integerValue, valuePtr, valueLen } from './labelvalue';
import { intern } from './intern';

/** The slot of `slot` on the span, or 0 when the span lacks the attribute (or slot < 0: not configured). */
export function spanSlot(span: usize, slot: i32): usize {
  if (slot < 0) return 0;
  let s = span + SPAN_SLOTS + <usize>slot * SLOT_SIZE;
  return load<u32>(s) != 0 ? s : 0;
}

/** The slot on the resource if it has the attribute, else on the span (Tempo looks in that order); 0 if neither. */
export function resourceOrSpanSlot(resource: usize, span: usize, slot: i32): usize {
  if (slot < 0) return 0;
  let s = resource + RES_SLOTS + <usize>slot * SLOT_SIZE;
  return load<u32>(s) != 0 ? s : spanSlot(span, slot);
}

/** The integer value of the attribute in slot record `s` (0: absent gives -1), see integerValue. */
export function slotInteger(s: usize): i64 {
  return s != 0 ? integerValue(<usize>load<u32>(s), <usize>load<u32>(s, 4)) : -1;
}

/** Interned label value of the attribute in slot record `s` (non-zero). */
export function slotValueId(s: usize): u32 {
  formatAnyValue(<usize>load<u32>(s), <usize>load<u32>(s, 4));
  return intern(valuePtr, valueLen);
}

/** Formats the attribute in slot record `s` into valuePtr/valueLen. */
export function slotValue(s: usize): void {
  formatAnyValue(<usize>load<u32>(s), <usize>load<u32>(s, 4));
}

/** 1 / the positive double in slot record `s`, or 0 (absent, not a double, not positive). */
function inverseRatio(s: usize): f64 {
  if (s == 0) return 0;
  let v = doubleOf(<usize>load<u32>(s), <usize>load<u32>(s, 4));
  return v > 0 ? 1 / v : 0;
}

/**
 * The weight of a span, as Tempo's GetSpanMultiplier finds it: with `tracestate`, the adjusted
 * count of its tracestate's OpenTelemetry threshold; else 1 / the sampling ratio (a positive
 * double) in `slot` on the span, else on the resource; else 1.
 */
export function spanMultiplier(resource: usize, span: usize, slot: i32, tracestate: bool): f64 {
  if (tracestate) {
    let n = <usize>load<u32>(span, SPAN_TRACE_STATE_LEN);
    let m = n != 0 ? tracestateMultiplier(<usize>load<u32>(span, SPAN_TRACE_STATE_PTR), n) : 0;
    if (m > 0) return m;
  }
  if (slot < 0) return 1;
  let w = inverseRatio(spanSlot(span, slot));
  if (w == 0) {
    let s = resource + RES_SLOTS + <usize>slot * SLOT_SIZE;
    w = inverseRatio(load<u32>(s) != 0 ? s : 0);
  }
  return w != 0 ? w : 1;
}

/** Interned service.name of a resource (formatted like any attribute; "" when absent), cached on the record. */
// @ts-ignore: decorator
@inline export function serviceId(resource: usize): u32 {
  let id = load<u32>(resource, RES_SERVICE_ID);
  return id != 0xffffffff ? id : internServiceId(resource);
}

/** serviceId the first time on a resource. */
function internServiceId(resource: usize): u32 {
  let p = <usize>load<u32>(resource, RES_SERVICE_PTR);
  let id: u32 = 0;
  if (p != 0) {
    formatAnyValue(p, <usize>load<u32>(resource, RES_SERVICE_LEN));
    id = intern(valuePtr, valueLen);
  }
  store<u32>(resource, id, RES_SERVICE_ID);
  return id;
}

/** Whether the resource has a service.name attribute at all (service graphs skip those without). */
export function hasServiceName(resource: usize): bool {
  return load<u32>(resource, RES_SERVICE_PTR) != 0;
}

/** Interned name of a span, cached on the record. */
// @ts-ignore: decorator
@inline export function spanNameId(span: usize): u32 {
  let id = load<u32>(span, SPAN_NAME_ID);
  return id != NOT_INTERNED ? id : internSpanName(span);
}

/** spanNameId the first time on a span. */
function internSpanName(span: usize): u32 {
  let id = intern(<usize>load<u32>(span, SPAN_NAME_PTR), <usize>load<u32>(span, SPAN_NAME_LEN));
  store<u32>(span, id, SPAN_NAME_ID);
  return id;
}
