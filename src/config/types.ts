// The configuration as the rest of the host sees it, after defaults and validation.
// YAML keys follow Tempo's metrics_generator names so a Tempo user can copy theirs.
// keys.ts checks each key (its SCHEMA is typed ObjectSpec<Config>) and defaults.ts gives each
// its default (typed Config): a key added here and not there fails to compile.

import type { FilterPolicy } from './filters.js';

/** The processors spanmeter provides (the type is derived from this list, so the two cannot differ). */
export const PROCESSOR_NAMES = ['span-metrics', 'service-graphs', 'service-graphs-connection-info'] as const;
export type ProcessorName = (typeof PROCESSOR_NAMES)[number];

/**
 * Whether the service-graph processor runs: `service-graphs` (requests and latency) or Tempo's
 * `service-graphs-connection-info` subprocessor (traces_service_graph_connection_info), or both.
 */
export function serviceGraphsOn(processors: readonly ProcessorName[]): boolean {
  return processors.includes('service-graphs') || processors.includes('service-graphs-connection-info');
}

export interface IntrinsicDimensions {
  service: boolean;
  span_name: boolean;
  span_kind: boolean;
  status_code: boolean;
  status_message: boolean;
}

export interface SpanMetricsConfig {
  /** Latency histogram upper bounds in seconds, ascending; +Inf is implicit. */
  histogram_buckets: number[];
  /** Span or resource attribute names that become labels (resource looked up first). */
  dimensions: string[];
  intrinsic_dimensions: IntrinsicDimensions;
  /** Span attribute holding a sampling ratio; the span counts 1/ratio times. "" = off. */
  span_multiplier_key: string;
  /** Unit of the latency histogram with naming: otel (the Collector's default is ms); tempo is always s. */
  histogram_unit: 's' | 'ms';
  /** The span-events metric (the Collector connector's `events`). */
  events: SpanEventsConfig;
  /** With naming: otel, the metric names' prefix (the Collector connector's `namespace`); "" = none. */
  namespace: string;
  /** Dimension → the value a span without it takes (the Collector's dimension `default`); absent = none. */
  dimension_defaults?: Record<string, string>;
  /** The Collector connector's calls_dimensions: labels of the calls (and size) counter only; absent = none. */
  calls_dimensions?: string[];
  /** The Collector connector's histogram.dimensions: labels of the duration histogram only; absent = none. */
  histogram_dimensions?: string[];
  /** The Collector connector's include_instrumentation_scope: scope names whose spans get scope labels; absent = none. */
  include_instrumentation_scope?: string[];
  /** Tempo's dimension_mappings: labels joined from several attributes; absent = none. */
  dimension_mappings?: DimensionMappingConfig[];
  /** Tempo's filter policies: which spans are counted (src/config/filters.ts). */
  filter_policies: FilterPolicy[];
  /** Weigh a span by its tracestate's OpenTelemetry sampling threshold first (Tempo's option). */
  enable_tracestate_span_multiplier: boolean;
  /** Tempo's traces_target_info per resource, and job/instance labels on the span-metrics series; absent = off. */
  enable_target_info?: boolean;
  /** Resource attributes left out of traces_target_info (Tempo's option); absent = none. */
  target_info_excluded_dimensions?: string[];
  /** With target_info: the instance label (service.instance.id) on target_info and the span metrics; absent = on. */
  enable_instance_label?: boolean;
  /** Ids in path-like span names replaced by placeholders (on), only reported (dry_run), or not (off, also when absent). */
  span_name_normalization?: 'off' | 'dry_run' | 'on';
  /** Self time per span (duration minus its children's union within service_graphs.wait) as a histogram; absent = off. */
  self_time?: boolean;
  /** Most spans (and tombstones) the self-time store holds; absent = SELF_TIME_MAX_ITEMS. */
  self_time_max_items?: number;
}

/** One of Tempo's dimension_mappings: label `name` = the values of `source_labels` a span has, joined by `join`. */
export interface DimensionMappingConfig {
  name: string;
  /** Span or resource attributes (resource first, as dimensions), in order. */
  source_labels: string[];
  join: string;
}

export interface SpanEventsConfig {
  /** Count span events by span labels, event name and `dimensions`. */
  enabled: boolean;
  /** Event attribute names that become labels. */
  dimensions: string[];
  /** Event dimension → the value an event without it takes (the connector's events.dimensions[].default); absent = none. */
  dimension_defaults?: Record<string, string>;
}

/** One service-level objective over spans. */
export interface SloConfig {
  /** The `slo` label of its counters; unique. */
  name: string;
  /** For the alert annotations. */
  description: string;
  /** Exact service.name; "" = any service. */
  service: string;
  /** Exact span name; "" = any (unless span_name_regex). */
  span_name: string;
  /** A regular expression the whole span name must match; "" = none. */
  span_name_regex: string;
  /** Span kind (server, client, producer, consumer, internal); "" = any. */
  span_kind: string;
  /** Target percentage of good spans, 0 < objective < 100 (99.9). */
  objective: number;
  /** The SLO window, ms (YAML: "30d"). */
  window: number;
  kind: 'availability' | 'latency';
  /** Latency SLOs: a span at or under this many ms is good. */
  threshold: number;
  /** Availability SLOs: a span with an HTTP 5xx status attribute fails even without ERROR status. */
  http_5xx_as_error: boolean;
}

export interface ServiceGraphsConfig {
  /** How long an unpaired edge waits for its other side, in milliseconds (YAML: a Go duration string, "10s"). */
  wait: number;
  /** Most edges the store holds; spans beyond it are dropped and counted. */
  max_items: number;
  /** Accepted for Tempo compatibility (Tempo's worker goroutines); spanmeter's core is single-threaded. */
  workers: number;
  /** Latency histogram upper bounds in seconds, ascending; +Inf is implicit. */
  histogram_buckets: number[];
  /** Span attribute names that become edge labels (`X`, or `client_X`/`server_X` with the prefix option). */
  dimensions: string[];
  /** Label dimensions `client_X` / `server_X` instead of `X`. */
  enable_client_server_prefix: boolean;
  /** Emit traces_service_graph_request_messaging_system_seconds (consumer start - producer end). */
  enable_messaging_system_latency_histogram: boolean;
  /** Add the `virtual_node` label (client|server) to edges with an uninstrumented side. */
  enable_virtual_node_label: boolean;
  /** Edges from parent/child links across services that are not client/server pairs (off: Tempo's pairing only). */
  infer_edges: 'off' | 'parent_child';
  /** Attributes naming the peer of a lone client span (virtual node), searched in order. */
  peer_attributes: string[];
  /** Attributes naming the database of a database edge, searched in order. */
  database_name_attributes: string[];
  /** Span attribute whose value weights the span (sampled traces); "" = off. */
  span_multiplier_key: string;
  /** Tempo's filter policies: which client/server spans make edges (src/config/filters.ts). */
  filter_policies: FilterPolicy[];
  /** Weigh a span by its tracestate's OpenTelemetry sampling threshold first (Tempo's option). */
  enable_tracestate_span_multiplier: boolean;
}

export interface OtlpConfig {
  /** host:port for OTLP/HTTP; "" disables the receiver. */
  http_endpoint: string;
  /** host:port for OTLP/gRPC; "" disables the receiver. */
  grpc_endpoint: string;
  /** Largest request body accepted after decompression, bytes (HTTP and gRPC). */
  max_request_body_size: number;
  /** Bytes of request bodies being received or handled at once; more answers 429 / UNAVAILABLE. 0 = unlimited. */
  max_inflight_bytes: number;
  /** Requests being received or handled at once; more answers 429 / UNAVAILABLE. 0 = unlimited. */
  max_inflight_requests: number;
  /** Most spans in one request; more answers 400 / INVALID_ARGUMENT. 0 = unlimited. */
  max_spans_per_request: number;
  /** Largest decompressed/compressed size ratio of an OTLP/HTTP body; more answers 413. 0 = off. */
  max_decompression_ratio: number;
  /** Longest string in a span (names, status message, attribute keys and string values), bytes; more answers 400 / INVALID_ARGUMENT. 0 = unlimited. */
  max_string_length: number;
  /** Most attributes on one span; more answers 400 / INVALID_ARGUMENT. 0 = unlimited. */
  max_attributes_per_span: number;
  /** Open connections per receiver port; more are closed on arrival, counted and logged. 0 = unlimited. */
  max_connections: number;
  /** OTLP/HTTP: request headers must arrive within this many ms (408 otherwise). 0 = Node's default. */
  read_header_timeout: number;
  /** OTLP/HTTP: the whole request must arrive within this many ms (408 otherwise). 0 = no limit. */
  read_timeout: number;
  /** A request (HTTP) or call (gRPC) must be received and answered within this many ms, or it is cut. 0 = no limit. */
  write_timeout: number;
  /** OTLP/HTTP: an idle keep-alive connection is closed after this many ms. 0 = Node's default (5s). */
  idle_timeout: number;
  /** A request or call holding ingest budget that receives no body bytes for this many ms is cut. 0 = no limit. */
  stalled_request_timeout: number;
  /** OTLP/gRPC: streams (calls) open at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). 0 = unlimited. */
  max_concurrent_streams: number;
  /** OTLP/gRPC connection management, with the Collector's (grpc-go's) names. */
  keepalive: GrpcKeepaliveConfig;
  tls: TlsConfig;
  auth: AuthConfig;
}

/** The Collector's keepalive block of a gRPC server (configgrpc). */
export interface GrpcKeepaliveConfig {
  server_parameters: {
    /** A connection without a call for this long gets GOAWAY, ms; 0 = never. */
    max_connection_idle: number;
    /** A connection this old gets GOAWAY, ms; 0 = never. */
    max_connection_age: number;
    /** After the GOAWAY of max_connection_age, calls in flight have this long before the connection is cut, ms. */
    max_connection_age_grace: number;
  };
  enforcement_policy: {
    /** Pings closer together than this earn a strike (3 strikes: GOAWAY ENHANCE_YOUR_CALM), ms. */
    min_time: number;
    /** Pings on a connection without calls are allowed (at min_time). */
    permit_without_stream: boolean;
  };
}

/** TLS for a listener (the Collector's key names); cert_file "" = plain TCP. */
export interface TlsConfig {
  /** PEM certificate chain; with key_file, turns TLS on. */
  cert_file: string;
  /** PEM private key. */
  key_file: string;
  /** PEM CA bundle; when set, clients must present a certificate it signed (mTLS). */
  client_ca_file: string;
}

/** Bearer-token authentication; both empty = off. */
export interface AuthConfig {
  /** The token clients must send as `Authorization: Bearer <token>`. */
  bearer_token: string;
  /** A file holding the token (trailing newline ignored); read at startup. */
  bearer_token_file: string;
}

/** Limits of the metrics/page server (http_endpoint) against clients that do not read; 0 = off. */
export interface HttpLimitsConfig {
  /** Open connections at once; more are closed on arrival (Prometheus' --web.max-connections). */
  max_connections: number;
  /** Requests being answered at once, probes aside; more get 503 (client_golang's MaxRequestsInFlight). */
  max_requests_in_flight: number;
  /** A response not written within this many ms cuts its connection (YAML: "30s"). */
  write_timeout: number;
  /** Request headers must arrive within this many ms (408 otherwise); 0 = Node's default. */
  read_header_timeout: number;
  /** An idle keep-alive connection is closed after this many ms; 0 = Node's default (5s). */
  idle_timeout: number;
}

/**
 * The memory limiter (the Collector's memory_limiter, same keys and meanings): above the soft
 * limit (limit - spike) OTLP requests are refused with a retryable answer, above the hard limit a
 * garbage collection is forced as well. limit_mib wins over limit_percentage (of the cgroup's
 * memory limit, else the machine's memory); check_interval 0 turns the limiter off.
 */
export interface MemoryLimiterConfig {
  /** How often memory is measured, ms (YAML: "1s"); 0 = limiter off. */
  check_interval: number;
  /** The hard limit, MiB; 0 = use limit_percentage. */
  limit_mib: number;
  /** Hard limit minus soft limit, MiB; 0 = 20% of limit_mib. */
  spike_limit_mib: number;
  /** The hard limit as a percentage of the available memory (cgroup or machine), when limit_mib is 0. */
  limit_percentage: number;
  /** Hard minus soft limit as a percentage of the available memory, with limit_percentage; 0 = 20% of the limit. */
  spike_limit_percentage: number;
}

export interface RegistryConfig {
  /** Cap on active series across all processors, counted as Prometheus does; 0 = unlimited. */
  max_active_series: number;
  /**
   * Distinct values a span-metrics label may take over stale_duration before new label sets get
   * `__cardinality_overflow__` for it (Tempo's max_cardinality_per_label); 0 = no cap.
   */
  max_cardinality_per_label: number;
  /** Series not updated for this long are removed, in milliseconds (YAML: "15m"). */
  stale_duration: number;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One Prometheus remote-write receiver (Prometheus's / Tempo's `remote_write` entries). */
export interface RemoteWriteConfig {
  /** The receiver's write URL, e.g. http://prometheus:9090/api/v1/write. */
  url: string;
  /** Extra HTTP headers sent with every request (Authorization, X-Scope-OrgID, ...). */
  headers: Record<string, string>;
  /** Send exemplars (trace ids) with the samples, when the metric families carry them. */
  send_exemplars: boolean;
  /** Timeout of one request, ms (YAML: "30s"). */
  timeout: number;
}

export interface OtlpMetricsConfig {
  /** Base URL of the OTLP receiver (http://host:4317 for grpc, http://host:4318 for http/protobuf); "" = off. */
  endpoint: string;
  protocol: 'grpc' | 'http/protobuf';
  /** How often the metrics are pushed, ms (YAML: "15s"). */
  interval: number;
  temporality: 'cumulative' | 'delta';
  /** Extra headers (HTTP) or metadata (gRPC) sent with every export. */
  headers: Record<string, string>;
}

export interface Config {
  otlp: OtlpConfig;
  /** host:port serving /metrics and /healthz. */
  http_endpoint: string;
  /** TLS of http_endpoint. */
  tls: TlsConfig;
  /** Bearer token required on every path of http_endpoint but /healthz and /readyz. */
  http_auth: AuthConfig;
  processors: ProcessorName[];
  processor: {
    span_metrics: SpanMetricsConfig;
    service_graphs: ServiceGraphsConfig;
  };
  registry: RegistryConfig;
  /** Spans that ended longer than this before they arrive are left out, ms; 0 = keep all. */
  metrics_ingestion_time_range_slack: number;
  /** Metric names: Tempo's (traces_spanmetrics_*) or the Collector's spanmetrics connector's (traces_span_metrics_*). */
  naming: 'tempo' | 'otel';
  /** Tempo's generate_native_histograms: classic buckets, native (exponential) histograms, or both, for every histogram. */
  generate_native_histograms: 'classic' | 'native' | 'both';
  /** Largest factor between native bucket bounds: picks the schema (1.1: schema 3, 2^(1/8)). */
  native_histogram_bucket_factor: number;
  /** Most buckets in use per native histogram; past it the resolution halves (or the histogram resets). */
  native_histogram_max_bucket_number: number;
  /** Least time between resets of a native histogram that outgrew its buckets, ms; 0 = never reset. */
  native_histogram_min_reset_duration: number;
  /** How long SIGTERM/SIGINT may take (drain, flush, last push) before the process exits anyway, ms. */
  shutdown_timeout: number;
  /** Connection, in-flight and write-time limits of http_endpoint. */
  http_limits: HttpLimitsConfig;
  /** Refuse OTLP data while the process's memory is above a limit (issue 21). */
  memory_limiter: MemoryLimiterConfig;
  log_level: LogLevel;
  /** Prometheus remote-write receivers; empty = no remote write. */
  remote_write: RemoteWriteConfig[];
  /** How often a collection is remote-written, ms (YAML: "15s"; Tempo's registry.collection_interval). */
  collection_interval: number;
  /** Labels added to every remote-written and OTLP-pushed series (not to /metrics). */
  external_labels: Record<string, string>;
  /** The `instance` label of remote-written and pushed series; "" = `<hostname>:<http port>`. */
  instance: string;
  otlp_metrics: OtlpMetricsConfig;
  /** Service-level objectives: good and total span counters per SLO, and `spanmeter rules`. */
  slos: SloConfig[];
  /** The worst trace kept per series (the slowest's window). */
  exemplars: ExemplarsConfig;
  /** The web page. */
  ui: UiConfig;
}

export interface ExemplarsConfig {
  /** ms: each series keeps its slowest observation per window of this length (aligned to the epoch). */
  window: number;
}

export interface UiConfig {
  /** A trace view's URL with `{trace_id}` where the trace id goes (Grafana Explore, Jaeger); "" = no links. */
  trace_url: string;
}
