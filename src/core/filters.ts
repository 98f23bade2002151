// Filter policies as the core takes them: each attribute of each policy becomes one condition
// record (assembly/layout.ts FILTER_COND_*), sorted by category and policy, with its strings
// after the records; regular expressions are numbered, and the host answers env.filter_match
// with one bit per expression (the core asks once per distinct string, assembly/filters.ts).
import { filterRegex, filterTarget, SPAN_KIND_NAMES, STATUS_CODE_NAMES, type FilterPolicy, type PolicyMatch } from '../config/filters.js';
import * as L from './layout.js';

const encoder = new TextEncoder();

/** The regular expressions of every processor's policies, in the bit order of env.filter_match. */
export class FilterPatterns {
  readonly list: RegExp[] = [];

  /** Bit k set: `value` matches expression k. */
  readonly match = (value: string): number => {
    let bits = 0;
    for (let k = 0; k < this.list.length; k++) if (this.list[k]!.test(value)) bits |= 1 << k;
    return bits >>> 0;
  };

  add(pattern: string): number {
    if (this.list.length >= L.MAX_FILTER_PATTERNS) {
      throw new Error(`too many regular expressions in filter_policies (at most ${L.MAX_FILTER_PATTERNS})`);
    }
    this.list.push(filterRegex(pattern));
    return this.list.length - 1;
  }
}

interface Condition {
  policy: number;
  category: number;
  target: number;
  test: number;
  slot: number;
  arg: number;
  /** i64 / f64 / bool as the record's u64, or the string's bytes. */
  value: bigint | number | boolean | Uint8Array;
}

/** The bit set of enum values (kinds or status codes) whose name the strict value or the expression selects. */
function enumMask(names: readonly string[], match: PolicyMatch, value: string): number {
  if (match.match_type === 'strict') return 1 << names.indexOf(value);
  const re = filterRegex(value);
  return names.reduce((bits, name, v) => (re.test(name) ? bits | (1 << v) : bits), 0);
}

function conditions(match: PolicyMatch, policy: number, category: number, watch: (key: string) => number, patterns: FilterPatterns): Condition[] {
  const out: Condition[] = [];
  const base = { policy, category, slot: -1, arg: 0, value: 0 as Condition['value'] };
  if (match.attributes.length === 0) out.push({ ...base, target: L.FILTER_ON_ANY, test: L.FILTER_TEST_MASK });
  for (const { key, value } of match.attributes) {
    const t = filterTarget(key);
    if (typeof t === 'string') throw new Error(t); // the config check refused it already
    if (t.on === 'kind' || t.on === 'status') {
      const names = t.on === 'kind' ? SPAN_KIND_NAMES : STATUS_CODE_NAMES;
      const target = t.on === 'kind' ? L.FILTER_ON_KIND : L.FILTER_ON_STATUS;
      out.push({ ...base, target, test: L.FILTER_TEST_MASK, arg: enumMask(names, match, String(value)) });
      continue;
    }
    const target = t.on === 'name' ? L.FILTER_ON_NAME : t.on === 'resource' ? L.FILTER_ON_RESOURCE : L.FILTER_ON_SPAN;
    const slot = 'name' in t ? watch(t.name) : -1;
    if (match.match_type === 'regex') {
      out.push({ ...base, target, slot, test: L.FILTER_TEST_PATTERN, arg: patterns.add(String(value)) });
    } else if (typeof value === 'string') {
      const bytes = encoder.encode(value);
      out.push({ ...base, target, slot, test: L.FILTER_TEST_STRING, arg: bytes.length, value: bytes });
    } else if (typeof value === 'boolean') {
      out.push({ ...base, target, slot, test: L.FILTER_TEST_BOOL, value });
    } else if (Number.isInteger(value)) {
      // YAML 200 is an int (Go's yaml too); 2.5 a float. (A YAML 2.0 is a float to Go, an int here.)
      out.push({ ...base, target, slot, test: L.FILTER_TEST_INT, value: BigInt(value) });
    } else {
      out.push({ ...base, target, slot, test: L.FILTER_TEST_DOUBLE, value });
    }
  }
  return out;
}

/**
 * The records filter_configure takes for `policies` (an empty buffer for none). `watch` gives a
 * key's watched-attribute slot; regular expressions are added to `patterns`.
 */
export function filterRecords(policies: readonly FilterPolicy[], watch: (key: string) => number, patterns: FilterPatterns): { bytes: Uint8Array; count: number } {
  const all: Condition[] = [];
  policies.forEach((p, i) => {
    if (p.exclude) all.push(...conditions(p.exclude, i, L.FILTER_EXCLUDE, watch, patterns));
    if (p.include_any) all.push(...conditions(p.include_any, i, L.FILTER_INCLUDE_ANY, watch, patterns));
    if (p.include) all.push(...conditions(p.include, i, L.FILTER_INCLUDE, watch, patterns));
  });
  all.sort((a, b) => a.category - b.category || a.policy - b.policy);
  const strings = all.reduce((n, c) => n + (c.value instanceof Uint8Array ? c.value.length : 0), 0);
  const bytes = new Uint8Array(all.length * L.FILTER_COND_SIZE + strings);
  const view = new DataView(bytes.buffer);
  let at = all.length * L.FILTER_COND_SIZE;
  all.forEach((c, i) => {
    const r = i * L.FILTER_COND_SIZE;
    view.setUint32(r + L.FILTER_COND_POLICY, c.policy, true);
    view.setUint32(r + L.FILTER_COND_CATEGORY, c.category, true);
    view.setUint32(r + L.FILTER_COND_TARGET, c.target, true);
    view.setUint32(r + L.FILTER_COND_TEST, c.test, true);
    view.setInt32(r + L.FILTER_COND_SLOT, c.slot, true);
    view.setUint32(r + L.FILTER_COND_ARG, c.arg >>> 0, true);
    const v = c.value;
    if (v instanceof Uint8Array) {
      view.setBigUint64(r + L.FILTER_COND_VALUE, BigInt(at), true);
      bytes.set(v, at);
      at += v.length;
    } else if (typeof v === 'bigint') {
      view.setBigInt64(r + L.FILTER_COND_VALUE, v, true);
    } else if (typeof v === 'boolean') {
      view.setBigUint64(r + L.FILTER_COND_VALUE, v ? 1n : 0n, true);
    } else {
      view.setFloat64(r + L.FILTER_COND_VALUE, v, true);
    }
  });
  return { bytes, count: all.length };
}
