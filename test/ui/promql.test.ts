// The README's RED PromQL examples ("Getting the metrics"), run as written against a real
// Prometheus scraping a sidecar that gets a known workload in identical batches. Each batch has
// the same mix, so every rate keeps its proportions and the ratios and quantiles below are
// exact, worked out by hand from the spans (rates themselves depend on timing: only > 0).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_PROMETHEUS, IN_CI, PROMETHEUS, query, scrapeConfig, startPrometheus, vector, waitForVector, type Prom } from '../support/prometheus.js';
import { postTraces, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';

/** The README's ```promql block: one query per statement (indented lines continue the one above). */
function readmeQueries(): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /```promql\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no ```promql block');
  const out: string[] = [];
  for (const line of block[1]!.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (/^\s/.test(line) && out.length > 0) out[out.length - 1] += ` ${line.trim()}`;
    else out.push(line.trim());
  }
  return out;
}

const BATCHES = 6;
/** Per batch: 4 requests web → api; the first of them fails in api with an IOError exception. */
function batch(b: number): Uint8Array {
  const spans: SpanSpec[] = [];
  for (let i = 0; i < 4; i++) {
    const trace = b * 4 + i + 1;
    const fails = i === 0;
    spans.push(
      { trace, id: 1, kind: 'server', service: 'web', name: 'GET /', durMs: 30 },
      { trace, id: 2, parent: 1, kind: 'client', service: 'web', name: 'GET /api', durMs: 12 },
      {
        trace, id: 3, parent: 2, kind: 'server', service: 'api', name: 'GET /api', durMs: 10, error: fails,
        ...(fails ? { events: [{ name: 'exception', attrs: { 'exception.type': 'IOError' } }] } : {}),
      },
    );
  }
  return request(spans);
}

const run = HAVE_PROMETHEUS || IN_CI ? describe : describe.skip;

run("the README's PromQL examples against a real Prometheus", () => {
  let sidecar: Sidecar | undefined;
  let prom: Prom | undefined;
  const queries = readmeQueries();

  beforeAll(async () => {
    expect(HAVE_PROMETHEUS, `${PROMETHEUS} is missing (CI is set, so this fails): apt-get install prometheus`).toBe(true);
    sidecar = await startSidecar({
      label: 'promql',
      config: {
        processors: ['span-metrics', 'service-graphs'],
        processor: { span_metrics: { events: { enabled: true, dimensions: ['exception.type'] } }, service_graphs: { wait: '1s' } },
      },
    });
    prom = await startPrometheus({ config: scrapeConfig([new URL(sidecar.httpUrl).host]) });
    // Each batch in a scrape of its own (the counters must rise between scrapes for rate()):
    // the next goes once Prometheus has the last one, 4 api server spans each.
    const up = await waitForVector(prom, 'up{job="spanmeter"}', (v) => v[0]?.value[1] === '1', 60_000);
    expect(up[0]?.value[1], prom.output()).toBe('1');
    for (let b = 0; b < BATCHES; b++) {
      const res = await postTraces(sidecar, batch(b), 'application/x-protobuf');
      expect(res.status, res.text).toBe(200);
      const want = String(4 * (b + 1));
      const seen = await waitForVector(prom, 'sum(traces_spanmetrics_calls_total{service="api"})', (v) => v[0]?.value[1] === want, 60_000);
      expect(seen[0]?.value[1], prom.output()).toBe(want);
    }
    await sleep(1500);
  }, 240_000);

  afterAll(async () => {
    await prom?.stop();
    await sidecar?.stop();
  });

  /** The query's samples as "label=value,… → value", sorted. */
  const samples = async (q: string, labels: string[]) => {
    const r = await query(prom!, q);
    expect(r.status, `${q}: ${JSON.stringify(r)}`).toBe('success');
    return vector(r)
      .map((s) => [labels.map((l) => s.metric[l] ?? '').join(' → '), Number(s.value[1])] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  };

  it('has the eight examples, in order', () => {
    expect(queries.length).toBe(8);
  });

  it('rate per service: web and api, both above 0', async () => {
    const got = await samples(queries[0]!, ['service']);
    expect(got.map(([k]) => k)).toEqual(['api', 'web']);
    expect(got.every(([, v]) => v > 0)).toBe(true);
  });

  it('error share per service: api 1 of 4 = 0.25; web has no failed server span (no sample)', async () => {
    expect(await samples(queries[1]!, ['service'])).toEqual([['api', 0.25]]);
  });

  it('p95 per service from the span-metrics buckets (2 ms · 2^k)', async () => {
    // api: all 10 ms, in (0.008, 0.016]: 0.008 + 0.008 · 0.95 = 0.0156; web: 30 ms in
    // (0.016, 0.032]: 0.016 + 0.016 · 0.95 = 0.0312.
    const got = await samples(queries[2]!, ['service']);
    expect(got.map(([k]) => k)).toEqual(['api', 'web']);
    expect(got[0]![1]).toBeCloseTo(0.0156, 12);
    expect(got[1]![1]).toBeCloseTo(0.0312, 12);
    // Per operation: the same, by span name (server spans only).
    const ops = await samples(queries[3]!, ['service', 'span_name']);
    expect(ops.map(([k]) => k)).toEqual(['api → GET /api', 'web → GET /']);
    expect(ops[0]![1]).toBeCloseTo(0.0156, 12);
    expect(ops[1]![1]).toBeCloseTo(0.0312, 12);
  });

  it('service graph: requests, failed share and p95 per edge', async () => {
    // web → api (paired), and user → web: the root server spans, unpaired after the wait (1 s).
    const req = await samples(queries[4]!, ['client', 'server']);
    expect(req.map(([k]) => k)).toEqual(['user → web', 'web → api']);
    expect(req.every(([, v]) => v > 0)).toBe(true);
    // Failed: only web → api has failures, 1 of 4.
    expect(await samples(queries[5]!, ['client', 'server'])).toEqual([['web → api', 0.25]]);
    // p95 of the server side: 10 ms and 30 ms, both in the first service-graph bucket (0, 0.1]:
    // 0.1 · 0.95 = 0.095 for both: the coarse figure the page shows as "< 100ms".
    const p95 = await samples(queries[6]!, ['client', 'server']);
    expect(p95.map(([k]) => k)).toEqual(['user → web', 'web → api']);
    for (const [, v] of p95) expect(v).toBeCloseTo(0.095, 12);
  });

  it('exceptions per type', async () => {
    const got = await samples(queries[7]!, ['service', 'exception_type']);
    expect(got.map(([k]) => k)).toEqual(['api → IOError']);
    expect(got[0]![1]).toBeGreaterThan(0);
  });
});
