// The Collector spanmetrics connector's include_instrumentation_scope: a span whose
// instrumentation scope name is one of the configured names gets its scope's name and version
// (non-empty) as two more span-metrics labels (span.instrumentation.scope.name / .version).
//
// While it is on, the walker stages one record per ScopeSpans (its InstrumentationScope's name
// and version where they sit in the request) and each span names its record (SPAN_SCOPE). A
// record's ids are worked out once per request, at its first span: nothing per span but a look-up.
import { rp, seek, readTag, readLen, skipField, failCode } from './wire';
import { intern } from './intern';
import { M_SCOPE } from './layout';

/** Whether the walker stages scopes (include_instrumentation_scope is not empty). */
export let stageScopes: bool = false;

// Names whose spans get the labels: ptr u32, len u32 each (copied).
const MAX_NAMES: i32 = 64;
const NAMES: usize = memory.data(MAX_NAMES * 8);
let nameCount: i32 = 0;

// Per ScopeSpans of the request: name ptr u32, name len u32, version ptr u32, version len u32,
// name id u32 (NONE until worked out; 0: not included), version id u32.
const REC: usize = 24;
const NONE: u32 = 0xfffffffe;
let records: usize = 0;
let recordCap: u32 = 0;
let recordCount: u32 = 0;

/** Adds a scope name (UTF-8, copied) whose spans get the labels; false past MAX_NAMES. */
export function includeScope(p: usize, n: usize): bool {
  if (nameCount >= MAX_NAMES) return false;
  let copy = heap.alloc(n > 0 ? n : 1);
  memory.copy(copy, p, n);
  store<u32>(NAMES + <usize>nameCount * 8, <u32>copy);
  store<u32>(NAMES + <usize>nameCount * 8, <u32>n, 4);
  nameCount++;
  stageScopes = true;
  return true;
}

export function resetScopes(): void {
  recordCount = 0;
}

/** A new ScopeSpans: its record's index (its scope unknown until noteScope). */
export function beginScopeSpans(): u32 {
  if (recordCount == recordCap) {
    recordCap = recordCap == 0 ? 64 : recordCap << 1;
    records = records == 0 ? heap.alloc(<usize>recordCap * REC) : heap.realloc(records, <usize>recordCap * REC);
  }
  let r = records + <usize>recordCount * REC;
  memory.fill(r, 0, REC);
  store<u32>(r, NONE, 16);
  return recordCount++;
}

/**
 * The InstrumentationScope of record `index` at [rp, end), already checked by validateMessage:
 * its name (field 1) and version (field 2). Leaves rp at `end`.
 */
export function noteScope(index: u32, end: usize): void {
  let r = records + <usize>index * REC;
  while (rp < end) {
    let tag = readTag(end, M_SCOPE);
    if (failCode != 0) return;
    let field = tag >>> 3;
    if ((field == 1 || field == 2) && (tag & 7) == 2) {
      let n = readLen(end, M_SCOPE, field);
      if (failCode != 0) return;
      let at = r + (field == 1 ? 0 : 8);
      store<u32>(at, <u32>rp);
      store<u32>(at, <u32>n, 4);
      seek(rp + n);
    } else {
      skipField(tag & 7, field, end, M_SCOPE, 1);
    }
    if (failCode != 0) return;
  }
}

function included(p: usize, n: usize): bool {
  if (n == 0) return false; // the connector: a scope without a name gets no labels
  for (let i = 0; i < nameCount; i++) {
    let x = NAMES + <usize>i * 8;
    if (<usize>load<u32>(x, 4) == n && memory.compare(<usize>load<u32>(x), p, n) == 0) return true;
  }
  return false;
}

/** Stores the scope name and version ids of record `index` at `at` (two words; 0, 0 when its name is not included). */
export function scopeWords(index: u32, at: usize): void {
  let r = records + <usize>index * REC;
  if (load<u32>(r, 16) == NONE) {
    let p = <usize>load<u32>(r);
    let n = <usize>load<u32>(r, 4);
    let on = included(p, n);
    store<u32>(r, on ? intern(p, n) : 0, 16);
    store<u32>(r, on ? intern(<usize>load<u32>(r, 8), <usize>load<u32>(r, 12)) : 0, 20);
  }
  store<u32>(at, load<u32>(r, 16));
  store<u32>(at, load<u32>(r, 20), 4);
}
