import { describe, expect, it } from 'vitest';
import { loadConfig, loadObject } from '../../src/config/load.js';
import { LEAVES } from '../../src/config/keys.js';
import { errorOf, fakeReader, load } from './helpers.js';

const TEMPO_STYLE = `
# the processor block is Tempo's metrics_generator.processor, as is
processors: [span-metrics, service-graphs]
processor:
  span_metrics:
    histogram_buckets: [0.01, 0.1, 1, 10]
    dimensions: [http.method, http.route]
    intrinsic_dimensions:
      status_message: true
    span_multiplier_key: sampling.ratio
    events: {enabled: true, dimensions: [exception.type]}
    enable_target_info: true
    target_info_excluded_dimensions: [host.id]
    enable_instance_label: false
  service_graphs:
    wait: 30s
    max_items: 20000
    workers: 4
    histogram_buckets: [0.05, 0.5, 5]
    dimensions: [k8s.namespace.name]
    enable_client_server_prefix: true
    enable_messaging_system_latency_histogram: true
    enable_virtual_node_label: true
    infer_edges: parent_child
    peer_attributes: [peer.service, server.address]
    database_name_attributes: [db.namespace]
    span_multiplier_key: X-SampleRatio
registry:
  max_active_series: 50000
  max_cardinality_per_label: 500
  stale_duration: 5m
metrics_ingestion_time_range_slack: 30s
generate_native_histograms: both
native_histogram_bucket_factor: 1.05
native_histogram_max_bucket_number: 120
native_histogram_min_reset_duration: 1h
otlp:
  http_endpoint: 0.0.0.0:4318
  grpc_endpoint: ""
  max_request_body_size: 1048576
  max_inflight_bytes: 1000000
  max_inflight_requests: 8
  max_spans_per_request: 5000
  max_decompression_ratio: 200
  max_string_length: 4096
  max_attributes_per_span: 256
  tls: {cert_file: /etc/otlp.pem, key_file: /etc/otlp.key, client_ca_file: /etc/ca.pem}
  auth: {bearer_token_file: /run/token}
http_endpoint: 0.0.0.0:9464
tls: {cert_file: /etc/m.pem, key_file: /etc/m.key}
http_auth: {bearer_token: s3cret}
memory_limiter: {check_interval: 5s, limit_mib: 4000, spike_limit_mib: 800}
log_level: debug
remote_write:
  - url: http://mimir:9009/api/v1/push
    headers: {X-Scope-OrgID: tenant-1}
    send_exemplars: true
    timeout: 10s
  - url: https://prometheus.example/api/v1/write
collection_interval: 30s
external_labels: {cluster: eu-1, replica: a}
instance: spanmeter-0
otlp_metrics:
  endpoint: http://alloy:4318
  protocol: http/protobuf
  interval: 1m
  temporality: delta
  headers: {Authorization: Bearer x}
slos:
  - name: checkout-latency
    description: Checkout is fast
    service: checkout
    span_name_regex: "POST /checkout.*"
    span_kind: SPAN_KIND_SERVER
    objective: 99.5
    window: 4w
    kind: latency
    threshold: 250ms
  - {name: cart, objective: 99, http_5xx_as_error: true}
exemplars:
  window: 30s
ui:
  trace_url: http://jaeger:16686/trace/{trace_id}
`;

describe('YAML file', () => {
  it('reads every key', () => {
    const r = load(['--config', 'spanmeter.yaml'], {}, { 'spanmeter.yaml': TEMPO_STYLE });
    expect(r.configFile).toBe('spanmeter.yaml');
    expect(r.warnings).toEqual([]);
    expect(r.config).toEqual({
      otlp: {
        http_endpoint: '0.0.0.0:4318', grpc_endpoint: '', max_request_body_size: 1048576,
        max_inflight_bytes: 1000000, max_inflight_requests: 8, max_spans_per_request: 5000, max_decompression_ratio: 200,
        max_string_length: 4096, max_attributes_per_span: 256,
        max_connections: 1024, read_header_timeout: 60000, read_timeout: 60000, write_timeout: 30000, idle_timeout: 60000,
        stalled_request_timeout: 10000, max_concurrent_streams: 100,
        keepalive: {
          server_parameters: { max_connection_idle: 300000, max_connection_age: 0, max_connection_age_grace: 30000 },
          enforcement_policy: { min_time: 300000, permit_without_stream: false },
        },
        tls: { cert_file: '/etc/otlp.pem', key_file: '/etc/otlp.key', client_ca_file: '/etc/ca.pem' },
        auth: { bearer_token: '', bearer_token_file: '/run/token' },
      },
      http_endpoint: '0.0.0.0:9464',
      tls: { cert_file: '/etc/m.pem', key_file: '/etc/m.key', client_ca_file: '' },
      http_auth: { bearer_token: 's3cret', bearer_token_file: '' },
      http_limits: { max_connections: 512, max_requests_in_flight: 16, write_timeout: 30000, read_header_timeout: 60000, idle_timeout: 60000 }, // defaults (issue 21)
      // The Collector README's example values; the percentages keep their defaults.
      memory_limiter: { check_interval: 5000, limit_mib: 4000, spike_limit_mib: 800, limit_percentage: 80, spike_limit_percentage: 0 },
      processors: ['span-metrics', 'service-graphs'],
      processor: {
        span_metrics: {
          histogram_buckets: [0.01, 0.1, 1, 10],
          dimensions: ['http.method', 'http.route'],
          intrinsic_dimensions: { service: true, span_name: true, span_kind: true, status_code: true, status_message: true },
          span_multiplier_key: 'sampling.ratio',
          histogram_unit: 'ms',
          events: { enabled: true, dimensions: ['exception.type'] },
          filter_policies: [],
          enable_tracestate_span_multiplier: false,
          enable_target_info: true,
          target_info_excluded_dimensions: ['host.id'],
          enable_instance_label: false,
          namespace: 'traces.span.metrics',
        },
        service_graphs: {
          wait: 30000,
          max_items: 20000,
          workers: 4,
          histogram_buckets: [0.05, 0.5, 5],
          dimensions: ['k8s.namespace.name'],
          enable_client_server_prefix: true,
          enable_messaging_system_latency_histogram: true,
          enable_virtual_node_label: true,
          infer_edges: 'parent_child',
          peer_attributes: ['peer.service', 'server.address'],
          database_name_attributes: ['db.namespace'],
          span_multiplier_key: 'X-SampleRatio',
          filter_policies: [],
          enable_tracestate_span_multiplier: false,
        },
      },
      registry: { max_active_series: 50000, max_cardinality_per_label: 500, stale_duration: 300000 },
      metrics_ingestion_time_range_slack: 30000,
      naming: 'tempo',
      generate_native_histograms: 'both',
      native_histogram_bucket_factor: 1.05,
      native_histogram_max_bucket_number: 120,
      native_histogram_min_reset_duration: 3_600_000,
      shutdown_timeout: 30000,
      log_level: 'debug',
      remote_write: [
        { url: 'http://mimir:9009/api/v1/push', headers: { 'X-Scope-OrgID': 'tenant-1' }, send_exemplars: true, timeout: 10000 },
        { url: 'https://prometheus.example/api/v1/write', headers: {}, send_exemplars: false, timeout: 30000 },
      ],
      collection_interval: 30000,
      external_labels: { cluster: 'eu-1', replica: 'a' },
      instance: 'spanmeter-0',
      otlp_metrics: {
        endpoint: 'http://alloy:4318',
        protocol: 'http/protobuf',
        interval: 60000,
        temporality: 'delta',
        headers: { Authorization: 'Bearer x' },
      },
      slos: [
        {
          name: 'checkout-latency', description: 'Checkout is fast', service: 'checkout', span_name: '',
          span_name_regex: 'POST /checkout.*', span_kind: 'span_kind_server', objective: 99.5, window: 28 * 86_400_000,
          kind: 'latency', threshold: 250, http_5xx_as_error: false,
        },
        {
          name: 'cart', description: '', service: '', span_name: '', span_name_regex: '', span_kind: '', objective: 99,
          window: 30 * 86_400_000, kind: 'availability', threshold: 0, http_5xx_as_error: true,
        },
      ],
      exemplars: { window: 30_000 },
      ui: { trace_url: 'http://jaeger:16686/trace/{trace_id}' },
    });
  });

  it('keeps defaults for keys left out, null, or in empty sections', () => {
    const r = load(['--config', 'c.yaml'], {}, {
      'c.yaml': 'otlp:\n  grpc_endpoint: ""\nprocessor:\n  span_metrics:\n    dimensions:\n  service_graphs: {}\nlog_level: ~\n',
    });
    expect(r.config.otlp).toEqual({ http_endpoint: '127.0.0.1:4318', grpc_endpoint: '', max_request_body_size: 67108864, max_inflight_bytes: 268435456, max_inflight_requests: 256, max_spans_per_request: 0, max_decompression_ratio: 1000, max_string_length: 65536, max_attributes_per_span: 1024, max_connections: 1024, read_header_timeout: 60000, read_timeout: 60000, write_timeout: 30000, idle_timeout: 60000, stalled_request_timeout: 10000, max_concurrent_streams: 100, keepalive: { server_parameters: { max_connection_idle: 300000, max_connection_age: 0, max_connection_age_grace: 30000 }, enforcement_policy: { min_time: 300000, permit_without_stream: false } }, tls: { cert_file: '', key_file: '', client_ca_file: '' }, auth: { bearer_token: '', bearer_token_file: '' } });
    expect(r.config.processor.span_metrics.dimensions).toEqual([]);
    expect(r.config.processor.service_graphs.wait).toBe(10000);
    expect(r.config.log_level).toBe('info');
  });

  it('an empty file or a comment-only file is the defaults', () => {
    expect(load(['--config', 'e.yaml'], {}, { 'e.yaml': '' }).config.http_endpoint).toBe('127.0.0.1:9464');
    expect(load(['--config', 'e.yaml'], {}, { 'e.yaml': '# nothing\n' }).config.processors).toEqual(['span-metrics', 'service-graphs']);
  });

  it('resolves YAML anchors and aliases', () => {
    const r = load(['--config', 'c.yaml'], {}, {
      'c.yaml': 'processors: [span-metrics, service-graphs]\nprocessor:\n  span_metrics: {dimensions: &dims [a, b]}\n  service_graphs: {dimensions: *dims}\n',
    });
    expect(r.config.processor.service_graphs.dimensions).toEqual(['a', 'b']);
  });

  it('intrinsic_dimensions keys not given keep their defaults', () => {
    const r = load(['--config', 'c.yaml'], {}, {
      'c.yaml': 'processor: {span_metrics: {intrinsic_dimensions: {service: false}}}\n',
    });
    expect(r.config.processor.span_metrics.intrinsic_dimensions).toEqual({
      service: false, span_name: true, span_kind: true, status_code: true, status_message: false,
    });
  });

  it('log_level is case-insensitive', () => {
    expect(load(['--config', 'c.yaml'], {}, { 'c.yaml': 'log_level: WARN\n' }).config.log_level).toBe('warn');
  });

  it('SPANMETER_CONFIG names the file; --config wins over it; an empty SPANMETER_CONFIG means no file', () => {
    const files = { 'a.yaml': 'log_level: debug\n', 'b.yaml': 'log_level: error\n' };
    expect(load([], { SPANMETER_CONFIG: 'a.yaml' }, files).config.log_level).toBe('debug');
    const r = load(['--config', 'b.yaml'], { SPANMETER_CONFIG: 'a.yaml' }, files);
    expect(r.config.log_level).toBe('error');
    expect(r.configFile).toBe('b.yaml');
    expect(load([], { SPANMETER_CONFIG: '' }, files).configFile).toBeUndefined();
  });

  it('reads the file from disk by default', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'spanmeter-config-'));
    const file = join(dir, 'spanmeter.yaml');
    writeFileSync(file, 'processors: [service-graphs]\nprocessor: {service_graphs: {wait: 1s}}\n');
    const r = loadConfig({ argv: [`--config=${file}`], env: {} });
    expect(r.action === 'run' && r.config.processors).toEqual(['service-graphs']);
    expect(r.action === 'run' && r.config.processor.service_graphs.wait).toBe(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns when a processor block is configured but the processor is not enabled', () => {
    // Both processors are on by default: this config turns service-graphs off and still configures it.
    const r = load(['--config', 'c.yaml'], {}, { 'c.yaml': 'processors: [span-metrics]\nprocessor: {service_graphs: {wait: 1s}}\n' });
    expect(r.warnings).toEqual([
      'processor.service_graphs is configured but service-graphs is not in processors: it has no effect',
    ]);
  });

  it('self time reads processor.service_graphs.wait with service graphs off (no warning); its store size alone warns', () => {
    const on = load(['--config', 'c.yaml'], {}, {
      'c.yaml': 'processors: [span-metrics]\nprocessor: {span_metrics: {self_time: true}, service_graphs: {wait: 1s}}\n',
    });
    expect(on.warnings).toEqual([]);
    const off = load(['--config', 'c.yaml'], {}, { 'c.yaml': 'processor: {span_metrics: {self_time_max_items: 5000}}\n' });
    expect(off.warnings).toEqual(['processor.span_metrics.self_time_max_items is set but self_time is not: it has no effect']);
  });
});

describe('env vars', () => {
  it('the named variables', () => {
    const r = load([], {
      SPANMETER_LOG_LEVEL: 'debug',
      SPANMETER_OTLP_HTTP_ENDPOINT: '0.0.0.0:14318',
      SPANMETER_OTLP_GRPC_ENDPOINT: '',
      SPANMETER_HTTP_ENDPOINT: '[::]:9090',
      SPANMETER_PROCESSORS: 'span-metrics, service-graphs',
    });
    expect(r.config.log_level).toBe('debug');
    expect(r.config.otlp.http_endpoint).toBe('0.0.0.0:14318');
    expect(r.config.otlp.grpc_endpoint).toBe('');
    expect(r.config.http_endpoint).toBe('[::]:9090');
    expect(r.config.processors).toEqual(['span-metrics', 'service-graphs']);
  });

  it('the general rule: SPANMETER_ + key path in upper case, "_" between parts', () => {
    const r = load([], {
      SPANMETER_OTLP_MAX_REQUEST_BODY_SIZE: '1024',
      SPANMETER_PROCESSOR_SPAN_METRICS_HISTOGRAM_BUCKETS: '0.1,1,10',
      SPANMETER_PROCESSOR_SPAN_METRICS_DIMENSIONS: 'http.method,http.route',
      SPANMETER_PROCESSOR_SPAN_METRICS_INTRINSIC_DIMENSIONS_STATUS_MESSAGE: 'true',
      SPANMETER_PROCESSOR_SPAN_METRICS_INTRINSIC_DIMENSIONS_SPAN_KIND: 'FALSE',
      SPANMETER_PROCESSOR_SERVICE_GRAPHS_WAIT: '1m30s',
      SPANMETER_PROCESSOR_SERVICE_GRAPHS_MAX_ITEMS: '500',
      SPANMETER_PROCESSOR_SERVICE_GRAPHS_PEER_ATTRIBUTES: '[peer.service, "a,b"]',
      SPANMETER_PROCESSOR_SERVICE_GRAPHS_DATABASE_NAME_ATTRIBUTES: '',
      SPANMETER_PROCESSOR_SERVICE_GRAPHS_SPAN_MULTIPLIER_KEY: 'ratio',
    });
    expect(r.config.otlp.max_request_body_size).toBe(1024);
    expect(r.config.processor.span_metrics.histogram_buckets).toEqual([0.1, 1, 10]);
    expect(r.config.processor.span_metrics.dimensions).toEqual(['http.method', 'http.route']);
    expect(r.config.processor.span_metrics.intrinsic_dimensions.status_message).toBe(true);
    expect(r.config.processor.span_metrics.intrinsic_dimensions.span_kind).toBe(false);
    expect(r.config.processor.service_graphs.wait).toBe(90000);
    expect(r.config.processor.service_graphs.max_items).toBe(500);
    expect(r.config.processor.service_graphs.peer_attributes).toEqual(['peer.service', 'a,b']);
    expect(r.config.processor.service_graphs.database_name_attributes).toEqual([]);
    expect(r.config.processor.service_graphs.span_multiplier_key).toBe('ratio');
  });

  it('every key has exactly one env var name, and the named ones are as documented', () => {
    const names = LEAVES.map((l) => l.env);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      'SPANMETER_OTLP_HTTP_ENDPOINT',
      'SPANMETER_OTLP_GRPC_ENDPOINT',
      'SPANMETER_OTLP_MAX_REQUEST_BODY_SIZE',
      'SPANMETER_OTLP_MAX_INFLIGHT_BYTES',
      'SPANMETER_OTLP_MAX_INFLIGHT_REQUESTS',
      'SPANMETER_OTLP_MAX_SPANS_PER_REQUEST',
      'SPANMETER_OTLP_MAX_DECOMPRESSION_RATIO',
      'SPANMETER_OTLP_MAX_STRING_LENGTH',
      'SPANMETER_OTLP_MAX_ATTRIBUTES_PER_SPAN',
      'SPANMETER_OTLP_MAX_CONNECTIONS',
      'SPANMETER_OTLP_READ_HEADER_TIMEOUT',
      'SPANMETER_OTLP_READ_TIMEOUT',
      'SPANMETER_OTLP_WRITE_TIMEOUT',
      'SPANMETER_OTLP_IDLE_TIMEOUT',
      'SPANMETER_OTLP_STALLED_REQUEST_TIMEOUT',
      'SPANMETER_OTLP_MAX_CONCURRENT_STREAMS',
      'SPANMETER_OTLP_KEEPALIVE_SERVER_PARAMETERS_MAX_CONNECTION_IDLE',
      'SPANMETER_OTLP_KEEPALIVE_SERVER_PARAMETERS_MAX_CONNECTION_AGE',
      'SPANMETER_OTLP_KEEPALIVE_SERVER_PARAMETERS_MAX_CONNECTION_AGE_GRACE',
      'SPANMETER_OTLP_KEEPALIVE_ENFORCEMENT_POLICY_MIN_TIME',
      'SPANMETER_OTLP_KEEPALIVE_ENFORCEMENT_POLICY_PERMIT_WITHOUT_STREAM',
      'SPANMETER_OTLP_TLS_CERT_FILE',
      'SPANMETER_OTLP_TLS_KEY_FILE',
      'SPANMETER_OTLP_TLS_CLIENT_CA_FILE',
      'SPANMETER_OTLP_AUTH_BEARER_TOKEN',
      'SPANMETER_OTLP_AUTH_BEARER_TOKEN_FILE',
      'SPANMETER_HTTP_ENDPOINT',
      'SPANMETER_TLS_CERT_FILE',
      'SPANMETER_TLS_KEY_FILE',
      'SPANMETER_TLS_CLIENT_CA_FILE',
      'SPANMETER_HTTP_AUTH_BEARER_TOKEN',
      'SPANMETER_HTTP_AUTH_BEARER_TOKEN_FILE',
      'SPANMETER_HTTP_LIMITS_MAX_CONNECTIONS',
      'SPANMETER_HTTP_LIMITS_MAX_REQUESTS_IN_FLIGHT',
      'SPANMETER_HTTP_LIMITS_WRITE_TIMEOUT',
      'SPANMETER_HTTP_LIMITS_READ_HEADER_TIMEOUT',
      'SPANMETER_HTTP_LIMITS_IDLE_TIMEOUT',
      'SPANMETER_MEMORY_LIMITER_CHECK_INTERVAL',
      'SPANMETER_MEMORY_LIMITER_LIMIT_MIB',
      'SPANMETER_MEMORY_LIMITER_SPIKE_LIMIT_MIB',
      'SPANMETER_MEMORY_LIMITER_LIMIT_PERCENTAGE',
      'SPANMETER_MEMORY_LIMITER_SPIKE_LIMIT_PERCENTAGE',
      'SPANMETER_PROCESSORS',
      'SPANMETER_PROCESSOR_SPAN_METRICS_HISTOGRAM_BUCKETS',
      'SPANMETER_PROCESSOR_SPAN_METRICS_DIMENSIONS',
      'SPANMETER_PROCESSOR_SPAN_METRICS_INTRINSIC_DIMENSIONS_SERVICE',
      'SPANMETER_PROCESSOR_SPAN_METRICS_INTRINSIC_DIMENSIONS_SPAN_NAME',
      'SPANMETER_PROCESSOR_SPAN_METRICS_INTRINSIC_DIMENSIONS_SPAN_KIND',
      'SPANMETER_PROCESSOR_SPAN_METRICS_INTRINSIC_DIMENSIONS_STATUS_CODE',
      'SPANMETER_PROCESSOR_SPAN_METRICS_INTRINSIC_DIMENSIONS_STATUS_MESSAGE',
      'SPANMETER_PROCESSOR_SPAN_METRICS_SPAN_MULTIPLIER_KEY',
      'SPANMETER_PROCESSOR_SPAN_METRICS_HISTOGRAM_UNIT',
      'SPANMETER_PROCESSOR_SPAN_METRICS_EVENTS_ENABLED',
      'SPANMETER_PROCESSOR_SPAN_METRICS_EVENTS_DIMENSIONS',
      'SPANMETER_PROCESSOR_SPAN_METRICS_EVENTS_DIMENSION_DEFAULTS',
      'SPANMETER_PROCESSOR_SPAN_METRICS_FILTER_POLICIES',
      'SPANMETER_PROCESSOR_SPAN_METRICS_ENABLE_TRACESTATE_SPAN_MULTIPLIER',
      'SPANMETER_PROCESSOR_SPAN_METRICS_NAMESPACE',
      'SPANMETER_PROCESSOR_SPAN_METRICS_DIMENSION_DEFAULTS',
      'SPANMETER_PROCESSOR_SPAN_METRICS_DIMENSION_MAPPINGS',
      'SPANMETER_PROCESSOR_SPAN_METRICS_CALLS_DIMENSIONS',
      'SPANMETER_PROCESSOR_SPAN_METRICS_HISTOGRAM_DIMENSIONS',
      'SPANMETER_PROCESSOR_SPAN_METRICS_INCLUDE_INSTRUMENTATION_SCOPE',
      'SPANMETER_PROCESSOR_SPAN_METRICS_ENABLE_TARGET_INFO',
      'SPANMETER_PROCESSOR_SPAN_METRICS_TARGET_INFO_EXCLUDED_DIMENSIONS',
      'SPANMETER_PROCESSOR_SPAN_METRICS_ENABLE_INSTANCE_LABEL',
      'SPANMETER_PROCESSOR_SPAN_METRICS_SPAN_NAME_NORMALIZATION',
      'SPANMETER_PROCESSOR_SPAN_METRICS_SELF_TIME',
      'SPANMETER_PROCESSOR_SPAN_METRICS_SELF_TIME_MAX_ITEMS',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_WAIT',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_MAX_ITEMS',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_WORKERS',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_HISTOGRAM_BUCKETS',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_DIMENSIONS',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_ENABLE_CLIENT_SERVER_PREFIX',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_ENABLE_MESSAGING_SYSTEM_LATENCY_HISTOGRAM',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_ENABLE_VIRTUAL_NODE_LABEL',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_INFER_EDGES',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_PEER_ATTRIBUTES',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_DATABASE_NAME_ATTRIBUTES',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_SPAN_MULTIPLIER_KEY',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_FILTER_POLICIES',
      'SPANMETER_PROCESSOR_SERVICE_GRAPHS_ENABLE_TRACESTATE_SPAN_MULTIPLIER',
      'SPANMETER_REGISTRY_MAX_ACTIVE_SERIES',
      'SPANMETER_REGISTRY_MAX_CARDINALITY_PER_LABEL',
      'SPANMETER_REGISTRY_STALE_DURATION',
      'SPANMETER_METRICS_INGESTION_TIME_RANGE_SLACK',
      'SPANMETER_NAMING',
      'SPANMETER_GENERATE_NATIVE_HISTOGRAMS',
      'SPANMETER_NATIVE_HISTOGRAM_BUCKET_FACTOR',
      'SPANMETER_NATIVE_HISTOGRAM_MAX_BUCKET_NUMBER',
      'SPANMETER_NATIVE_HISTOGRAM_MIN_RESET_DURATION',
      'SPANMETER_SHUTDOWN_TIMEOUT',
      'SPANMETER_LOG_LEVEL',
      'SPANMETER_REMOTE_WRITE',
      'SPANMETER_COLLECTION_INTERVAL',
      'SPANMETER_EXTERNAL_LABELS',
      'SPANMETER_INSTANCE',
      'SPANMETER_OTLP_METRICS_ENDPOINT',
      'SPANMETER_OTLP_METRICS_PROTOCOL',
      'SPANMETER_OTLP_METRICS_INTERVAL',
      'SPANMETER_OTLP_METRICS_TEMPORALITY',
      'SPANMETER_OTLP_METRICS_HEADERS',
      'SPANMETER_SLOS',
      'SPANMETER_EXEMPLARS_WINDOW',
      'SPANMETER_UI_TRACE_URL',
    ]);
  });
});

describe('flags', () => {
  it('the named flags, both "--flag value" and "--flag=value"', () => {
    const r = load([
      '--log-level', 'warn',
      '--otlp.http-endpoint=0.0.0.0:4318',
      '--otlp.grpc-endpoint', '',
      '--http-endpoint', 'localhost:0',
      '--processors', 'service-graphs',
    ]);
    expect(r.config.log_level).toBe('warn');
    expect(r.config.otlp.http_endpoint).toBe('0.0.0.0:4318');
    expect(r.config.otlp.grpc_endpoint).toBe('');
    expect(r.config.http_endpoint).toBe('localhost:0');
    expect(r.config.processors).toEqual(['service-graphs']);
  });

  it('--set sets any key, with the same value syntax as env vars', () => {
    const r = load([
      '--set', 'processor.span_metrics.dimensions=http.method,http.route',
      '--set=processor.span_metrics.intrinsic_dimensions.status_message=true',
      '--set', 'processor.service_graphs.wait=250ms',
      '--set', 'otlp.max_request_body_size=2048',
      '--set', 'processor.span_metrics.histogram_buckets=[0.5, 1]',
      '--set', 'processor.service_graphs.span_multiplier_key=a=b',
    ]);
    expect(r.config.processor.span_metrics.dimensions).toEqual(['http.method', 'http.route']);
    expect(r.config.processor.span_metrics.intrinsic_dimensions.status_message).toBe(true);
    expect(r.config.processor.service_graphs.wait).toBe(250);
    expect(r.config.otlp.max_request_body_size).toBe(2048);
    expect(r.config.processor.span_metrics.histogram_buckets).toEqual([0.5, 1]);
    expect(r.config.processor.service_graphs.span_multiplier_key).toBe('a=b');
  });

  it('--help / -h and --version win over everything else, even errors', () => {
    const run = (argv: string[]) => loadConfig({ argv, env: { SPANMETER_BOGUS: '1' }, readFile: fakeReader({}) }).action;
    expect(run(['--help'])).toBe('help');
    expect(run(['-h'])).toBe('help');
    expect(run(['--config', 'missing.yaml', '--bogus', '-h'])).toBe('help');
    expect(run(['--version'])).toBe('version');
    expect(run(['--version', '--help'])).toBe('help');
    expect(run(['--log-level=nope', '--version'])).toBe('version');
  });
});

describe('precedence: defaults < file < env < flags', () => {
  const files = {
    'c.yaml': 'log_level: debug\nhttp_endpoint: 127.0.0.1:1000\notlp: {http_endpoint: 127.0.0.1:2000, grpc_endpoint: 127.0.0.1:3000}\n',
  };

  it('file over defaults', () => {
    const c = load(['--config', 'c.yaml'], {}, files).config;
    expect([c.log_level, c.http_endpoint, c.otlp.http_endpoint, c.otlp.grpc_endpoint]).toEqual([
      'debug', '127.0.0.1:1000', '127.0.0.1:2000', '127.0.0.1:3000',
    ]);
  });

  it('env over file, flags over env, later flags over earlier ones', () => {
    const c = load(
      ['--config', 'c.yaml', '--http-endpoint', '127.0.0.1:1002', '--log-level', 'error', '--set', 'log_level=fatal'],
      { SPANMETER_LOG_LEVEL: 'warn', SPANMETER_HTTP_ENDPOINT: '127.0.0.1:1001', SPANMETER_OTLP_GRPC_ENDPOINT: '' },
      files,
    ).config;
    expect(c.log_level).toBe('fatal');
    expect(c.http_endpoint).toBe('127.0.0.1:1002');
    expect(c.otlp.http_endpoint).toBe('127.0.0.1:2000');
    expect(c.otlp.grpc_endpoint).toBe('');
    expect(c.processors).toEqual(['span-metrics', 'service-graphs']); // the default: no source sets it
  });

  it('a later source replaces a list, it does not append to it', () => {
    const c = load(
      ['--config', 'c.yaml', '--set', 'processor.span_metrics.dimensions=c'],
      {},
      { 'c.yaml': 'processor: {span_metrics: {dimensions: [a, b]}}\n' },
    ).config;
    expect(c.processor.span_metrics.dimensions).toEqual(['c']);
  });

  it('a flag cannot rescue an invalid file value: every source is checked', () => {
    expect(
      errorOf(['--config', 'c.yaml', '--log-level', 'info'], {}, { 'c.yaml': 'log_level: loud\n' }),
    ).toBe('config error: c.yaml:1:12: log_level: expected one of trace, debug, info, warn, error, fatal, silent, got string "loud"');
  });
});

describe('in process (Spanmeter.create): the same checks and merge as the file', () => {
  const IN_PROCESS = ['processors', 'processor', 'registry', 'naming', 'metrics_ingestion_time_range_slack', 'slos'] as const;
  const YAML = `
processors: [span-metrics, service-graphs]
naming: otel
registry: {stale_duration: 2m}
processor: {service_graphs: {wait: 2s}}
slos: [{name: checkout, objective: 99.5, kind: latency, threshold: 300ms}]
`;
  const OBJECT = {
    processors: ['span-metrics', 'service-graphs'],
    naming: 'otel',
    registry: { stale_duration: '2m' },
    processor: { service_graphs: { wait: '2s' } },
    slos: [{ name: 'checkout', objective: 99.5, kind: 'latency', threshold: '300ms' }],
  };

  it('an object gives the config the same YAML gives', () => {
    const fromFile = load(['--config', 'c.yaml'], {}, { 'c.yaml': YAML }).config;
    const fromObject = loadObject(OBJECT, 'Spanmeter.create', IN_PROCESS);
    expect(fromObject).toEqual(fromFile);
    // By hand: durations in ms; naming otel brings the Collector's buckets (2 ms … 15 s, 16 of them).
    expect(fromObject.registry.stale_duration).toBe(120_000);
    expect(fromObject.processor.service_graphs.wait).toBe(2000);
    expect(fromObject.slos[0]).toMatchObject({ name: 'checkout', threshold: 300, window: 30 * 86_400_000, kind: 'latency' });
    expect(fromObject.processor.span_metrics.histogram_buckets).toHaveLength(16);
  });

  it('the checks on the merged config hold too, with the origin of each problem', () => {
    const issues = (input: unknown): string => {
      try {
        loadObject(input, 'Spanmeter.create', IN_PROCESS);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(issues({ slos: [{ name: 'a', objective: 99 }, { name: 'a', objective: 98 }] }))
      .toBe('config error: slos[1].name: duplicate SLO name "a"');
    expect(issues({ slos: [{ objective: 99 }], registry: { max_active_series: -1 } })).toBe(
      'config error: Spanmeter.create: slos[0]: missing name\nconfig error: Spanmeter.create: registry.max_active_series: must be at least 0, got -1',
    );
    expect(issues({ http_endpoint: ':9464' })).toBe('config error: Spanmeter.create: http_endpoint: configures the sidecar, not the in-process Spanmeter');
  });
});
