import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { load } from './helpers.js';

const EXPECTED_DEFAULTS = {
  otlp: {
    http_endpoint: '127.0.0.1:4318',
    grpc_endpoint: '127.0.0.1:4317',
    max_request_body_size: 67108864,
    max_inflight_bytes: 268435456,
    max_inflight_requests: 256,
    max_spans_per_request: 0,
    max_decompression_ratio: 1000,
    max_string_length: 65536,
    max_attributes_per_span: 1024,
    // issue 21 item 3: the Collector's confighttp defaults (read_header_timeout 1m, write_timeout
    // 30s, idle_timeout 1m); grpc-go's keepalive enforcement min_time 5m; ours otherwise (docs/config.md)
    max_connections: 1024, read_header_timeout: 60000, read_timeout: 60000, write_timeout: 30000, idle_timeout: 60000,
    stalled_request_timeout: 10000, max_concurrent_streams: 100,
    keepalive: {
      server_parameters: { max_connection_idle: 300000, max_connection_age: 0, max_connection_age_grace: 30000 },
      enforcement_policy: { min_time: 300000, permit_without_stream: false },
    },
    tls: { cert_file: '', key_file: '', client_ca_file: '' },
    auth: { bearer_token: '', bearer_token_file: '' },
  },
  http_endpoint: '127.0.0.1:9464',
  tls: { cert_file: '', key_file: '', client_ca_file: '' },
  http_auth: { bearer_token: '', bearer_token_file: '' },
  // Prometheus' --web.max-connections default 512; the Collector's HTTP WriteTimeout 30s (issue 21).
  http_limits: { max_connections: 512, max_requests_in_flight: 16, write_timeout: 30000, read_header_timeout: 60000, idle_timeout: 60000 },
  // On by default (the Collector's has none): 80% of the cgroup's or machine's memory, spike 20% of
  // that; 1s is the Collector README's recommended check_interval (docs/config.md).
  memory_limiter: { check_interval: 1000, limit_mib: 0, spike_limit_mib: 0, limit_percentage: 80, spike_limit_percentage: 0 },
  processors: ['span-metrics', 'service-graphs'], // both on (issue 18 item 1; docs/config.md)
  processor: {
    span_metrics: {
      histogram_buckets: [0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384],
      dimensions: [],
      intrinsic_dimensions: { service: true, span_name: true, span_kind: true, status_code: true, status_message: false },
      span_multiplier_key: '',
      histogram_unit: 'ms',
      events: { enabled: false, dimensions: [] },
      filter_policies: [],
      enable_tracestate_span_multiplier: false,
      enable_target_info: false,
      target_info_excluded_dimensions: [],
      enable_instance_label: true,
      namespace: 'traces.span.metrics',
    },
    service_graphs: {
      wait: 10000,
      max_items: 10000,
      workers: 10,
      histogram_buckets: [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8],
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
  registry: { max_active_series: 200000, max_cardinality_per_label: 0, stale_duration: 900000 }, // a safe default, not Tempo's 0 (issue 21 item 4; docs/config.md)
  metrics_ingestion_time_range_slack: 0,
  naming: 'tempo',
  // Tempo's overrides defaults (Tempo configuration docs: classic, 1.1, 100, 15m)
  generate_native_histograms: 'classic',
  native_histogram_bucket_factor: 1.1,
  native_histogram_max_bucket_number: 100,
  native_histogram_min_reset_duration: 900000,
  shutdown_timeout: 30000,
  log_level: 'info',
  remote_write: [],
  collection_interval: 15000,
  external_labels: {},
  instance: '',
  otlp_metrics: { endpoint: '', protocol: 'grpc', interval: 15000, temporality: 'cumulative', headers: {} },
  slos: [],
  exemplars: { window: 60000 }, // a minute: the slowest per series per window (docs/config.md)
  ui: { trace_url: '' }, // no trace links until a trace view is configured (docs/config.md)
};

describe('defaults', () => {
  it('with no file, env or flags, the config is the defaults', () => {
    const r = load();
    expect(r.config).toEqual(EXPECTED_DEFAULTS);
    expect(r.configFile).toBeUndefined();
    expect(r.warnings).toEqual([]);
  });

  it('bucket literals equal the doubles Tempo computes (start · 2^k)', () => {
    const c = defaultConfig();
    expect(c.processor.span_metrics.histogram_buckets).toEqual(Array.from({ length: 14 }, (_, k) => 0.002 * 2 ** k));
    expect(c.processor.service_graphs.histogram_buckets).toEqual(Array.from({ length: 8 }, (_, k) => 0.1 * 2 ** k));
  });

  it('defaultConfig returns a fresh copy each time', () => {
    const a = defaultConfig();
    a.processor.span_metrics.histogram_buckets.push(99);
    a.processor.span_metrics.dimensions.push('x');
    a.processor.service_graphs.peer_attributes.length = 0;
    expect(defaultConfig()).toEqual(EXPECTED_DEFAULTS);
    expect(load().config).toEqual(EXPECTED_DEFAULTS);
  });

  it('ignores environment variables without the SPANMETER_ prefix', () => {
    expect(load([], { PATH: '/bin', HOME: '/root', OTEL_EXPORTER_OTLP_ENDPOINT: 'x' }).config).toEqual(EXPECTED_DEFAULTS);
  });
});
