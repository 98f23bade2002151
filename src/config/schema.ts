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

/** Span kinds as an SLO names them: short or as the span-metrics label writes them. */
export const SPAN_KIND_WORDS: readonly string[] = ['server', 'client', 'producer', 'consumer', 'internal'].flatMap(
  (k) => [k, `span_kind_${k}`],
);

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

/** A Go duration string (with `days`, also d and w units), stored as milliseconds; must be > 0. */
function duration(allowZero = false, days = false): LeafSpec {
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
        ms = parseDuration(raw, days);
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

/** A percentage strictly between 0 and 100. */
function percent(): LeafSpec {
  return {
    kind: 'leaf',
    type: 'number',
    fromText: numberFromText,
    check(raw, path, report) {
      if (typeof raw !== 'number' || !(raw > 0 && raw < 100)) {
        report(path, `expected a percentage between 0 and 100 (exclusive), like 99.9, got ${describe(raw)}`);
        return INVALID;
      }
      return raw;
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
// Exporter settings: URLs, string maps (labels, headers) and lists of objects (remote_write)

/** Why `text` is not an absolute http:// or https:// URL, or undefined if it is. */
function httpUrlProblem(text: string): string | undefined {
  const got = JSON.stringify(text);
  if (!text.includes('://')) return `expected an http(s) URL, got ${got} (no scheme: write http://${text})`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected an http(s) URL, got ${got}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `expected an http(s) URL, got ${got} (scheme ${url.protocol.slice(0, -1)} is not http or https)`;
  }
  return undefined;
}

/** An absolute http:// or https:// URL; "" too when canDisable. */
function httpUrl(canDisable: boolean): LeafSpec {
  return {
    kind: 'leaf',
    type: canDisable ? 'http(s) URL or ""' : 'http(s) URL',
    fromText: (t) => t,
    check(raw, path, report) {
      if (typeof raw !== 'string') {
        report(path, `expected an http(s) URL, got ${describe(raw)}`);
        return INVALID;
      }
      if (raw === '' && canDisable) return raw;
      const problem = httpUrlProblem(raw);
      if (problem) {
        report(path, problem);
        return INVALID;
      }
      return raw;
    },
  };
}

/** "a=1,b=2" → {a: "1", b: "2"}; "" → {}; "{a: 1}" → YAML flow mapping; anything else stays text (an error). */
function mapFromText(text: string): unknown {
  const t = text.trim();
  if (t === '') return {};
  if (t.startsWith('{')) {
    try {
      return parseYaml(t) as unknown;
    } catch {
      return text;
    }
  }
  const out: Record<string, string> = {};
  for (const part of t.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return text;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

interface StringMapRules {
  /** Type as the docs name it. */
  type: string;
  /** Why a key is not acceptable, or undefined. */
  key(name: string): string | undefined;
  /** Why a value is not acceptable, or undefined. */
  value(value: string): string | undefined;
}

/** A mapping of strings to strings, each key and value checked by `rules`; problems name `path.key`. */
function stringMap(rules: StringMapRules): LeafSpec {
  return {
    kind: 'leaf',
    type: rules.type,
    fromText: mapFromText,
    check(raw, path, report) {
      if (!isPlainObject(raw)) {
        report(path, `expected a mapping (name: value), got ${describe(raw)}`);
        return INVALID;
      }
      let ok = true;
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw)) {
        const at = [...path, k];
        const keyProblem = rules.key(k);
        if (keyProblem) {
          report(at, keyProblem, true);
          ok = false;
        } else if (typeof v !== 'string') {
          report(at, `expected a string, got ${describe(v)}`);
          ok = false;
        } else {
          const valueProblem = rules.value(v);
          if (valueProblem) {
            report(at, valueProblem);
            ok = false;
          } else {
            out[k] = v;
          }
        }
      }
      return ok ? out : INVALID;
    },
  };
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers the exporters set themselves (or the transport does). */
const RESERVED_HEADERS = new Set([
  'content-type', 'content-encoding', 'content-length', 'transfer-encoding', 'connection', 'host', 'te',
  'user-agent', 'x-prometheus-remote-write-version',
]);

function externalLabels(): LeafSpec {
  return stringMap({
    type: 'mapping of label names to strings',
    key(name) {
      if (!LABEL_NAME.test(name)) return `invalid label name ${JSON.stringify(name)} (expected [a-zA-Z_][a-zA-Z0-9_]*)`;
      if (name.startsWith('__')) return `label names starting with "__" are reserved, got ${JSON.stringify(name)}`;
      if (name === 'instance') return 'set the instance label with the top-level instance key';
      if (name === 'le') return 'le is the histogram bucket label';
      return undefined;
    },
    value: (v) => (v === '' ? 'must not be empty (an empty label value is no label)' : undefined),
  });
}

function headers(): LeafSpec {
  return stringMap({
    type: 'mapping of header names to strings',
    key(name) {
      if (!HEADER_NAME.test(name)) return `invalid header name ${JSON.stringify(name)}`;
      const lower = name.toLowerCase();
      if (RESERVED_HEADERS.has(lower) || lower.startsWith('grpc-')) return `header ${name} is set by spanmeter and cannot be overridden`;
      return undefined;
    },
    value: (v) => (/[\r\n\0]/.test(v) ? 'a header value must not contain CR, LF or NUL' : undefined),
  });
}

/**
 * Checks a mapping against an object spec whose fields are all leaves (or objects of leaves),
 * without assigning anything: returns the checked values, or INVALID after reporting.
 */
function checkRecord(spec: ObjectSpec, raw: unknown, path: Path, report: Report): Record<string, unknown> | typeof INVALID {
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

/** "[{url: ...}]" → YAML flow list; "http://a/w,http://b/w" → [{url: ...}, ...]; "" → []. */
function urlListFromText(text: string): unknown {
  const t = text.trim();
  if (t === '') return [];
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return parseYaml(t) as unknown;
    } catch {
      return text;
    }
  }
  return t.split(',').map((u) => ({ url: u.trim() }));
}

/** A YAML flow value ("[{name: a, objective: 99}]"); anything else stays text (an error). */
function yamlFromText(text: string): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A list of mappings, each checked against `item` and completed with `defaults()`; the keys in
 * `required` must be given. A later source replaces the whole list.
 */
function objectList(
  item: ObjectSpec, defaults: () => Record<string, unknown>, required: readonly string[], fromText = urlListFromText,
): LeafSpec {
  return {
    kind: 'leaf',
    type: 'list of mappings',
    fromText,
    check(raw, path, report) {
      const list = checkList(raw, path, report);
      if (!list) return INVALID;
      let ok = true;
      const out = list.map((entry, i) => {
        const at = [...path, i];
        const checked = checkRecord(item, entry, at, report);
        if (checked === INVALID) {
          ok = false;
          return undefined;
        }
        for (const key of required) {
          if (!Object.hasOwn(checked, key)) {
            report(at, `missing ${key}`);
            ok = false;
          }
        }
        return { ...defaults(), ...checked };
      });
      return ok ? out : INVALID;
    },
  };
}

const PROMETHEUS_ONLY = 'Prometheus remote_write option not supported by spanmeter';

const REMOTE_WRITE_ITEM: ObjectSpec = {
  kind: 'object',
  fields: {
    url: httpUrl(false),
    headers: headers(),
    send_exemplars: boolean(),
    timeout: duration(),
  },
  hints: {
    remote_timeout: "Prometheus's remote_timeout is timeout here",
    name: PROMETHEUS_ONLY,
    basic_auth: `${PROMETHEUS_ONLY} (send an Authorization header with headers instead)`,
    authorization: `${PROMETHEUS_ONLY} (send an Authorization header with headers instead)`,
    oauth2: PROMETHEUS_ONLY,
    sigv4: PROMETHEUS_ONLY,
    tls_config: PROMETHEUS_ONLY,
    proxy_url: PROMETHEUS_ONLY,
    queue_config: PROMETHEUS_ONLY,
    metadata_config: PROMETHEUS_ONLY,
    write_relabel_configs: PROMETHEUS_ONLY,
    send_native_histograms: PROMETHEUS_ONLY,
  },
};

const SLO_ITEM: ObjectSpec = {
  kind: 'object',
  fields: {
    name: string(),
    description: string(),
    service: string(),
    span_name: string(),
    span_name_regex: string(),
    span_kind: oneOf(SPAN_KIND_WORDS),
    objective: percent(),
    window: duration(false, true),
    kind: oneOf(['availability', 'latency']),
    threshold: duration(),
    http_5xx_as_error: boolean(),
  },
};

/** Defaults of one slos entry besides its name and objective. */
export const SLO_DEFAULTS = {
  description: '', service: '', span_name: '', span_name_regex: '', span_kind: '', window: 30 * 86_400_000,
  kind: 'availability', threshold: 0, http_5xx_as_error: false,
} as const;

/** Defaults of one remote_write entry besides its url. */
export const REMOTE_WRITE_DEFAULTS = { headers: {}, send_exemplars: false, timeout: 30_000 } as const;

// ---------------------------------------------------------------------------------------------
// The schema

function tlsSpec(): ObjectSpec {
  return {
    kind: 'object',
    fields: { cert_file: string(), key_file: string(), client_ca_file: string() },
    hints: {
      ca_file: 'client_ca_file is the CA that client certificates are checked against (mTLS)',
      min_version: 'not supported: Node.js defaults apply (TLS 1.2 and later)',
    },
  };
}

function authSpec(): ObjectSpec {
  return { kind: 'object', fields: { bearer_token: string(), bearer_token_file: string() } };
}

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
        max_inflight_bytes: integer(0),
        max_inflight_requests: integer(0),
        max_spans_per_request: integer(0),
        max_decompression_ratio: integer(0),
        max_string_length: integer(0),
        max_attributes_per_span: integer(0),
        tls: tlsSpec(),
        auth: authSpec(),
      },
    },
    http_endpoint: endpoint(false),
    tls: tlsSpec(),
    http_auth: authSpec(),
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
            events: {
              kind: 'object',
              fields: { enabled: boolean(), dimensions: nameList() },
            },
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
      hints: {
        collection_interval: 'unknown key (collection_interval is a top-level key in spanmeter)',
        external_labels: 'unknown key (external_labels is a top-level key in spanmeter)',
      },
    },
    metrics_ingestion_time_range_slack: duration(true),
    naming: oneOf(['tempo', 'otel']),
    shutdown_timeout: duration(),
    log_level: oneOf(LOG_LEVELS),
    remote_write: objectList(
      REMOTE_WRITE_ITEM,
      () => ({ ...REMOTE_WRITE_DEFAULTS, headers: { ...REMOTE_WRITE_DEFAULTS.headers } }),
      ['url'],
    ),
    collection_interval: duration(),
    external_labels: externalLabels(),
    instance: string(),
    otlp_metrics: {
      kind: 'object',
      fields: {
        endpoint: httpUrl(true),
        protocol: oneOf(['grpc', 'http/protobuf']),
        interval: duration(),
        temporality: oneOf(['cumulative', 'delta']),
        headers: headers(),
      },
    },
    slos: objectList(SLO_ITEM, () => ({ ...SLO_DEFAULTS }), ['name', 'objective'], yamlFromText),
  },
  hints: {
    storage:
      "unknown key (Tempo's metrics_generator.storage.remote_write list goes at the top level: remote_write:)",
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
