// Two spanmeter instances behind a trace-id router (simulated: traces alternate between them)
// and a real Prometheus scraping both with deploy/prometheus-rules.yaml loaded. Every PromQL
// expression of deploy/grafana-dashboard.json and every recording rule must return data, and
// `sum without (instance)` of the calls must equal what was sent to both instances.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import { PROJECT_ROOT, postTraces, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { dashboard, substitute } from './dashboard.js';
import { HAVE_PROMETHEUS, IN_CI, PROMETHEUS, query, startPrometheus, vector, waitForVector, type Prom, type VectorSample } from '../support/prometheus.js';

const DEPLOY = join(PROJECT_ROOT, 'deploy');
const RULES = join(DEPLOY, 'prometheus-rules.yaml');

if (!HAVE_PROMETHEUS && !IN_CI) console.log(`scale-out fleet: skipped: ${PROMETHEUS} not found (apt-get install prometheus)`);

const SIDECAR_CONFIG = {
  processors: ['span-metrics', 'service-graphs'],
  processor: { service_graphs: { wait: '1s' } },
  registry: { max_active_series: 50000 },
};

/** One trace: frontend SERVER (root) -> frontend CLIENT -> cart SERVER; errors on both RPC sides when `error`. */
function trace(t: number, error: boolean): SpanSpec[] {
  return [
    { trace: t, id: 1, kind: 'server', service: 'frontend', name: 'GET /cart', durMs: 30 },
    { trace: t, id: 2, parent: 1, kind: 'client', service: 'frontend', name: 'GET /api/cart', durMs: 20, startMs: 2, error },
    { trace: t, id: 3, parent: 2, kind: 'server', service: 'cart', name: 'GET /api/cart', durMs: 15, startMs: 4, error },
  ];
}

/** A batch of 4 traces (one failing), routed by trace number parity; plus one lone client span on A (unpaired after `wait`). */
function batch(k: number): { a: SpanSpec[]; b: SpanSpec[] } {
  const a: SpanSpec[] = [];
  const b: SpanSpec[] = [];
  for (let i = 0; i < 4; i++) {
    const t = 10 * k + i + 1;
    (t % 2 === 0 ? a : b).push(...trace(t, i === 2));
  }
  a.push({ trace: 10 * k + 9, id: 7, parent: 6, kind: 'client', service: 'frontend', name: 'GET /lost', durMs: 5 });
  return { a, b };
}

const seriesKey = (s: SpanSpec): string =>
  `${s.service}|${s.name}|SPAN_KIND_${s.kind.toUpperCase()}|${s.error ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET'}`;

const dashExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ name: `${p.title} [${t.refId}]`, expr: t.expr })));
const rules = (YAML.parse(readFileSync(RULES, 'utf8')) as { groups: { rules: { record: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);

describe.skipIf(!HAVE_PROMETHEUS && !IN_CI)('fleet of two instances scraped by one Prometheus', () => {
  let a: Sidecar | undefined;
  let b: Sidecar | undefined;
  let prom: Prom | undefined;
  const sentA: SpanSpec[] = [];
  const sentB: SpanSpec[] = [];

  beforeAll(async () => {
    expect(HAVE_PROMETHEUS, `${PROMETHEUS} is missing (CI is set, so this fails)`).toBe(true);
    [a, b] = await Promise.all([
      startSidecar({ config: SIDECAR_CONFIG, label: 'A' }),
      startSidecar({ config: SIDECAR_CONFIG, label: 'B' }),
    ]);
    prom = await startPrometheus({
      config: [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(RULES)}`,
        'scrape_configs:',
        '  - job_name: spanmeter',
        '    static_configs:',
        `      - targets: ['${new URL(a.httpUrl).host}', '${new URL(b.httpUrl).host}']`,
        '',
      ].join('\n'),
    });
    const p = prom;
    const waitFor = async (q: string, want: number): Promise<void> => {
      const v = await waitForVector(p, q, (x) => Number(x[0]?.value[1]) === want, 20_000);
      expect(Number(v[0]?.value[1]), `${q} never reached ${want}; prometheus: ${p.output().slice(-1000)}`).toBe(want);
    };
    const send = async (s: Sidecar, spans: SpanSpec[], into: SpanSpec[]): Promise<void> => {
      const r = await postTraces(s, request(spans), 'application/x-protobuf');
      expect(r.status, r.text).toBe(200);
      into.push(...spans);
    };
    // batch 0, then wait until Prometheus has it (edges included, after `wait`), so that the
    // counters exist before batch 1 and every rate() is positive
    const b0 = batch(0);
    await Promise.all([send(a, b0.a, sentA), send(b, b0.b, sentB)]);
    await waitFor('sum(traces_service_graph_request_total)', 8);
    await waitFor('sum(traces_service_graph_unpaired_spans_total)', 1);
    const b1 = batch(1);
    // a malformed request, so that a rejection counter moves
    await postTraces(b, 'not protobuf', 'application/x-protobuf');
    await Promise.all([send(a, b1.a, sentA), send(b, b1.b, sentB)]);
    await waitFor('sum(traces_service_graph_request_total)', 16);
    await waitFor('sum(traces_service_graph_unpaired_spans_total)', 2);
    await waitFor('sum(traces_spanmetrics_calls_total)', sentA.length + sentB.length);
    // two rule evaluations after the last scrape
    await sleep(2500);
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test('each instance is its own target; none carries an exported_instance label', async () => {
    const p = prom!;
    const inst = vector(await query(p, 'count by (instance) (traces_spanmetrics_calls_total)'));
    expect(inst.map((s) => s.metric.instance).sort()).toEqual([new URL(a!.httpUrl).host, new URL(b!.httpUrl).host].sort());
    expect(vector(await query(p, 'count({exported_instance!=""})'))).toEqual([]);
    expect(vector(await query(p, 'up{job="spanmeter"}')).map((s) => s.value[1])).toEqual(['1', '1']);
  });

  test('sum without (instance) of the calls equals the spans sent to both instances', async () => {
    const p = prom!;
    const want = new Map<string, number>();
    for (const s of [...sentA, ...sentB]) want.set(seriesKey(s), (want.get(seriesKey(s)) ?? 0) + 1);
    const got = vector(await query(p, 'sum without (instance) (traces_spanmetrics_calls_total)'));
    const gotMap = new Map(got.map((s) => [`${s.metric.service}|${s.metric.span_name}|${s.metric.span_kind}|${s.metric.status_code}`, Number(s.value[1])]));
    expect(Object.fromEntries(gotMap)).toEqual(Object.fromEntries(want));
    for (const s of got) expect(s.metric).not.toHaveProperty('instance');
    const total = vector(await query(p, 'sum without (instance) (sum by (instance) (traces_spanmetrics_calls_total))'));
    expect(total.map((s) => Number(s.value[1]))).toEqual([sentA.length + sentB.length]);
    // each instance holds only what was routed to it
    const per = vector(await query(p, 'sum by (instance) (traces_spanmetrics_calls_total)'));
    const perMap = Object.fromEntries(per.map((s) => [s.metric.instance, Number(s.value[1])]));
    expect(perMap).toEqual({ [new URL(a!.httpUrl).host]: sentA.length, [new URL(b!.httpUrl).host]: sentB.length });
    // service-graph edges over the fleet: 8 traces -> 8 frontend->cart (2 failed), 8 user->frontend
    const edges = vector(await query(p, 'sum without (instance) (traces_service_graph_request_total)'));
    expect(Object.fromEntries(edges.map((s) => [`${s.metric.client}->${s.metric.server}`, s.value[1]]))).toEqual({ 'frontend->cart': '8', 'user->frontend': '8' });
    const failed = vector(await query(p, 'sum without (instance) (traces_service_graph_request_failed_total)'));
    expect(failed.map((s) => `${s.metric.client}->${s.metric.server}=${s.value[1]}`)).toEqual(['frontend->cart=2']);
  });

  const check = async (expr: string): Promise<VectorSample[]> => {
    const r = await query(prom!, expr);
    expect(r.status, `${expr}: ${JSON.stringify(r)}`).toBe('success');
    const v = vector(r);
    expect(v.length, `no data for ${expr}`).toBeGreaterThan(0);
    expect(v.some((s) => Number.isFinite(Number(s.value[1]))), `only NaN/Inf for ${expr}: ${JSON.stringify(v)}`).toBe(true);
    return v;
  };

  test.each(dashExprs)('dashboard query returns data: $name', async ({ expr }) => {
    await check(substitute(expr));
  });

  test.each(rules)('recording rule returns data: $record', async ({ record }) => {
    const v = await check(record);
    for (const s of v) expect(s.metric, record).not.toHaveProperty('instance');
  });

  test('the recorded calls rate has one series per (service, span_name, span_kind, status_code) of the fleet', async () => {
    const p = prom!;
    const keys = new Set([...sentA, ...sentB].map(seriesKey));
    const rec = vector(await query(p, 'spanmeter:traces_spanmetrics_calls:rate5m'));
    expect(rec.map((s) => `${s.metric.service}|${s.metric.span_name}|${s.metric.span_kind}|${s.metric.status_code}`).sort()).toEqual([...keys].sort());
    for (const s of rec) expect(Number(s.value[1]), JSON.stringify(s)).toBeGreaterThan(0);
  });
});
