// The worst trace per series (assembly/worst.ts): the slowest observation of the window on the
// bucket it fell in, the latest failed one on the counter, for span metrics and edges; never lost
// to the bucket reservoir's collisions; the window; a reused record index.
import { describe, expect, test } from 'vitest';
import { Core } from '../../src/core/index.js';
import type { SeriesTableView } from '../../src/core/series.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import { ServiceGraphsExposition } from '../../src/exporters/servicegraphs.js';
import { request, span, spanMetrics } from './support.js';

// 1,700,000,100,000 ms: 1,700,000,100 s is 28,333,335 whole minutes (1,700,000,100 / 60 = 28,333,335), so this
// instant starts a 60 s window; NOW_MS + 59,999 is still in it, NOW_MS + 60,000 starts the next one.
const NOW_MS = 1_700_000_100_000;
const ERROR = { status: { code: 2 } };




/** Trace id n: 32 hex digits ending in n; span id n: 16. */
const trace = (n: number) => `7a11${String(n).padStart(28, '0')}`;
const spanId = (n: number) => `5a${String(n).padStart(14, '0')}`;
const ex = (n: number, value: string, seconds: number) => `# {trace_id="${trace(n)}",span_id="${spanId(n)}"} ${value} ${seconds}`;
const lineOf = (text: string, prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));

describe('the worst trace of a span-metrics series', () => {
  test('the slowest wins its bucket over the bucket\'s latest; the latest failed is the calls exemplar', async () => {
    // status_code off: OK and failed spans share one series, so its counter can show the failed one.
    const sm = spanMetrics({ intrinsic_dimensions: { ...defaultConfig().processor.span_metrics.intrinsic_dimensions, status_code: false } });
    const core = await Core.create({ spanMetrics: sm });
    // Durations (ms) by hand: 60 (slowest, bucket 0.1), 5, 30 (failed, bucket 0.1), 20 (bucket 0.1, the latest in it), 4.
    core.ingest(request('shop', [span('GET /', trace(1), spanId(1), 60)]), NOW_MS);
    core.ingest(request('shop', [span('GET /', trace(2), spanId(2), 5)]), NOW_MS + 1000);
    core.ingest(request('shop', [span('GET /', trace(3), spanId(3), 30, 2, ERROR)]), NOW_MS + 2000);
    core.ingest(request('shop', [span('GET /', trace(4), spanId(4), 20)]), NOW_MS + 3000);
    core.ingest(request('shop', [span('GET /', trace(5), spanId(5), 4)]), NOW_MS + 4000);
    const om = new SpanMetricsExposition(core, sm).render('openmetrics');
    const labels = 'service="shop",span_name="GET /",span_kind="SPAN_KIND_SERVER"';
    // Bucket 0.1 holds 60, 30 and 20 ms: the reservoir kept the latest (trace 4), the slowest (trace 1) wins.
    expect(lineOf(om, `traces_spanmetrics_latency_bucket{${labels},le="0.1"}`)).toBe(
      `traces_spanmetrics_latency_bucket{${labels},le="0.1"} 5 ${ex(1, '0.06', 1700000100)}`,
    );
    // Bucket 0.01 holds 5 and 4 ms: no slowest there, the bucket's latest (trace 5).
    expect(lineOf(om, `traces_spanmetrics_latency_bucket{${labels},le="0.01"}`)).toBe(
      `traces_spanmetrics_latency_bucket{${labels},le="0.01"} 2 ${ex(5, '0.004', 1700000104)}`,
    );
    // The counter: the failed span (trace 3), an increment of 1, though later spans came.
    expect(lineOf(om, `traces_spanmetrics_calls_total{${labels}}`)).toBe(`traces_spanmetrics_calls_total{${labels}} 5 ${ex(3, '1', 1700000102)}`);
  });

  test('with status_code on, the failed trace is on the STATUS_CODE_ERROR series and the OK series keeps its latest', async () => {
    const sm = spanMetrics();
    const core = await Core.create({ spanMetrics: sm });
    core.ingest(request('shop', [span('GET /', trace(1), spanId(1), 60), span('GET /', trace(2), spanId(2), 7, 2, ERROR)]), NOW_MS);
    core.ingest(request('shop', [span('GET /', trace(3), spanId(3), 8)]), NOW_MS + 1000);
    const om = new SpanMetricsExposition(core, sm).render('openmetrics');
    const base = 'service="shop",span_name="GET /",span_kind="SPAN_KIND_SERVER"';
    expect(lineOf(om, `traces_spanmetrics_calls_total{${base},status_code="STATUS_CODE_ERROR"}`)).toBe(
      `traces_spanmetrics_calls_total{${base},status_code="STATUS_CODE_ERROR"} 1 ${ex(2, '1', 1700000100)}`,
    );
    // The UNSET series never failed: its counter shows its latest exemplar (trace 3), its 0.1 bucket the slowest (trace 1).
    expect(lineOf(om, `traces_spanmetrics_calls_total{${base},status_code="STATUS_CODE_UNSET"}`)).toBe(
      `traces_spanmetrics_calls_total{${base},status_code="STATUS_CODE_UNSET"} 2 ${ex(3, '1', 1700000101)}`,
    );
    expect(lineOf(om, `traces_spanmetrics_latency_bucket{${base},status_code="STATUS_CODE_UNSET",le="0.1"}`)).toContain(ex(1, '0.06', 1700000100));
  });

  test('the window: a faster span replaces the slowest only once a new window began', async () => {
    const sm = spanMetrics({ histogram_buckets: [1] });
    const core = await Core.create({ spanMetrics: sm, exemplarWindowMs: 60_000 });
    const view = () => core.table('spanMetrics')!;
    const slowest = () => core.worst('spanMetrics', view(), 0, 'slowest');
    core.ingest(request('shop', [span('GET /', trace(1), spanId(1), 300)]), NOW_MS);
    core.ingest(request('shop', [span('GET /', trace(2), spanId(2), 200)]), NOW_MS + 59_999);
    expect(slowest()).toMatchObject({ traceId: trace(1), spanId: spanId(1), value: 0.3, timestampMs: NOW_MS, bucket: 0 });
    // The next window: the first span is kept, whatever its duration; then only a slower one.
    core.ingest(request('shop', [span('GET /', trace(3), spanId(3), 100)]), NOW_MS + 60_000);
    expect(slowest()).toMatchObject({ traceId: trace(3), value: 0.1, timestampMs: NOW_MS + 60_000 });
    core.ingest(request('shop', [span('GET /', trace(4), spanId(4), 50)]), NOW_MS + 61_000);
    core.ingest(request('shop', [span('GET /', trace(5), spanId(5), 150)]), NOW_MS + 62_000);
    expect(slowest()).toMatchObject({ traceId: trace(5), value: 0.15 });
    // A 10 s window: 10 s later is a new one.
    const short = await Core.create({ spanMetrics: sm, exemplarWindowMs: 10_000 });
    short.ingest(request('shop', [span('GET /', trace(6), spanId(6), 300)]), NOW_MS);
    short.ingest(request('shop', [span('GET /', trace(7), spanId(7), 1)]), NOW_MS + 10_000);
    expect(short.worst('spanMetrics', short.table('spanMetrics')!, 0, 'slowest')).toMatchObject({ traceId: trace(7), value: 0.001 });
  });

  test('a span of no duration fills an empty slot, also in the epoch\'s first window (it starts at 0 ms)', async () => {
    // worst.ts tests "empty or older than the window" as one compare of the slot's last word: an
    // empty slot (all zeros) must still take an observation of 0 s at a time whose window starts at 0.
    const sm = spanMetrics({ histogram_buckets: [1] });
    const core = await Core.create({ spanMetrics: sm, exemplarWindowMs: 60_000 });
    const slowest = () => core.worst('spanMetrics', core.table('spanMetrics')!, 0, 'slowest');
    core.ingest(request('shop', [span('GET /', trace(1), spanId(1), 0)]), 1_000);
    expect(slowest()).toMatchObject({ traceId: trace(1), spanId: spanId(1), value: 0, timestampMs: 1_000, bucket: 0 });
    // Not slower, same window (0 to 60,000 ms): the first stays.
    core.ingest(request('shop', [span('GET /', trace(2), spanId(2), 0)]), 59_999);
    expect(slowest()).toMatchObject({ traceId: trace(1), timestampMs: 1_000 });
    // The next window (60,000 ms on): kept whatever its duration.
    core.ingest(request('shop', [span('GET /', trace(3), spanId(3), 0)]), 60_000);
    expect(slowest()).toMatchObject({ traceId: trace(3), timestampMs: 60_000 });
  });

  test('every series keeps its own, past the 4,096 entries of the bucket reservoir', async () => {
    const sm = spanMetrics({ histogram_buckets: [1] });
    const core = await Core.create({ spanMetrics: sm });
    const n = 6000;
    const spans = Array.from({ length: n }, (_, i) => span(`op-${i}`, trace(i + 1), spanId(i + 1), 3, 2, i % 3 === 0 ? ERROR : {}));
    for (let i = 0; i < n; i += 1000) core.ingest(request('shop', spans.slice(i, i + 1000)), NOW_MS);
    const view = core.table('spanMetrics')!;
    expect(view.used).toBe(n);
    let slowest = 0;
    let failed = 0;
    let reservoir = 0;
    for (let slot = 0; slot < view.used; slot++) {
      // op-i is series i (created in order): its own trace, failed when i % 3 == 0.
      const i = Number(core.label(view.key(slot, 1)).slice(3));
      if (core.worst('spanMetrics', view, slot, 'slowest')?.traceId === trace(i + 1)) slowest++;
      const f = core.worst('spanMetrics', view, slot, 'failed');
      if (i % 3 === 0 ? f?.traceId === trace(i + 1) : f === undefined) failed++;
      if (core.exemplar('spanMetrics', view, slot, 0)) reservoir++;
    }
    expect(slowest).toBe(n);
    expect(failed).toBe(n);
    // The reservoir holds at most 4,096 (assembly/exemplars.ts CAPACITY): some series lost theirs there.
    expect(reservoir).toBeLessThanOrEqual(4096);
  });

  test('a removed series\' index reused by a new one starts empty', async () => {
    const sm = spanMetrics({ histogram_buckets: [1] });
    const core = await Core.create({ spanMetrics: sm, registry: { ...defaultConfig().registry, stale_duration: 60_000 } });
    core.ingest(request('shop', [span('old', trace(1), spanId(1), 500, 2, ERROR)]), NOW_MS);
    expect(core.sweep(NOW_MS + 120_000)).toBe(1);
    core.ingest(request('shop', [span('new', trace(2), spanId(2), 5)]), NOW_MS + 121_000);
    const view = core.table('spanMetrics')!;
    expect(view.used).toBe(1);
    expect(core.label(view.key(0, 1))).toBe('new');
    expect(core.worst('spanMetrics', view, 0, 'slowest')?.traceId).toBe(trace(2));
    expect(core.worst('spanMetrics', view, 0, 'failed')).toBeUndefined();
  });
});

describe('the worst trace of an edge', () => {
  test('the slowest by server span duration on the server histogram, the latest failed on the failed counter', async () => {
    const sg = { ...defaultConfig().processor.service_graphs, histogram_buckets: [1] };
    const core = await Core.create({ serviceGraphs: sg });
    // Three requests web → api: server durations 300 (slowest; its client 320), 100 (client 900, failed), 50 ms.
    const call = (n: number, clientMs: number, serverMs: number, failed: boolean, at: number) => {
      core.ingest(request('web', [span('call', trace(n), spanId(n), clientMs, 3, failed ? ERROR : {})]), at);
      core.ingest(request('api', [span('serve', trace(n), spanId(100 + n), serverMs, 2, { parentSpanId: spanId(n) })]), at);
    };
    call(1, 320, 300, false, NOW_MS);
    call(2, 900, 100, true, NOW_MS + 1000);
    call(3, 60, 50, false, NOW_MS + 2000);
    const om = new ServiceGraphsExposition(core, sg).render('openmetrics');
    const labels = 'client="web",server="api"';
    // The edge's exemplars carry the client span's id (the edge store's key).
    expect(lineOf(om, `traces_service_graph_request_server_seconds_bucket{${labels},le="1"}`)).toBe(
      `traces_service_graph_request_server_seconds_bucket{${labels},le="1"} 3 ${ex(1, '0.3', 1700000100)}`,
    );
    expect(lineOf(om, `traces_service_graph_request_failed_total{${labels}}`)).toBe(
      `traces_service_graph_request_failed_total{${labels}} 1 ${ex(2, '1', 1700000101)}`,
    );
    // The client histogram keeps the bucket's latest (by client duration the slowest would be trace 2, not chosen).
    expect(lineOf(om, `traces_service_graph_request_client_seconds_bucket{${labels},le="1"}`)).toBe(
      `traces_service_graph_request_client_seconds_bucket{${labels},le="1"} 3 ${ex(3, '0.06', 1700000102)}`,
    );
  });

  test('a removed edge\'s index reused by a new edge starts empty', async () => {
    const sg = { ...defaultConfig().processor.service_graphs, histogram_buckets: [1] };
    const core = await Core.create({ serviceGraphs: sg, registry: { ...defaultConfig().registry, stale_duration: 60_000 } });
    const call = (n: number, client: string, failed: boolean, at: number) => {
      core.ingest(request(client, [span('call', trace(n), spanId(n), 200, 3, failed ? ERROR : {})]), at);
      core.ingest(request('api', [span('serve', trace(n), spanId(100 + n), 100, 2, { parentSpanId: spanId(n) })]), at);
    };
    call(1, 'web', true, NOW_MS);
    const edges = (): SeriesTableView => core.table('edges')!;
    expect(core.worst('edges', edges(), 0, 'failed')?.traceId).toBe(trace(1));
    // Stale after 60 s (stale_duration above): removed; the next edge takes index 0 again.
    expect(core.sweep(NOW_MS + 120_000)).toBe(1);
    call(2, 'mobile', false, NOW_MS + 121_000);
    expect(edges().used).toBe(1);
    expect(core.label(edges().key(0, 0))).toBe('mobile');
    expect(core.worst('edges', edges(), 0, 'slowest')?.traceId).toBe(trace(2));
    // The removed edge's failed trace is not the new edge's (docs/abi.md: slots emptied on removal).
    expect(core.worst('edges', edges(), 0, 'failed')).toBeUndefined();
  });

  test('an edge without a server span (a virtual server) keeps its slowest by client duration, on the client histogram', async () => {
    const sg = { ...defaultConfig().processor.service_graphs, histogram_buckets: [1] };
    const core = await Core.create({ serviceGraphs: sg });
    const peer = (ms: number, n: number) => span('charge', trace(n), spanId(n), ms, 3, { attributes: [{ key: 'peer.service', value: { stringValue: 'payments' } }] });
    core.ingest(request('web', [peer(300, 1)]), NOW_MS);
    core.ingest(request('web', [peer(100, 2)]), NOW_MS + 1000);
    // Past the wait (10 s by default) each lone client becomes an edge to the virtual node "payments".
    core.expire(NOW_MS + 20_000);
    const om = new ServiceGraphsExposition(core, sg).render('openmetrics');
    const labels = 'client="web",server="payments",connection_type="virtual_node"';
    // Both client spans in le 1: the bucket's own would be trace 2; the slowest, trace 1, wins.
    expect(lineOf(om, `traces_service_graph_request_client_seconds_bucket{${labels},le="1"}`)).toBe(
      `traces_service_graph_request_client_seconds_bucket{${labels},le="1"} 2 ${ex(1, '0.3', 1700000120)}`,
    );
    // The server histogram (0 s observed, no server span) keeps its bucket's own, not the slowest.
    expect(lineOf(om, `traces_service_graph_request_server_seconds_bucket{${labels},le="1"}`)).toBe(
      `traces_service_graph_request_server_seconds_bucket{${labels},le="1"} 2 ${ex(2, '0', 1700000120)}`,
    );
  });
});
