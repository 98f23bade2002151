// The what-if preview of dimensions: for the attribute keys spans carry, configured as
// dimensions or not, the distinct values per service and key, so that a user sees what a key
// would cost as a label before adding it (GET /api/cardinality, `spanmeter cardinality`).
//
// One span in 2^PREVIEW_SAMPLE_SHIFT (64) has its attributes re-read from the request bytes
// after aggregation; each (service, key) pair is an entry of a fixed table (PREVIEW_ENTRIES, set
// associative by a seeded hash of service and key, PREVIEW_WAYS ways): its sampled spans, a few
// example values and a HyperLogLog sketch of the values (hll.ts). A new pair takes the way of
// its set with the fewest sampled spans, so the most frequent keys stay; a u32 tag per entry
// spares a lookup the other ways' lines. Memory: 512 entries of 1,280 bytes, 655 KB, and 2 KB of
// tags, allocated at start, and the memo's 4 KB (entryFor); nothing per span.
import { previewHash } from './hash';
import { sameBytes } from './bytes';
import { HLL_BYTES, clearSketch, addToSketch, sketchEstimate } from './hll';
import { retain, release, MISSING } from './intern';
import { serviceId } from './attributes';
import { formatAnyValue, valuePtr, valueLen } from './labelvalue';
import { spanCount, spanAt, resourceAt, skipped, SPAN_RESOURCE, SPAN_BODY, SPAN_SIZE, SPAN_ATTRIBUTES } from './staging';
import {
  PREVIEW_ENTRIES, PREVIEW_WAYS, PREVIEW_SAMPLE_SHIFT, PREVIEW_ENTRY_SIZE, PV_SERVICE, PV_KEY_LEN, PV_SPANS, PV_KEY,
  PV_KEY_BYTES, PV_EXAMPLES, PV_EXAMPLE_COUNT, PV_EXAMPLE_BYTES, PV_SKETCH,
} from './layout';

export let entries: usize = 0;
// Per entry a u32 tag, the hash that chose its set when its key came (2 KB, so that a lookup
// reads one line of tags and the entry whose tag matches rather than each way's first line).
let tags: usize = 0;
let seen: u32 = 0; // spans looked at, for the sampling
export let sampled: f64 = 0;

let enabled = true;

/** Turns the preview off (before start; it is on by default). */
export function setPreview(on: bool): void {
  enabled = on;
}

/** Allocates the table (at start). */
export function initPreview(): void {
  if (!enabled) return;
  let bytes = <usize>PREVIEW_ENTRIES * PREVIEW_ENTRY_SIZE;
  entries = heap.alloc(bytes);
  memory.fill(entries, 0, bytes);
  tags = heap.alloc(<usize>PREVIEW_ENTRIES << 2);
  memory.fill(tags, 0, <usize>PREVIEW_ENTRIES << 2);
  for (let i = 0; i < PREVIEW_ENTRIES; i++) clearSketch(entries + <usize>i * PREVIEW_ENTRY_SIZE + PV_SKETCH);
}

/** After a request's aggregation: reads the attributes of its sampled spans. */
export function previewSpans(): void {
  if (entries == 0) return;
  const mask: u32 = (1 << PREVIEW_SAMPLE_SHIFT) - 1;
  // Span i is the (seen + i)th looked at: sampled when that is a multiple of 64.
  let first: u32 = (0 - seen) & mask;
  let count = spanCount;
  seen += count;
  for (let i = first; i < count; i += mask + 1) {
    let span = spanAt(i);
    if (skipped(span)) continue;
    let service = serviceId(resourceAt(load<u32>(span, SPAN_RESOURCE)));
    if (service == MISSING) continue;
    sampled += 1;
    // From the first attribute when the walk saw where (the fields before it hold none).
    let p = <usize>load<u32>(span, SPAN_BODY);
    let from = <usize>load<u32>(span, SPAN_ATTRIBUTES);
    readAttributes(from != 0 ? from : p, p + <usize>load<u32>(span, SPAN_SIZE), service);
  }
}

// The request was checked whole by the walk: no bounds to fail, no shape to re-check here. A
// varint's value (truncated to 32 bits, as tags and lengths fit) and the position past it come
// back packed in one u64, value high, so that nothing is returned through a global.
// @ts-ignore: decorator
@inline function varint32(p: usize): u64 {
  let b = load<u8>(p);
  if (b < 0x80) return (<u64>b << 32) | <u64>(p + 1);
  return varintSlow(p);
}

function varintSlow(p: usize): u64 {
  let v: u64 = 0;
  let shift: u64 = 0;
  while (true) {
    let b = load<u8>(p++);
    v |= (<u64>(b & 0x7f)) << shift;
    if (b < 0x80) break;
    shift += 7;
  }
  return (<u64><u32>v << 32) | <u64>p;
}

/** Walks a Span message's fields and takes each attribute (field 9). */
function readAttributes(p: usize, end: usize, service: u32): void {
  while (p < end) {
    let tag = <u32>load<u8>(p);
    if (tag == 0x4a) {
      // An attribute with a one-byte length (most): a key and a string value in one shape
      // (keyValueString), else keyValue's general read.
      let n = <usize>load<u8>(p, 1);
      if (n < 0x80) {
        let kv = p + 2;
        p = kv + n;
        if (!keyValueString(kv, p, service)) keyValue(kv, p, service);
        continue;
      }
    }
    if (tag < 0x80) p++;
    else {
      let r = varint32(p);
      tag = <u32>(r >>> 32);
      p = <usize><u32>r;
    }
    let wt = tag & 7;
    if (wt == 2) {
      let r = varint32(p);
      let n = <usize>(r >>> 32);
      p = <usize><u32>r;
      if ((tag >>> 3) == 9) keyValue(p, p + n, service);
      p += n;
    } else if (wt == 0) {
      while (load<u8>(p++) >= 0x80) {}
    } else if (wt == 1) {
      p += 8;
    } else if (wt == 5) {
      p += 4;
    } else {
      return; // groups: not in what SDKs send; stop reading this span
    }
  }
}

/**
 * A KeyValue [kv, kvEnd) of the common shape, its key (field 1) then its value (field 2), each
 * with a one-byte length, the value ending the KeyValue: taken as keyValue takes it. False, and
 * nothing taken, for any other shape.
 */
// @ts-ignore: decorator
@inline function keyValueString(kv: usize, kvEnd: usize, service: u32): bool {
  if (kv + 4 > kvEnd) return false;
  let keyLen = <usize>load<u8>(kv, 1);
  if (load<u8>(kv) != 0x0a || keyLen - 1 >= 0x7f) return false; // (a key of 1 to 127 bytes)
  let q = kv + 2 + keyLen;
  if (q + 2 > kvEnd) return false;
  let vLen = <usize>load<u8>(q, 1);
  if (load<u8>(q) != 0x12 || q + 2 + vLen != kvEnd) return false; // (vLen < 0x80 follows)
  takeValue(service, kv + 2, keyLen, q + 2, vLen);
  return true;
}

/** One KeyValue: its key (field 1) and AnyValue (field 2). */
function keyValue(p: usize, end: usize, service: u32): void {
  let key: usize = 0;
  let keyLen: usize = 0;
  let value: usize = 0;
  let vLen: usize = 0;
  while (p < end) {
    let r = varint32(p);
    let tag = <u32>(r >>> 32);
    p = <usize><u32>r;
    let wt = tag & 7;
    if (wt != 2) {
      if (wt == 0) { while (load<u8>(p++) >= 0x80) {} } else if (wt == 1) p += 8; else if (wt == 5) p += 4; else return;
      continue;
    }
    r = varint32(p);
    let n = <usize>(r >>> 32);
    p = <usize><u32>r;
    if ((tag >>> 3) == 1) {
      key = p;
      keyLen = n;
    } else if ((tag >>> 3) == 2) {
      value = p;
      vLen = n;
    }
    p += n;
  }
  if (keyLen == 0) return;
  takeValue(service, key, keyLen, value, vLen);
}

/** Counts a sampled span for (service, key) and adds the value (AnyValue bytes [value, +vLen)) to its sketch. */
// @ts-ignore: decorator
@inline function takeValue(service: u32, key: usize, keyLen: usize, value: usize, vLen: usize): void {
  let e = entryFor(service, key, keyLen);
  store<f64>(e, load<f64>(e, PV_SPANS) + 1, PV_SPANS);
  let t = valueText(value, vLen);
  let v = <usize><u32>(t >>> 32);
  let n = <usize><u32>t;
  if (addToSketch(e + PV_SKETCH, previewHash(v, n))) keepExample(e, v, n);
}

const TEXT: usize = memory.data(24); // an int value's decimal digits, written from the end
const TRUE_TEXT = memory.data<u8>([0x74, 0x72, 0x75, 0x65]);
const FALSE_TEXT = memory.data<u8>([0x66, 0x61, 0x6c, 0x73, 0x65]);

/**
 * The text formatAnyValue gives the AnyValue [value, +vLen), packed (where, high; length, low):
 * a string, an int or a bool as the value's only field taken here (an int of at most 9 varint
 * bytes, so not negative: decimal digits, as putInt writes them), anything else formatted.
 */
// @ts-ignore: decorator
@inline function valueText(value: usize, vLen: usize): u64 {
  if (vLen >= 2) {
    let tag = load<u8>(value);
    let b = <u32>load<u8>(value, 1);
    // one string field (most values), its length one byte: the string itself
    if (tag == 0x0a && <usize>b + 2 == vLen) return (<u64>(value + 2) << 32) | <u64>(vLen - 2);
    if (tag == 0x10 && vLen == 2) return b != 0 ? (<u64>TRUE_TEXT << 32) | 4 : (<u64>FALSE_TEXT << 32) | 5;
    if (tag == 0x18 && vLen <= 10) {
      let last = value + vLen - 1;
      if (load<u8>(last) < 0x80) {
        let p = value + 1;
        let u: u64 = 0;
        let shift: u64 = 0;
        while (p < last && load<u8>(p) >= 0x80) {
          u |= <u64>(load<u8>(p) & 0x7f) << shift;
          shift += 7;
          p++;
        }
        if (p == last) return intText(u | (<u64>load<u8>(last) << shift));
      }
    }
  }
  formatAnyValue(value, vLen);
  return (<u64>valuePtr << 32) | <u64>valueLen;
}

/** The decimal digits of `u` in TEXT, packed as valueText gives them. */
function intText(u: u64): u64 {
  let q = TEXT + 24;
  if (u <= 0xffffffff) {
    let x = <u32>u;
    do {
      store<u8>(--q, <u8>(0x30 + x % 10));
      x /= 10;
    } while (x != 0);
  } else {
    do {
      store<u8>(--q, <u8>(0x30 + <u32>(u % 10)));
      u /= 10;
    } while (u != 0);
  }
  return (<u64>q << 32) | <u64>(TEXT + 24 - q);
}

// A memo in front of the sets (a sampled span's keys are those of the spans sampled before it,
// mostly): per slot, an entry (its index + 1, u16) that held a key whose bytes chose the slot,
// looked at first. It answers only when that entry still holds (service, key) in use, which no
// other entry then does (a pair is kept in one set, the one its hash chooses, and in one way of
// it): the entry the sets would answer. It spares the key's hash and the search of its set
// (callgrind, (b): 7 fewer instructions per span; with 256 slots, 1).
const MEMO_SLOTS: usize = 2048;
const MEMO: usize = memory.data(<i32>MEMO_SLOTS * 2);

/** The entry of (service, key), taken over from the least-sampled way of its set when new. */
function entryFor(service: u32, key: usize, keyLen: usize): usize {
  let kept = keyLen < PV_KEY_BYTES ? keyLen : PV_KEY_BYTES;
  // The key's first 8 bytes (its bytes only: masked under 8; the key lies in the input, which
  // keeps wire.ts INPUT_SLACK bytes readable past any end) and last 8, its length and the service.
  let first = kept >= 8 ? load<u64>(key) : load<u64>(key) & ((<u64>1 << (<u64>kept << 3)) - 1);
  let last = kept >= 8 ? load<u64>(key + kept - 8) : 0;
  let mix = (first ^ (last * 0x9e3779b97f4a7c15) ^ (<u64>keyLen << 48) ^ (<u64>service * 0xc2b2ae3d27d4eb4f)) * 0xff51afd7ed558ccd;
  let m = MEMO + (<usize>(mix >>> 53) << 1);
  let i = <usize>load<u16>(m);
  if (i != 0) {
    let e = entries + (i - 1) * PREVIEW_ENTRY_SIZE;
    if (load<u32>(e, PV_SERVICE) == service && <usize>load<u32>(e, PV_KEY_LEN) == keyLen
        && load<f64>(e, PV_SPANS) > 0 && sameBytes(e + PV_KEY, key, kept)) return e;
  }
  let e = searchSet(service, key, keyLen, kept);
  store<u16>(m, <u16>((e - entries) / PREVIEW_ENTRY_SIZE + 1));
  return e;
}

/** entryFor without the memo. */
function searchSet(service: u32, key: usize, keyLen: usize, kept: usize): usize {
  let h = <u32>(previewHash(key, kept) >>> 32) ^ (service * 0x9e3779b1);
  let slot = <usize>((h % <u32>(PREVIEW_ENTRIES / PREVIEW_WAYS)) * <u32>PREVIEW_WAYS);
  let first = entries + slot * PREVIEW_ENTRY_SIZE;
  let tag = tags + (slot << 2);
  // Only a way whose tag is this hash can hold the key: the others' lines stay unread.
  for (let w = 0; w < PREVIEW_WAYS; w++) {
    if (load<u32>(tag + (<usize>w << 2)) != h) continue;
    let e = first + <usize>w * PREVIEW_ENTRY_SIZE;
    if (load<u32>(e, PV_SERVICE) == service && <usize>load<u32>(e, PV_KEY_LEN) == keyLen
        && load<f64>(e, PV_SPANS) > 0 && sameBytes(e + PV_KEY, key, kept)) return e;
  }
  let least = first;
  let way = 0;
  for (let w = 1; w < PREVIEW_WAYS; w++) {
    let e = first + <usize>w * PREVIEW_ENTRY_SIZE;
    if (load<f64>(e, PV_SPANS) < load<f64>(least, PV_SPANS)) {
      least = e;
      way = w;
    }
  }
  store<u32>(tag + (<usize>way << 2), h);
  release(load<u32>(least, PV_SERVICE));
  retain(service);
  store<u32>(least, service, PV_SERVICE);
  store<u32>(least, <u32>keyLen, PV_KEY_LEN);
  store<f64>(least, 0, PV_SPANS);
  memory.copy(least + PV_KEY, key, kept);
  store<u32>(least, 0, PV_EXAMPLES);
  clearSketch(least + PV_SKETCH);
  return least;
}

/** Keeps a value as an example (the first PV_EXAMPLE_COUNT values that raised the sketch). */
function keepExample(e: usize, p: usize, n: usize): void {
  let count = <i32>load<u32>(e, PV_EXAMPLES);
  if (count >= PV_EXAMPLE_COUNT) return;
  let x = e + PV_EXAMPLES + 4 + <usize>count * (4 + PV_EXAMPLE_BYTES);
  if (n > PV_EXAMPLE_BYTES) n = PV_EXAMPLE_BYTES;
  store<u32>(x, <u32>n);
  memory.copy(x + 4, p, n);
  store<u32>(e, <u32>(count + 1), PV_EXAMPLES);
}

/** Distinct values of entry `i`'s key among its sampled spans (HyperLogLog). */
export function previewEstimate(i: i32): f64 {
  if (entries == 0 || i < 0 || i >= PREVIEW_ENTRIES) return 0;
  return sketchEstimate(entries + <usize>i * PREVIEW_ENTRY_SIZE + PV_SKETCH);
}

// HLL_BYTES is what PV_SKETCH leaves room for (layout.ts: PREVIEW_ENTRY_SIZE - PV_SKETCH).
assert(PREVIEW_ENTRY_SIZE - PV_SKETCH == HLL_BYTES);
