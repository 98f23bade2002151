// Three spanmeter instances behind a trace-id router, as behind the Collector's loadbalancing
// exporter (routing_key: traceID, static resolver spanmeter-{0,1,2}:4317; trace-id-ring.ts
// routes exactly as the exporter does), plus a fourth instance that gets every span. Spans
// travel over OTLP/gRPC, one export per service as each service's SDK would send them, so the
// two sides of an edge reach an instance in different requests. One real Prometheus:
//
// - scrapes the three (job "fleet") and the fourth (job "single");
// - receives their remote writes (external label remote="fleet" or "single", `instance`
//   spanmeter-0/1/2 and "single").
//
// For span metrics and service graphs, `sum without (instance)` over the fleet equals the
// single instance, both scraped and remote-written, and both equal values counted by hand from
// the traces. Each instance got some traces, and exactly the spans routed to it.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportGrpc } from '../package/helpers.js';
import { request, traceId, type SpanSpec } from '../servicegraphs/helpers.js';
import { startSidecar, type Sidecar } from '../support/sidecar.js';
import { HAVE_PROMETHEUS, IN_CI, PROMETHEUS, query, startPrometheus, vector, waitForVector, type Prom } from '../support/prometheus.js';
import { dashboard, substitute } from './dashboard.js';
import { TraceIdRing } from './trace-id-ring.js';

const SKIP = !HAVE_PROMETHEUS && !IN_CI;
if (SKIP) console.log(`scale-out, three instances: skipped: ${PROMETHEUS} not found (apt-get install prometheus; CI fails instead)`);

/** 2^-9 s in ms: every duration is a multiple, so every sum of them is exact in binary. */
const U = 1.953125;
const SM_BUCKETS = [0.004, 0.032, 0.256];
const SG_BUCKETS = [0.016, 0.128];
const TRACES = 60;
const SERVICES = ['web', 'checkout', 'cart', 'payment', 'email'];

/**
 * Trace i (trace id number 1000 + i) has one of three shapes, by i mod 3, and fails when
 * floor(i / 3) mod 4 is 0 (5 traces of each shape):
 *   0: web SERVER → web CLIENT → checkout SERVER → checkout CLIENT → payment SERVER (fails),
 *      checkout PRODUCER → email CONSUMER
 *   1: web SERVER → web CLIENT → cart SERVER (fails) → cart CLIENT with db.system=redis
 *   2: checkout SERVER (root, fails) → checkout CLIENT (fails) → payment SERVER
 */
function trace(i: number): SpanSpec[] {
  const t = 1000 + i;
  const k = Math.floor(i / 3);
  const fail = k % 4 === 0;
  const d = (units: number): number => units * U;
  switch (i % 3) {
    case 0:
      return [
        { trace: t, id: 1, kind: 'server', service: 'web', name: 'POST /checkout', durMs: d(k % 2 ? 64 : 200) },
        { trace: t, id: 2, parent: 1, kind: 'client', service: 'web', name: 'POST /api/checkout', durMs: d(48), startMs: 1 },
        { trace: t, id: 3, parent: 2, kind: 'server', service: 'checkout', name: 'POST /api/checkout', durMs: d(40), startMs: 2 },
        { trace: t, id: 4, parent: 3, kind: 'client', service: 'checkout', name: 'Charge', durMs: d(8), startMs: 3 },
        { trace: t, id: 5, parent: 4, kind: 'server', service: 'payment', name: 'Charge', durMs: d(4 + (k % 3)), startMs: 4, error: fail },
        { trace: t, id: 6, parent: 3, kind: 'producer', service: 'checkout', name: 'order.placed', durMs: d(1), startMs: 20 },
        { trace: t, id: 7, parent: 6, kind: 'consumer', service: 'email', name: 'order.placed', durMs: d(k % 2 ? 32 : 2), startMs: 30 },
      ];
    case 1:
      return [
        { trace: t, id: 1, kind: 'server', service: 'web', name: 'GET /cart', durMs: d(16) },
        { trace: t, id: 2, parent: 1, kind: 'client', service: 'web', name: 'GET /api/cart', durMs: d(12), startMs: 1 },
        { trace: t, id: 3, parent: 2, kind: 'server', service: 'cart', name: 'GET /api/cart', durMs: d(10), startMs: 2, error: fail },
        { trace: t, id: 4, parent: 3, kind: 'client', service: 'cart', name: 'HGETALL', durMs: d(1), startMs: 3, attrs: { 'db.system': 'redis' } },
      ];
    default:
      return [
        { trace: t, id: 1, kind: 'server', service: 'checkout', name: 'POST /api/checkout', durMs: d(40), error: fail },
        { trace: t, id: 2, parent: 1, kind: 'client', service: 'checkout', name: 'Charge', durMs: d(8), startMs: 1, error: fail },
        { trace: t, id: 3, parent: 2, kind: 'server', service: 'payment', name: 'Charge', durMs: d(4 + (k % 3)), startMs: 2 },
      ];
  }
}

const TRACE_SPANS = Array.from({ length: TRACES }, (_, i) => trace(i));

// ---- the expected metrics, counted from the spans (Tempo's rules, docs/scale-out.md) ----

type Labels = Record<string, string>;
/** A series' identity: its labels (empty ones dropped, as Prometheus does) minus `drop`. */
function keyOf(labels: Labels, drop: string[] = []): string {
  return Object.entries(labels)
    .filter(([k, v]) => v !== '' && !drop.includes(k))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

type Expected = Record<string, Record<string, number>>;

/** Adds `v` to family[labels]. */
function add(out: Expected, family: string, labels: Labels, v = 1): void {
  const f = (out[family] ??= {});
  const k = keyOf(labels);
  f[k] = (f[k] ?? 0) + v;
}

/** A histogram observation of `seconds`: cumulative buckets, _count and _sum. */
function observe(out: Expected, family: string, labels: Labels, seconds: number, bounds: number[]): void {
  for (const le of bounds) add(out, `${family}_bucket`, { ...labels, le: String(le) }, seconds <= le ? 1 : 0);
  add(out, `${family}_bucket`, { ...labels, le: '+Inf' });
  add(out, `${family}_count`, labels);
  add(out, `${family}_sum`, labels, seconds);
}

function expectedMetrics(traces: SpanSpec[][]): Expected {
  const out: Expected = {};
  for (const spans of traces) {
    for (const s of spans) {
      const labels = {
        service: s.service!,
        span_name: s.name!,
        span_kind: `SPAN_KIND_${s.kind.toUpperCase()}`,
        status_code: s.error ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET',
      };
      add(out, 'traces_spanmetrics_calls_total', labels);
      observe(out, 'traces_spanmetrics_latency', labels, s.durMs / 1000, SM_BUCKETS);
    }
    const edge = (client: string, server: string, type: string, failed: boolean, clientMs: number, serverMs: number): void => {
      const labels = { client, server, connection_type: type };
      add(out, 'traces_service_graph_request_total', labels);
      if (failed) add(out, 'traces_service_graph_request_failed_total', labels);
      observe(out, 'traces_service_graph_request_client_seconds', labels, clientMs / 1000, SG_BUCKETS);
      observe(out, 'traces_service_graph_request_server_seconds', labels, serverMs / 1000, SG_BUCKETS);
    };
    for (const s of spans) {
      const parent = spans.find((p) => s.parent !== undefined && p.id === s.parent);
      const failed = !!(s.error || parent?.error);
      // a root SERVER span: an edge from "user" (a virtual node; no client latency)
      if (s.kind === 'server' && parent === undefined) edge('user', s.service!, 'virtual_node', !!s.error, 0, s.durMs);
      if (s.kind === 'server' && parent?.kind === 'client') edge(parent.service!, s.service!, '', failed, parent.durMs, s.durMs);
      if (s.kind === 'consumer' && parent?.kind === 'producer') edge(parent.service!, s.service!, 'messaging_system', failed, parent.durMs, s.durMs);
      // a database call: complete from the client span alone, named by db.system
      if (s.kind === 'client' && s.attrs?.['db.system'] !== undefined) edge(s.service!, String(s.attrs['db.system']), 'database', !!s.error, s.durMs, s.durMs);
    }
  }
  return out;
}

const EXPECTED = expectedMetrics(TRACE_SPANS);
const FAMILIES = Object.keys(EXPECTED).sort();

describe('the counts by hand', () => {
  test('60 traces: 280 spans, 180 edges, 20 failed', () => {
    const sum = (f: string): number => Object.values(EXPECTED[f]!).reduce((a, b) => a + b, 0);
    expect(sum('traces_spanmetrics_calls_total')).toBe(20 * 7 + 20 * 4 + 20 * 3);
    expect(EXPECTED.traces_service_graph_request_total).toEqual({
      'client=user,connection_type=virtual_node,server=web': 40,
      'client=user,connection_type=virtual_node,server=checkout': 20,
      'client=web,server=checkout': 20,
      'client=web,server=cart': 20,
      'client=checkout,server=payment': 40,
      'client=checkout,connection_type=messaging_system,server=email': 20,
      'client=cart,connection_type=database,server=redis': 20,
    });
    expect(EXPECTED.traces_service_graph_request_failed_total).toEqual({
      'client=checkout,server=payment': 10,
      'client=web,server=cart': 5,
      'client=user,connection_type=virtual_node,server=checkout': 5,
    });
    // 20 web roots of 200 units (0.390625 s) and 20 of 64 (0.125 s); 40 checkout servers of 40 units
    expect(EXPECTED.traces_spanmetrics_latency_bucket!['le=0.256,service=web,span_kind=SPAN_KIND_SERVER,span_name=POST /checkout,status_code=STATUS_CODE_UNSET']).toBe(10);
    expect(EXPECTED.traces_spanmetrics_latency_sum!['service=web,span_kind=SPAN_KIND_SERVER,span_name=POST /checkout,status_code=STATUS_CODE_UNSET']).toBe((10 * 200 + 10 * 64) / 512);
    expect(EXPECTED.traces_service_graph_request_server_seconds_bucket!['client=user,connection_type=virtual_node,le=0.128,server=web']).toBe(30);
  });
});

describe.skipIf(SKIP)('three instances behind a trace-id load balancer, one Prometheus', () => {
  const ring = new TraceIdRing(['spanmeter-0:4317', 'spanmeter-1:4317', 'spanmeter-2:4317']);
  const names = ['spanmeter-0', 'spanmeter-1', 'spanmeter-2'];
  /** The instance (0..2) of each trace, by the load balancer's rule. */
  const routed = TRACE_SPANS.map((spans) => names.indexOf(ring.endpointFor(traceId(spans[0]!.trace)).replace(/:4317$/, '')));
  let fleet: Sidecar[] = [];
  let single: Sidecar | undefined;
  let prom: Prom | undefined;

  const config = (remote: string, instance: string, p: Prom): Record<string, unknown> => ({
    processors: ['span-metrics', 'service-graphs'],
    processor: {
      span_metrics: { histogram_buckets: SM_BUCKETS },
      service_graphs: { wait: '2s', histogram_buckets: SG_BUCKETS },
    },
    remote_write: [{ url: `${p.url}/api/v1/write` }],
    collection_interval: '1s',
    external_labels: { remote },
    instance,
  });
  const host = (s: Sidecar): string => new URL(s.httpUrl).host;
  const context = (): string =>
    [...fleet, single].map((s, i) => `\n--- sidecar ${i}:\n${s?.output().slice(-1500)}`).join('') + `\n--- prometheus:\n${prom?.output().slice(-1500)}`;

  beforeAll(async () => {
    expect(HAVE_PROMETHEUS, `${PROMETHEUS} is missing (CI is set, so this fails)`).toBe(true);
    const p = (prom = await startPrometheus({ flags: ['--web.enable-remote-write-receiver'] }));
    const started = await Promise.all([
      ...names.map((n) => startSidecar({ config: config('fleet', n, p), grpc: true, label: n })),
      startSidecar({ config: config('single', 'single', p), grpc: true, label: 'single' }),
    ]);
    fleet = started.slice(0, 3);
    single = started[3];
    await p.reload(
      [
        'global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}',
        'scrape_configs:',
        `  - {job_name: fleet, static_configs: [{targets: [${fleet.map((s) => `'${host(s)}'`).join(', ')}]}]}`,
        `  - {job_name: single, static_configs: [{targets: ['${host(single!)}']}]}`,
        '',
      ].join('\n'),
    );

    // each service exports its own spans; the load balancer splits every export by trace id
    for (const service of SERVICES) {
      const perInstance: SpanSpec[][] = [[], [], []];
      TRACE_SPANS.forEach((spans, i) => perInstance[routed[i]!]!.push(...spans.filter((s) => s.service === service)));
      const all = perInstance.flat();
      const errors = await Promise.all([
        ...perInstance.map((spans, n) => (spans.length ? exportGrpc(fleet[n]!.grpcEndpoint, request(spans)) : null)),
        exportGrpc(single!.grpcEndpoint, request(all)),
      ]);
      expect(errors.map((e) => e?.message ?? null), `export of ${service}`).toEqual([null, null, null, null]);
    }

    // until every source has every span and edge (user edges come `wait` after their root span)
    const want: Record<string, number> = {};
    for (const f of ['traces_spanmetrics_calls_total', 'traces_spanmetrics_latency_count', 'traces_service_graph_request_total', 'traces_service_graph_request_server_seconds_count', 'traces_service_graph_request_client_seconds_count']) {
      const total = Object.values(EXPECTED[f]!).reduce((a, b) => a + b, 0);
      for (const source of ['job=fleet', 'job=single', 'remote=fleet', 'remote=single']) want[`${f}|${source}`] = total;
    }
    const key = (m: Labels): string => `${m.__name__}|${m.job ? `job=${m.job}` : `remote=${m.remote}`}`;
    const families = Object.keys(want).map((k) => k.split('|')[0]).filter((f, i, a) => a.indexOf(f) === i);
    const got = await waitForVector(
      p,
      `sum by (__name__, job, remote) ({__name__=~"${families.join('|')}"})`,
      (v) => Object.entries(want).every(([k, n]) => v.some((s) => key(s.metric) === k && Number(s.value[1]) === n)),
      30_000,
    );
    expect(Object.fromEntries(got.map((s) => [key(s.metric), Number(s.value[1])])), context()).toEqual(want);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...fleet, single].map((s) => s?.stop()));
    await prom?.stop();
  });

  /** `sum without (instance) (family{selector})` as a map from series key (minus `drop`) to value. */
  async function fleetSum(family: string, selector: string, drop: string): Promise<Record<string, number>> {
    const v = vector(await query(prom!, `sum without (instance) (${family}{${selector}})`));
    return Object.fromEntries(v.map((s) => [keyOf(s.metric, [drop]), Number(s.value[1])]));
  }

  test('the hash spread the traces over all three instances', () => {
    const counts = [0, 1, 2].map((n) => routed.filter((r) => r === n).length);
    expect(counts.reduce((a, b) => a + b)).toBe(TRACES);
    for (const c of counts) expect(c, `traces per instance: ${counts.join(', ')}`).toBeGreaterThan(0);
  });

  for (const [how, label, fleetSel, singleSel] of [
    ['scraped', 'job', 'job="fleet"', 'job="single"'],
    ['remote-written', 'remote', 'remote="fleet"', 'remote="single"'],
  ] as const) {
    test.each(FAMILIES)(`${how}: sum without (instance) of %s over the fleet = the single instance = the hand count`, async (family) => {
      const fleetV = await fleetSum(family, fleetSel, label);
      const singleV = await fleetSum(family, singleSel, label);
      expect(fleetV, `fleet ${family}`).toEqual(EXPECTED[family]);
      expect(singleV, `single ${family}`).toEqual(EXPECTED[family]);
      // and in PromQL itself: every series matches one to one, none differs
      const both = (op: string): string =>
        `sum without (instance, ${label}) (${family}{${fleetSel}}) ${op} sum without (instance, ${label}) (${family}{${singleSel}})`;
      expect(vector(await query(prom!, both('!='))), family).toEqual([]);
      expect(vector(await query(prom!, `count(${both('==')})`)).map((s) => Number(s.value[1]))).toEqual([Object.keys(EXPECTED[family]!).length]);
    });

    test(`${how}: each instance holds exactly the spans and edges of the traces routed to it`, async () => {
      const instanceOf = (n: number): string => (label === 'job' ? host(fleet[n]!) : names[n]!);
      const perInstance = (f: string): Record<string, number> =>
        Object.fromEntries(
          [0, 1, 2].map((n) => {
            const mine = expectedMetrics(TRACE_SPANS.filter((_, i) => routed[i] === n))[f] ?? {};
            return [instanceOf(n), Object.values(mine).reduce((a, b) => a + b, 0)];
          }),
        );
      for (const f of ['traces_spanmetrics_calls_total', 'traces_service_graph_request_total', 'traces_service_graph_request_failed_total']) {
        const v = vector(await query(prom!, `sum by (instance) (${f}{${fleetSel}})`));
        const got = Object.fromEntries(v.map((s) => [s.metric.instance!, Number(s.value[1])]));
        const want = Object.fromEntries(Object.entries(perInstance(f)).filter(([, n]) => n > 0));
        expect(got, f).toEqual(want);
      }
      for (const n of Object.values(perInstance('traces_spanmetrics_calls_total'))) expect(n).toBeGreaterThan(0);
      // no instance saw half an edge
      expect(vector(await query(prom!, `sum(traces_service_graph_unpaired_spans_total{${fleetSel}} > 0)`))).toEqual([]);
    });
  }

  test('remote write: three distinct instance values on the fleet series, "single" on the other', async () => {
    const p = prom!;
    const inst = vector(await query(p, 'count by (instance) ({__name__=~"traces_.+", remote="fleet"})'));
    expect(inst.map((s) => s.metric.instance).sort()).toEqual(names);
    const one = vector(await query(p, 'count by (instance) ({__name__=~"traces_.+", remote="single"})'));
    expect(one.map((s) => s.metric.instance)).toEqual(['single']);
    // no remote-written series lacks an instance; the scraped ones have the targets' host:port
    expect(vector(await query(p, 'count({__name__=~"traces_.+", remote!="", instance=""})'))).toEqual([]);
    const scraped = vector(await query(p, 'count by (instance) ({__name__=~"traces_.+", job="fleet"})'));
    expect(scraped.map((s) => s.metric.instance).sort()).toEqual(fleet.map(host).sort());
  });

  test("the dashboard's node graph: one node per service, one edge per client → server pair", async () => {
    const panel = dashboard.panels.find((x) => x.type === 'nodeGraph')!;
    const run = async (refId: string): Promise<Labels[]> => {
      const t = panel.targets!.find((x) => x.refId === refId)!;
      return vector(await query(prom!, substitute(t.expr))).map((s) => s.metric);
    };
    const nodes = await run('nodes');
    const edges = await run('edges');
    const services = ['cart', 'checkout', 'email', 'payment', 'redis', 'user', 'web'];
    expect(nodes.map((n) => `${n.id}|${n.title}`).sort()).toEqual(services.map((s) => `${s}|${s}`));
    expect(edges.map((e) => `${e.id}|${e.source}|${e.target}`).sort()).toEqual(
      ['cart->redis', 'checkout->email', 'checkout->payment', 'user->checkout', 'user->web', 'web->cart', 'web->checkout'].map(
        (id) => `${id}|${id.split('->').join('|')}`,
      ),
    );
  });
});
