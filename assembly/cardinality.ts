// Cardinality you can see: per-label caps and demand estimates for the span-metrics table
// (Tempo's max_cardinality_per_label, modules/generator/registry/per_label_limiter.go).
//
// Each label of the span-metrics key (service, span name, status message, the dimensions and
// the dimension mappings) has a window of HyperLogLog sketches (hll.ts) over its values. With a
// cap, a label whose estimate over the window passes it is "over": a span whose label set
// already has a series keeps updating it, and a new label set gets `__cardinality_overflow__`
// for each over label instead (Tempo replaces every value of an over label, so existing series
// go stale at once). The original values keep feeding the sketches, so a label recovers only
// once its traffic and the window both calm down (as in Tempo).
//
// Label sets held back, by a cap or by the series limit (series.ts), feed one more window:
// the demand estimate is the active series plus its estimate times a label set's series cost.
// Held-back spans also tally their service (a space-saving top list, Metwally et al. 2005) and
// leave their values as each label's example, so that the host can say who makes the series.
//
// Tracking costs a sketch update per label per span: it runs from the start with a cap, and
// otherwise from the request that could bring the active series to half the series limit. Memory: one window (4 ring
// sketches + their union, 5.2 KB) per label and one for the demand, allocated once.
import { SeriesTable, upsert, findRecord, flagsOf, limitedTotal, activeSeries, maxActive } from './series';
import { intern, retain, release, MISSING, stringPtr, stringLen, keepStringHashes, stringHashes } from './intern';
import { hashBytes, hashWords } from './hash';
import { mix64, windowBytes, initWindow, addToWindow, windowEstimate, advanceWindow } from './hll';
import { slotValue, resourceOrSpanSlot } from './attributes';
import { valuePtr, valueLen, formatAnyValue } from './labelvalue';
import {
  RES_SERVICE_PTR, RES_SERVICE_LEN, SPAN_NAME_PTR, SPAN_NAME_LEN, SPAN_STATUS_MSG_PTR, SPAN_STATUS_MSG_LEN,
} from './staging';
import {
  RECORD_OVERFLOW, SM_KEY_SERVICE, SM_KEY_SPAN_NAME, SM_KEY_SPAN_KIND,
  SM_KEY_STATUS_CODE, SM_KEY_DIMENSIONS, LABEL_EXAMPLE_BYTES, TOP_SERVICES,
} from './layout';

// "__cardinality_overflow__"
const OVERFLOW_VALUE: usize = memory.data<u8>([
  0x5f, 0x5f, 0x63, 0x61, 0x72, 0x64, 0x69, 0x6e, 0x61, 0x6c, 0x69, 0x74, 0x79, 0x5f,
  0x6f, 0x76, 0x65, 0x72, 0x66, 0x6c, 0x6f, 0x77, 0x5f, 0x5f,
]);
const OVERFLOW_VALUE_LEN: usize = 24;
/** Ring sketches per window: each covers a third of the window (Tempo: 5 of 15 minutes, 4 sketches). */
const RING: u32 = 4;

/** Distinct values a label may take over the window (0: no cap). */
export let cap: u32 = 0;
let sketchMs: f64 = 5 * 60_000;
let lastAdvanceMs: f64 = -1;
let overflowId: u32 = 0;
/** Whether the sketches are being fed. */
export let tracking: bool = false;

let words: i32 = 0; // key words of the table
let messageWord: i32 = -1; // the status message's key word, -1 when off
let windows: usize = 0; // per key word: a window (kind and status code words: unused)
let windowSize: usize = 0;
let over: usize = 0; // per key word: u8 1 while over the cap
let limited: usize = 0; // per key word: f64 values replaced by __cardinality_overflow__
let examples: usize = 0; // per key word: u32 length, then LABEL_EXAMPLE_BYTES bytes
let hashes: usize = 0; // per key word: u32 hash of the span's value (the demand key)
let demand: usize = 0; // the window of held-back label sets
let tableCost: u32 = 0;
let top: usize = 0; // TOP_SERVICES × (u32 id, u32 pad, f64 count)

/** The cap and the window (the host's registry.stale_duration), before start. */
export function configureCardinality(capPerLabel: u32, windowMs: f64): void {
  cap = capPerLabel;
  sketchMs = windowMs > 3000 ? windowMs / 3 : 1000;
}

/** Sets up for the span-metrics table `t`, its status message at key word `statusMessageWord` (-1: none), at start. */
export function initCardinality(t: SeriesTable, statusMessageWord: i32): void {
  words = t.keyWords;
  messageWord = statusMessageWord;
  tableCost = t.cost;
  overflowId = intern(OVERFLOW_VALUE, OVERFLOW_VALUE_LEN);
  retain(overflowId);
  if (cap != 0) startTracking();
}

function startTracking(): void {
  keepStringHashes();
  windowSize = windowBytes(RING);
  let n = <usize>words;
  windows = heap.alloc(n * windowSize);
  for (let w: usize = 0; w < n; w++) initWindow(windows + w * windowSize, RING);
  demand = heap.alloc(windowSize);
  initWindow(demand, RING);
  over = heap.alloc(n);
  memory.fill(over, 0, n);
  limited = heap.alloc(n * 8);
  memory.fill(limited, 0, n * 8);
  examples = heap.alloc(n * (4 + LABEL_EXAMPLE_BYTES));
  memory.fill(examples, 0, n * (4 + LABEL_EXAMPLE_BYTES));
  hashes = heap.alloc(n * 4);
  top = heap.alloc(<usize>TOP_SERVICES * 16);
  memory.fill(top, 0, <usize>TOP_SERVICES * 16);
  tracking = true;
}

/**
 * Before a request's `spans` spans: starts tracking once they could bring the active series to
 * half the series limit (or the limit held a label set back), and starts the window's clock.
 */
export function checkTracking(nowMs: f64, spans: u32): void {
  if (!tracking && words != 0 && (limitedTotal > 0
    || (maxActive != 0 && <u64>activeSeries + <u64>spans * <u64>tableCost >= <u64>(maxActive >>> 1)))) startTracking();
  if (tracking && lastAdvanceMs < 0) lastAdvanceMs = nowMs;
}

// @ts-ignore: decorator
@inline function isLabel(w: i32): bool {
  return w != SM_KEY_SPAN_KIND && w != SM_KEY_STATUS_CODE;
}

/** The bytes of key word `w`'s value on the span, re-read from the request (for a value intern() could not hold): valuePtr/valueLen. */
function wordBytes(w: i32, resource: usize, span: usize, dimSlots: usize, dims: i32): void {
  if (w == SM_KEY_SERVICE) {
    formatAnyValue(<usize>load<u32>(resource, RES_SERVICE_PTR), <usize>load<u32>(resource, RES_SERVICE_LEN));
  } else if (w == SM_KEY_SPAN_NAME) {
    setValue(<usize>load<u32>(span, SPAN_NAME_PTR), <usize>load<u32>(span, SPAN_NAME_LEN));
  } else if (w == messageWord) {
    setValue(<usize>load<u32>(span, SPAN_STATUS_MSG_PTR), <usize>load<u32>(span, SPAN_STATUS_MSG_LEN));
  } else if (w - SM_KEY_DIMENSIONS < dims) {
    let s = resourceOrSpanSlot(resource, span, load<i32>(dimSlots + (<usize>(w - SM_KEY_DIMENSIONS) << 2)));
    if (s != 0) slotValue(s);
    else setValue(0, 0);
  } else {
    setValue(0, 0); // a dimension mapping's joined value: not re-derived
  }
}

let rawPtr: usize = 0;
let rawLen: usize = 0;
function setValue(p: usize, n: usize): void {
  rawPtr = p;
  rawLen = n;
}

/**
 * The span-metrics record for the label set in `key` (as upsert), with the per-label cap
 * applied; feeds the sketches. `dimSlots`/`dims`: the dimensions' watched-key slots.
 */
export function upsertTracked(t: SeriesTable, key: usize, now: u32, resource: usize, span: usize, dimSlots: usize, dims: i32): usize {
  let anyOver = false;
  let valueHashes = stringHashes();
  for (let w = 0; w < words; w++) {
    let id = load<u32>(key + (<usize>w << 2));
    let h: u32 = id;
    if (isLabel(w) && id != 0) {
      if (id != MISSING) {
        h = load<u32>(valueHashes + (<usize>id << 2));
      } else {
        rawLen = 0xffffffff;
        wordBytes(w, resource, span, dimSlots, dims);
        h = rawLen == 0xffffffff ? hashBytes(valuePtr, valueLen) : hashBytes(rawPtr, rawLen);
      }
      let win = windows + <usize>w * windowSize;
      if (addToWindow(win, mix64(<u64>h)) && cap != 0) {
        store<u8>(over + <usize>w, windowEstimate(win) > <f64>cap ? 1 : 0);
      }
      if (load<u8>(over + <usize>w) != 0) anyOver = true;
    }
    store<u32>(hashes + (<usize>w << 2), h);
  }
  if (!anyOver) {
    let r = upsert(t, key, now);
    if ((flagsOf(r) & RECORD_OVERFLOW) != 0) heldBack(key, resource, span, dimSlots, dims, false);
    return r;
  }
  // Over a cap: a label set that has its series keeps it; a new one is held back.
  let r = findRecord(t, key, now);
  if (r != 0) return r;
  heldBack(key, resource, span, dimSlots, dims, true);
  for (let w = 0; w < words; w++) {
    if (isLabel(w) && load<u8>(over + <usize>w) != 0 && load<u32>(key + (<usize>w << 2)) != 0) {
      store<u32>(key + (<usize>w << 2), overflowId);
      let l = limited + (<usize>w << 3);
      store<f64>(l, load<f64>(l) + 1);
    }
  }
  return upsert(t, key, now);
}

/** A label set held back: the demand window, the service tally and the examples of the labels that made it new. */
function heldBack(key: usize, resource: usize, span: usize, dimSlots: usize, dims: i32, capped: bool): void {
  addToWindow(demand, mix64(<u64>hashWords(hashes, words)));
  tallyService(load<u32>(key + (<usize>SM_KEY_SERVICE << 2)));
  for (let w = 0; w < words; w++) {
    if (!isLabel(w)) continue;
    let id = load<u32>(key + (<usize>w << 2));
    // with a cap, the examples of the over labels; under the series limit, of values it could not hold
    if (capped ? load<u8>(over + <usize>w) == 0 || id == 0 : id != MISSING) continue;
    let p: usize = 0;
    let n: usize = 0;
    if (id != MISSING) {
      p = stringPtr(id);
      n = stringLen(id);
    } else {
      rawLen = 0xffffffff;
      wordBytes(w, resource, span, dimSlots, dims);
      if (rawLen == 0xffffffff) {
        p = valuePtr;
        n = valueLen;
      } else {
        p = rawPtr;
        n = rawLen;
      }
    }
    let e = examples + <usize>w * (4 + LABEL_EXAMPLE_BYTES);
    if (n > LABEL_EXAMPLE_BYTES) n = LABEL_EXAMPLE_BYTES;
    store<u32>(e, <u32>n);
    memory.copy(e + 4, p, n);
  }
}

/** Counts a held-back span for its service: the space-saving top list (the least counted entry makes room). */
function tallyService(id: u32): void {
  if (id == 0 || id == MISSING) return;
  let least: usize = 0;
  for (let i = 0; i < TOP_SERVICES; i++) {
    let e = top + (<usize>i << 4);
    let held = load<u32>(e);
    if (held == id) {
      store<f64>(e, load<f64>(e, 8) + 1, 8);
      return;
    }
    if (least == 0 || load<f64>(e, 8) < load<f64>(least, 8)) least = e;
  }
  release(load<u32>(least));
  retain(id);
  store<u32>(least, id);
  store<f64>(least, load<f64>(least, 8) + 1, 8);
}

/** Between requests (the host's sweep): moves the windows on every third of the window. */
export function cardinalityTick(nowMs: f64): void {
  if (!tracking || lastAdvanceMs < 0 || nowMs - lastAdvanceMs < sketchMs) return;
  lastAdvanceMs = nowMs;
  advanceWindow(demand);
  for (let w = 0; w < words; w++) {
    if (!isLabel(w)) continue;
    let win = windows + <usize>w * windowSize;
    advanceWindow(win);
    if (cap != 0) store<u8>(over + <usize>w, windowEstimate(win) > <f64>cap ? 1 : 0);
  }
}

/** Distinct values of key word `w` over the window, -1 when not tracked. */
export function labelEstimate(w: i32): f64 {
  if (!tracking || w < 0 || w >= words || !isLabel(w)) return -1;
  return windowEstimate(windows + <usize>w * windowSize);
}

/** Values of key word `w` replaced by __cardinality_overflow__ so far. */
export function labelLimited(w: i32): f64 {
  if (!tracking || w < 0 || w >= words) return 0;
  return load<f64>(limited + (<usize>w << 3));
}

/** The address of key word `w`'s latest held-back value (u32 length, then the bytes), 0 when none. */
export function labelExample(w: i32): usize {
  if (!tracking || w < 0 || w >= words) return 0;
  let e = examples + <usize>w * (4 + LABEL_EXAMPLE_BYTES);
  return load<u32>(e) != 0 ? e : 0;
}

/** Active series plus the held-back label sets over the window, in Prometheus series. */
export function seriesDemand(): f64 {
  let held = tracking ? windowEstimate(demand) : 0;
  return <f64>activeSeries + held * <f64>tableCost;
}

/** Entry `i` of the held-back services' top list: its service id (0: empty). */
export function topService(i: i32): u32 {
  return tracking && i >= 0 && i < TOP_SERVICES ? load<u32>(top + (<usize>i << 4)) : 0;
}
export function topServiceCount(i: i32): f64 {
  return tracking && i >= 0 && i < TOP_SERVICES ? load<f64>(top + (<usize>i << 4), 8) : 0;
}
