// What a key's spec is, and how a raw value (YAML, env var, flag, in-process object) is walked
// through the specs. A spec is typed by the value it yields: `ObjectSpec<Config>` must name every
// key of Config, no other, each with a check that yields exactly that key's type, so the key
// table (keys.ts), the type (types.ts) and the defaults (defaults.ts) cannot drift apart and
// still compile (test/config/tie.test.ts shows tsc refusing each kind of drift).
import { closest, describe } from './errors.js';

export type Path = readonly (string | number)[];

/** "processor.span_metrics.histogram_buckets[2]" */
export function pathString(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/** Reports a problem at `path` (atKey: the problem is the key itself, e.g. unknown). */
export type Report = (path: Path, message: string, atKey?: boolean) => void;

export const INVALID: unique symbol = Symbol('invalid');

/**
 * A setting's check. Invariant in T (`in out`): a check yielding 'tempo' does not fit a key typed
 * 'tempo' | 'otel', nor one yielding number a key typed string.
 */
export interface LeafSpec<in out T> {
  kind: 'leaf';
  /** Type as the docs and --help name it. */
  type: string;
  /** Validates a raw value (YAML, or fromText's result); returns the value to store, or INVALID after reporting. */
  check(raw: unknown, path: Path, report: Report): T | typeof INVALID;
  /** Turns an env var or flag string into a raw value for check. */
  fromText(text: string): unknown;
}

/** A section: one spec per key of T, all of them and no other. */
export interface ObjectSpec<T> {
  kind: 'object';
  fields: { [K in keyof T]-?: SpecOf<T[K]> };
  /** Known keys that are not (yet) accepted, with the message to give instead of "unknown key". */
  hints?: Record<string, string>;
}

/**
 * Whether a value of type T is a section (an interface: its keys are config keys) rather than a
 * leaf (a scalar, a list or a free mapping like Record<string, string>). Wrapped in [] so that
 * unions ('s' | 'ms', boolean) stay whole.
 */
type IsSection<T> = [T] extends [readonly unknown[]] ? false : [T] extends [object] ? (string extends keyof T ? false : true) : false;

/** The spec a value of type T needs: a section's or a leaf's. */
export type SpecOf<T> = IsSection<T> extends true ? ObjectSpec<T> : LeafSpec<T>;

/** Every settable key of T as a dotted path: "log_level" | "otlp.http_endpoint" | …; sections left out. */
export type KeyPath<T> = {
  [K in keyof T & string]-?: IsSection<T[K]> extends true ? `${K}.${KeyPath<T[K]>}` : K;
}[keyof T & string];

/** Any spec, its value type forgotten: what the walk works on. */
export type AnySpec = AnyLeafSpec | AnyObjectSpec;

export interface AnyLeafSpec {
  kind: 'leaf';
  type: string;
  check(raw: unknown, path: Path, report: Report): unknown;
  fromText(text: string): unknown;
}

export interface AnyObjectSpec {
  kind: 'object';
  fields: Record<string, AnySpec>;
  hints?: Record<string, string>;
}

/** A typed section as the walk sees it. */
export function anySpec<T>(spec: ObjectSpec<T>): AnyObjectSpec {
  return spec as AnyObjectSpec;
}

// ---------------------------------------------------------------------------------------------
// Walking a parsed value

export interface Assignment {
  path: string[];
  value: unknown;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function unknownKeyMessage(spec: AnyObjectSpec, key: string): string {
  const hint = spec.hints && Object.hasOwn(spec.hints, key) ? spec.hints[key] : undefined;
  if (hint) return hint;
  const guess = closest(key, Object.keys(spec.fields));
  return guess ? `unknown key (did you mean ${guess}?)` : 'unknown key';
}

/**
 * Checks `raw` against `spec` and appends one assignment per valid leaf present. A null value
 * counts as absent (the default, or an earlier source, stays). Problems go to `report`.
 */
export function walk(spec: AnySpec, raw: unknown, path: string[], report: Report, out: Assignment[]): void {
  if (raw === null || raw === undefined) return;
  if (spec.kind === 'leaf') {
    const v = spec.check(raw, path, report);
    if (v !== INVALID) out.push({ path, value: v });
    return;
  }
  if (!isPlainObject(raw)) {
    report(path, `expected a mapping, got ${describe(raw)}`);
    return;
  }
  for (const [key, value] of Object.entries(raw)) {
    const child = Object.hasOwn(spec.fields, key) ? spec.fields[key] : undefined;
    if (!child) report([...path, key], unknownKeyMessage(spec, key), true);
    else walk(child, value, [...path, key], report, out);
  }
}

/**
 * Checks a mapping against an object spec whose fields are all leaves (or objects of leaves),
 * without assigning anything: returns the checked values, or INVALID after reporting.
 */
export function checkRecord(
  spec: AnyObjectSpec, raw: unknown, path: Path, report: Report,
): Record<string, unknown> | typeof INVALID {
  if (!isPlainObject(raw)) {
    report(path, `expected a mapping, got ${describe(raw)}`);
    return INVALID;
  }
  let ok = true;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const child = Object.hasOwn(spec.fields, key) ? spec.fields[key] : undefined;
    if (!child) {
      report([...path, key], unknownKeyMessage(spec, key), true);
      ok = false;
      continue;
    }
    if (value === null || value === undefined) continue;
    const v = child.kind === 'leaf' ? child.check(value, [...path, key], report) : checkRecord(child, value, [...path, key], report);
    if (v === INVALID) ok = false;
    else out[key] = v;
  }
  return ok ? out : INVALID;
}
