// The configuration schema: every key, its type and its check. The YAML file, env vars and
// --set all go through the same checks, so a value is valid or invalid whatever its source.
import { parse as parseYaml } from 'yaml';
import { closest, describe } from './errors.js';
import { DurationError, parseDuration } from './duration.js';
import type { LogLevel, ProcessorName } from './types.js';

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
type Checked = unknown | typeof INVALID;

export interface LeafSpec {
  kind: 'leaf';
  /** Type as the docs and --help name it. */
  type: string;
  /** Validates a raw value (YAML, or fromText's result); returns the value to store, or INVALID after reporting. */
  check(raw: unknown, path: Path, report: Report): Checked;
  /** Turns an env var or flag string into a raw value for check. */
  fromText(text: string): unknown;
}

export interface ObjectSpec {
  kind: 'object';
  fields: Record<string, Spec>;
  /** Known keys that are not (yet) accepted, with the message to give instead of "unknown key". */
  hints?: Record<string, string>;
}

export type Spec = LeafSpec | ObjectSpec;

// ---------------------------------------------------------------------------------------------
// Leaf types

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function numberFromText(text: string): unknown {
  const t = text.trim();
  return NUMBER_TEXT.test(t) ? Number(t) : text;
}

/** "a,b,c" → ["a","b","c"]; "" → []; "[a, b]" → YAML flow sequence. */
function listFromText(text: string, item: (t: string) => unknown = (t) => t): unknown {
  const t = text.trim();
  if (t === '') return [];
  if (t.startsWith('[')) {
    try {
      return parseYaml(t) as unknown;
    } catch {
      return text;
    }
  }
  return t.split(',').map((s) => item(s.trim()));
}

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
export const PROCESSOR_NAMES: readonly ProcessorName[] = ['span-metrics', 'service-graphs'];

/** Tempo processor names spanmeter does not provide. */
const TEMPO_ONLY_PROCESSORS = new Set([
  'local-blocks',
  'host-info',
  'span-metrics-latency',
  'span-metrics-count',
  'span-metrics-size',
  'service-graphs-request',
  'service-graphs-latency',
  'service-graphs-connection-info',
]);

interface ParsedEndpoint {
  /** Host without IPv6 brackets: "127.0.0.1", "::1", "localhost"; "" for ":4318" (all interfaces). */
  host: string;
  port: number;
}

const HOST_NAME = /^[A-Za-z0-9._-]+$/;
const HOST_V6 = /^\[([0-9A-Fa-f:.]+(?:%[A-Za-z0-9.]+)?)\]$/;

/** Why `text` is not a valid "host:port", or undefined if it is. */
function endpointProblem(text: string): string | undefined {
  const colon = text.lastIndexOf(':');
  const host = colon < 0 ? '' : text.slice(0, colon);
  const port = colon < 0 ? '' : text.slice(colon + 1);
  const got = JSON.stringify(text);
  const portOk = /^\d{1,5}$/.test(port) && Number(port) <= 65535;
  if (text.includes('://')) {
    return `expected host:port, got ${got} (no scheme: write ${JSON.stringify(text.slice(text.indexOf('://') + 3))})`;
  }
  if (host.includes(':') && !host.startsWith('[')) {
    return `expected host:port, got ${got} (write an IPv6 address in brackets: [::1]:4318)`;
  }
  if (colon < 0 || !portOk || !(host === '' || HOST_NAME.test(host) || HOST_V6.test(host))) {
    return `expected host:port with port 0..65535, got ${got}`;
  }
  return undefined;
}

/** Splits a validated endpoint "host:port" ("[::1]:4318" → host "::1"). Throws on an invalid or empty one. */
export function splitEndpoint(endpoint: string): ParsedEndpoint {
  const problem = endpointProblem(endpoint);
  if (problem) throw new Error(problem);
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon);
  const v6 = HOST_V6.exec(host);
  return { host: v6 ? v6[1]! : host, port: Number(endpoint.slice(colon + 1)) };
}

function endpoint(canDisable: boolean): LeafSpec {
  return {
    kind: 'leaf',
    type: canDisable ? 'host:port or ""' : 'host:port',
    fromText: (t) => t,
    check(raw, path, report) {
      if (typeof raw !== 'string') {
        report(path, `expected a string "host:port", got ${describe(raw)}`);
        return INVALID;
      }
      if (raw === '') {
        if (canDisable) return raw;
        report(path, 'must not be empty (the metrics endpoint cannot be disabled)');
        return INVALID;
      }
      const problem = endpointProblem(raw);
      if (problem) {
        report(path, problem);
        return INVALID;
      }
      return raw;
    },
  };
}

function integer(min: number): LeafSpec {
  return {
    kind: 'leaf',
    type: 'integer',
    fromText: numberFromText,
    check(raw, path, report) {
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) {
        report(path, `expected an integer, got ${describe(raw)}`);
        return INVALID;
      }
      if (raw < min) {
        report(path, `must be at least ${min}, got ${raw}`);
        return INVALID;
      }
      return raw;
    },
  };
}

function boolean(): LeafSpec {
  return {
    kind: 'leaf',
    type: 'boolean',
    fromText: (t) => (/^true$/i.test(t.trim()) ? true : /^false$/i.test(t.trim()) ? false : t),
    check(raw, path, report) {
      if (typeof raw !== 'boolean') {
        report(path, `expected a boolean (true or false), got ${describe(raw)}`);
        return INVALID;
      }
      return raw;
    },
  };
}

function string(): LeafSpec {
  return {
    kind: 'leaf',
    type: 'string',
    fromText: (t) => t,
    check(raw, path, report) {
      if (typeof raw !== 'string') {
        report(path, `expected a string, got ${describe(raw)}`);
        return INVALID;
      }
      return raw;
    },
  };
}

/** A Go duration string, stored as milliseconds; must be > 0. */
function duration(allowZero = false): LeafSpec {
  return {
    kind: 'leaf',
    type: 'duration',
    fromText: (t) => t,
    check(raw, path, report) {
      if (typeof raw !== 'string') {
        report(path, `expected a duration string like "10s", got ${describe(raw)}`);
        return INVALID;
      }
      let ms: number;
      try {
        ms = parseDuration(raw);
      } catch (e) {
        report(path, e instanceof DurationError ? e.message : String(e));
        return INVALID;
      }
      if (!(ms > 0) && !(allowZero && ms === 0)) {
        report(path, `must be greater than 0, got ${JSON.stringify(raw)}`);
        return INVALID;
      }
      return ms;
    },
  };
}

/** One of a fixed set of words (any case). */
function oneOf(words: readonly string[]): LeafSpec {
  return {
    kind: 'leaf',
    type: words.join('|'),
    fromText: (t) => t,
    check(raw, path, report) {
      const v = typeof raw === 'string' ? raw.toLowerCase() : raw;
      if (typeof v !== 'string' || !words.includes(v)) {
        report(path, `expected one of ${words.join(', ')}, got ${describe(raw)}`);
        return INVALID;
      }
      return v;
    },
  };
}

function checkList(raw: unknown, path: Path, report: Report): unknown[] | undefined {
  if (!Array.isArray(raw)) {
    report(path, `expected a list, got ${describe(raw)}`);
    return undefined;
  }
  return raw;
}

/** A list of non-empty, distinct strings (attribute names). */
function nameList(): LeafSpec {
  return {
    kind: 'leaf',
    type: 'list of strings',
    fromText: (t) => listFromText(t),
    check(raw, path, report) {
      const list = checkList(raw, path, report);
      if (!list) return INVALID;
      let ok = true;
      const seen = new Set<string>();
      list.forEach((item, i) => {
        if (typeof item !== 'string' || item === '') {
          report([...path, i], `expected a non-empty string, got ${describe(item)}`);
          ok = false;
        } else if (seen.has(item)) {
          report([...path, i], `duplicate ${JSON.stringify(item)}`);
          ok = false;
        } else {
          seen.add(item);
        }
      });
      return ok ? [...(list as string[])] : INVALID;
    },
  };
}

/** Histogram upper bounds in seconds: at least one, finite, >= 0, strictly ascending. */
function buckets(): LeafSpec {
  return {
    kind: 'leaf',
    type: 'list of numbers',
    fromText: (t) => listFromText(t, numberFromText),
    check(raw, path, report) {
      const list = checkList(raw, path, report);
      if (!list) return INVALID;
      if (list.length === 0) {
        report(path, 'must list at least one bucket');
        return INVALID;
      }
      let ok = true;
      let prev: number | undefined;
      list.forEach((item, i) => {
        const at = [...path, i];
        if (typeof item !== 'number') {
          report(at, `expected a number, got ${describe(item)}`);
          ok = false;
          prev = undefined;
          return;
        }
        if (!Number.isFinite(item)) {
          report(at, `must be a finite number, got ${item}`);
          ok = false;
        } else if (item < 0) {
          report(at, `must not be negative, got ${item}`);
          ok = false;
        } else if (prev !== undefined && !(item > prev)) {
          report(at, `buckets must be strictly ascending, got ${item} after ${prev}`);
          ok = false;
        }
        prev = item;
      });
      return ok ? [...(list as number[])] : INVALID;
    },
  };
}

function processors(): LeafSpec {
  return {
    kind: 'leaf',
    type: 'list of span-metrics|service-graphs',
    fromText: (t) => listFromText(t),
    check(raw, path, report) {
      const list = checkList(raw, path, report);
      if (!list) return INVALID;
      if (list.length === 0) {
        report(path, `must list at least one processor (${PROCESSOR_NAMES.join(', ')})`);
        return INVALID;
      }
      let ok = true;
      const seen = new Set<string>();
      list.forEach((item, i) => {
        const at = [...path, i];
        if (typeof item !== 'string') {
          report(at, `expected a processor name, got ${describe(item)}`);
          ok = false;
        } else if (!(PROCESSOR_NAMES as readonly string[]).includes(item)) {
          const supported = `supported: ${PROCESSOR_NAMES.join(', ')}`;
          if (TEMPO_ONLY_PROCESSORS.has(item)) {
            report(at, `Tempo processor ${JSON.stringify(item)} is not provided by spanmeter (${supported})`);
          } else {
            const guess = closest(item, PROCESSOR_NAMES);
            report(at, `unknown processor ${JSON.stringify(item)} (${guess ? `did you mean ${guess}?` : supported})`);
          }
          ok = false;
        } else if (seen.has(item)) {
          report(at, `duplicate ${JSON.stringify(item)}`);
          ok = false;
        } else {
          seen.add(item);
        }
      });
      return ok ? [...(list as string[])] : INVALID;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The schema

const NOT_YET = 'Tempo option not supported by spanmeter yet';

export const SCHEMA: ObjectSpec = {
  kind: 'object',
  fields: {
    otlp: {
      kind: 'object',
      fields: {
        http_endpoint: endpoint(true),
        grpc_endpoint: endpoint(true),
        max_request_body_size: integer(1),
      },
    },
    http_endpoint: endpoint(false),
    processors: processors(),
    processor: {
      kind: 'object',
      fields: {
        span_metrics: {
          kind: 'object',
          fields: {
            histogram_buckets: buckets(),
            dimensions: nameList(),
            intrinsic_dimensions: {
              kind: 'object',
              fields: {
                service: boolean(),
                span_name: boolean(),
                span_kind: boolean(),
                status_code: boolean(),
                status_message: boolean(),
              },
            },
            span_multiplier_key: string(),
            histogram_unit: oneOf(['s', 'ms']),
          },
          hints: {
            dimension_mappings: NOT_YET,
            enable_target_info: NOT_YET,
            enable_tracestate_span_multiplier: NOT_YET,
            filter_policies: NOT_YET,
            target_info_excluded_dimensions: NOT_YET,
            enable_instance_label: NOT_YET,
          },
        },
        service_graphs: {
          kind: 'object',
          fields: {
            wait: duration(),
            max_items: integer(1),
            workers: integer(1),
            histogram_buckets: buckets(),
            dimensions: nameList(),
            enable_client_server_prefix: boolean(),
            enable_messaging_system_latency_histogram: boolean(),
            enable_virtual_node_label: boolean(),
            peer_attributes: nameList(),
            database_name_attributes: nameList(),
            span_multiplier_key: string(),
          },
          hints: {
            enable_tracestate_span_multiplier: NOT_YET,
            filter_policies: NOT_YET,
          },
        },
      },
      hints: {
        local_blocks: 'Tempo processor not provided by spanmeter',
        host_info: 'Tempo processor not provided by spanmeter',
      },
    },
    registry: {
      kind: 'object',
      fields: {
        max_active_series: integer(0),
        stale_duration: duration(),
      },
    },
    metrics_ingestion_time_range_slack: duration(true),
    naming: oneOf(['tempo', 'otel']),
    log_level: oneOf(LOG_LEVELS),
  },
  hints: {
    metrics_generator:
      "unknown key (this file takes the contents of Tempo's metrics_generator block: put processor: at the top level)",
    overrides: "unknown key (list the processors in processors: at the top level instead of Tempo's overrides)",
  },
};

export interface Leaf {
  /** ["processor", "span_metrics", "dimensions"] */
  path: string[];
  /** "processor.span_metrics.dimensions" */
  key: string;
  /** "SPANMETER_PROCESSOR_SPAN_METRICS_DIMENSIONS" */
  env: string;
  spec: LeafSpec;
}

function collectLeaves(spec: ObjectSpec, prefix: string[], out: Leaf[]): Leaf[] {
  for (const [name, child] of Object.entries(spec.fields)) {
    const path = [...prefix, name];
    if (child.kind === 'object') collectLeaves(child, path, out);
    else out.push({ path, key: path.join('.'), env: envName(path), spec: child });
  }
  return out;
}

/** The env var for a key path: SPANMETER_ + path joined by "_", upper case. */
export function envName(path: readonly string[]): string {
  return `SPANMETER_${path.join('_').toUpperCase()}`;
}

/** Every settable key, in schema order. */
export const LEAVES: readonly Leaf[] = collectLeaves(SCHEMA, [], []);

/** The schema node at a dotted key path, if any. */
export function specAt(key: string): Spec | undefined {
  let node: Spec = SCHEMA;
  for (const seg of key.split('.')) {
    if (node.kind !== 'object') return undefined;
    const next: Spec | undefined = Object.hasOwn(node.fields, seg) ? node.fields[seg] : undefined;
    if (!next) return undefined;
    node = next;
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// Walking a parsed YAML value

export interface Assignment {
  path: string[];
  value: unknown;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKeyMessage(spec: ObjectSpec, key: string): string {
  const hint = spec.hints && Object.hasOwn(spec.hints, key) ? spec.hints[key] : undefined;
  if (hint) return hint;
  const guess = closest(key, Object.keys(spec.fields));
  return guess ? `unknown key (did you mean ${guess}?)` : 'unknown key';
}

/**
 * Checks `raw` against `spec` and appends one assignment per valid leaf present. A null value
 * counts as absent (the default, or an earlier source, stays). Problems go to `report`.
 */
export function walk(spec: Spec, raw: unknown, path: string[], report: Report, out: Assignment[]): void {
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
