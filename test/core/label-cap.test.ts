// Per-label caps and demand estimates (issue 23 items 1, 2 and 5; assembly/cardinality.ts): the
// guides' classic mistakes, user ids in a dimension and URL paths in span names, against
// registry.max_cardinality_per_label and registry.max_active_series. Expected values: the cap
// and the __cardinality_overflow__ value are Tempo's (modules/generator/registry/
// per_label_limiter.go); the estimates' bound is HyperLogLog's standard error 1.04/sqrt(1024)
// = 3.25 % (Flajolet et al. 2007), held within 4 of them; the series a label set costs (19 with
// the 14 default buckets: calls, size, 14 buckets + +Inf, sum, count) is docs/config.md's.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { cardinalityLimits, spanMetricsLabelWords } from '../../src/ui/cardinality.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { anyString, fFixed64, fLen, fVarint, keyValue, request, type Bytes } from './helpers.js';

// The hash key is drawn per core from the CSPRNG, so each run is another draw: 4 standard
// errors (a normal deviate past 4σ: 6 in 100,000).
const SIGMA4 = 4 * 1.04 / 32;
const SERIES_PER_SET = 19;
const NOW = 1_700_000_000_000;

/** A SERVER span of user `id`: named by its URL path, the id in user.id. */
function userSpan(id: number): Bytes {
  const end = BigInt(NOW) * 1_000_000n;
  return [
    ...fLen(5, `GET /users/${id}/orders`), ...fVarint(6, 2),
    ...fFixed64(7, end - 5_000_000n), ...fFixed64(8, end),
    ...fLen(9, keyValue('user.id', anyString(`u${id}`))),
  ];
}

function config(dimensions: string[]) {
  const sm = defaultConfig().processor.span_metrics;
  return { ...sm, dimensions };
}

/** Calls per label set, from /metrics as Prometheus reads it. */
function calls(core: Core, sm: ReturnType<typeof config>): { labels: Record<string, string>; value: number }[] {
  const text = new SpanMetricsExposition(core, sm).render();
  return parsePrometheusText(text).samples.filter((s) => s.name === 'traces_spanmetrics_calls_total');
}

async function send(core: Core, ids: number[], batch = 200): Promise<void> {
  for (let i = 0; i < ids.length; i += batch) {
    const spans = ids.slice(i, i + batch).map(userSpan);
    expect(core.ingest(request(spans, [keyValue('service.name', anyString('shop'))]), NOW)).toEqual({ ok: true, spans: spans.length });
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('registry.max_cardinality_per_label', () => {
  it('holds each label to about the cap; totals of calls unchanged; existing series keep counting', async () => {
    const sm = config(['user.id']);
    const core = await Core.create({ spanMetrics: sm, registry: { max_active_series: 0, max_cardinality_per_label: 100, stale_duration: 15 * 60_000 } });
    await send(core, range(2000));
    const samples = calls(core, sm);
    // every span counted once, whatever its labels became
    expect(samples.reduce((s, x) => s + x.value, 0)).toBe(2000);
    const users = new Set(samples.map((s) => s.labels.user_id));
    const names = new Set(samples.map((s) => s.labels.span_name));
    expect(users.has('__cardinality_overflow__')).toBe(true);
    expect(names.has('__cardinality_overflow__')).toBe(true);
    // the cap holds: at most cap · (1 + 3σ) real values, plus the overflow value
    expect(users.size - 1).toBeLessThanOrEqual(Math.ceil(100 * (1 + SIGMA4)));
    expect(users.size - 1).toBeGreaterThanOrEqual(Math.floor(100 * (1 - SIGMA4)));
    expect(samples.length).toBeLessThanOrEqual(Math.ceil(100 * (1 + SIGMA4)) + 1);
    // the replaced values are counted: as many as the calls that carry the overflow value
    const words = spanMetricsLabelWords(sm);
    const userWord = words.find((w) => w.label === 'user_id')!;
    const overflowCalls = samples.filter((s) => s.labels.user_id === '__cardinality_overflow__').reduce((s, x) => s + x.value, 0);
    expect(core.labelCardinality(userWord.word)!.limited).toBe(overflowCalls);
    // the sketches keep seeing the original values: 2000 distinct user ids
    expect(Math.abs(core.labelCardinality(userWord.word)!.estimate - 2000) / 2000).toBeLessThan(SIGMA4);
    // a label set that has its series keeps it (Tempo would move it to the overflow value)
    await send(core, [0]);
    const again = calls(core, sm).find((s) => s.labels.user_id === 'u0');
    expect(again?.value).toBe(2);
    expect(again?.labels.span_name).toBe('GET /users/0/orders');

    // what the page, the API and the log say: the labels, their estimates, an example, the fix
    const report = cardinalityLimits(core, words, { max_active_series: 0, max_cardinality_per_label: 100 });
    const user = report.labels.find((l) => l.label === 'user_id')!;
    expect(user.attribute).toBe('user.id');
    expect(user.example).toMatch(/^u\d+$/);
    expect(report.labels.find((l) => l.label === 'span_name')!.example).toMatch(/^GET \/users\/\d+\/orders$/);
    expect(report.labels.find((l) => l.label === 'service')!.estimate).toBe(1);
    expect(report.fixes).toContain('remove user.id from processor.span_metrics.dimensions (one series per value)');
    expect(report.fixes.some((f) => f.startsWith('processor.span_metrics.span_name_normalization: on'))).toBe(true);
    // held back: every span in a series with an overflow value
    const heldBack = calls(core, sm).filter((s) => Object.values(s.labels).includes('__cardinality_overflow__')).reduce((s, x) => s + x.value, 0);
    expect(report.held_back_services).toEqual([{ service: 'shop', spans: heldBack }]);
    // demand: the 2000 label sets the traffic made (a series each before the caps), 19 series each
    expect(Math.abs(report.series_demand_estimate / SERIES_PER_SET - 2000) / 2000).toBeLessThan(SIGMA4);
  });

  it('is off by default (Tempo: 0 disables it): nothing tracked, every value its own series', async () => {
    const sm = config(['user.id']);
    const core = await Core.create({ spanMetrics: sm, registry: { max_active_series: 0, stale_duration: 15 * 60_000 } });
    await send(core, range(300));
    expect(calls(core, sm).length).toBe(300);
    expect(core.labelCardinality(spanMetricsLabelWords(sm)[0]!.word)).toBeUndefined();
    expect(core.seriesDemand()).toBe(300 * SERIES_PER_SET);
  });

  it('recovers once the window has moved past the burst', async () => {
    const sm = config(['user.id']);
    const core = await Core.create({ spanMetrics: sm, registry: { max_active_series: 0, max_cardinality_per_label: 50, stale_duration: 60_000 } });
    await send(core, range(500));
    const word = spanMetricsLabelWords(sm).find((w) => w.label === 'user_id')!.word;
    expect(core.labelCardinality(word)!.estimate).toBeGreaterThan(50);
    // four sweeps a third of the window apart: the ring of 4 sketches has let the burst go
    for (let k = 1; k <= 4; k++) core.sweep(NOW + k * 20_001);
    expect(core.labelCardinality(word)!.estimate).toBe(0);
    await send(core, [7000]);
    expect(calls(core, sm).some((s) => s.labels.user_id === 'u7000')).toBe(true);
  });
});

describe('the series limit, with a demand estimate', () => {
  it('says how many series the traffic would make and which label makes them', async () => {
    const sm = config([]);
    // 100 label sets' worth (one set's cost is set aside for the overflow series)
    const core = await Core.create({ spanMetrics: sm, registry: { max_active_series: 100 * SERIES_PER_SET, max_cardinality_per_label: 0, stale_duration: 15 * 60_000 } });
    await send(core, range(1000), 100);
    const samples = calls(core, sm);
    expect(samples.reduce((s, x) => s + x.value, 0)).toBe(1000);
    expect(core.activeSeries()).toBe(99 * SERIES_PER_SET);
    // 99 sets have a series, 901 were held back: 1000 sets of 19 series
    const demand = core.seriesDemand();
    expect(Math.abs(demand - 1000 * SERIES_PER_SET)).toBeLessThan(901 * SERIES_PER_SET * SIGMA4);
    const report = cardinalityLimits(core, spanMetricsLabelWords(sm), { max_active_series: 1900, max_cardinality_per_label: 0 });
    expect(report.labels[0]!.label).toBe('span_name');
    expect(report.labels[0]!.example).toMatch(/^GET \/users\/\d+\/orders$/);
    expect(report.fixes[0]).toMatch(/^processor\.span_metrics\.span_name_normalization: on/);
    expect(report.held_back_services).toEqual([{ service: 'shop', spans: 901 }]);
  });
});
