// The config keys: every key spanmeter reads, the check of its value and, for the keys Tempo or
// Prometheus have and spanmeter does not, the message to give instead of "unknown key". The YAML
// file, env vars, --set and Spanmeter.create all go through these checks, so a value is valid or
// invalid whatever its source. SCHEMA is typed ObjectSpec<Config> (spec.ts): it must name every
// key of Config (types.ts), no other, each with a check yielding that key's type.
import { REMOTE_WRITE_DEFAULTS, SLO_DEFAULTS } from './defaults.js';
import { attributeValues, objectList, externalLabels, headers, yamlFromText } from './mappings.js';
import { SPAN_KIND_WORDS } from './slos.js';
import { filterPolicies } from './filters.js';
import { anySpec, type AnySpec, type AnyLeafSpec, type AnyObjectSpec, type LeafSpec, type ObjectSpec } from './spec.js';
import { LOG_LEVELS, type Config, type DimensionMappingConfig, type RemoteWriteConfig, type SloConfig, type TlsConfig, type AuthConfig } from './types.js';
import {
  above, boolean, buckets, duration, endpoint, httpUrl, integer, nameList, oneOf, percent, processors, string,
} from './values.js';

const PROMETHEUS_ONLY = 'Prometheus remote_write option not supported by spanmeter';

const REMOTE_WRITE_ITEM: ObjectSpec<RemoteWriteConfig> = {
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

const SLO_ITEM: ObjectSpec<SloConfig> = {
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

// ---------------------------------------------------------------------------------------------
// The schema

function tlsSpec(): ObjectSpec<TlsConfig> {
  return {
    kind: 'object',
    fields: { cert_file: string(), key_file: string(), client_ca_file: string() },
    hints: {
      ca_file: 'client_ca_file is the CA that client certificates are checked against (mTLS)',
      min_version: 'not supported: Node.js defaults apply (TLS 1.2 and later)',
    },
  };
}

function authSpec(): ObjectSpec<AuthConfig> {
  return { kind: 'object', fields: { bearer_token: string(), bearer_token_file: string() } };
}

const MAPPING_ITEM: ObjectSpec<DimensionMappingConfig> = {
  kind: 'object',
  fields: { name: string(), source_labels: nameList(), join: string() },
};

/** A key optional in its config type (it has a default all the same): the same check, typed for it. */
function optional<T>(spec: LeafSpec<T>): LeafSpec<T | undefined> {
  return { ...spec, check: (raw, path, report) => spec.check(raw, path, report) };
}

/** Tempo's dimension_mappings list. */
function dimensionMappings(): LeafSpec<DimensionMappingConfig[] | undefined> {
  return optional(objectList(MAPPING_ITEM, () => ({ join: '' }), ['name', 'source_labels'], yamlFromText));
}

export const SCHEMA: ObjectSpec<Config> = {
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
        max_connections: integer(0),
        read_header_timeout: duration(true),
        read_timeout: duration(true),
        write_timeout: duration(true),
        idle_timeout: duration(true),
        stalled_request_timeout: duration(true),
        max_concurrent_streams: integer(0),
        keepalive: {
          kind: 'object',
          fields: {
            server_parameters: {
              kind: 'object',
              fields: { max_connection_idle: duration(true), max_connection_age: duration(true), max_connection_age_grace: duration(true) },
              hints: {
                time: 'not supported: spanmeter sends no keepalive pings of its own (idle connections are closed after max_connection_idle)',
                timeout: 'not supported: spanmeter sends no keepalive pings of its own (idle connections are closed after max_connection_idle)',
              },
            },
            enforcement_policy: { kind: 'object', fields: { min_time: duration(true), permit_without_stream: boolean() } },
          },
        },
        tls: tlsSpec(),
        auth: authSpec(),
      },
    },
    http_endpoint: endpoint(false),
    tls: tlsSpec(),
    http_auth: authSpec(),
    http_limits: {
      kind: 'object',
      fields: {
        max_connections: integer(0), max_requests_in_flight: integer(0), write_timeout: duration(true),
        read_header_timeout: duration(true), idle_timeout: duration(true),
      },
    },
    memory_limiter: {
      kind: 'object',
      fields: {
        check_interval: duration(true),
        limit_mib: integer(0),
        spike_limit_mib: integer(0),
        limit_percentage: integer(0),
        spike_limit_percentage: integer(0),
      },
      hints: {
        ballast_size_mib: 'the Collector dropped ballast_size_mib; spanmeter has no ballast',
        min_gc_interval_when_soft_limited: 'not supported: spanmeter forces a GC at most every 10 s above the soft limit (the Collector\'s default)',
        min_gc_interval_when_hard_limited: 'not supported: spanmeter forces a GC at every check above the hard limit (the Collector\'s default)',
      },
    },
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
              fields: { enabled: boolean(), dimensions: nameList(), dimension_defaults: optional(attributeValues()) },
            },
            filter_policies: filterPolicies(),
            enable_tracestate_span_multiplier: boolean(),
            namespace: string(),
            dimension_defaults: attributeValues(),
            dimension_mappings: dimensionMappings(),
            calls_dimensions: optional(nameList()),
            histogram_dimensions: optional(nameList()),
            include_instrumentation_scope: optional(nameList()),
            enable_target_info: optional(boolean()),
            target_info_excluded_dimensions: optional(nameList()),
            enable_instance_label: optional(boolean()),
            span_name_normalization: optional(oneOf(['off', 'dry_run', 'on'])),
            self_time: optional(boolean()),
            self_time_max_items: optional(integer(1)),
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
            infer_edges: oneOf(['off', 'parent_child']),
            peer_attributes: nameList(),
            database_name_attributes: nameList(),
            span_multiplier_key: string(),
            filter_policies: filterPolicies(),
            enable_tracestate_span_multiplier: boolean(),
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
        max_cardinality_per_label: integer(0),
        stale_duration: duration(),
      },
      hints: {
        collection_interval: 'unknown key (collection_interval is a top-level key in spanmeter)',
        external_labels: 'unknown key (external_labels is a top-level key in spanmeter)',
      },
    },
    metrics_ingestion_time_range_slack: duration(true),
    naming: oneOf(['tempo', 'otel']),
    generate_native_histograms: oneOf(['classic', 'native', 'both']),
    native_histogram_bucket_factor: above(1),
    native_histogram_max_bucket_number: integer(1),
    native_histogram_min_reset_duration: duration(true),
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
    exemplars: { kind: 'object', fields: { window: duration() } },
    ui: { kind: 'object', fields: { trace_url: httpUrl(true) } },
  },
  hints: {
    storage:
      "unknown key (Tempo's metrics_generator.storage.remote_write list goes at the top level: remote_write:)",
  },
};

export interface Leaf {
  /** ["processor", "span_metrics", "dimensions"] */
  path: string[];
  /** "processor.span_metrics.dimensions" */
  key: string;
  /** "SPANMETER_PROCESSOR_SPAN_METRICS_DIMENSIONS" */
  env: string;
  spec: AnyLeafSpec;
}

function collectLeaves(spec: AnyObjectSpec, prefix: string[], out: Leaf[]): Leaf[] {
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
export const LEAVES: readonly Leaf[] = collectLeaves(anySpec(SCHEMA), [], []);

/** The schema node at a dotted key path, if any. */
export function specAt(key: string): AnySpec | undefined {
  let node: AnySpec = anySpec(SCHEMA);
  for (const seg of key.split('.')) {
    if (node.kind !== 'object') return undefined;
    const next: AnySpec | undefined = Object.hasOwn(node.fields, seg) ? node.fields[seg] : undefined;
    if (!next) return undefined;
    node = next;
  }
  return node;
}
