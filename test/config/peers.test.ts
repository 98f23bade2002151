// Peers' blocks pasted as they are (issue 18 item 8): Tempo's metrics_generator block and its
// overrides, and the Collector's connectors block. Expected values are the peers' key meanings:
// Tempo modules/generator/config.go, registry/config.go, storage/config.go,
// modules/overrides/config.go and config_legacy.go; the Collector's connector/spanmetricsconnector
// and connector/servicegraphconnector config.go, factory.go and connector.go at v0.141.0.
import { describe, expect, it } from 'vitest';
import { load, fileError } from './helpers.js';

const file = (yaml: string) => load(['--config', 'c.yaml'], {}, { 'c.yaml': yaml });

// Tempo's docker-compose example shape (example/docker-compose/shared/tempo.yaml), with one key of
// every kind: translated, warned about, or shadowed.
const TEMPO = `
metrics_generator:
  ring:
    kvstore:
      store: memberlist
  processor:
    service_graphs:
      dimensions: [k8s.namespace.name]
      max_items: 20000
    span_metrics:
      dimensions: [http.method]
    local_blocks:
      filter_server_spans: false
  registry:
    collection_interval: 5s
    external_labels:
      source: tempo
      cluster: docker-compose
    stale_duration: 5m
    max_label_value_length: 1024
  storage:
    path: /var/tempo/generator/wal
    remote_write:
      - url: http://prometheus:9090/api/v1/write
        send_exemplars: true
        remote_timeout: 5s
        basic_auth: {username: u, password: p}
        queue_config: {capacity: 100}
  metrics_ingestion_time_range_slack: 30s
overrides:
  defaults:
    metrics_generator:
      processors: [service-graphs, span-metrics, local-blocks]
      max_active_series: 50000
      max_cardinality_per_label: 500
`;

describe("Tempo's metrics_generator block and overrides", () => {
  it('each key lands on its spanmeter key', () => {
    const { config } = file(TEMPO);
    expect(config.processors).toEqual(['service-graphs', 'span-metrics']);
    expect(config.processor.span_metrics.dimensions).toEqual(['http.method']);
    expect(config.processor.service_graphs.dimensions).toEqual(['k8s.namespace.name']);
    expect(config.processor.service_graphs.max_items).toBe(20000);
    expect(config.collection_interval).toBe(5000);
    expect(config.external_labels).toEqual({ source: 'tempo', cluster: 'docker-compose' });
    expect(config.registry.stale_duration).toBe(5 * 60_000);
    expect(config.registry.max_active_series).toBe(50000);
    expect(config.registry.max_cardinality_per_label).toBe(500);
    expect(config.metrics_ingestion_time_range_slack).toBe(30_000);
    expect(config.remote_write).toEqual([
      {
        url: 'http://prometheus:9090/api/v1/write',
        send_exemplars: true,
        timeout: 5000,
        // RFC 7617: base64("u:p")
        headers: { Authorization: 'Basic dTpw' },
      },
    ]);
  });

  it('every key without effect is named in a warning', () => {
    const { warnings } = file(TEMPO);
    const named = warnings.map((w) => w.split(' ')[0]);
    expect(named).toEqual([
      'metrics_generator.ring',
      'metrics_generator.processor.local_blocks',
      'metrics_generator.registry.max_label_value_length',
      'metrics_generator.storage.path',
      'metrics_generator.storage.remote_write[0].queue_config',
      'overrides.defaults.metrics_generator.processors[2]',
    ]);
    expect(warnings[1]).toBe("metrics_generator.processor.local_blocks has no effect in spanmeter: Tempo's local_blocks processor is not provided");
  });

  it("the legacy flat overrides, one tenant's", () => {
    const { config, warnings } = file(`
overrides:
  metrics_generator_processors: [span-metrics, service-graphs]
  metrics_generator_max_active_series: 1000
  metrics_generator_max_cardinality_per_label: 200
  metrics_generator_processor_span_metrics_dimensions: [http.route]
  metrics_generator_processor_service_graphs_wait: 20s
  max_traces_per_user: 10000
`);
    expect(config.processors).toEqual(['span-metrics', 'service-graphs']);
    expect(config.registry.max_active_series).toBe(1000);
    expect(config.registry.max_cardinality_per_label).toBe(200);
    expect(config.processor.span_metrics.dimensions).toEqual(['http.route']);
    expect(config.processor.service_graphs.wait).toBe(20_000);
    expect(warnings).toEqual(['overrides.max_traces_per_user has no effect in spanmeter: a Tempo override spanmeter has no use for']);
  });

  it("spanmeter's own keys override the pasted block", () => {
    const { config } = file(`${TEMPO}\nprocessors: [span-metrics]\ncollection_interval: 1m\n`);
    expect(config.processors).toEqual(['span-metrics']);
    expect(config.collection_interval).toBe(60_000);
  });

  it('dimension_mappings as Tempo checks them (validation/fields.go ValidateDimensions)', () => {
    const { config } = file('metrics_generator:\n  processor:\n    span_metrics:\n      dimension_mappings:\n        - {name: foo.bar, source_labels: [foo, bar], join: /}\n');
    expect(config.processor.span_metrics.dimension_mappings).toEqual([{ name: 'foo.bar', source_labels: ['foo', 'bar'], join: '/' }]);
    // Tempo's test case: a mapping whose label is a dimension's
    expect(fileError('processor:\n  span_metrics:\n    dimensions: [foo.bar]\n    dimension_mappings: [{name: foo_bar, source_labels: [foo.bar]}]\n')).toBe(
      'config error: processor.span_metrics.dimension_mappings[0].name: "foo_bar" produces label foo_bar, which collides with dimension "foo.bar"',
    );
    expect(fileError('processor:\n  span_metrics:\n    dimension_mappings: [{source_labels: [a]}]\n')).toBe(
      'config error: c.yaml:3:26: processor.span_metrics.dimension_mappings[0]: missing name',
    );
  });

  it('errors inside the block name its path and line', () => {
    expect(fileError('metrics_generator:\n  processor:\n    span_metrics:\n      histogram_bucket: [1]\n')).toBe(
      'config error: c.yaml:4:7: metrics_generator.processor.span_metrics.histogram_bucket: unknown key (did you mean histogram_buckets?)',
    );
    expect(fileError('metrics_generator:\n  registry:\n    collection_interval: 5\n')).toBe(
      'config error: c.yaml:3:26: metrics_generator.registry.collection_interval: expected a duration string like "10s", got number 5',
    );
    expect(fileError('metrics_generator:\n  registri: {}\n')).toMatch(/^config error: c.yaml:2:3: metrics_generator.registri: unknown key/);
  });
});

describe("the Collector's connectors block", () => {
  it('spanmetrics: naming otel, its dimensions, exclude_dimensions, histogram and namespace', () => {
    const { config, warnings } = file(`
connectors:
  spanmetrics:
    histogram:
      unit: s
      explicit:
        buckets: [5ms, 100ms, 1s]
    dimensions:
      - name: http.method
      - name: http.route
        default: unmatched
    exclude_dimensions: [status.code]
    namespace: app.spans
    events:
      enabled: true
      dimensions: [{name: exception.type}]
    metrics_flush_interval: 15s
`);
    expect(config.naming).toBe('otel');
    expect(config.processors).toEqual(['span-metrics']);
    const sm = config.processor.span_metrics;
    expect(sm.histogram_unit).toBe('s');
    expect(sm.histogram_buckets).toEqual([0.005, 0.1, 1]);
    expect(sm.dimensions).toEqual(['http.method', 'http.route']);
    expect(sm.dimension_defaults).toEqual({ 'http.route': 'unmatched' });
    expect(sm.intrinsic_dimensions).toEqual({ service: true, span_name: true, span_kind: true, status_code: false, status_message: false });
    expect(sm.namespace).toBe('app.spans');
    expect(sm.events).toEqual({ enabled: true, dimensions: ['exception.type'] });
    expect(warnings).toEqual(['connectors.spanmetrics.metrics_flush_interval has no effect in spanmeter: spanmeter serves current values at every scrape']);
  });

  it("servicegraph: the connector's defaults where it differs from Tempo, then its keys", () => {
    const { config } = file(`
connectors:
  servicegraph:
    dimensions: [k8s.namespace.name]
    store: {ttl: 5s}
    virtual_node_extra_label: true
`);
    expect(config.processors).toEqual(['service-graphs']);
    const sg = config.processor.service_graphs;
    // factory.go createDefaultConfig: store ttl 2s, max_items 1000; connector.go: default bounds
    // 0.002 … 15 s, virtual_node_peer_attributes [peer.service, db.name, db.system],
    // database_name_attributes [db.name]; dimensions are always client_X / server_X.
    expect(sg.wait).toBe(5000);
    expect(sg.max_items).toBe(1000);
    expect(sg.histogram_buckets).toEqual([0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15]);
    expect(sg.peer_attributes).toEqual(['peer.service', 'db.name', 'db.system']);
    expect(sg.database_name_attributes).toEqual(['db.name']);
    expect(sg.enable_client_server_prefix).toBe(true);
    expect(sg.enable_virtual_node_label).toBe(true);
    expect(sg.dimensions).toEqual(['k8s.namespace.name']);
  });

  it('both connectors run both processors', () => {
    expect(file('connectors:\n  spanmetrics:\n  servicegraph/edges: {}\n').config.processors).toEqual(['span-metrics', 'service-graphs']);
  });

  it('a default for a name that is not a dimension is an error', () => {
    expect(fileError('processor:\n  span_metrics:\n    dimensions: [a]\n    dimension_defaults: {b: x}\n')).toBe(
      'config error: processor.span_metrics.dimension_defaults.b: not one of processor.span_metrics.dimensions, calls_dimensions, histogram_dimensions (a)',
    );
  });

  it('what spanmeter does not do is an error, located', () => {
    expect(fileError('connectors:\n  count: {}\n')).toBe(
      'config error: c.yaml:2:3: connectors.count: unknown connector (spanmeter is the spanmetrics and servicegraph connectors)',
    );
  });
});

describe("the connector's split dimensions, event dimension defaults, scopes and add_resource_attributes", () => {
  it('calls_dimensions, histogram.dimensions and events.dimensions become their keys; every default in its map', () => {
    // config.go at v0.141.0: Dimension{name, default} in dimensions, calls_dimensions,
    // histogram.dimensions and events.dimensions
    const { config, warnings } = file(`
connectors:
  spanmetrics:
    dimensions: [{name: env, default: dev}]
    calls_dimensions: [{name: http.route, default: none}]
    histogram: {dimensions: [{name: url.scheme}]}
    events: {enabled: true, dimensions: [{name: exception.type, default: unknown}]}
    include_instrumentation_scope: [io.opentelemetry.okhttp-3.0]
`);
    expect(warnings).toEqual([]);
    const sm = config.processor.span_metrics;
    expect(sm.include_instrumentation_scope).toEqual(['io.opentelemetry.okhttp-3.0']);
    expect([sm.dimensions, sm.calls_dimensions, sm.histogram_dimensions, sm.events.dimensions]).toEqual([['env'], ['http.route'], ['url.scheme'], ['exception.type']]);
    expect(sm.dimension_defaults).toEqual({ env: 'dev', 'http.route': 'none' });
    expect(sm.events.dimension_defaults).toEqual({ 'exception.type': 'unknown' });
  });

  it('add_resource_attributes is named as without effect (v0.141 copies the resource attributes anyway)', () => {
    const { warnings } = file('connectors:\n  spanmetrics:\n    add_resource_attributes: true\n');
    expect(warnings.map((w) => w.split(' ')[0])).toEqual(['connectors.spanmetrics.add_resource_attributes']);
    expect(warnings[0]).toContain('enable_target_info');
  });

  it('an event default for a name that is not an event dimension is an error', () => {
    expect(fileError('processor:\n  span_metrics:\n    events: {enabled: true, dimensions: [a], dimension_defaults: {b: x}}\n')).toBe(
      'config error: processor.span_metrics.events.dimension_defaults.b: not one of processor.span_metrics.events.dimensions (a)',
    );
  });
});

describe('native histograms from pasted blocks', () => {
  it("Tempo's overrides (new and legacy format) set the top-level keys", () => {
    // Tempo modules/overrides: generate_native_histograms, native_histogram_bucket_factor,
    // native_histogram_max_bucket_number, native_histogram_min_reset_duration (legacy: metrics_generator_ prefix).
    const { config } = file(`
overrides:
  defaults:
    metrics_generator:
      generate_native_histograms: both
      native_histogram_bucket_factor: 1.2
      native_histogram_max_bucket_number: 160
      native_histogram_min_reset_duration: 10m
`);
    expect([config.generate_native_histograms, config.native_histogram_bucket_factor, config.native_histogram_max_bucket_number,
      config.native_histogram_min_reset_duration]).toEqual(['both', 1.2, 160, 600_000]);
    const legacy = file(`
overrides:
  metrics_generator_generate_native_histograms: native
  metrics_generator_native_histogram_max_bucket_number: 101
`).config;
    expect([legacy.generate_native_histograms, legacy.native_histogram_max_bucket_number]).toEqual(['native', 101]);
    // Defaults as Tempo's: classic, 1.1, 100, 15m (Tempo's configuration docs, overrides).
    const d = file('processors: [span-metrics]\n').config;
    expect([d.generate_native_histograms, d.native_histogram_bucket_factor, d.native_histogram_max_bucket_number,
      d.native_histogram_min_reset_duration]).toEqual(['classic', 1.1, 100, 900_000]);
  });

  it("the connectors' exponential histograms are native histograms of their max size, never reset", () => {
    const sm = file('connectors:\n  spanmetrics:\n    histogram:\n      exponential: {max_size: 80}\n').config;
    expect([sm.generate_native_histograms, sm.native_histogram_max_bucket_number, sm.native_histogram_min_reset_duration]).toEqual(['native', 80, 0]);
    // Without max_size, the connector's default 160 (spanmetricsconnector config.go).
    expect(file('connectors:\n  spanmetrics:\n    histogram:\n      exponential: {}\n').config.native_histogram_max_bucket_number).toBe(160);
    const sg = file('connectors:\n  servicegraph:\n    exponential_histogram_max_size: 120\n').config;
    expect([sg.generate_native_histograms, sg.native_histogram_max_bucket_number]).toEqual(['native', 120]);
    // 0 (the servicegraph connector's default) keeps explicit buckets.
    expect(file('connectors:\n  servicegraph:\n    exponential_histogram_max_size: 0\n').config.generate_native_histograms).toBe('classic');
  });

  it('a bad value names the key', () => {
    expect(fileError('generate_native_histograms: yes-please\n')).toContain('generate_native_histograms: expected one of classic, native, both');
    expect(fileError('native_histogram_bucket_factor: 1\n')).toContain('native_histogram_bucket_factor: expected a number above 1');
    expect(fileError('native_histogram_max_bucket_number: 0\n')).toContain('native_histogram_max_bucket_number');
  });
});

describe("Tempo's target_info keys", () => {
  it("enable_target_info: false (Tempo's default) is accepted; instance label and exclusions are named as without effect", () => {
    // Tempo reads enable_instance_label and target_info_excluded_dimensions only with
    // enable_target_info on (spanmetrics.go aggregateMetricsForSpan, buildAndSetTargetInfoLabels)
    const { warnings } = file(`
processor:
  span_metrics:
    enable_target_info: false
    enable_instance_label: true
    target_info_excluded_dimensions: [host.name]
metrics_generator:
  processor:
    span_metrics:
      enable_instance_label: false
`);
    expect(warnings.map((w) => w.split(' ')[0])).toEqual([
      'processor.span_metrics.enable_instance_label',
      'processor.span_metrics.target_info_excluded_dimensions',
      'metrics_generator.processor.span_metrics.enable_instance_label',
    ]);
  });

  it('with enable_target_info: true all three are read as Tempo reads them, without a warning', () => {
    const { config, warnings } = file(`
metrics_generator:
  processor:
    span_metrics:
      enable_target_info: true
      enable_instance_label: false
      target_info_excluded_dimensions: [host.name, container.id]
`);
    expect(warnings).toEqual([]);
    const sm = config.processor.span_metrics;
    expect([sm.enable_target_info, sm.enable_instance_label, sm.target_info_excluded_dimensions]).toEqual([true, false, ['host.name', 'container.id']]);
  });

  it("the defaults are Tempo's: target_info off, the instance label on (spanmetrics/config.go)", () => {
    const sm = file('processors: [span-metrics]\n').config.processor.span_metrics;
    expect([sm.enable_target_info, sm.enable_instance_label, sm.target_info_excluded_dimensions]).toEqual([false, true, []]);
  });
});
