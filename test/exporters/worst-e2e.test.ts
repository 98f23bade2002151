// End to end: the worst trace of a known workload (the slowest of each series and its latest
// failed one) reaches a real Prometheus both ways, scraped as OpenMetrics and remote-written,
// through its exemplar query API, and an OTLP receiver through the push, each on the right series.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { postTraces, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import { HAVE_PROMETHEUS, IN_CI, PROMETHEUS, scrapeConfig, startPrometheus, type Prom } from '../support/prometheus.js';
import { startHttpReceiver, type PbPoint, type TestReceiver } from '../otlpmetrics/receiver.js';

if (!HAVE_PROMETHEUS && !IN_CI) console.log(`worst-trace e2e: skipped: ${PROMETHEUS} not found (apt-get install prometheus)`);

// One request, processed in this order (helpers.request: one resource per span). Default buckets:
// span metrics 0.002 · 2^k s (… 0.064, 0.128 …), edges 0.1 · 2^k s (0.1, 0.2, …).
//   shop SERVER "GET /cart": 8 ms (trace 201), 90 ms (202, the slowest: le 0.128), 5 ms (203),
//     70 ms (204, later in le 0.128: the bucket's own latest), and 12 ms failed (206: STATUS_CODE_ERROR)
//   edge shop → stock: trace 300 client 50 / server 40 ms, the server failed; trace 301 client 200 /
//     server 150 ms (the slowest by server, le 0.2); trace 302 client 100 / server 130 ms (later in le 0.2)
const SPANS: SpanSpec[] = [
  { trace: 201, id: 1, kind: 'server', service: 'shop', name: 'GET /cart', durMs: 8 },
  { trace: 202, id: 2, kind: 'server', service: 'shop', name: 'GET /cart', durMs: 90 },
  { trace: 203, id: 3, kind: 'server', service: 'shop', name: 'GET /cart', durMs: 5 },
  { trace: 204, id: 4, kind: 'server', service: 'shop', name: 'GET /cart', durMs: 70 },
  { trace: 206, id: 6, kind: 'server', service: 'shop', name: 'GET /cart', durMs: 12, error: true },
  { trace: 300, id: 30, kind: 'client', service: 'shop', name: 'GET /stock', durMs: 50 },
  { trace: 300, id: 31, parent: 30, kind: 'server', service: 'stock', name: 'GET /stock', durMs: 40, error: true },
  { trace: 301, id: 40, kind: 'client', service: 'shop', name: 'GET /stock', durMs: 200 },
  { trace: 301, id: 41, parent: 40, kind: 'server', service: 'stock', name: 'GET /stock', durMs: 150 },
  { trace: 302, id: 50, kind: 'client', service: 'shop', name: 'GET /stock', durMs: 100 },
  { trace: 302, id: 51, parent: 50, kind: 'server', service: 'stock', name: 'GET /stock', durMs: 130 },
];
// test/servicegraphs/helpers.ts: trace n is 5eed0000 abcdef01 00000000 <n>, span n 10000000 <n> (hex).
const trace = (n: number) => `5eed0000abcdef0100000000${n.toString(16).padStart(8, '0')}`;
const span = (n: number) => `10000000${n.toString(16).padStart(8, '0')}`;

// What each check expects: series selector (without job/cluster), then "trace span value".
const CART = 'service="shop",span_name="GET /cart",span_kind="SPAN_KIND_SERVER"';
const EDGE = 'client="shop",server="stock"';
const EXPECTED: [string, string][] = [
  [`traces_spanmetrics_latency_bucket{${CART},status_code="STATUS_CODE_UNSET",le="0.128"}`, `${trace(202)} ${span(2)} 0.09`],
  [`traces_spanmetrics_calls_total{${CART},status_code="STATUS_CODE_ERROR"}`, `${trace(206)} ${span(6)} 1`],
  // An edge's exemplar carries the client span's id.
  [`traces_service_graph_request_server_seconds_bucket{${EDGE},le="0.2"}`, `${trace(301)} ${span(40)} 0.15`],
  [`traces_service_graph_request_failed_total{${EDGE}}`, `${trace(300)} ${span(30)} 1`],
];

const skip = !HAVE_PROMETHEUS && !IN_CI;

describe.skipIf(skip)('the worst trace of a known workload', () => {
  let prom: Prom | undefined;
  let sidecar: Sidecar | undefined;
  let rx: TestReceiver | undefined;

  beforeAll(async () => {
    if (!HAVE_PROMETHEUS) return;
    rx = await startHttpReceiver();
    prom = await startPrometheus({ flags: ['--web.enable-remote-write-receiver', '--enable-feature=exemplar-storage'] });
    sidecar = await startSidecar({
      label: 'worst-trace',
      config: {
        processors: ['span-metrics', 'service-graphs'],
        remote_write: [{ url: `${prom.url}/api/v1/write`, send_exemplars: true }],
        otlp_metrics: { endpoint: rx.url, protocol: 'http/protobuf', interval: '1s' },
        collection_interval: '1s',
        external_labels: { cluster: 'rw' },
      },
    });
    // The same Prometheus scrapes /metrics too: those series have job="spanmeter" and no cluster.
    await prom.reload(scrapeConfig([new URL(sidecar.httpUrl).host]));
    const posted = await postTraces(sidecar, request(SPANS), 'application/x-protobuf');
    expect(posted.status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await sidecar?.stop();
    await prom?.stop();
    await rx?.close();
  });

  const context = (): string => `\nsidecar output:\n${sidecar?.output().slice(-2000)}\nprometheus output:\n${prom?.output().slice(-2000)}`;

  /** Prometheus's exemplars of the series `selector` as "trace span value", waiting until some came. */
  async function exemplarsOf(selector: string): Promise<string[]> {
    const now = Date.now() / 1000;
    const q = encodeURIComponent(selector);
    type Ex = { exemplars: { labels: Record<string, string>; value: string }[] };
    let got: string[] = [];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const res = await fetch(`${prom!.url}/api/v1/query_exemplars?query=${q}&start=${now - 600}&end=${now + 600}`);
      const body = (await res.json()) as { data?: Ex[] };
      got = [...new Set((body.data ?? []).flatMap((d) => d.exemplars.map((e) => `${e.labels.trace_id} ${e.labels.span_id} ${e.value}`)))];
      if (got.length > 0) break;
      await sleep(300);
    }
    return got;
  }

  test('scraped as OpenMetrics: the slowest on its bucket, the failed on its counter', async () => {
    expect(HAVE_PROMETHEUS, `${PROMETHEUS} is missing (CI is set, so this fails)`).toBe(true);
    for (const [selector, want] of EXPECTED) {
      const scraped = selector.replace('{', '{job="spanmeter",');
      expect(await exemplarsOf(scraped), `${scraped}${context()}`).toEqual([want]);
    }
  }, 90_000);

  test('remote-written: the same exemplars on the same series', async () => {
    for (const [selector, want] of EXPECTED) {
      const written = selector.replace('{', '{cluster="rw",');
      expect(await exemplarsOf(written), `${written}${context()}`).toEqual([want]);
    }
  }, 90_000);

  test('pushed over OTLP: the slowest on the histogram point, the failed on the counter point', async () => {
    const points = (metric: string, want: Record<string, string>): PbPoint[] => rx!.received
      .map((r) => r.request)
      .flatMap((r) => r.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)))
      .filter((m) => m.name === metric)
      .flatMap((m) => m.sum?.dataPoints ?? m.histogram?.dataPoints ?? [])
      .filter((p) => Object.entries(want).every(([k, v]) => p.attributes.some((a) => a.key === k && a.value?.stringValue === v)));
    const exemplars = (metric: string, want: Record<string, string>): string[] => [...new Set(points(metric, want)
      .flatMap((p) => p.exemplars ?? [])
      .map((e) => `${Buffer.from(e.traceId).toString('hex')} ${Buffer.from(e.spanId).toString('hex')} ${e.asDouble}`))];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && points('traces_service_graph_request_failed', {}).length === 0) await sleep(200);
    const cart = { service: 'shop', span_name: 'GET /cart' };
    // The histogram point lists each bucket's own and the slowest: 201/203 (le 0.008; the latest is 203),
    // 204 (le 0.128's own) and 202, the slowest.
    expect(exemplars('traces_spanmetrics_latency', { ...cart, status_code: 'STATUS_CODE_UNSET' })).toContain(`${trace(202)} ${span(2)} 0.09`);
    expect(exemplars('traces_spanmetrics_calls', { ...cart, status_code: 'STATUS_CODE_ERROR' })).toEqual([`${trace(206)} ${span(6)} 1`]);
    expect(exemplars('traces_service_graph_request_server_seconds', { client: 'shop', server: 'stock' })).toContain(`${trace(301)} ${span(40)} 0.15`);
    expect(exemplars('traces_service_graph_request_failed', { client: 'shop', server: 'stock' })).toEqual([`${trace(300)} ${span(30)} 1`]);
  }, 30_000);
});
