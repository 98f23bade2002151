// Defaults: Tempo's metrics-generator defaults for the processors, loopback addresses for the
// listeners (as the OpenTelemetry Collector binds them now).
import type { Config, RemoteWriteConfig, SloConfig } from './types.js';

/** Span-metrics latency buckets, seconds: 0.002 · 2^k, k = 0..13 (Tempo's default). */
export const DEFAULT_SPAN_METRICS_BUCKETS: readonly number[] = Object.freeze([
  0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384,
]);

/** Service-graph latency buckets, seconds: 0.1 · 2^k, k = 0..7 (Tempo's default). */
export const DEFAULT_SERVICE_GRAPHS_BUCKETS: readonly number[] = Object.freeze([
  0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8,
]);

/** The Collector spanmetrics connector's default latency buckets (2 ms … 15 s), in seconds: naming: otel. */
export const COLLECTOR_SPAN_METRICS_BUCKETS: readonly number[] = Object.freeze([
  0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15,
]);

/** Defaults of one slos entry besides its name and objective (every other SloConfig key). */
/** processor.span_metrics.self_time_max_items when absent: spans (and tombstones) the self-time store holds, 176 bytes each. */
export const SELF_TIME_MAX_ITEMS = 100_000;

export const SLO_DEFAULTS: Readonly<Omit<SloConfig, 'name' | 'objective'>> = {
  description: '', service: '', span_name: '', span_name_regex: '', span_kind: '', window: 30 * 86_400_000,
  kind: 'availability', threshold: 0, http_5xx_as_error: false,
};

/** Defaults of one remote_write entry besides its url (every other RemoteWriteConfig key). */
export const REMOTE_WRITE_DEFAULTS: Readonly<Omit<RemoteWriteConfig, 'url'>> = {
  headers: {}, send_exemplars: false, timeout: 30_000,
};

/** A fresh copy of the default configuration (safe to mutate). */
export function defaultConfig(): Config {
  return {
    otlp: {
      http_endpoint: '127.0.0.1:4318',
      grpc_endpoint: '127.0.0.1:4317',
      max_request_body_size: 64 * 1024 * 1024,
      max_inflight_bytes: 256 * 1024 * 1024,
      max_inflight_requests: 256,
      max_spans_per_request: 0,
      max_decompression_ratio: 1000,
      max_string_length: 65_536,
      max_attributes_per_span: 1024,
      // Issue 21: the Collector's HTTP server defaults (headers 1m, response 30s, idle 1m); a call
      // holding ingest budget without a byte for 10s is cut; gRPC as grpc-go enforces pings (5m).
      max_connections: 1024,
      read_header_timeout: 60_000,
      read_timeout: 60_000,
      write_timeout: 30_000,
      idle_timeout: 60_000,
      stalled_request_timeout: 10_000,
      max_concurrent_streams: 100,
      keepalive: {
        server_parameters: { max_connection_idle: 300_000, max_connection_age: 0, max_connection_age_grace: 30_000 },
        enforcement_policy: { min_time: 300_000, permit_without_stream: false },
      },
      tls: { cert_file: '', key_file: '', client_ca_file: '' },
      auth: { bearer_token: '', bearer_token_file: '' },
    },
    http_endpoint: '127.0.0.1:9464',
    tls: { cert_file: '', key_file: '', client_ca_file: '' },
    http_auth: { bearer_token: '', bearer_token_file: '' },
    // Prometheus' --web.max-connections (512); the Collector's HTTP write timeout (30s). Issue 21.
    http_limits: { max_connections: 512, max_requests_in_flight: 16, write_timeout: 30_000, read_header_timeout: 60_000, idle_timeout: 60_000 },
    // On by default (the Collector's has no default): hard limit at 80% of the cgroup's or the
    // machine's memory, the spike 20% of that (soft limit at 64%), checked every second (the
    // Collector's recommended interval). Issue 21.
    memory_limiter: { check_interval: 1000, limit_mib: 0, spike_limit_mib: 0, limit_percentage: 80, spike_limit_percentage: 0 },
    // Both on: a sidecar is run for both (Tempo keeps this list per tenant in its overrides and
    // defaults to none; one sidecar is one tenant). Issue 18 item 1.
    processors: ['span-metrics', 'service-graphs'],
    processor: {
      span_metrics: {
        histogram_buckets: [...DEFAULT_SPAN_METRICS_BUCKETS],
        dimensions: [],
        intrinsic_dimensions: {
          service: true,
          span_name: true,
          span_kind: true,
          status_code: true,
          status_message: false,
        },
        span_multiplier_key: '',
        histogram_unit: 'ms',
        events: { enabled: false, dimensions: [] },
        namespace: 'traces.span.metrics',
        filter_policies: [],
        enable_tracestate_span_multiplier: false,
        // Tempo's defaults (spanmetrics/config.go RegisterFlagsAndApplyDefaults).
        enable_target_info: false,
        target_info_excluded_dimensions: [],
        enable_instance_label: true,
      },
      service_graphs: {
        wait: 10_000,
        max_items: 10_000,
        workers: 10,
        histogram_buckets: [...DEFAULT_SERVICE_GRAPHS_BUCKETS],
        dimensions: [],
        enable_client_server_prefix: false,
        enable_messaging_system_latency_histogram: false,
        enable_virtual_node_label: false,
        infer_edges: 'off',
        peer_attributes: ['peer.service', 'db.name', 'db.system', 'db.system.name'],
        database_name_attributes: ['db.namespace', 'db.name', 'db.system', 'db.system.name'],
        span_multiplier_key: '',
        filter_policies: [],
        enable_tracestate_span_multiplier: false,
      },
    },
    // Tempo and the Collector default to no limit; spanmeter does not, so that ids in span names
    // cannot grow the default install without bound (issue 21 item 4). 200,000 Prometheus series
    // is ~10,500 span-metrics label sets with the 14 default buckets; 0 turns the limit off.
    registry: { max_active_series: 200_000, max_cardinality_per_label: 0, stale_duration: 15 * 60_000 },
    metrics_ingestion_time_range_slack: 0,
    naming: 'tempo',
    // Tempo's overrides defaults (metrics_generator: classic, 1.1, 100, 15m).
    generate_native_histograms: 'classic',
    native_histogram_bucket_factor: 1.1,
    native_histogram_max_bucket_number: 100,
    native_histogram_min_reset_duration: 15 * 60_000,
    shutdown_timeout: 30_000,
    log_level: 'info',
    remote_write: [],
    collection_interval: 15_000,
    external_labels: {},
    instance: '',
    otlp_metrics: { endpoint: '', protocol: 'grpc', interval: 15_000, temporality: 'cumulative', headers: {} },
    slos: [],
    exemplars: { window: 60_000 },
    ui: { trace_url: '' },
  };
}
