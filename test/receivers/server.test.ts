// The metrics/health server and the self-metrics registry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer, type HealthReport } from '../../src/exporters/server.js';
import type { RunningServer } from '../../src/net/server.js';
import { Telemetry } from '../../src/telemetry.js';

describe('metrics server', () => {
  const telemetry = new Telemetry({ defaultMetrics: true });
  let server: RunningServer;
  let base: string;
  let failRender = false;
  let healthy = true;

  beforeAll(async () => {
    server = await startMetricsServer({
      endpoint: '127.0.0.1:0',
      renderers: [
        () => {
          if (failRender) throw new Error('render failed');
          return '# TYPE traces_spanmetrics_calls_total counter\ntraces_spanmetrics_calls_total{service="a"} 3'; // no trailing newline
        },
        () => telemetry.render(),
      ],
      health: (): HealthReport => (healthy ? { ok: true, series: 12 } : { ok: false, reason: 'core not loaded' }),
    });
    base = `http://${server.address}`;
  });
  afterAll(async () => {
    await server.close();
    telemetry.clear();
  });

  it('reports the address it bound', () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  });

  it('GET /metrics joins the renderers in order, as Prometheus text 0.0.4', async () => {
    telemetry.recordRequest({ protocol: 'http', code: 200, seconds: 0.001, result: { ok: true, spans: 4 } });
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text.startsWith('# TYPE traces_spanmetrics_calls_total counter\ntraces_spanmetrics_calls_total{service="a"} 3\n# HELP spanmeter_')).toBe(true);
    expect(text).toContain('spanmeter_spans_accepted_total 4\n');
    expect(text).toContain('spanmeter_requests_total{protocol="http",code="200"} 1\n');
    expect(text).toContain('# TYPE spanmeter_request_duration_seconds histogram\n');
    expect(text).toContain('spanmeter_spans_rejected_total{reason="too_large"} 0\n');
    // Default metrics are there.
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(text.endsWith('\n')).toBe(true);
  });

  it('GET /metrics is 500 when a renderer throws', async () => {
    failRender = true;
    try {
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(500);
    } finally {
      failRender = false;
    }
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it('GET /healthz reports the health callback as JSON, 503 when unhealthy', async () => {
    let res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ status: 'ok', series: 12 });
    healthy = false;
    try {
      res = await fetch(`${base}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'unhealthy', reason: 'core not loaded' });
    } finally {
      healthy = true;
    }
  });

  it('GET /healthz answers ok without a health callback', async () => {
    const plain = await startMetricsServer({ endpoint: '127.0.0.1:0', renderers: [] });
    try {
      const res = await fetch(`http://${plain.address}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('ok\n');
      const metrics = await fetch(`http://${plain.address}/metrics`);
      expect(await metrics.text()).toBe('');
    } finally {
      await plain.close();
    }
  });

  it('GET / points at /metrics', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/metrics');
  });

  it('HEAD works, other methods are 405, other paths 404', async () => {
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/x`)).status).toBe(404);
  });
});

describe('Telemetry', () => {
  it('adds gauges and counters read at scrape time, keeping the old value when a collector throws', async () => {
    const t = new Telemetry({ defaultMetrics: false });
    let memory = 65536;
    let expired = 3;
    let broken = false;
    t.addGauge({ name: 'spanmeter_wasm_memory_bytes', help: 'WASM memory', collect: () => memory });
    t.addGauge({
      name: 'spanmeter_active_series',
      help: 'Active series',
      labelNames: ['processor'],
      collect: () => {
        if (broken) throw new Error('core gone');
        return [
          { labels: { processor: 'span-metrics' }, value: 10 },
          { labels: { processor: 'service-graphs' }, value: 2 },
        ];
      },
    });
    t.addCounter({ name: 'spanmeter_expired_edges_total', help: 'Expired edges', collect: () => expired });

    let text = await t.render();
    expect(text).toContain('# TYPE spanmeter_wasm_memory_bytes gauge\nspanmeter_wasm_memory_bytes 65536\n');
    expect(text).toContain('spanmeter_active_series{processor="span-metrics"} 10\n');
    expect(text).toContain('spanmeter_active_series{processor="service-graphs"} 2\n');
    expect(text).toContain('# TYPE spanmeter_expired_edges_total counter\nspanmeter_expired_edges_total 3\n');

    memory = 131072;
    expired = 7;
    broken = true;
    text = await t.render();
    expect(text).toContain('spanmeter_wasm_memory_bytes 131072\n');
    expect(text).toContain('spanmeter_expired_edges_total 7\n');
    expect(text).toContain('spanmeter_active_series{processor="span-metrics"} 10\n');
    // Read alone (whether a scrape prints it before or after the failing gauge is prom-client's business).
    expect(await t.registry.getSingleMetricAsString('spanmeter_telemetry_collect_errors_total')).toContain(
      'spanmeter_telemetry_collect_errors_total{metric="spanmeter_active_series"} 1',
    );
    t.clear();
  });

  it('recordRequest counts a rejection without a result', async () => {
    const t = new Telemetry({ defaultMetrics: false });
    t.recordRequest({ protocol: 'grpc', code: 'RESOURCE_EXHAUSTED', rejected: 'too_large' });
    const text = await t.render();
    expect(text).toContain('spanmeter_requests_total{protocol="grpc",code="RESOURCE_EXHAUSTED"} 1\n');
    expect(text).toContain('spanmeter_requests_rejected_total{protocol="grpc",reason="too_large"} 1\n');
    expect(text).toContain('spanmeter_spans_received_total 0\n');
    expect(text).toContain('spanmeter_request_duration_seconds_count{protocol="grpc"} 0\n');
    t.clear();
  });
});
