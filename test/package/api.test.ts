// The package entry, src/index.ts: Spanmeter in-process, its config checks and its output.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, Spanmeter, OPENMETRICS_TEXT, PROMETHEUS_TEXT, resolveConfig } from '../../src/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { SAMPLE_JSON, SAMPLE_PB, readBytes } from '../abi/helpers.js';
import { CART_EDGE, FRONTEND_GET, sampleValue } from './helpers.js';

const NOW = 1_700_000_100_000;

describe('Spanmeter (src/index.ts)', () => {
  it("defaults: the sidecar's (both processors), Tempo names; protobuf and JSON give the same result", async () => {
    const a = await Spanmeter.create();
    const b = await Spanmeter.create({});
    expect(a.config).toEqual(defaultConfig());
    expect(a.ingest(readBytes(SAMPLE_PB), NOW)).toEqual({ ok: true, spans: 6 });
    expect(b.ingestJson(readFileSync(SAMPLE_JSON, 'utf8'), NOW)).toEqual({ ok: true, spans: 6 });
    const text = a.metrics();
    expect(text).toBe(b.metrics());
    expect(sampleValue(text, 'traces_spanmetrics_calls_total', FRONTEND_GET)).toBe(2);
    expect(sampleValue(text, 'traces_spanmetrics_latency_bucket', `${FRONTEND_GET},le="0.016"`)).toBe(2);
    // Both processors by default (docs/config.md): the sample's one frontend CLIENT -> cart SERVER
    // pair is an edge at once, failed on both sides (examples/sample-request.json, status 2).
    expect(a.config.processors).toEqual(['span-metrics', 'service-graphs']);
    expect(sampleValue(text, 'traces_service_graph_request_total', CART_EDGE)).toBe(1);
    expect(sampleValue(text, 'traces_service_graph_request_failed_total', CART_EDGE)).toBe(1);
    expect(a.metrics('openmetrics')).toMatch(/# EOF\n$/);
    expect(a.metrics('openmetrics')).toContain('# {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"');
    expect(Spanmeter.contentType()).toBe(PROMETHEUS_TEXT);
    expect(Spanmeter.contentType('openmetrics')).toBe(OPENMETRICS_TEXT);
    // Span metrics alone: 5 label sets (frontend GET /, GET /cart, GET /api/cart; cart GET /api/cart,
    // SELECT cart), 19 series each with the 14 default buckets (README, Cardinality).
    const sm = await Spanmeter.create({ processors: ['span-metrics'] });
    sm.ingest(readBytes(SAMPLE_PB), NOW);
    expect(sm.metrics()).not.toContain('traces_service_graph');
    expect(sm.stats().activeSeries).toBe(5 * 19);
  });

  it('bad input is refused whole, with a reason', async () => {
    const m = await Spanmeter.create();
    const bad = m.ingest(new Uint8Array([0x0a, 0x05, 0x01]), NOW);
    expect(bad).toMatchObject({ ok: false, spans: 0 });
    expect(!bad.ok && bad.reason).toMatch(/^invalid protobuf: length runs past the end/);
    const json = m.ingestJson('{"resourceSpans": 3}', NOW);
    expect(json.ok).toBe(false);
    expect(!json.ok && json.reason).toContain('resourceSpans');
    expect(m.ingestJson('not json', NOW).ok).toBe(false);
    expect(m.metrics()).not.toContain('traces_spanmetrics_calls_total{');
  });

  it('service graphs, expire() and flush()', async () => {
    const m = await Spanmeter.create({
      processors: ['span-metrics', 'service-graphs'],
      processor: { service_graphs: { wait: '2s' } },
      registry: { stale_duration: '1m' },
    });
    expect(m.config.processor.service_graphs.wait).toBe(2000);
    m.ingest(readBytes(SAMPLE_PB), NOW);
    expect(sampleValue(m.metrics(), 'traces_service_graph_request_total', CART_EDGE)).toBe(1);
    expect(sampleValue(m.metrics(), 'traces_service_graph_request_failed_total', CART_EDGE)).toBe(1);
    // The root server spans of frontend wait for a client: at expiry they become edges from "user".
    expect(m.stats().edgeStoreSize).toBeGreaterThan(0);
    expect(m.expire(NOW + 1000)).toEqual({ expiredEdges: 0, removedSeries: 0 });
    expect(m.expire(NOW + 2000).expiredEdges).toBeGreaterThan(0);
    expect(sampleValue(m.metrics(), 'traces_service_graph_request_total', 'client="user",server="frontend",connection_type="virtual_node"')).toBe(3);
    m.ingest(readBytes(SAMPLE_PB), NOW + 3000);
    expect(m.flush()).toBeGreaterThan(0);
    expect(m.stats().edgeStoreSize).toBe(0);
    // Span-metrics series not updated for over a minute go.
    const before = m.stats().activeSeries;
    expect(m.expire(NOW + 3000 + 61_000).removedSeries).toBeGreaterThan(0);
    expect(m.stats().activeSeries).toBeLessThan(before);
    expect(m.metrics()).not.toContain('traces_spanmetrics_calls_total{');
  });

  it('naming otel: the Collector names and buckets, as the sidecar does', async () => {
    const m = await Spanmeter.create({ naming: 'otel' });
    m.ingest(readBytes(SAMPLE_PB), NOW);
    const text = m.metrics();
    expect(text).toContain('traces_span_metrics_calls_total{service_name="frontend"');
    expect(text).toContain('traces_span_metrics_duration_milliseconds_bucket{service_name="frontend",span_name="GET /",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",le="15000"}');
  });

  it('config errors name the key; sidecar-only keys are refused', async () => {
    const err = (config: unknown) => {
      try {
        resolveConfig(config as never);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err({ processor: { span_metrics: { histogram_bucket: [1] } } }))
      .toContain('processor.span_metrics.histogram_bucket: unknown key (did you mean histogram_buckets?)');
    expect(err({ registry: { stale_duration: 60 } })).toContain('registry.stale_duration: expected a duration string like "10s"');
    expect(err({ otlp: { http_endpoint: ':4318' } })).toContain('otlp: configures the sidecar, not the in-process Spanmeter');
    expect(err({ naming: 'jaeger' })).toContain('naming');
    expect(err({ nmaing: 'otel' })).toContain('nmaing: unknown key (did you mean naming?)');
    expect(err([])).toContain('expected a config object');
    await expect(Spanmeter.create({ processors: ['nope' as never] })).rejects.toThrow(ConfigError);
  });
});
