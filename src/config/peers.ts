// Blocks pasted from a peer's configuration, read as the peer reads them: Tempo's
// `metrics_generator` block and its `overrides` (the new `defaults:` format and the legacy flat
// keys), and the OpenTelemetry Collector's `connectors:` block with a `spanmetrics` and/or a
// `servicegraph` connector (v0.141.0's keys). Each key becomes spanmeter's key (checked by the
// same specs, its errors located in the file), or, when it has no effect here, a warning naming
// it. Keys neither peer has are errors, as everywhere. The translated values come before the
// file's own keys, so spanmeter's keys, env vars and flags override them.
import { COLLECTOR_SPAN_METRICS_BUCKETS } from './defaults.js';
import { describe } from './errors.js';
import { specAt } from './keys.js';
import { isPlainObject, pathString, walk, type Assignment, type Path, type Report } from './spec.js';
import { DurationError, parseDuration } from './duration.js';

type Raw = Record<string, unknown>;

/** Where one translation writes: assignments, warnings and errors, with the path it is at. */
class Sink {
  constructor(readonly report: Report, readonly out: Assignment[], readonly warnings: string[]) {}

  /** `value` (at `from` in the file) checked as spanmeter's key `key` and assigned to it. */
  set(key: string, value: unknown, from: Path): void {
    const spec = specAt(key);
    if (!spec) throw new Error(`peers.ts: no key ${key}`);
    const tmp: Assignment[] = [];
    walk(spec, value, from as string[], this.report, tmp);
    const to = key.split('.');
    for (const a of tmp) this.out.push({ path: [...to, ...a.path.slice(from.length)], value: a.value });
  }

  noEffect(path: Path, why: string): void {
    this.warnings.push(`${pathString(path)} has no effect in spanmeter: ${why}`);
  }

  /** A mapping, or an error; undefined for null (counts as absent). */
  section(raw: unknown, path: Path): Raw | undefined {
    if (raw === null || raw === undefined) return undefined;
    if (!isPlainObject(raw)) {
      this.report(path, `expected a mapping, got ${describe(raw)}`);
      return undefined;
    }
    return raw;
  }
}

/** Key → what to do with it, inside one peer section. */
type Rule = string | ((sink: Sink, value: unknown, path: Path) => void);

/**
 * Applies `rules` to every key of `section`: a string is spanmeter's key, or `!why` for a key
 * that has no effect; a key with no rule is an error.
 */
function apply(sink: Sink, section: Raw, path: Path, rules: Record<string, Rule>): void {
  for (const [k, v] of Object.entries(section)) {
    const at = [...path, k];
    const rule = Object.hasOwn(rules, k) ? rules[k] : undefined;
    if (rule === undefined) sink.report(at, `unknown key (not one of ${Object.keys(rules).join(', ')})`, true);
    else if (v === null || v === undefined) continue;
    else if (typeof rule === 'function') rule(sink, v, at);
    else if (rule.startsWith('!')) sink.noEffect(at, rule.slice(1));
    else sink.set(rule, v, at);
  }
}

// ---------------------------------------------------------------------------------------------
// Tempo

const ONE_PROCESS = 'spanmeter is one process for one tenant';
const NO_WAL = 'spanmeter keeps its series in memory and writes no WAL';

/** Tempo's processors spanmeter does not provide. */
const OTHER_TEMPO_PROCESSORS: Record<string, string> = {
  'local-blocks': 'local_blocks', 'host-info': 'host_info',
};

function processorConfig(sink: Sink, raw: unknown, path: Path): void {
  const section = sink.section(raw, path);
  if (!section) return;
  const rest: Raw = {};
  for (const [k, v] of Object.entries(section)) {
    if (Object.values(OTHER_TEMPO_PROCESSORS).includes(k)) sink.noEffect([...path, k], `Tempo's ${k} processor is not provided`);
    else rest[k] = v;
  }
  sink.set('processor', withoutTargetInfoOff(sink, rest, path), path);
}

/**
 * Tempo's target_info keys where they do nothing: `enable_target_info: false` (its default) is
 * accepted, and with it off `enable_instance_label` and `target_info_excluded_dimensions` have no
 * effect in Tempo either (spanmetrics.go reads both only with target_info on), so they are
 * named in a warning. With `enable_target_info: true` all three are read as they are.
 */
function withoutTargetInfoOff(sink: Sink, processor: Raw, path: Path): Raw {
  const sm = processor.span_metrics;
  if (!isPlainObject(sm) || sm.enable_target_info === true) return processor;
  const kept: Raw = {};
  for (const [k, v] of Object.entries(sm)) {
    if (k === 'enable_target_info' && v === false) continue;
    if (k === 'enable_instance_label' || k === 'target_info_excluded_dimensions') {
      sink.noEffect([...path, 'span_metrics', k], 'enable_target_info is off (as in Tempo, where it applies only with target_info)');
    } else {
      kept[k] = v;
    }
  }
  return { ...processor, span_metrics: kept };
}

/** Tempo's processor list (a list, or a mapping whose keys are the processors). */
function processorList(sink: Sink, raw: unknown, path: Path): void {
  const list = isPlainObject(raw) ? Object.keys(raw) : raw;
  if (!Array.isArray(list)) {
    sink.set('processors', list, path);
    return;
  }
  const kept = list.filter((p) => {
    if (typeof p === 'string' && Object.hasOwn(OTHER_TEMPO_PROCESSORS, p)) {
      sink.noEffect([...path, list.indexOf(p)], `Tempo's ${p} processor is not provided`);
      return false;
    }
    return true;
  });
  sink.set('processors', kept, path);
}

/** One Prometheus remote_write entry as Tempo's storage.remote_write holds it. */
function remoteWriteEntry(sink: Sink, raw: unknown, path: Path): unknown {
  if (!isPlainObject(raw)) return raw;
  const entry: Raw = {};
  const headers: Raw = isPlainObject(raw.headers) ? { ...raw.headers } : {};
  for (const [k, v] of Object.entries(raw)) {
    const at = [...path, k];
    if (k === 'url' || k === 'send_exemplars') entry[k] = v;
    else if (k === 'headers') continue;
    else if (k === 'remote_timeout') entry.timeout = v;
    else if (k === 'basic_auth' && isPlainObject(v) && typeof v.username === 'string' && typeof v.password === 'string') {
      headers.Authorization = `Basic ${Buffer.from(`${v.username}:${v.password}`).toString('base64')}`;
    } else if (k === 'authorization' && isPlainObject(v) && typeof v.credentials === 'string') {
      headers.Authorization = `${typeof v.type === 'string' ? v.type : 'Bearer'} ${v.credentials}`;
    } else {
      sink.noEffect(at, 'Prometheus remote_write option not provided (spanmeter sends url, headers, send_exemplars and remote_timeout)');
    }
  }
  if (Object.keys(headers).length > 0) entry.headers = headers;
  return entry;
}

const TEMPO_METRICS_GENERATOR: Record<string, Rule> = {
  processor: processorConfig,
  registry: (sink, v, path) => {
    const s = sink.section(v, path);
    if (s) {
      apply(sink, s, path, {
        collection_interval: 'collection_interval',
        stale_duration: 'registry.stale_duration',
        external_labels: 'external_labels',
        inject_tenant_id_as: `!${ONE_PROCESS} (add the label with external_labels)`,
        max_label_name_length: '!label names are the configured ones',
        max_label_value_length: '!label values are cut at 2048 bytes',
      });
    }
  },
  storage: (sink, v, path) => {
    const s = sink.section(v, path);
    if (!s) return;
    apply(sink, s, path, {
      remote_write: (k, list, at) => {
        k.set('remote_write', Array.isArray(list) ? list.map((e, i) => remoteWriteEntry(k, e, [...at, i])) : list, at);
      },
      path: `!${NO_WAL}`,
      wal: `!${NO_WAL}`,
      remote_write_flush_deadline: '!on shutdown the last collection waits at most 10 s',
      remote_write_add_org_id_header: `!${ONE_PROCESS} (send X-Scope-OrgID in headers)`,
    });
  },
  metrics_ingestion_time_range_slack: 'metrics_ingestion_time_range_slack',
  ring: `!${ONE_PROCESS}`,
  override_ring_key: `!${ONE_PROCESS}`,
  ring_mode: `!${ONE_PROCESS}`,
  codec: '!spanmeter receives OTLP',
  limiter_type: '!registry.max_active_series is the limit',
  ingest_concurrency: '!spanmeter does not read Kafka',
  instance_id: '!the instance label is the top-level instance key',
  leave_consumer_group_on_shutdown: '!spanmeter does not read Kafka',
  skip_stale_backlog_on_startup: '!spanmeter does not read Kafka',
};

/** One tenant's metrics_generator overrides (Tempo's new format, `overrides.defaults.metrics_generator`). */
const TEMPO_GENERATOR_OVERRIDES: Record<string, Rule> = {
  processors: processorList,
  max_active_series: 'registry.max_active_series',
  collection_interval: 'collection_interval',
  ingestion_time_range_slack: 'metrics_ingestion_time_range_slack',
  processor: processorConfig,
  ring_size: `!${ONE_PROCESS}`,
  max_active_entities: '!host_info is not provided',
  disable_collection: '!remote write is off when remote_write lists no receiver',
  generate_native_histograms: 'generate_native_histograms',
  native_histogram_bucket_factor: 'native_histogram_bucket_factor',
  native_histogram_max_bucket_number: 'native_histogram_max_bucket_number',
  native_histogram_min_reset_duration: 'native_histogram_min_reset_duration',
  trace_id_label_name: '!exemplars carry trace_id',
  remote_write_headers: '!give the headers in each remote_write entry',
  forwarder: '!spanmeter forwards nothing',
  span_name_sanitization: '!span names are used as they are',
  max_cardinality_per_label: 'registry.max_cardinality_per_label',
};

/** Tempo's legacy flat overrides that spanmeter reads. */
const LEGACY_PREFIX_SM = 'metrics_generator_processor_span_metrics_';
const LEGACY_PREFIX_SG = 'metrics_generator_processor_service_graphs_';
const LEGACY: Record<string, string> = {
  metrics_generator_processors: 'processors',
  metrics_generator_max_active_series: 'registry.max_active_series',
  metrics_generator_max_cardinality_per_label: 'registry.max_cardinality_per_label',
  metrics_generator_collection_interval: 'collection_interval',
  metrics_generator_ingestion_time_range_slack: 'metrics_ingestion_time_range_slack',
  metrics_generator_generate_native_histograms: 'generate_native_histograms',
  metrics_generator_native_histogram_bucket_factor: 'native_histogram_bucket_factor',
  metrics_generator_native_histogram_max_bucket_number: 'native_histogram_max_bucket_number',
  metrics_generator_native_histogram_min_reset_duration: 'native_histogram_min_reset_duration',
};

function tempoOverrides(sink: Sink, raw: unknown, path: Path): void {
  const section = sink.section(raw, path);
  if (!section) return;
  for (const [k, v] of Object.entries(section)) {
    const at = [...path, k];
    if (v === null || v === undefined) continue;
    if (k === 'defaults') {
      const d = sink.section(v, at);
      if (!d) continue;
      for (const [dk, dv] of Object.entries(d)) {
        if (dk === 'metrics_generator') {
          const mg = sink.section(dv, [...at, dk]);
          if (mg) apply(sink, mg, [...at, dk], TEMPO_GENERATOR_OVERRIDES);
        } else {
          sink.noEffect([...at, dk], 'only the metrics_generator overrides apply to spanmeter');
        }
      }
    } else if (k === 'metrics_generator_processors') {
      processorList(sink, v, at);
    } else if (Object.hasOwn(LEGACY, k)) {
      sink.set(LEGACY[k]!, v, at);
    } else if (k.startsWith(LEGACY_PREFIX_SM) || k.startsWith(LEGACY_PREFIX_SG)) {
      const sm = k.startsWith(LEGACY_PREFIX_SM);
      const key = k.slice((sm ? LEGACY_PREFIX_SM : LEGACY_PREFIX_SG).length);
      processorConfig(sink, { [sm ? 'span_metrics' : 'service_graphs']: { [key]: v } }, at.slice(0, -1).concat(['processor']));
    } else if (k === 'per_tenant_override_config' || k === 'per_tenant_override_period' || k === 'user_configurable_overrides') {
      sink.noEffect(at, `${ONE_PROCESS}: put the tenant's overrides in this file`);
    } else {
      sink.noEffect(at, 'a Tempo override spanmeter has no use for');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The Collector's connectors (contrib v0.141.0)

const FLUSH = '!spanmeter serves current values at every scrape';
const NOT_YET = 'not supported by spanmeter yet';

/** Collector durations (a list of Go durations, "100ms") as seconds. */
function durationBuckets(sink: Sink, raw: unknown, path: Path): unknown {
  if (!Array.isArray(raw)) return raw;
  return raw.map((d, i) => {
    if (typeof d !== 'string') return d;
    try {
      return parseDuration(d) / 1000;
    } catch (e) {
      sink.report([...path, i], e instanceof DurationError ? e.message : String(e));
      return d;
    }
  });
}

/** [{name: a}, {name: b, default: x}] → [a, b], and {b: x} into `defaults`. */
function dimensionNames(sink: Sink, raw: unknown, path: Path, defaults: Record<string, unknown>): unknown {
  if (!Array.isArray(raw)) return raw;
  return raw.map((d, i) => {
    if (!isPlainObject(d)) return d;
    for (const k of Object.keys(d)) {
      if (k === 'default' && typeof d.name === 'string') defaults[d.name] = d.default;
      else if (k !== 'name') sink.report([...path, i, k], 'unknown key (a dimension has name and default)', true);
    }
    return d.name;
  });
}

/**
 * The connectors' exponential histograms (`histogram.exponential.max_size`,
 * `exponential_histogram_max_size`) as native histograms: only them, at most `maxSize` buckets,
 * starting at the finest schema (8; the Collector starts at scale 20 and scales down as
 * spanmeter halves), never reset (the Collector's cumulative histograms are not).
 */
function exponentialHistograms(sink: Sink, maxSize: unknown, path: Path): void {
  sink.set('generate_native_histograms', 'native', path);
  sink.set('native_histogram_bucket_factor', COLLECTOR_EXPONENTIAL_FACTOR, path);
  sink.set('native_histogram_max_bucket_number', maxSize, path);
  sink.set('native_histogram_min_reset_duration', '0s', path);
}

/** A bucket factor that picks the finest schema, 8 (2^(2^-8) = 1.0027…, rounded down). */
const COLLECTOR_EXPONENTIAL_FACTOR = 1.0027;
/** The connectors' default max_size (160, the OpenTelemetry SDKs' default). */
const COLLECTOR_EXPONENTIAL_MAX_SIZE = 160;

function refuseNonEmpty(what: string): Rule {
  return (sink, v, path) => {
    if (Array.isArray(v) && v.length === 0) return;
    if (v === false) return;
    sink.report(path, `${what} ${NOT_YET}`);
  };
}

/** The Collector's exclude_dimensions names → spanmeter's intrinsic_dimensions switches. */
const EXCLUDABLE: Record<string, string> = {
  'service.name': 'service', 'span.name': 'span_name', 'span.kind': 'span_kind', 'status.code': 'status_code',
};

/**
 * The spanmetrics connector's keys. The `default`s of its dimensions, calls and histogram
 * dimensions go into `defaults` (one map: spanmeter's dimension_defaults), its event dimensions'
 * into `eventDefaults`, set once the whole block is read.
 */
function spanmetricsRules(defaults: Record<string, unknown>, eventDefaults: Record<string, unknown>): Record<string, Rule> {
  return {
    dimensions: (sink, v, path) => sink.set('processor.span_metrics.dimensions', dimensionNames(sink, v, path, defaults), path),
    calls_dimensions: (sink, v, path) => sink.set('processor.span_metrics.calls_dimensions', dimensionNames(sink, v, path, defaults), path),
    exclude_dimensions: (sink, v, path) => {
      if (!Array.isArray(v)) {
        sink.report(path, `expected a list, got ${describe(v)}`);
        return;
      }
      v.forEach((name, i) => {
        const key = typeof name === 'string' && Object.hasOwn(EXCLUDABLE, name) ? EXCLUDABLE[name] : undefined;
        if (key) sink.set(`processor.span_metrics.intrinsic_dimensions.${key}`, false, [...path, i]);
        else sink.noEffect([...path, i], 'not a label spanmeter sets (service.name, span.name, span.kind, status.code are)');
      });
    },
    histogram: (sink, v, path) => {
      const s = sink.section(v, path);
      if (!s) return;
      apply(sink, s, path, {
        unit: 'processor.span_metrics.histogram_unit',
        explicit: (k, e, at) => {
          const ex = k.section(e, at);
          if (ex) {
            apply(k, ex, at, {
              buckets: (k2, b, at2) => k2.set('processor.span_metrics.histogram_buckets', durationBuckets(k2, b, at2), at2),
            });
          }
        },
        exponential: (k, e, at) => {
          const ex = e === null || e === undefined ? {} : k.section(e, at);
          if (!ex) return;
          exponentialHistograms(k, COLLECTOR_EXPONENTIAL_MAX_SIZE, at);
          apply(k, ex, at, { max_size: (k2, size, at2) => k2.set('native_histogram_max_bucket_number', size, at2) });
        },
        disable: refuseNonEmpty('turning the duration histogram off is'),
        dimensions: (k, d, at) => k.set('processor.span_metrics.histogram_dimensions', dimensionNames(k, d, at, defaults), at),
      });
    },
    namespace: 'processor.span_metrics.namespace',
    events: (sink, v, path) => {
      const s = sink.section(v, path);
      if (!s) return;
      apply(sink, s, path, {
        enabled: 'processor.span_metrics.events.enabled',
        dimensions: (k, d, at) => k.set('processor.span_metrics.events.dimensions', dimensionNames(k, d, at, eventDefaults), at),
      });
    },
    resource_metrics_key_attributes: '!spanmeter keeps one series per label set, as the Collector does with [service.name]',
    // v0.141 copies the resource attributes whatever this says (its excludeResourceMetrics gate is
    // alpha, off); its prometheus exporter makes job, instance and target_info of them.
    add_resource_attributes: '!the connector copies resource attributes to its metrics whatever it says (v0.141: the '
      + 'excludeResourceMetrics gate is off by default); its prometheus exporter turns them into job, instance and '
      + "target_info, which processor.span_metrics.enable_target_info gives (Tempo's)",
    include_instrumentation_scope: 'processor.span_metrics.include_instrumentation_scope',
    aggregation_temporality: '!/metrics is cumulative; otlp_metrics.temporality chooses for the OTLP push',
    metrics_flush_interval: FLUSH,
    metrics_expiration: (sink, v, path) => {
      if (v === '0s' || v === 0 || v === '0') sink.noEffect(path, 'series not updated for registry.stale_duration (15m) are removed');
      else sink.set('registry.stale_duration', v, path);
    },
    dimensions_cache_size: '!spanmeter has no such cache',
    resource_metrics_cache_size: '!spanmeter has no such cache',
    metric_timestamp_cache_size: '!spanmeter has no such cache',
    aggregation_cardinality_limit: '!registry.max_active_series is the limit',
    exemplars: '!spanmeter always keeps one exemplar per bucket',
  };
}

/** The servicegraph connector's defaults that differ from Tempo's (connector.go, factory.go at v0.141.0). */
const SERVICEGRAPH_DEFAULTS: [string, unknown][] = [
  ['processor.service_graphs.histogram_buckets', COLLECTOR_SPAN_METRICS_BUCKETS],
  ['processor.service_graphs.wait', '2s'],
  ['processor.service_graphs.max_items', 1000],
  ['processor.service_graphs.peer_attributes', ['peer.service', 'db.name', 'db.system']],
  ['processor.service_graphs.database_name_attributes', ['db.name']],
  // Its dimensions are always client_X and server_X.
  ['processor.service_graphs.enable_client_server_prefix', true],
];

const SERVICEGRAPH: Record<string, Rule> = {
  latency_histogram_buckets: (sink, v, path) => sink.set('processor.service_graphs.histogram_buckets', durationBuckets(sink, v, path), path),
  dimensions: 'processor.service_graphs.dimensions',
  store: (sink, v, path) => {
    const s = sink.section(v, path);
    if (s) apply(sink, s, path, { ttl: 'processor.service_graphs.wait', max_items: 'processor.service_graphs.max_items' });
  },
  virtual_node_peer_attributes: 'processor.service_graphs.peer_attributes',
  virtual_node_extra_label: 'processor.service_graphs.enable_virtual_node_label',
  database_name_attributes: 'processor.service_graphs.database_name_attributes',
  exponential_histogram_max_size: (sink, v, path) => {
    // 0, the connector's default, keeps its explicit buckets.
    if (v !== 0) exponentialHistograms(sink, v, path);
  },
  metrics_flush_interval: FLUSH,
  cache_loop: '!spanmeter has no such cache',
  store_expiration_loop: '!expired edges are checked every second',
  metrics_timestamp_offset: '!samples carry the time of the scrape',
  metrics_exporter: '!deprecated in the Collector; the connector feeds a pipeline',
};

function connectors(sink: Sink, raw: unknown, path: Path, processors: Set<string>): void {
  const section = sink.section(raw, path);
  if (!section) return;
  const seen = new Set<string>();
  for (const [name, v] of Object.entries(section)) {
    const at = [...path, name];
    const type = name.split('/')[0]!;
    if (type !== 'spanmetrics' && type !== 'servicegraph') {
      sink.report(at, 'unknown connector (spanmeter is the spanmetrics and servicegraph connectors)', true);
      continue;
    }
    if (seen.has(type)) {
      sink.report(at, `a second ${type} connector: spanmeter runs one of each`, true);
      continue;
    }
    seen.add(type);
    const block = v === null || v === undefined ? {} : sink.section(v, at);
    if (!block) continue;
    if (type === 'spanmetrics') {
      // The connector's names: traces_span_metrics_* and service_name (naming: otel).
      sink.set('naming', 'otel', at);
      processors.add('span-metrics');
      const defaults: Record<string, unknown> = {};
      const eventDefaults: Record<string, unknown> = {};
      apply(sink, block, at, spanmetricsRules(defaults, eventDefaults));
      if (Object.keys(defaults).length > 0) sink.set('processor.span_metrics.dimension_defaults', defaults, at);
      if (Object.keys(eventDefaults).length > 0) sink.set('processor.span_metrics.events.dimension_defaults', eventDefaults, at);
    } else {
      for (const [key, value] of SERVICEGRAPH_DEFAULTS) sink.set(key, value, at);
      processors.add('service-graphs');
      apply(sink, block, at, SERVICEGRAPH);
    }
  }
}

/**
 * Reads the peers' blocks of a parsed YAML file into `out` (and `warnings`) and returns the
 * file without them, for the ordinary walk. A file with `connectors:` and no `processors:`
 * runs the connectors it lists.
 */
export function translatePeerBlocks(raw: unknown, report: Report, out: Assignment[], warnings: string[]): unknown {
  if (!isPlainObject(raw)) return raw;
  const sink = new Sink(report, out, warnings);
  const rest: Raw = {};
  const connectorProcessors = new Set<string>();
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'metrics_generator') {
      const mg = sink.section(v, [k]);
      if (mg) apply(sink, mg, [k], TEMPO_METRICS_GENERATOR);
    } else if (k === 'overrides') {
      tempoOverrides(sink, v, [k]);
    } else if (k === 'connectors') {
      connectors(sink, v, [k], connectorProcessors);
    } else if (k === 'processor' && isPlainObject(v)) {
      rest[k] = withoutTargetInfoOff(sink, v, [k]);
    } else {
      rest[k] = v;
    }
  }
  if (connectorProcessors.size > 0 && !Object.hasOwn(raw, 'processors')) {
    sink.set('processors', ['span-metrics', 'service-graphs'].filter((p) => connectorProcessors.has(p)), ['connectors']);
  }
  return rest;
}
