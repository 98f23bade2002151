// Filter policies (Tempo's filter_policies, pkg/spanfilter): which spans a processor counts.
// The host compiles each processor's policies at set-up into condition records (layout.ts
// FILTER_COND_*); per span the core walks them comparing numbers and bytes it already staged,
// and allocates nothing. A span is left out when an exclude policy matches it; else kept when
// an include_any policy matches; else, with include policies, kept when all of them match;
// else kept unless there are include_any policies. A policy matches when all its conditions
// do. A regular expression is evaluated by the host (env.filter_match), once per distinct
// interned string, and its answer kept per string id (answers.ts).
import { SPAN_KIND, SPAN_STATUS_CODE, SPAN_NAME_PTR, SPAN_NAME_LEN, SPAN_SLOTS, RES_SLOTS, SLOT_SIZE } from './staging';
import { intern, MISSING, MAX_VALUE_BYTES, stringPtr, stringLen } from './intern';
import { spanNameId } from './attributes';
import { doubleOf, intOf, boolOf, stringOf, valuePtr, valueLen } from './labelvalue';
import { Answers, newAnswers, answerOf, keepAnswer } from './answers';
import { bytesEqual } from './bytes';
import {
  FILTER_COND_POLICY, FILTER_COND_CATEGORY, FILTER_COND_TARGET, FILTER_COND_TEST, FILTER_COND_SLOT, FILTER_COND_ARG,
  FILTER_COND_VALUE, FILTER_COND_SIZE, FILTER_EXCLUDE, FILTER_INCLUDE_ANY, FILTER_INCLUDE, FILTER_ON_ANY, FILTER_ON_KIND,
  FILTER_ON_STATUS, FILTER_ON_NAME, FILTER_ON_RESOURCE, FILTER_TEST_MASK, FILTER_TEST_STRING, FILTER_TEST_INT,
  FILTER_TEST_DOUBLE, FILTER_TEST_BOOL, FILTER_TEST_PATTERN,
} from './layout';

// @ts-ignore: decorator
@external("env", "filter_match")
declare function hostMatch(p: usize, n: usize): u32;

// @ts-ignore: decorator
@unmanaged export class Filter {
  /** Condition records (copied); FILTER_COND_POLICY rewritten to the index of the next policy's first record. */
  conds: usize;
  count: i32;
  hasInclude: bool;
  hasIncludeAny: bool;
  /** Spans left out so far. */
  filtered: f64;
  /**
   * Per condition on a resource attribute, 8 bytes: the address of the AnyValue last judged (0 =
   * none) and the answer. Every span of a resource points at the same bytes, so a resource is
   * judged once per request (forgetFilterMemo at the start of each).
   */
  memo: usize;
}

/** Answers of the regular expressions, shared by both processors' filters. */
let answers: Answers = changetype<Answers>(0);

/**
 * A filter from `count` records at `records` (strings they point at follow them); null when
 * count is 0. Records must be sorted by category, then policy.
 */
export function newFilter(records: usize, count: i32, bytes: usize): Filter {
  let f = changetype<Filter>(heap.alloc(offsetof<Filter>()));
  f.count = count;
  f.filtered = 0;
  f.hasInclude = false;
  f.hasIncludeAny = false;
  f.conds = heap.alloc(bytes > 0 ? bytes : 1);
  f.memo = heap.alloc(<usize>count * 8);
  memory.fill(f.memo, 0, <usize>count * 8);
  memory.copy(f.conds, records, bytes);
  for (let i = 0; i < count; i++) {
    let c = f.conds + <usize>i * FILTER_COND_SIZE;
    let category = load<u32>(c, FILTER_COND_CATEGORY);
    if (category == FILTER_INCLUDE) f.hasInclude = true;
    if (category == FILTER_INCLUDE_ANY) f.hasIncludeAny = true;
    // Strings: an offset from the records becomes an address.
    if (load<u32>(c, FILTER_COND_TEST) == FILTER_TEST_STRING) {
      store<u64>(c, <u64>(f.conds + <usize>load<u64>(c, FILTER_COND_VALUE)), FILTER_COND_VALUE);
    }
  }
  // Each record's policy word becomes where the next policy starts, so that a policy that fails
  // one condition skips the rest.
  let i = 0;
  while (i < count) {
    let c = f.conds + <usize>i * FILTER_COND_SIZE;
    let policy = load<u32>(c, FILTER_COND_POLICY);
    let category = load<u32>(c, FILTER_COND_CATEGORY);
    let j = i + 1;
    while (j < count) {
      let d = f.conds + <usize>j * FILTER_COND_SIZE;
      if (load<u32>(d, FILTER_COND_POLICY) != policy || load<u32>(d, FILTER_COND_CATEGORY) != category) break;
      j++;
    }
    for (let k = i; k < j; k++) store<u32>(f.conds + <usize>k * FILTER_COND_SIZE, <u32>j, FILTER_COND_POLICY);
    i = j;
  }
  if (changetype<usize>(answers) == 0) answers = newAnswers();
  return f;
}

/** The host's pattern bits for string id `id` (bytes [p, p+n) when it is not interned). */
function patternBits(id: u32, p: usize, n: usize): u32 {
  if (id == MISSING) return hostMatch(p, n);
  let a = answerOf(answers, id);
  return a != 0 ? load<u32>(a) : keepAnswer(answers, id, hostMatch(stringPtr(id), stringLen(id)));
}

/** Whether the string [p, p+n) passes a FILTER_TEST_STRING or FILTER_TEST_PATTERN condition. */
function stringPasses(c: usize, test: u32, p: usize, n: usize, id: u32): bool {
  let arg = load<u32>(c, FILTER_COND_ARG);
  if (test == FILTER_TEST_STRING) {
    return <usize>arg == n && bytesEqual(<usize>load<u64>(c, FILTER_COND_VALUE), p, n);
  }
  if (test != FILTER_TEST_PATTERN) return false;
  // Interned for its answer; a value past the longest interned one is asked about every time.
  if (id == 0 && n != 0) id = n <= MAX_VALUE_BYTES ? intern(p, n) : MISSING;
  return (patternBits(id, p, n) & (<u32>1 << arg)) != 0;
}

/** Forgets the answers kept per resource attribute: the request bytes they pointed at are gone. Call before each request's spans. */
export function forgetFilterMemo(f: Filter): void {
  memory.fill(f.memo, 0, <usize>f.count * 8);
}

/** Whether condition `i` of `f` holds for the span. */
function holds(f: Filter, i: i32, resource: usize, span: usize): bool {
  let c = f.conds + <usize>i * FILTER_COND_SIZE;
  let target = load<u32>(c, FILTER_COND_TARGET);
  let test = load<u32>(c, FILTER_COND_TEST);
  if (target == FILTER_ON_ANY) return true;
  if (target == FILTER_ON_KIND || target == FILTER_ON_STATUS) {
    let v = load<i32>(span + (target == FILTER_ON_KIND ? SPAN_KIND : SPAN_STATUS_CODE));
    return test == FILTER_TEST_MASK && v >= 0 && v < 32 && (load<u32>(c, FILTER_COND_ARG) & (<u32>1 << <u32>v)) != 0;
  }
  if (target == FILTER_ON_NAME) {
    let p = <usize>load<u32>(span, SPAN_NAME_PTR);
    let n = <usize>load<u32>(span, SPAN_NAME_LEN);
    return stringPasses(c, test, p, n, test == FILTER_TEST_PATTERN ? spanNameId(span) : 0);
  }
  // An attribute: absent never matches; present, it is read as Go's typed getters read it.
  let slot = load<i32>(c, FILTER_COND_SLOT);
  if (slot < 0) return false;
  let s = (target == FILTER_ON_RESOURCE ? resource + RES_SLOTS : span + SPAN_SLOTS) + <usize>slot * SLOT_SIZE;
  let p = <usize>load<u32>(s);
  if (p == 0) return false;
  let n = <usize>load<u32>(s, 4);
  if (target == FILTER_ON_RESOURCE) {
    let m = f.memo + (<usize>i << 3);
    if (<usize>load<u32>(m) == p) return load<u32>(m, 4) != 0;
    let answer = valueHolds(c, test, p, n);
    store<u32>(m, <u32>p);
    store<u32>(m, answer ? 1 : 0, 4);
    return answer;
  }
  return valueHolds(c, test, p, n);
}

/** Whether the attribute value (AnyValue at [p, p+n)) passes condition record `c`. */
function valueHolds(c: usize, test: u32, p: usize, n: usize): bool {
  switch (test) {
    case FILTER_TEST_INT: return intOf(p, n) == load<i64>(c, FILTER_COND_VALUE);
    case FILTER_TEST_DOUBLE: return doubleOf(p, n) == reinterpret<f64>(load<u64>(c, FILTER_COND_VALUE));
    case FILTER_TEST_BOOL: return boolOf(p, n) == (load<u64>(c, FILTER_COND_VALUE) != 0);
    default: {
      stringOf(p, n);
      return stringPasses(c, test, valuePtr, valueLen, 0);
    }
  }
}

/** Whether the filter keeps the span (counts it in `filtered` when not). */
export function keeps(f: Filter, resource: usize, span: usize): bool {
  let n = f.count;
  let i = 0;
  while (i < n) {
    let c = f.conds + <usize>i * FILTER_COND_SIZE;
    let next = <i32>load<u32>(c, FILTER_COND_POLICY);
    let category = load<u32>(c, FILTER_COND_CATEGORY);
    let match = true;
    for (let k = i; k < next; k++) {
      if (!holds(f, k, resource, span)) {
        match = false;
        break;
      }
    }
    if (category == FILTER_EXCLUDE) {
      if (match) return drop(f);
    } else if (category == FILTER_INCLUDE_ANY) {
      if (match) return true;
    } else if (!match) {
      return drop(f);
    }
    i = next;
  }
  return f.hasInclude || !f.hasIncludeAny || drop(f);
}

function drop(f: Filter): bool {
  f.filtered += 1;
  return false;
}
