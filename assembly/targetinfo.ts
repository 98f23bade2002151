// Tempo's traces_target_info (span-metrics enable_target_info): one series per distinct resource
// whose spans were counted, labelled job and instance (built from service.namespace, service.name
// and service.instance.id as Tempo's FindServiceLabels builds them) and every other resource
// attribute; and the job/instance words the span-metrics key gains with it.
//
// While it is on, the walker stages each resource's attributes (key and value where they sit in
// the request: noteResourceAttribute). A resource's job and instance are interned once per
// request, and its target_info key built and upserted once per request, at its first counted
// span: nothing per span but a look-up by resource index. The table is a series table like the
// others (budget, overflow, staleness); its key: job, instance, then up to TI_MAX_ATTRIBUTES
// (name, value) pairs of interned ids sorted by name bytes, so attribute order does not make a
// second series.
import { intern, stringPtr, stringLen, MISSING, MAX_VALUE_BYTES } from './intern';
import { formatAnyValue, valuePtr, valueLen } from './labelvalue';
import { RES_SLOTS, RES_SERVICE_PTR, RES_SERVICE_LEN, SLOT_SIZE } from './staging';
import { serviceId } from './attributes';
import { SeriesTable, newSeriesTable, upsert } from './series';
import { TI_KEY_JOB, TI_KEY_INSTANCE, TI_KEY_ATTRIBUTES, TI_MAX_ATTRIBUTES, TI_V_VALUE } from './layout';

export let targetTable: SeriesTable = changetype<SeriesTable>(0);
/** Whether the walker stages resource attributes (target_info is on). */
export let stageResourceAttributes: bool = false;
let instanceLabel: bool = true;
let namespaceSlot: i32 = -1;
let instanceSlot: i32 = -1;

// Attribute keys left out of target_info (target_info_excluded_dimensions): ptr u32, len u32 each.
const MAX_EXCLUDED: i32 = 64;
const EXCLUDED: usize = memory.data(MAX_EXCLUDED * 8);
let excludedCount: i32 = 0;

// Staged resource attributes of the request: key ptr, key len, value ptr, value len (u32 each).
const ATTR: usize = 16;
let attrs: usize = 0;
let attrCount: u32 = 0;
let attrCap: u32 = 0;
// Per resource index of the request: first attribute u32, attribute count u32, job id u32 (NONE
// until interned), instance id u32, target_info done u32.
const PER: usize = 20;
const NONE: u32 = 0xfffffffe;
let per: usize = 0;
let perCap: u32 = 0;
let current: usize = 0;

const KEY_WORDS: i32 = TI_KEY_ATTRIBUTES + 2 * TI_MAX_ATTRIBUTES;
const KEY: usize = memory.data(KEY_WORDS * 4);
const JOB: usize = memory.data(<i32>MAX_VALUE_BYTES * 2 + 8);

// "service.name", "service.namespace", "service.instance.id": represented by job and instance.
const SERVICE_NAME: usize = memory.data<u8>([0x73, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65, 0x2e, 0x6e, 0x61, 0x6d, 0x65]);
const SERVICE_NAMESPACE: usize = memory.data<u8>([
  0x73, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65, 0x2e, 0x6e, 0x61, 0x6d, 0x65, 0x73, 0x70, 0x61, 0x63, 0x65,
]);
const SERVICE_INSTANCE_ID: usize = memory.data<u8>([
  0x73, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65, 0x2e, 0x69, 0x6e, 0x73, 0x74, 0x61, 0x6e, 0x63, 0x65, 0x2e, 0x69, 0x64,
]);

/** Adds an attribute key (UTF-8, copied) left out of target_info; false past MAX_EXCLUDED. */
export function excludeTargetInfoKey(p: usize, n: usize): bool {
  if (excludedCount >= MAX_EXCLUDED) return false;
  let copy = heap.alloc(n > 0 ? n : 1);
  memory.copy(copy, p, n);
  store<u32>(EXCLUDED + <usize>excludedCount * 8, <u32>copy);
  store<u32>(EXCLUDED + <usize>excludedCount * 8, <u32>n, 4);
  excludedCount++;
  return true;
}

/**
 * Turns target_info on (before spanmetrics_configure): the watched-key slots of service.namespace
 * and service.instance.id, and whether instance labels are set (enable_instance_label).
 */
export function configureTargetInfo(nsSlot: i32, idSlot: i32, withInstance: bool): void {
  namespaceSlot = nsSlot;
  instanceSlot = idSlot;
  instanceLabel = withInstance;
  stageResourceAttributes = true;
  // One series per record (a gauge); every key word an interned id.
  targetTable = newSeriesTable(KEY_WORDS, TI_V_VALUE + 1, 0, 1);
}

export function targetInfoEnabled(): bool {
  return changetype<usize>(targetTable) != 0;
}

/** A new request: forget the staged attributes and every resource's ids. */
export function resetTargetInfo(): void {
  attrCount = 0;
}

/** The walker starts resource `index`'s ResourceSpans. */
export function beginResource(index: u32): void {
  if (index >= perCap) {
    let cap: u32 = perCap == 0 ? 64 : perCap;
    while (index >= cap) cap <<= 1;
    per = per == 0 ? heap.alloc(<usize>cap * PER) : heap.realloc(per, <usize>cap * PER);
    memory.fill(per + <usize>perCap * PER, 0, <usize>(cap - perCap) * PER);
    perCap = cap;
  }
  current = per + <usize>index * PER;
  store<u32>(current, attrCount);
  store<u32>(current, 0, 4);
  store<u32>(current, NONE, 8);
  store<u32>(current, 0, 12);
  store<u32>(current, 0, 16);
}

/** One attribute of the current resource: its key and AnyValue where they sit in the request. */
export function noteResourceAttribute(keyPtr: usize, keyLen: usize, vp: usize, vn: usize): void {
  if (attrCount == attrCap) {
    attrCap = attrCap == 0 ? 256 : attrCap << 1;
    attrs = attrs == 0 ? heap.alloc(<usize>attrCap * ATTR) : heap.realloc(attrs, <usize>attrCap * ATTR);
  }
  let a = attrs + <usize>attrCount * ATTR;
  store<u32>(a, <u32>keyPtr);
  store<u32>(a, <u32>keyLen, 4);
  store<u32>(a, <u32>vp, 8);
  store<u32>(a, <u32>vn, 12);
  attrCount++;
  store<u32>(current, load<u32>(current, 4) + 1, 4);
}

/** The interned value of the resource's attribute in watched slot `slot`, "" (0) when absent. */
function slotId(resource: usize, slot: i32): u32 {
  if (slot < 0) return 0;
  let s = resource + RES_SLOTS + <usize>slot * SLOT_SIZE;
  if (load<u32>(s) == 0) return 0;
  formatAnyValue(<usize>load<u32>(s), <usize>load<u32>(s, 4));
  return intern(valuePtr, valueLen);
}

/** The per-request entry of resource `index`, with its job and instance interned on first use. */
function entryOf(index: u32, resource: usize): usize {
  let e = per + <usize>index * PER;
  if (load<u32>(e, 8) != NONE) return e;
  // Tempo's FindServiceLabels: job is "<service.namespace>/<service.name>", or the name alone
  // without a namespace, or "" without a name; instance is service.instance.id.
  let job: u32 = 0;
  if (load<u32>(resource, RES_SERVICE_PTR) != 0) {
    let name = serviceId(resource);
    let ns = slotId(resource, namespaceSlot);
    if (name == MISSING || ns == MISSING) job = MISSING;
    else if (name != 0 && ns == 0) job = name;
    else if (name != 0) {
      let nsLen = stringLen(ns);
      let nameLen = stringLen(name);
      memory.copy(JOB, stringPtr(ns), nsLen);
      store<u8>(JOB + nsLen, 0x2f);
      memory.copy(JOB + nsLen + 1, stringPtr(name), nameLen);
      job = intern(JOB, nsLen + 1 + nameLen);
    }
  }
  store<u32>(e, job, 8);
  store<u32>(e, instanceLabel ? slotId(resource, instanceSlot) : 0, 12);
  return e;
}

/** The job label's id of resource `index` (0: none). */
export function jobOf(index: u32, resource: usize): u32 {
  return load<u32>(entryOf(index, resource), 8);
}

/** The instance label's id of resource `index` (0: none, or enable_instance_label off). */
export function instanceOf(index: u32, resource: usize): u32 {
  return load<u32>(entryOf(index, resource), 12);
}

function isKey(p: usize, n: usize, key: usize, keyLen: usize): bool {
  return n == keyLen && memory.compare(p, key, n) == 0;
}

function excluded(p: usize, n: usize): bool {
  if (n == 0) return true; // an empty key (out of spec)
  let c = load<u8>(p);
  if (c >= 0x30 && c <= 0x39) return true; // a key starting with a digit
  if (isKey(p, n, SERVICE_NAME, 12) || isKey(p, n, SERVICE_NAMESPACE, 17) || isKey(p, n, SERVICE_INSTANCE_ID, 19)) return true;
  for (let i = 0; i < excludedCount; i++) {
    let x = EXCLUDED + <usize>i * 8;
    if (isKey(p, n, <usize>load<u32>(x), <usize>load<u32>(x, 4))) return true;
  }
  return false;
}

/** Byte order of two interned strings: <0, 0, >0. */
function compareIds(a: u32, b: u32): i32 {
  let la = stringLen(a);
  let lb = stringLen(b);
  let c = memory.compare(stringPtr(a), stringPtr(b), la < lb ? la : lb);
  return c != 0 ? c : <i32>la - <i32>lb;
}

/**
 * Upserts resource `index`'s target_info series, once per request (later calls return at once).
 * As Tempo builds it: every attribute but an empty key, a key starting with a digit, the
 * service.* three and the excluded ones; a later value of the same key replaces an earlier one
 * and an empty value removes it; the series exists only with job or instance and one more label.
 */
export function upsertTargetInfo(index: u32, resource: usize, now: u32): void {
  let e = entryOf(index, resource);
  if (load<u32>(e, 16) != 0) return;
  store<u32>(e, 1, 16);
  let job = load<u32>(e, 8);
  let instance = load<u32>(e, 12);
  if (job == 0 && instance == 0) return;
  let pairs: i32 = 0;
  let missing = false; // a string not stored (series limit reached): the overflow series
  let first = load<u32>(e);
  let end = first + load<u32>(e, 4);
  let names = KEY + (<usize>TI_KEY_ATTRIBUTES << 2);
  for (let i = first; i < end; i++) {
    let a = attrs + <usize>i * ATTR;
    let kp = <usize>load<u32>(a);
    let kn = <usize>load<u32>(a, 4);
    if (excluded(kp, kn)) continue;
    let name = intern(kp, kn);
    formatAnyValue(<usize>load<u32>(a, 8), <usize>load<u32>(a, 12));
    let value = intern(valuePtr, valueLen);
    if (name == MISSING || value == MISSING) {
      missing = true;
      continue;
    }
    // Where the name goes in the sorted pairs (or is).
    let at = 0;
    let c: i32 = 1;
    while (at < pairs) {
      c = compareIds(load<u32>(names + (<usize>at << 3)), name);
      if (c >= 0) break;
      at++;
    }
    let p = names + (<usize>at << 3);
    if (at < pairs && c == 0) {
      if (value != 0) {
        store<u32>(p, value, 4);
      } else {
        memory.copy(p, p + 8, <usize>(pairs - at - 1) << 3);
        pairs--;
      }
      continue;
    }
    if (value == 0 || at >= TI_MAX_ATTRIBUTES) continue;
    let move = (pairs < TI_MAX_ATTRIBUTES ? pairs : TI_MAX_ATTRIBUTES - 1) - at;
    memory.copy(p + 8, p, <usize>move << 3);
    store<u32>(p, name);
    store<u32>(p, value, 4);
    if (pairs < TI_MAX_ATTRIBUTES) pairs++;
  }
  if (pairs == 0 && !missing) return;
  memory.fill(names + (<usize>pairs << 3), 0, <usize>(TI_MAX_ATTRIBUTES - pairs) << 3);
  store<u32>(KEY, missing ? MISSING : job, TI_KEY_JOB << 2);
  store<u32>(KEY, instance, TI_KEY_INSTANCE << 2);
  let r = upsert(targetTable, KEY, now) + targetTable.valuesOffset;
  store<f64>(r, 1, TI_V_VALUE << 3);
}
