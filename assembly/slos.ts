// Service-level objectives: per SLO a good and a total span count, updated from the staged
// spans, so an SLO costs two series whatever the label sets of the spans it selects. They sit
// in a series table of their own (key: the SLO's index), outside the series budget and never
// stale, so the host reads them as it reads any table. An SLO
// selects spans by service and span name (exact, or a name pattern the host evaluates once per
// distinct name through env.slo_match) and by kind. A selected span is good when it is not an
// error (availability: status ERROR, or optionally an HTTP 5xx status attribute) or when it
// lasted at most the threshold (latency).
import { spanCount, spanAt, resourceAt, skipped, SPAN_RESOURCE, SPAN_KIND, SPAN_STATUS_CODE, SPAN_START, SPAN_END, SPAN_NAME_PTR, SPAN_NAME_LEN } from './staging';
import { intern, retain, MISSING, stringPtr, stringLen } from './intern';
import { Answers, newAnswers, answerOf, keepAnswer } from './answers';
import { serviceId, spanNameId, spanSlot, spanMultiplier, slotInteger } from './attributes';
import { watchKey } from './watch';
import { SeriesTable, newSeriesTable, upsert } from './series';
import { multiplierSlot, tracestate } from './spanmetrics';
import {
  MAX_SLOS, SLO_KEY_INDEX, SLO_V_GOOD, SLO_V_TOTAL, SLO_LATENCY, SLO_HTTP_5XX, SLO_ANY_SERVICE, SLO_ANY_NAME,
  SLO_NAME_PATTERN,
} from './layout';

// @ts-ignore: decorator
@external("env", "slo_match")
declare function hostMatch(p: usize, n: usize): u32;

/** A selector meaning "any" (service, span name). */
const ANY: u32 = 0xfffffffe;
/** The span-name selector of an SLO with a name pattern. */
const PATTERN: u32 = 0xfffffffd;
const STATUS_ERROR: i32 = 2;

// Per SLO: service id u32, span name id u32, kind i32 (-1 any), flags u32, threshold ns u64,
// address of its values (good f64, total f64) u32.
const SPEC: usize = 32;
const SPECS: usize = memory.data(MAX_SLOS * <i32>SPEC);
export let sloCount: i32 = 0;
/** Key: the SLO's index (SLO_KEY_INDEX, not a string id); values: good, total. */
export let table: SeriesTable = changetype<SeriesTable>(0);
const KEY: usize = memory.data(4);

const HTTP_RESPONSE_STATUS_CODE = memory.data<u8>([
  0x68, 0x74, 0x74, 0x70, 0x2e, 0x72, 0x65, 0x73, 0x70, 0x6f, 0x6e, 0x73, 0x65, 0x2e, // "http.response."
  0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0x5f, 0x63, 0x6f, 0x64, 0x65, // "status_code"
]);
const HTTP_STATUS_CODE = memory.data<u8>([
  0x68, 0x74, 0x74, 0x70, 0x2e, 0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0x5f, 0x63, 0x6f, 0x64, 0x65, // "http.status_code"
]);
let httpSlotNew: i32 = -1;
let httpSlotOld: i32 = -1;

// Pattern answers per string id.
let answers: Answers = changetype<Answers>(0);

/**
 * Adds an SLO; `service` and `name` are UTF-8 at [p, p+n) (ignored when the flags say any or
 * pattern). Returns its index, or -1 when MAX_SLOS are defined. Call before start: it may
 * watch the HTTP status attributes.
 */
export function addSlo(flags: u32, servicePtr: usize, serviceLen: usize, namePtr: usize, nameLen: usize, kind: i32, thresholdNs: u64): i32 {
  if (sloCount >= MAX_SLOS) return -1;
  // At most 32 records in a table that starts with room for 256: record addresses never move.
  if (sloCount == 0) table = newSeriesTable(SLO_KEY_INDEX + 1, SLO_V_TOTAL + 1, 1 << SLO_KEY_INDEX, 0);
  store<u32>(KEY, <u32>sloCount, SLO_KEY_INDEX << 2);
  let values = upsert(table, KEY, 0) + table.valuesOffset;
  let spec = SPECS + <usize>sloCount * SPEC;
  // Pinned ids: a span of this service or name gets them even when no new string may be stored.
  let service = ANY;
  if ((flags & SLO_ANY_SERVICE) == 0) {
    service = intern(servicePtr, serviceLen);
    retain(service);
  }
  let name = (flags & SLO_ANY_NAME) != 0 ? ANY : (flags & SLO_NAME_PATTERN) != 0 ? PATTERN : 0;
  if (name == 0) {
    name = intern(namePtr, nameLen);
    retain(name);
  }
  store<u32>(spec, service);
  store<u32>(spec, name, 4);
  store<i32>(spec, kind, 8);
  store<u32>(spec, flags, 12);
  store<u64>(spec, thresholdNs, 16);
  store<u32>(spec, <u32>values, 24);
  if ((flags & SLO_HTTP_5XX) != 0 && httpSlotNew < 0) {
    httpSlotNew = watchKey(HTTP_RESPONSE_STATUS_CODE, 25);
    httpSlotOld = watchKey(HTTP_STATUS_CODE, 16);
  }
  return sloCount++;
}

/** Bits of the SLOs whose name pattern the span's name matches, asked of the host once per name and string epoch. */
function patternBits(span: usize): u32 {
  let id = spanNameId(span);
  if (id == MISSING) return hostMatch(<usize>load<u32>(span, SPAN_NAME_PTR), <usize>load<u32>(span, SPAN_NAME_LEN));
  if (changetype<usize>(answers) == 0) answers = newAnswers();
  let a = answerOf(answers, id);
  return a != 0 ? load<u32>(a) : keepAnswer(answers, id, hostMatch(stringPtr(id), stringLen(id)));
}

/** Whether the span's HTTP status attribute (the newer key first) is a 5xx. */
function http5xx(span: usize): bool {
  let s = spanSlot(span, httpSlotNew);
  let code = slotInteger(s != 0 ? s : spanSlot(span, httpSlotOld));
  return code >= 500 && code <= 599;
}

export function aggregateSlos(): void {
  for (let i: u32 = 0; i < spanCount; i++) {
    let span = spanAt(i);
    if (skipped(span)) continue;
    let resource = resourceAt(load<u32>(span, SPAN_RESOURCE));
    let bits: u64 = 0x100000000; // pattern answers not asked yet
    let w: f64 = -1; // the span's weight, read once a first SLO selects it
    for (let k = 0; k < sloCount; k++) {
      let spec = SPECS + <usize>k * SPEC;
      let flags = load<u32>(spec, 12);
      let kind = load<i32>(spec, 8);
      if (kind >= 0 && kind != load<i32>(span, SPAN_KIND)) continue;
      if ((flags & SLO_ANY_SERVICE) == 0 && load<u32>(spec) != serviceId(resource)) continue;
      if ((flags & SLO_NAME_PATTERN) != 0) {
        if (bits == 0x100000000) bits = <u64>patternBits(span);
        if ((bits & (<u64>1 << <u64>k)) == 0) continue;
      } else if ((flags & SLO_ANY_NAME) == 0 && load<u32>(spec, 4) != spanNameId(span)) {
        continue;
      }
      let good: bool;
      if ((flags & SLO_LATENCY) != 0) {
        let start = load<u64>(span, SPAN_START);
        let end = load<u64>(span, SPAN_END);
        good = (end > start ? end - start : 0) <= load<u64>(spec, 16);
      } else {
        good = load<i32>(span, SPAN_STATUS_CODE) != STATUS_ERROR && !((flags & SLO_HTTP_5XX) != 0 && http5xx(span));
      }
      if (w < 0) w = spanMultiplier(resource, span, multiplierSlot, tracestate);
      let c = <usize>load<u32>(spec, 24);
      if (good) store<f64>(c, load<f64>(c, SLO_V_GOOD << 3) + w, SLO_V_GOOD << 3);
      store<f64>(c, load<f64>(c, SLO_V_TOTAL << 3) + w, SLO_V_TOTAL << 3);
    }
  }
}
