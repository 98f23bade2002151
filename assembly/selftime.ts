// Self time (spanmetrics_self_time_configure): per span-metrics series, a histogram of each span's
// duration minus the time its children cover, for the children that arrive within `wait`.
//
// A span cannot say how many children it has, so every span counted by span metrics waits here,
// keyed by (trace id, its span id), for `wait` after it arrived; a span with a parent span id
// adds its [start, end) to the entry of (trace id, parent span id), made if the parent has not
// come yet (children usually end, and are sent, first). When the parent's wait ends, its self
// time is (end - start) minus the length of the UNION of its children's intervals clipped to
// [start, end): parallel children are not subtracted twice, a child running past the parent's
// end counts only up to it. The entry then stays one more `wait` as a tombstone: a child that
// comes to it is a late child, counted on the parent's series (ST_V_LATE), its parent's figure
// having been too high. A parent whose children could not all be kept (below) is counted on its
// series (ST_V_UNKNOWN) instead of being observed with a wrong value.
//
// Bounded memory: `maxItems` entries of STRIDE (176) bytes, taken as they are first used, plus
// an index of 8 bytes per 1/2 entry. An entry keeps ST_INTERVALS merged child intervals; past
// that the earliest is folded into a covered sum (children mostly come in time order, so a later
// child starting after the fold stays exact); a child starting before the fold, or a fold that
// the parent's clipping would cut, makes the parent unknown. With the store full a span gets no
// entry (its series' unknown count takes it), and a child whose parent has no entry is dropped:
// then every parent whose wait overlaps that drop (entries made within `wait` of it, before or
// after) is unknown too.
import { hashEdgeKey, edgeTraceSum, edgeKeyHash } from './hash';
import { newIndex, placeRef, removeRef } from './hashindex';
import { SPAN_START, SPAN_END, SPAN_TRACE_ID, SPAN_ID, SPAN_PARENT_ID, SPAN_ID_HASH, SPAN_PARENT_HASH, ID_TO_HASH, spans, spanCount, spanStride } from './staging';
import { SeriesTable, generationOf, flagsOf } from './series';
import { Buckets, observe } from './histogram';
import {
  RECORD_LIVE, ST_V_COUNT, ST_V_SUM, ST_V_UNKNOWN, ST_V_LATE, ST_V_BUCKETS,
  ST_INTERVALS,
} from './layout';

// Entry layout.
const KEY_BYTES: usize = 24; // trace id (16) + span id (8)
const T_PREV: usize = 24; // u32 entry index + 1, 0 = none: the expiry list
const T_NEXT: usize = 28;
const T_FLAGS: usize = 32; // u16
const T_COUNT: usize = 34; // u16 intervals held
const T_RECORD: usize = 36; // u32 the address of the parent's span-metrics record (records never move: series.ts)
const T_GENERATION: usize = 40; // u32 its generation then
const T_HASH: usize = 44; // u32 the key's hash (hashEdgeKey), for free(): computing it again cost ~35 instructions
const T_EXPIRES: usize = 48; // f64 ms
const T_START: usize = 56; // u64 ns, the parent's
const T_END: usize = 64;
const T_WEIGHT: usize = 72; // f64 the parent's span multiplier
const T_FOLD_FIRST: usize = 80; // u64 ns: the earliest start of the folded intervals
const T_FOLD_END: usize = 88; // u64 ns: the latest end of the folded ones (0: none folded); kept ones start after it
const T_FOLD_SUM: usize = 96; // u64 ns covered by the folded ones
const T_DUE: usize = 104; // f64 ms: when the parent's wait ends (it may have come after its entry was made)
const T_INTERVALS: usize = 112; // ST_INTERVALS × (u64 start, u64 end), sorted, disjoint, not touching
const STRIDE: usize = T_INTERVALS + <usize>ST_INTERVALS * 16;

const F_PARENT: u32 = 1; // the parent span came (T_RECORD … T_WEIGHT set)
const F_EMITTED: u32 = 2; // its self time was decided: a tombstone catching late children
const F_INEXACT: u32 = 4; // its children's union could not be kept exactly

let entries: usize = 0;
let capacity: u32 = 0;
let fresh: u32 = 0; // entries never used so far (taken in order before the free list)
let freeHead: u32 = 0; // entry index + 1
let head: u32 = 0; // oldest, entry index + 1
let tail: u32 = 0;
let index: usize = 0;
let indexMask: u32 = 0;
let waitMs: f64 = 0;
const KEY: usize = memory.data(24);

/** Entries in use (waiting parents and children, and tombstones). */
export let storeSize: u32 = 0;
/** Spans and children refused with the store full. */
export let dropped: f64 = 0;
/** Entries whose parent never came within `wait` (its children were orphans: sampled out, another instance, or late). */
export let orphans: f64 = 0;
/** When a child was last refused, ms (-Inf: never). */
let lastDropMs: f64 = -Infinity;

let buckets: Buckets = changetype<Buckets>(0);
let blockOffset: usize = 0; // byte offset of the self-time block from a record: the table's valuesOffset + the block's values
/** The value index of the self-time block in a span-metrics record; -1 when off. */
export let selfTimeBlock: i32 = -1;
/** Self time on (spanmetrics_self_time_configure before spanmetrics_configure). */
export let selfTimeOn: bool = false;

export function configureSelfTime(maxItems: u32, wait: f64): void {
  selfTimeOn = true;
  capacity = maxItems;
  waitMs = wait;
  entries = heap.alloc((capacity > 0 ? <usize>capacity : 1) * STRIDE);
  let slots: u32 = 16;
  while (slots < capacity * 2) slots <<= 1;
  indexMask = slots - 1;
  index = newIndex(slots);
}

/** The span-metrics table, its buckets and the value index of the self-time block (spanmetrics.ts). */
export function attachSelfTime(t: SeriesTable, b: Buckets, block: i32): void {
  buckets = b;
  blockOffset = t.valuesOffset + (<usize>block << 3);
  selfTimeBlock = block;
}

/** Values the self-time block adds to a span-metrics record (0 when off). */
export function selfTimeValues(boundCount: i32): i32 {
  return selfTimeOn ? ST_V_BUCKETS + boundCount : 0;
}

// @ts-ignore: decorator
@inline function entryAt(i: u32): usize {
  return entries + <usize>i * STRIDE;
}

function find(h: u32): usize {
  let i = h & indexMask;
  while (true) {
    let slot = index + (<usize>i << 3);
    let ref = load<u32>(slot, 4);
    if (ref == 0) return 0;
    if (load<u32>(slot) == h) {
      let e = entryAt(ref - 1);
      if (load<u64>(e) == load<u64>(KEY) && load<u64>(e, 8) == load<u64>(KEY, 8) && load<u64>(e, 16) == load<u64>(KEY, 16)) return e;
    }
    i = (i + 1) & indexMask;
  }
}

/** A new zeroed entry for KEY, last on the expiry list; 0 with the store full. */
function insert(h: u32, expires: f64): usize {
  let ref: u32;
  if (freeHead != 0) {
    ref = freeHead;
    freeHead = load<u32>(entryAt(ref - 1), T_NEXT);
  } else if (fresh < capacity) {
    ref = ++fresh;
  } else return 0;
  let e = entryAt(ref - 1);
  // Field by field: memory.fill is a call out of the module, costly at this size. The parent's
  // fields are written when it comes, the intervals as they are added.
  store<u32>(e, 0, T_FLAGS); // and T_COUNT
  store<u32>(e, h, T_HASH);
  store<u64>(e, 0, T_FOLD_END);
  store<u64>(e, 0, T_FOLD_SUM);
  store<u64>(e, load<u64>(KEY));
  store<u64>(e, load<u64>(KEY, 8), 8);
  store<u64>(e, load<u64>(KEY, 16), 16);
  store<f64>(e, expires, T_EXPIRES);
  append(e, ref);
  placeRef(index, indexMask, h, ref);
  storeSize++;
  return e;
}

function append(e: usize, ref: u32): void {
  store<u32>(e, tail, T_PREV);
  store<u32>(e, 0, T_NEXT);
  if (tail != 0) store<u32>(entryAt(tail - 1), ref, T_NEXT);
  else head = ref;
  tail = ref;
}

function unlink(e: usize): void {
  let prev = load<u32>(e, T_PREV);
  let next = load<u32>(e, T_NEXT);
  if (prev != 0) store<u32>(entryAt(prev - 1), next, T_NEXT);
  else head = next;
  if (next != 0) store<u32>(entryAt(next - 1), prev, T_PREV);
  else tail = prev;
}

// @ts-ignore: decorator
@inline function refOf(e: usize): u32 {
  return <u32>((e - entries) / STRIDE) + 1;
}

/** Waits entry `e` `waitMs` more from `nowMs`: last on the expiry list. */
function rewait(e: usize, nowMs: f64): void {
  unlink(e);
  store<f64>(e, nowMs + waitMs, T_EXPIRES);
  append(e, refOf(e));
}

function free(e: usize): void {
  unlink(e);
  let ref = refOf(e);
  removeRef(index, indexMask, load<u32>(e, T_HASH), ref);
  store<u32>(e, freeHead, T_NEXT);
  freeHead = ref;
  storeSize--;
}

/** The live record of the entry's parent series, or 0 when the series was removed since. */
function recordOf(e: usize): usize {
  let r = <usize>load<u32>(e, T_RECORD);
  if ((flagsOf(r) & RECORD_LIVE) == 0 || generationOf(r) != load<u32>(e, T_GENERATION)) return 0;
  return r + blockOffset;
}

/** Adds `w` to value `v` of the self-time block at `b`. */
// @ts-ignore: decorator
@inline function count(b: usize, v: i32, w: f64): void {
  let p = b + (<usize>v << 3);
  store<f64>(p, load<f64>(p) + w);
}

/**
 * Notes span `span` of the current request: as a child of its parent, and, when span metrics
 * counted it into record `record` (0: filtered out), as a parent waiting for its children.
 */
export function noteSpan(span: usize, record: usize, w: f64, nowMs: f64): void {
  // KEY is (trace id, parent's or own span id); an id absent or all zeros is invalid: nothing then.
  let trace = <usize>load<u32>(span, SPAN_TRACE_ID);
  if (trace == 0) return;
  let t0 = load<u64>(trace);
  let t1 = load<u64>(trace, 8);
  if ((t0 | t1) == 0) return;
  // The next span's keys hashed and their index slots read now: their cache lines come while this
  // span's own look-ups wait for theirs.
  let next = span + spanStride;
  if (next < spans + <usize>spanCount * spanStride) touched ^= prepare(next);
  store<u64>(KEY, t0);
  store<u64>(KEY, t1, 8);
  let start = load<u64>(span, SPAN_START);
  let end = load<u64>(span, SPAN_END);
  let parent = <usize>load<u32>(span, SPAN_PARENT_ID);
  if (parent != 0) {
    let p = load<u64>(parent);
    if (p != 0) {
      store<u64>(KEY, p, 16);
      let h = load<u32>(span, SPAN_PARENT_HASH);
      if (h == 0) {
        h = hashEdgeKey(KEY);
        store<u32>(span, h, SPAN_PARENT_HASH); // the service graphs hash the same key (servicegraphs.ts)
      }
      noteChild(h, start, end, nowMs);
    }
  }
  if (record == 0) return;
  let id = <usize>load<u32>(span, SPAN_ID);
  if (id == 0) return;
  let s = load<u64>(id);
  if (s == 0) return;
  store<u64>(KEY, s, 16);
  let h = load<u32>(span, SPAN_ID_HASH);
  if (h == 0) {
    h = hashEdgeKey(KEY);
    store<u32>(span, h, SPAN_ID_HASH); // the service graphs hash the same key (servicegraphs.ts)
  }
  let e = find(h);
  if (e == 0) {
    e = insert(h, nowMs + waitMs);
    if (e == 0) {
      // No room: the span's self time is not observed; its series says so (other parents lose nothing).
      dropped += 1;
      count(record + blockOffset, ST_V_UNKNOWN, w);
      return;
    }
  } else if ((load<u16>(e, T_FLAGS) & F_PARENT) != 0) return; // the same span again (a retry): counted once here
  // Its children may have come first: its wait starts now all the same (the entry moves back in
  // the expiry list when it reaches the front, not now: that would touch its neighbours).
  store<f64>(e, nowMs + waitMs, T_DUE);
  store<u16>(e, load<u16>(e, T_FLAGS) | <u16>F_PARENT, T_FLAGS);
  store<u32>(e, <u32>record, T_RECORD);
  store<u32>(e, generationOf(record), T_GENERATION);
  store<u64>(e, start, T_START);
  store<u64>(e, end, T_END);
  store<f64>(e, w, T_WEIGHT);
}

/** Read index slots, kept only so that the reads stay (prepare). */
let touched: u32 = 0;

/**
 * Hashes span `span`'s two keys into SPAN_PARENT_HASH and SPAN_ID_HASH (what noteSpan would) and
 * reads the index slot of each; returns what it read.
 */
// @ts-ignore: decorator
@inline function prepare(span: usize): u32 {
  let trace = <usize>load<u32>(span, SPAN_TRACE_ID);
  if (trace == 0 || (load<u64>(trace) | load<u64>(trace, 8)) == 0) return 0;
  let th = edgeTraceSum(trace);
  return prepareKey(span, SPAN_PARENT_ID, th) ^ prepareKey(span, SPAN_ID, th);
}

/** prepare() for the key of the span id in field `idField` (its parent's or its own) under trace sum `th`. */
// @ts-ignore: decorator
@inline function prepareKey(span: usize, idField: usize, th: u64): u32 {
  let id = <usize>load<u32>(span + idField);
  if (id == 0 || load<u64>(id) == 0) return 0;
  let h = edgeKeyHash(th, id);
  store<u32>(span + idField + ID_TO_HASH, h);
  return load<u32>(index + (<usize>(h & indexMask) << 3));
}

/** Adds child interval [start, end) to the entry of the parent in KEY. */
function noteChild(h: u32, start: u64, end: u64, nowMs: f64): void {
  let e = find(h);
  if (e == 0) {
    e = insert(h, nowMs + waitMs);
    if (e == 0) {
      dropped += 1;
      lastDropMs = nowMs;
      return;
    }
  }
  let flags = load<u16>(e, T_FLAGS);
  if ((flags & F_EMITTED) != 0) {
    let b = recordOf(e);
    if (b != 0) count(b, ST_V_LATE, load<f64>(e, T_WEIGHT));
    return;
  }
  if (end <= start || (flags & F_INEXACT) != 0) return;
  addInterval(e, start, end);
}

/** Merges [s, e) into entry `t`'s intervals, folding the earliest into the sum past ST_INTERVALS. */
function addInterval(t: usize, s: u64, e: u64): void {
  let foldEnd = load<u64>(t, T_FOLD_END);
  if (foldEnd != 0 && s < foldEnd) {
    store<u16>(t, load<u16>(t, T_FLAGS) | <u16>F_INEXACT, T_FLAGS); // it may overlap what was folded
    return;
  }
  let n = <i32>load<u16>(t, T_COUNT);
  let base = t + T_INTERVALS;
  // Children mostly come in time order: one starting after every kept interval ends (not
  // touching the last) goes last, without the loops below (what they would do then).
  if (n < ST_INTERVALS && (n == 0 || load<u64>(base + (<usize>(n - 1) << 4), 8) < s)) {
    store<u64>(base + (<usize>n << 4), s);
    store<u64>(base + (<usize>n << 4), e, 8);
    store<u16>(t, <u16>(n + 1), T_COUNT);
    return;
  }
  // The first kept interval that ends at or after s (touching merges), then those it overlaps.
  let i = 0;
  while (i < n && load<u64>(base + (<usize>i << 4), 8) < s) i++;
  let j = i;
  while (j < n && load<u64>(base + (<usize>j << 4)) <= e) {
    let p = base + (<usize>j << 4);
    if (load<u64>(p) < s) s = load<u64>(p);
    if (load<u64>(p, 8) > e) e = load<u64>(p, 8);
    j++;
  }
  if (j == i && n == ST_INTERVALS) {
    // One more disjoint interval than there is room for: fold the earliest.
    if (i == 0) {
      fold(t, s, e);
      return;
    }
    fold(t, load<u64>(base), load<u64>(base, 8));
    for (let k = 1; k < n; k++) moveInterval(base, k, k - 1);
    n--;
    i--;
    j--;
  }
  // Replace [i, j) by the merged interval.
  let removed = j - i;
  // Intervals j… move to i + 1… (up one when none merged, down when several did).
  if (removed == 0) for (let k = n - 1; k >= j; k--) moveInterval(base, k, k + 1);
  else if (removed > 1) for (let k = j; k < n; k++) moveInterval(base, k, k - removed + 1);
  store<u64>(base + (<usize>i << 4), s);
  store<u64>(base + (<usize>i << 4), e, 8);
  store<u16>(t, <u16>(n - removed + 1), T_COUNT);
}

// @ts-ignore: decorator
@inline function moveInterval(base: usize, from: i32, to: i32): void {
  store<u64>(base + (<usize>to << 4), load<u64>(base + (<usize>from << 4)));
  store<u64>(base + (<usize>to << 4), load<u64>(base + (<usize>from << 4), 8), 8);
}

function fold(t: usize, s: u64, e: u64): void {
  if (load<u64>(t, T_FOLD_END) == 0 || s < load<u64>(t, T_FOLD_FIRST)) store<u64>(t, s, T_FOLD_FIRST);
  store<u64>(t, e, T_FOLD_END);
  store<u64>(t, load<u64>(t, T_FOLD_SUM) + (e - s), T_FOLD_SUM);
}

/** Decides the parent of entry `t`: observes its self time, or counts it unknown. */
function decide(t: usize): void {
  let b = recordOf(t);
  if (b == 0) return; // its series was removed (stale) since: nowhere to count it
  let w = load<f64>(t, T_WEIGHT);
  let ps = load<u64>(t, T_START);
  let pe = load<u64>(t, T_END);
  let exact = (load<u16>(t, T_FLAGS) & F_INEXACT) == 0 && !(lastDropMs >= load<f64>(t, T_DUE) - 2 * waitMs);
  let covered: u64 = 0;
  let foldEnd = load<u64>(t, T_FOLD_END);
  if (foldEnd != 0) {
    // Folded intervals are summed whole: exact only if the parent's clipping would not cut them.
    if (load<u64>(t, T_FOLD_FIRST) < ps || foldEnd > pe) exact = false;
    covered = load<u64>(t, T_FOLD_SUM);
  }
  if (!exact) {
    count(b, ST_V_UNKNOWN, w);
    return;
  }
  if (pe <= ps) covered = 0;
  else {
    let n = <i32>load<u16>(t, T_COUNT);
    for (let i = 0; i < n; i++) {
      let p = t + T_INTERVALS + (<usize>i << 4);
      let s = load<u64>(p);
      let e = load<u64>(p, 8);
      if (s < ps) s = ps;
      if (e > pe) e = pe;
      if (e > s) covered += e - s;
    }
  }
  let duration: u64 = pe > ps ? pe - ps : 0;
  let self: u64 = duration > covered ? duration - covered : 0;
  let seconds = <f64>self / 1e9;
  observe(buckets, b + (<usize>ST_V_SUM << 3), b + (<usize>ST_V_BUCKETS << 3), seconds, w);
  count(b, ST_V_COUNT, w);
}

/** Decides every entry whose wait ended at or before `nowMs` (+Inf: all); returns the parents decided. */
export function expireSelfTime(nowMs: f64): u32 {
  let decided: u32 = 0;
  while (head != 0) {
    let t = entryAt(head - 1);
    if (load<f64>(t, T_EXPIRES) > nowMs) break;
    let flags = load<u16>(t, T_FLAGS);
    if ((flags & (F_PARENT | F_EMITTED)) == F_PARENT) {
      let due = load<f64>(t, T_DUE);
      if (due > nowMs) {
        unlink(t);
        store<f64>(t, due, T_EXPIRES);
        append(t, refOf(t));
        continue;
      }
      decide(t);
      decided++;
      store<u16>(t, <u16>(flags | F_EMITTED), T_FLAGS);
      if (nowMs == Infinity) free(t);
      else rewait(t, nowMs);
    } else {
      if ((flags & F_PARENT) == 0) orphans += 1;
      free(t);
    }
  }
  return decided;
}
