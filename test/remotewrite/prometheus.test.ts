// End to end: the sidecar remote-writes into a real Prometheus 2.42 started with
// --web.enable-remote-write-receiver (Go's snappy and prompb decode what spanmeter sends), and
// PromQL through the HTTP API sees exactly the values the spans make.
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { postTraces, startSidecar, type Sidecar } from '../support/sidecar.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import {
  HAVE_PROMETHEUS,
  IN_CI,
  matrix,
  PROMETHEUS,
  query,
  startPrometheus,
  vector,
  waitForVector,
  type Prom,
} from '../support/prometheus.js';

if (!HAVE_PROMETHEUS && !IN_CI) {
  console.log(`remote write e2e: skipped: ${PROMETHEUS} not found (apt-get install prometheus; CI fails instead of skipping)`);
}

// Five spans in one request:
//   shop  SERVER "GET /cart" 1 ms, 3 ms, 6 ms   → calls 3; latency le 0.002: 1, 0.004: 2, 0.008: 3; sum 0.01
//   shop  CLIENT "GET /stock" 30 ms, trace 1    ┐ one service-graph edge shop → stock
//   stock SERVER "GET /stock" 20 ms, its child  ┘
const SPANS: SpanSpec[] = [
  { trace: 100, id: 1, kind: 'server', service: 'shop', name: 'GET /cart', durMs: 1 },
  { trace: 101, id: 2, kind: 'server', service: 'shop', name: 'GET /cart', durMs: 3 },
  { trace: 102, id: 3, kind: 'server', service: 'shop', name: 'GET /cart', durMs: 6 },
  { trace: 1, id: 10, kind: 'client', service: 'shop', name: 'GET /stock', durMs: 30 },
  { trace: 1, id: 11, parent: 10, kind: 'server', service: 'stock', name: 'GET /stock', durMs: 20 },
];

const CART = 'span_name="GET /cart",span_kind="SPAN_KIND_SERVER"';

const skip = !HAVE_PROMETHEUS && !IN_CI;

describe.skipIf(skip)('remote write into a real Prometheus', () => {
  let prom: Prom | undefined;
  let sidecar: Sidecar | undefined;

  beforeAll(async () => {
    if (!HAVE_PROMETHEUS) return;
    prom = await startPrometheus({ flags: ['--web.enable-remote-write-receiver', '--enable-feature=exemplar-storage'] });
    sidecar = await startSidecar({
      label: 'remote-write',
      config: {
        processors: ['span-metrics', 'service-graphs'],
        remote_write: [{ url: `${prom.url}/api/v1/write`, send_exemplars: true }],
        collection_interval: '1s',
        external_labels: { cluster: 'test' },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.stop();
    await prom?.stop();
  });

  const context = (): string =>
    `\nsidecar output:\n${sidecar?.output().slice(-3000)}\nprometheus output:\n${prom?.output().slice(-3000)}`;

  test('PromQL sees exactly the spans sent, with cluster and instance on every series', async () => {
    expect(HAVE_PROMETHEUS, `${PROMETHEUS} is missing (CI is set, so this fails): apt-get install prometheus`).toBe(true);
    const p = prom!;
    const s = sidecar!;
    const posted = await postTraces(s, request(SPANS), 'application/x-protobuf');
    expect(posted.status).toBe(200);

    const total = await waitForVector(p, 'sum(traces_spanmetrics_calls_total{cluster="test"})', (v) => v[0]?.value[1] === '5');
    expect(total[0]?.value[1], `last: ${JSON.stringify(total)}${context()}`).toBe('5');

    // the histogram: cumulative buckets, +Inf = count, sum in seconds
    const bucket = (le: string) => `traces_spanmetrics_latency_bucket{${CART},le="${le}"}`;
    const one = async (q: string): Promise<string | undefined> => vector(await query(p, q))[0]?.value[1];
    expect(await one(bucket('0.002'))).toBe('1');
    expect(await one(bucket('0.004'))).toBe('2');
    expect(await one(bucket('0.008'))).toBe('3');
    expect(await one(bucket('+Inf'))).toBe('3');
    expect(await one(`traces_spanmetrics_latency_sum{${CART}}`)).toBe('0.01');
    expect(await one(`traces_spanmetrics_latency_count{${CART}}`)).toBe('3');
    expect(await one('traces_spanmetrics_calls_total{service="stock"}')).toBe('1');
    // the median of 1, 3, 6 ms by the buckets: rank 1.5 in (0.002, 0.004] holding 1 of 3 → 0.003
    expect(await one(`histogram_quantile(0.5, traces_spanmetrics_latency_bucket{${CART}})`)).toBe('0.003');

    // the service graph, from the other families
    const edge = await waitForVector(p, 'traces_service_graph_request_total{client="shop",server="stock"}', (v) => v.length === 1);
    expect(edge.map((e) => e.value[1])).toEqual(['1']);
    expect(await one('traces_service_graph_request_server_seconds_count{client="shop",server="stock"}')).toBe('1');

    // every series carries the external label and one instance: <hostname>:<http port>
    const instance = `${hostname()}:${new URL(s.httpUrl).port}`;
    const labels = vector(await query(p, 'count by (cluster, instance) ({__name__=~"traces_.+"})'));
    expect(labels.map((l) => l.metric)).toEqual([{ cluster: 'test', instance }]);
    // /metrics itself has no instance or cluster label
    const text = await (await fetch(`${s.httpUrl}/metrics`)).text();
    expect(text).toContain('traces_spanmetrics_calls_total{service="shop",span_name="GET /cart"');
    expect(text).not.toMatch(/cluster="test"|instance="/);
  }, 90_000);

  test('send_exemplars: the exemplars API returns the trace of each bucket', async () => {
    const p = prom!;
    const q = encodeURIComponent(`traces_spanmetrics_latency_bucket{${CART}}`);
    const now = Date.now() / 1000;
    type Ex = { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string }[] };
    let got: string[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const res = await fetch(`${p.url}/api/v1/query_exemplars?query=${q}&start=${now - 600}&end=${now + 600}`);
      const body = (await res.json()) as { data?: Ex[] };
      got = (body.data ?? [])
        .flatMap((d) => d.exemplars.map((e) => `le=${d.seriesLabels.le} trace=${e.labels.trace_id} span=${e.labels.span_id} ${e.value}`))
        .sort();
      if (got.length >= 3) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    // trace n is 5eed0000 abcdef01 00000000 <n>; span n is 10000000 <n>; values in seconds
    expect(got).toEqual([
      'le=0.002 trace=5eed0000abcdef010000000000000064 span=1000000000000001 0.001',
      'le=0.004 trace=5eed0000abcdef010000000000000065 span=1000000000000002 0.003',
      'le=0.008 trace=5eed0000abcdef010000000000000066 span=1000000000000003 0.006',
    ]);
  }, 30_000);

  test('a new series starts with a 0 one millisecond before its first value, so increase() sees it', async () => {
    const p = prom!;
    const series = `traces_spanmetrics_calls_total{${CART}}`;
    // wait for a few collections after the first
    let raw: [number, string][] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      raw = matrix(await query(p, `${series}[10m]`))[0]?.values ?? [];
      if (raw.length >= 3) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(raw.length, JSON.stringify(raw)).toBeGreaterThanOrEqual(3);
    const [first, second] = raw;
    expect(first![1]).toBe('0');
    expect(second![1]).toBe('3');
    expect(Math.round((second![0] - first![0]) * 1000)).toBe(1);
    // the counter never moved afterwards: every later sample is 3, one per collection
    expect(raw.slice(1).every(([, v]) => v === '3')).toBe(true);

    // increase() over a range ending on the last sample: 0 → 3 counts fully, exactly 3 (with no
    // extrapolation: the 0 pins the start, the range ends on a sample). Without the 0 it is 0.
    const last = raw[raw.length - 1]![0];
    const inc = vector(await query(p, `increase(${series}[10m])`, last));
    expect(inc.map((x) => x.value[1])).toEqual(['3']);
    // and the counter moved exactly once
    const changes = vector(await query(p, `changes(${series}[10m])`, last));
    expect(changes.map((x) => x.value[1])).toEqual(['1']);
  }, 60_000);

  test('spans arriving later raise the same series, without another 0', async () => {
    const p = prom!;
    const s = sidecar!;
    const more: SpanSpec[] = [{ trace: 103, id: 4, kind: 'server', service: 'shop', name: 'GET /cart', durMs: 2 }];
    expect((await postTraces(s, request(more), 'application/x-protobuf')).status).toBe(200);
    const v = await waitForVector(p, `traces_spanmetrics_calls_total{${CART}}`, (x) => x[0]?.value[1] === '4');
    expect(v.map((x) => x.value[1])).toEqual(['4']);
    const raw = matrix(await query(p, `traces_spanmetrics_calls_total{${CART}}[10m]`))[0]!.values;
    expect(raw.filter(([, x]) => x === '0')).toHaveLength(1);
    // 2 ms lands in le 0.002
    expect(vector(await query(p, `traces_spanmetrics_latency_bucket{${CART},le="0.002"}`))[0]?.value[1]).toBe('2');
  }, 60_000);

  test("the sidecar's own remote-write metrics count what was sent", async () => {
    const s = sidecar!;
    const text = await (await fetch(`${s.httpUrl}/metrics`)).text();
    const url = `${prom!.url}/api/v1/write`;
    const sent = new RegExp(`^spanmeter_remote_write_samples_sent_total\\{url="${url}"\\} (\\d+)$`, 'm').exec(text);
    expect(sent, text).not.toBeNull();
    expect(Number(sent![1])).toBeGreaterThan(0);
    expect(text).toMatch(new RegExp(`^spanmeter_remote_write_requests_total\\{url="${url}",code="204"\\} \\d+$`, 'm'));
    expect(text).toContain(`spanmeter_remote_write_samples_dropped_total{url="${url}",reason="queue_full"} 0`);
    expect(text).toContain(`spanmeter_remote_write_samples_dropped_total{url="${url}",reason="rejected"} 0`);
    expect(text).toMatch(new RegExp(`^spanmeter_remote_write_queue_length\\{url="${url}"\\} \\d+$`, 'm'));
  });

  test('a series removed after stale_duration gets a staleness marker: PromQL stops returning it at once', async () => {
    const p = prom!;
    const s = await startSidecar({
      label: 'remote-write-stale',
      config: {
        registry: { stale_duration: '2s' },
        remote_write: [{ url: `${p.url}/api/v1/write` }],
        collection_interval: '1s',
        external_labels: { cluster: 'stale' },
      },
    });
    try {
      const spans: SpanSpec[] = [{ trace: 300, id: 1, kind: 'internal', service: 'cron', name: 'tick', durMs: 1 }];
      expect((await postTraces(s, request(spans), 'application/x-protobuf')).status).toBe(200);
      const q = 'traces_spanmetrics_calls_total{cluster="stale"}';
      const seen = await waitForVector(p, q, (v) => v.length === 1, 20_000);
      expect(seen.map((x) => x.value[1])).toEqual(['1']);
      const t0 = Date.now();
      // removed after 2 s without spans (checked every second), marked stale at the next collection;
      // without the marker Prometheus would keep returning it for 5 minutes
      const gone = await waitForVector(p, q, (v) => v.length === 0, 20_000);
      expect(gone, s.output().slice(-2000)).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(15_000);
    } finally {
      await s.stop();
    }
  }, 60_000);

  test('SIGTERM sends one last collection: with a 1h interval, the only write is the flush', async () => {
    const p = prom!;
    const flushing = await startSidecar({
      label: 'remote-write-flush',
      config: {
        remote_write: [{ url: `${p.url}/api/v1/write` }],
        collection_interval: '1h',
        external_labels: { cluster: 'flush' },
        instance: 'flush-test',
      },
    });
    try {
      const spans: SpanSpec[] = [
        { trace: 200, id: 1, kind: 'internal', service: 'batch', name: 'job', durMs: 5 },
        { trace: 201, id: 2, kind: 'internal', service: 'batch', name: 'job', durMs: 7 },
      ];
      expect((await postTraces(flushing, request(spans), 'application/x-protobuf')).status).toBe(200);
      expect(vector(await query(p, 'traces_spanmetrics_calls_total{cluster="flush"}'))).toEqual([]);
    } finally {
      await flushing.stop();
    }
    const v = vector(await query(p, 'traces_spanmetrics_calls_total{cluster="flush"}'));
    expect(v.map((x) => [x.metric.instance, x.metric.service, x.value[1]]), flushing.output().slice(-3000)).toEqual([
      ['flush-test', 'batch', '2'],
    ]);
  }, 60_000);
});
