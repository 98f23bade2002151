// OpenMetrics with exemplars, the Collector naming scheme, and /metrics negotiation.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import { ServiceGraphsExposition } from '../../src/exporters/servicegraphs.js';
import { request, span, spanMetrics } from './support.js';
import { startSidecar, postTraces, type Sidecar } from '../support/sidecar.js';

const NOW_MS = 1_700_000_100_000;




const TRACE_A = '0af7651916cd43dd8448eb211c80319c';
const TRACE_B = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('OpenMetrics', () => {
  test('exemplars on the bucket holding the observation and on the counter; text 0.0.4 has none', async () => {
    const sm = spanMetrics();
    const core = await Core.create({ spanMetrics: sm });
    core.ingest(request('shop', [span('GET /', TRACE_A, 'b7ad6b7169203331', 5)]), NOW_MS);
    core.ingest(request('shop', [span('GET /', TRACE_B, '00f067aa0ba902b7', 50)]), NOW_MS + 1000);
    const om = new SpanMetricsExposition(core, sm).render('openmetrics');
    const labels = 'service="shop",span_name="GET /",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"';
    expect(om.split('\n')).toEqual([
      '# HELP traces_spanmetrics_calls Spans counted, by service, span name, kind, status and dimensions.',
      '# TYPE traces_spanmetrics_calls counter',
      `traces_spanmetrics_calls_total{${labels}} 2 # {trace_id="${TRACE_B}",span_id="00f067aa0ba902b7"} 1 1700000101`,
      '# HELP traces_spanmetrics_latency Span duration in seconds.',
      '# TYPE traces_spanmetrics_latency histogram',
      `traces_spanmetrics_latency_bucket{${labels},le="0.01"} 1 # {trace_id="${TRACE_A}",span_id="b7ad6b7169203331"} 0.005 1700000100`,
      `traces_spanmetrics_latency_bucket{${labels},le="0.1"} 2 # {trace_id="${TRACE_B}",span_id="00f067aa0ba902b7"} 0.05 1700000101`,
      `traces_spanmetrics_latency_bucket{${labels},le="+Inf"} 2`,
      `traces_spanmetrics_latency_sum{${labels}} 0.055`,
      `traces_spanmetrics_latency_count{${labels}} 2`,
      '# HELP traces_spanmetrics_size Encoded size of the spans counted, in bytes.',
      '# TYPE traces_spanmetrics_size counter',
      // each span: trace_id 18 + span_id 10 + name 7 + kind 2 + start 9 + end 9 = 55 bytes
      `traces_spanmetrics_size_total{${labels}} 110`,
      '',
    ]);
    expect(new SpanMetricsExposition(core, sm).render('text')).not.toContain('trace_id');
  });

  test('a span without trace id leaves no exemplar', async () => {
    const sm = spanMetrics();
    const core = await Core.create({ spanMetrics: sm });
    core.ingest(request('shop', [span('x', '', '', 5)]), NOW_MS);
    expect(new SpanMetricsExposition(core, sm).render('openmetrics')).not.toContain('#{');
    expect(new SpanMetricsExposition(core, sm).render('openmetrics')).not.toContain('trace_id');
  });

  test('service-graph edges carry the trace as exemplar on the request counter and both histograms', async () => {
    const sg = { ...defaultConfig().processor.service_graphs, histogram_buckets: [1] };
    const core = await Core.create({ serviceGraphs: sg });
    core.ingest(request('web', [span('call', TRACE_A, '1111111111111111', 20, 3)]), NOW_MS);
    core.ingest(request('api', [span('serve', TRACE_A, '2222222222222222', 10, 2, { parentSpanId: '1111111111111111' })]), NOW_MS);
    const om = new ServiceGraphsExposition(core, sg).render('openmetrics');
    const ex = (v: string) => `# {trace_id="${TRACE_A}",span_id="1111111111111111"} ${v} 1700000100`;
    expect(om).toContain(`traces_service_graph_request_total{client="web",server="api"} 1 ${ex('1')}\n`);
    expect(om).toContain(`traces_service_graph_request_server_seconds_bucket{client="web",server="api",le="1"} 1 ${ex('0.01')}\n`);
    expect(om).toContain(`traces_service_graph_request_client_seconds_bucket{client="web",server="api",le="1"} 1 ${ex('0.02')}\n`);
  });
});

describe('exemplars at the edges of the bounds', () => {
  // assembly/histogram.ts bucketOf steps through the bounds until a +Inf kept after the last one;
  // the expected buckets by hand from Prometheus' le-inclusive bounds (the first bound >= the value).
  test('a value above every bound has its exemplar on le="+Inf", one on the last bound on it', async () => {
    const sm = spanMetrics({ histogram_buckets: [0.01, 0.1] });
    const core = await Core.create({ spanMetrics: sm });
    core.ingest(request('shop', [span('above', TRACE_A, 'b7ad6b7169203331', 500)]), NOW_MS);
    core.ingest(request('shop', [span('on', TRACE_B, '00f067aa0ba902b7', 100)]), NOW_MS);
    const om = new SpanMetricsExposition(core, sm).render('openmetrics');
    const labels = (name: string) => `service="shop",span_name="${name}",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"`;
    const buckets = om.split('\n').filter((l) => l.startsWith('traces_spanmetrics_latency_bucket'));
    expect(buckets).toEqual([
      `traces_spanmetrics_latency_bucket{${labels('above')},le="0.01"} 0`,
      `traces_spanmetrics_latency_bucket{${labels('above')},le="0.1"} 0`,
      `traces_spanmetrics_latency_bucket{${labels('above')},le="+Inf"} 1 # {trace_id="${TRACE_A}",span_id="b7ad6b7169203331"} 0.5 1700000100`,
      `traces_spanmetrics_latency_bucket{${labels('on')},le="0.01"} 0`,
      `traces_spanmetrics_latency_bucket{${labels('on')},le="0.1"} 1 # {trace_id="${TRACE_B}",span_id="00f067aa0ba902b7"} 0.1 1700000100`,
      `traces_spanmetrics_latency_bucket{${labels('on')},le="+Inf"} 1`,
    ]);
  });

  test('a service-graph edge slower than every bound has its exemplars on le="+Inf"', async () => {
    const sg = { ...defaultConfig().processor.service_graphs, histogram_buckets: [0.001, 0.002] };
    const core = await Core.create({ serviceGraphs: sg });
    core.ingest(request('web', [span('call', TRACE_A, '1111111111111111', 20, 3)]), NOW_MS);
    core.ingest(request('api', [span('serve', TRACE_A, '2222222222222222', 10, 2, { parentSpanId: '1111111111111111' })]), NOW_MS);
    const om = new ServiceGraphsExposition(core, sg).render('openmetrics');
    const ex = (v: string) => `# {trace_id="${TRACE_A}",span_id="1111111111111111"} ${v} 1700000100`;
    expect(om).toContain(`traces_service_graph_request_server_seconds_bucket{client="web",server="api",le="0.002"} 0\n`);
    expect(om).toContain(`traces_service_graph_request_server_seconds_bucket{client="web",server="api",le="+Inf"} 1 ${ex('0.01')}\n`);
    expect(om).toContain(`traces_service_graph_request_client_seconds_bucket{client="web",server="api",le="+Inf"} 1 ${ex('0.02')}\n`);
  });
});

describe('naming: otel', () => {
  test('the Collector spanmetrics connector names, label service_name, milliseconds, no size counter', async () => {
    const sm = spanMetrics({ histogram_buckets: [0.002, 0.1], histogram_unit: 'ms' });
    const core = await Core.create({ spanMetrics: sm });
    core.ingest(request('shop', [span('GET /', '', '', 5), span('GET /', '', '', 250)]), NOW_MS);
    const text = new SpanMetricsExposition(core, sm, 'otel').render('text');
    const labels = 'service_name="shop",span_name="GET /",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"';
    expect(text.split('\n').filter((l) => !l.startsWith('#'))).toEqual([
      `traces_span_metrics_calls_total{${labels}} 2`,
      `traces_span_metrics_duration_milliseconds_bucket{${labels},le="2"} 0`,
      `traces_span_metrics_duration_milliseconds_bucket{${labels},le="100"} 1`,
      `traces_span_metrics_duration_milliseconds_bucket{${labels},le="+Inf"} 2`,
      `traces_span_metrics_duration_milliseconds_sum{${labels}} 255`,
      `traces_span_metrics_duration_milliseconds_count{${labels}} 2`,
      '',
    ]);
  });

  test('histogram_unit: s gives _seconds', async () => {
    const sm = spanMetrics({ histogram_buckets: [0.1], histogram_unit: 's' });
    const core = await Core.create({ spanMetrics: sm });
    core.ingest(request('shop', [span('GET /', '', '', 5)]), NOW_MS);
    expect(new SpanMetricsExposition(core, sm, 'otel').render('text')).toContain(
      'traces_span_metrics_duration_seconds_sum{service_name="shop",span_name="GET /",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"} 0.005\n',
    );
  });
});

describe('/metrics negotiation', () => {
  let sidecar: Sidecar;
  beforeAll(async () => {
    sidecar = await startSidecar({ config: { processors: ['span-metrics'] }, label: 'negotiation' });
    const res = await postTraces(sidecar, request('shop', [span('GET /', TRACE_A, 'b7ad6b7169203331', 5)]), 'application/x-protobuf');
    expect(res.status).toBe(200);
  });
  afterAll(async () => sidecar?.stop());

  test('Accept: application/openmetrics-text gets OpenMetrics ending in # EOF, with exemplars', async () => {
    const res = await fetch(`${sidecar.httpUrl}/metrics`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0; charset=utf-8' } });
    expect(res.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const body = await res.text();
    expect(body.endsWith('\n# EOF\n')).toBe(true);
    expect(body).toContain('# TYPE traces_spanmetrics_calls counter\n');
    expect(body).toContain(`# {trace_id="${TRACE_A}",span_id="b7ad6b7169203331"} 0.005 `);
    expect(body).toContain('# TYPE spanmeter_spans_received counter\n');
  });

  test('no Accept gets text 0.0.4; Accept-Encoding: gzip gets it compressed', async () => {
    const plain = await fetch(`${sidecar.httpUrl}/metrics`, { headers: { 'Accept-Encoding': 'identity' } });
    expect(plain.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await plain.text();
    expect(text).toContain('# TYPE traces_spanmetrics_calls_total counter\n');
    expect(text).not.toContain('# EOF');
    const zipped = await import('node:http').then(({ get }) => new Promise<Buffer>((resolve, reject) => {
      get(`${sidecar.httpUrl}/metrics`, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
        expect(res.headers['content-encoding']).toBe('gzip');
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      }).on('error', reject);
    }));
    expect(gunzipSync(zipped).toString('utf8')).toContain('traces_spanmetrics_calls_total{service="shop",span_name="GET /"');
  });
});
