// Staging: what the walker found in one request, as fixed-size records pointing into the
// request bytes. Processors read it only after the whole request parsed, which makes each
// request all or nothing. Buffers grow to the largest request seen and are then reused.
import { watchedCount } from './watch';

// Resource record.
export const RES_SERVICE_PTR: usize = 0; // u32, 0 = no service.name attribute
export const RES_SERVICE_LEN: usize = 4; // u32
export const RES_SERVICE_ID: usize = 8; // u32 interned id, filled by the first processor that needs it
export const RES_SLOTS: usize = 16; // watched-attribute slots

// Span record.
export const SPAN_RESOURCE: usize = 0; // u32 index of the resource record
export const SPAN_NAME_PTR: usize = 4;
export const SPAN_NAME_LEN: usize = 8;
export const SPAN_KIND: usize = 12; // i32 enum value as sent
export const SPAN_STATUS_CODE: usize = 16; // i32
export const SPAN_STATUS_MSG_PTR: usize = 20;
export const SPAN_STATUS_MSG_LEN: usize = 24;
export const SPAN_SIZE: usize = 28; // u32 encoded size of the Span message
export const SPAN_START: usize = 32; // u64 ns
export const SPAN_END: usize = 40; // u64 ns
export const SPAN_TRACE_ID: usize = 48; // u32 ptr to 16 bytes, 0 = absent
export const SPAN_ID: usize = 52; // u32 ptr to 8 bytes, 0 = absent
export const SPAN_PARENT_ID: usize = 56; // u32 ptr to 8 bytes, 0 = absent (root span)
export const SPAN_SKIP: usize = 60; // u32, non-zero: not aggregated (ended before the ingestion slack)
export const SPAN_NAME_ID: usize = 64; // u32 interned name (NOT_INTERNED until a processor needs it)
export const SPAN_TRACE_STATE_PTR: usize = 68; // u32, W3C tracestate (0 = none)
export const SPAN_TRACE_STATE_LEN: usize = 72; // u32
export const SPAN_SCOPE: usize = 76; // u32 its ScopeSpans' record (scopes.ts; only while scopes are staged)
export const SPAN_BODY: usize = 80; // u32 where the Span message starts (SPAN_SIZE bytes): the preview re-reads its attributes
export const SPAN_ID_HASH: usize = 84; // u32 hashEdgeKey(trace id, span id) once self time computed it, for the service graphs; 0 = not computed
export const SPAN_PARENT_HASH: usize = 88; // u32 the same of (trace id, parent span id)
export const SPAN_ATTRIBUTES: usize = 92; // u32 where the attributes start after the fields spanPrefix took (spanshapes.ts), 0 = from SPAN_BODY: the preview reads from there
export const SPAN_SLOTS: usize = 96;
/** From a span record's id field (SPAN_ID, SPAN_PARENT_ID) to the hash of its key (SPAN_ID_HASH, SPAN_PARENT_HASH). */
export const ID_TO_HASH: usize = SPAN_ID_HASH - SPAN_ID;
assert(SPAN_PARENT_HASH - SPAN_PARENT_ID == ID_TO_HASH);

/** SPAN_NAME_ID before interning (intern's MISSING is 0xffffffff). */
export const NOT_INTERNED: u32 = 0xfffffffe;

// Event record (staged only while the events metric is on), in span order.
export const EVENT_SPAN: usize = 0; // u32 index of the span record
export const EVENT_NAME_PTR: usize = 4;
export const EVENT_NAME_LEN: usize = 8;
export const EVENT_SLOTS: usize = 12;

// Watched-attribute slot: ptr u32 to the AnyValue message (0 = attribute absent), len u32.
export const SLOT_SIZE: usize = 8;

export let resourceStride: usize = RES_SLOTS;
export let spanStride: usize = SPAN_SLOTS;

export let resources: usize = 0;
export let resourceCount: u32 = 0;
let resourceCap: u32 = 0;

export let spans: usize = 0;
export let spanCount: u32 = 0;
let spanCap: u32 = 0;

/** Whether the walker stages events (else it only checks them). */
export let stageEvents: bool = false;
export let eventStride: usize = EVENT_SLOTS;
export let events: usize = 0;
export let eventCount: u32 = 0;
let eventCap: u32 = 0;

export function setStageEvents(on: bool): void {
  stageEvents = on;
}

/** Sizes the records once the watched keys are known. */
export function initStaging(): void {
  let slots = <usize>watchedCount() * SLOT_SIZE;
  resourceStride = RES_SLOTS + slots;
  spanStride = SPAN_SLOTS + slots;
  resourceCap = 64;
  resources = heap.alloc(<usize>resourceCap * resourceStride);
  spanCap = 1024;
  spans = heap.alloc(<usize>spanCap * spanStride);
  eventStride = EVENT_SLOTS + slots;
  eventCap = 256;
  events = heap.alloc(<usize>eventCap * eventStride);
}

export function resetStaging(): void {
  resourceCount = 0;
  spanCount = 0;
  eventCount = 0;
}

export function addResource(): usize {
  if (resourceCount == resourceCap) {
    resourceCap <<= 1;
    resources = heap.realloc(resources, <usize>resourceCap * resourceStride);
  }
  let r = resources + <usize>resourceCount * resourceStride;
  resourceCount++;
  memory.fill(r, 0, resourceStride);
  store<u32>(r, 0xffffffff, RES_SERVICE_ID);
  return r;
}

export function resourceAt(i: u32): usize {
  return resources + <usize>i * resourceStride;
}

/**
 * A new span record: its resource, Span message (`body`, `size` bytes) and NOT_INTERNED stored,
 * every other field zero. The fixed part is stored in straight line (memory.fill is a call out
 * of the module, and a loop costs its compares per word): u64 words carrying those values, the
 * zero runs between as v128 stores; the slots (a multiple of 8 bytes) as v128 stores too, up to
 * 64 bytes without a loop (the first 32 and the last 32, overlapping), more 32 a round.
 * (callgrind, (b): 11 fewer instructions per span than u64 stores and a loop for the slots.)
 * Inlined into the walk's span loop (otlp.ts walkScopeSpans), its one caller.
 */
// @ts-ignore: decorator
@inline export function addSpan(resource: u32, size: u32, body: u32): usize {
  if (spanCount == spanCap) {
    spanCap <<= 1;
    spans = heap.realloc(spans, <usize>spanCap * spanStride);
  }
  let s = spans + <usize>spanCount * spanStride;
  spanCount++;
  let zero = i64x2.splat(0);
  store<u64>(s, <u64>resource); // SPAN_RESOURCE, SPAN_NAME_PTR
  v128.store(s, zero, 8); // SPAN_NAME_LEN, SPAN_KIND, SPAN_STATUS_CODE, SPAN_STATUS_MSG_PTR
  store<u64>(s, <u64>size << 32, 24); // SPAN_STATUS_MSG_LEN, SPAN_SIZE
  v128.store(s, zero, 32); // SPAN_START, SPAN_END
  v128.store(s, zero, 48); // SPAN_TRACE_ID, SPAN_ID, SPAN_PARENT_ID, SPAN_SKIP
  store<u64>(s, <u64>NOT_INTERNED, 64); // SPAN_NAME_ID, SPAN_TRACE_STATE_PTR
  store<u64>(s, 0, 72); // SPAN_TRACE_STATE_LEN, SPAN_SCOPE
  store<u64>(s, <u64>body, 80); // SPAN_BODY, SPAN_ID_HASH
  store<u64>(s, 0, 88); // SPAN_PARENT_HASH, SPAN_ATTRIBUTES
  let p = s + SPAN_SLOTS;
  let end = s + spanStride;
  let n = end - p;
  if (n >= 32) {
    if (n > 64) { // a loop only here: V8 checks the stack on entering one, even for no round
      do {
        v128.store(p, zero);
        v128.store(p, zero, 16);
        n -= 32;
        p += 32;
      } while (n > 64);
    }
    v128.store(p, zero);
    v128.store(p, zero, 16);
    v128.store(end - 32, zero);
    v128.store(end - 32, zero, 16);
  } else {
    for (; p < end; p += 8) store<u64>(p, 0);
  }
  return s;
}

export function addEvent(span: u32): usize {
  if (eventCount == eventCap) {
    eventCap <<= 1;
    events = heap.realloc(events, <usize>eventCap * eventStride);
  }
  let e = events + <usize>eventCount * eventStride;
  eventCount++;
  memory.fill(e, 0, eventStride);
  store<u32>(e, span, EVENT_SPAN);
  return e;
}

export function eventAt(i: u32): usize {
  return events + <usize>i * eventStride;
}

export function spanAt(i: u32): usize {
  return spans + <usize>i * spanStride;
}

/** Whether processors leave this span out. */
// @ts-ignore: decorator
@inline export function skipped(span: usize): bool {
  return load<u32>(span, SPAN_SKIP) != 0;
}

assert(SPAN_SLOTS == 96 && SPAN_PARENT_HASH == 88 && SPAN_ATTRIBUTES == 92 && SLOT_SIZE % 8 == 0);
