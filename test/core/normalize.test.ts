// Span-name normalisation (processor.span_metrics.span_name_normalization; issue 23 item 3):
// ids in path-like span names become placeholders before the series lookup. Expected names are
// written by hand from the rules in assembly/normalize.ts's header (decimal → {id}, 8+ hex digits
// with a digit → {hex}, UUID → {uuid}, e-mail → {email}, 16+ letters and digits → {token},
// query string dropped, http.route when the span has one); call totals from the spans sent.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { anyString, fFixed64, fLen, fVarint, keyValue, request, type Bytes } from './helpers.js';

const NOW = 1_700_000_000_000;

function span(name: string, route?: string, userId?: string): Bytes {
  const end = BigInt(NOW) * 1_000_000n;
  return [
    ...fLen(5, name), ...fVarint(6, 2), ...fFixed64(7, end - 1_000_000n), ...fFixed64(8, end),
    ...(route !== undefined ? fLen(9, keyValue('http.route', anyString(route))) : []),
    ...(userId !== undefined ? fLen(9, keyValue('user.id', anyString(userId))) : []),
  ];
}

async function core(mode: 'off' | 'dry_run' | 'on', over: object = {}) {
  const sm = { ...defaultConfig().processor.span_metrics, span_name_normalization: mode, ...over };
  const c = await Core.create({ spanMetrics: sm, registry: { max_active_series: 0, stale_duration: 15 * 60_000 } });
  const calls = () => new Map(parsePrometheusText(new SpanMetricsExposition(c, sm).render()).samples
    .filter((s) => s.name === 'traces_spanmetrics_calls_total').map((s) => [s.labels.span_name, s.value]));
  return { core: c, sm, calls };
}

describe('span_name_normalization: on', () => {
  it('replaces ids in path-like names with placeholders, and leaves other names alone', async () => {
    const { core: c, calls } = await core('on');
    const cases: [string, string][] = [
      ['GET /users/12345/orders', 'GET /users/{id}/orders'],
      ['/api/v1/items/550e8400-e29b-41d4-a716-446655440000', '/api/v1/items/{uuid}'],
      ['POST /mail/bob.smith@example.com/send', 'POST /mail/{email}/send'],
      ['GET /blob/9f86d081884c7d65', 'GET /blob/{hex}'],
      ['GET /search?q=shoes&page=2', 'GET /search'],
      ['GET /s/AbCdEf1234567890XyZ', 'GET /s/{token}'],
      ['GET /files/report-2024-07.pdf', 'GET /files/report-{id}-{id}.pdf'],
      ['GET /v2/cafe', 'GET /v2/cafe'], // v2: letters and a digit, short; cafe: hex, no digit
      ['checkout', 'checkout'], // not path-like
      ['SELECT 12345', 'SELECT 12345'], // not path-like
    ];
    expect(c.ingest(request(cases.map(([name]) => span(name))), NOW).ok).toBe(true);
    const seen = calls();
    for (const [, want] of cases) expect(seen.get(want), want).toBe(1);
    expect(seen.size).toBe(cases.length);
  });

  it('takes http.route for a path-like name, with the method the name starts with', async () => {
    const { core: c, calls } = await core('on');
    expect(c.ingest(request([
      span('GET /users/42', '/users/:id'),
      span('GET /users/43', '/users/:id'),
      span('/users/44', '/users/:id'),
      span('checkout', '/checkout'), // not path-like: its name stays
    ]), NOW).ok).toBe(true);
    expect(Object.fromEntries(calls())).toEqual({ 'GET /users/:id': 2, '/users/:id': 1, checkout: 1 });
  });

  it('keeps the series count flat under ids in URL paths, and the call totals unchanged', async () => {
    const off = await core('off');
    const on = await core('on');
    for (let b = 0; b < 10; b++) {
      const spans = Array.from({ length: 100 }, (_, i) => span(`GET /users/${b * 100 + i}/orders`));
      expect(off.core.ingest(request(spans), NOW).ok).toBe(true);
      expect(on.core.ingest(request(spans), NOW).ok).toBe(true);
    }
    expect(off.calls().size).toBe(1000);
    expect(Object.fromEntries(on.calls())).toEqual({ 'GET /users/{id}/orders': 1000 });
  });
});

describe('span_name_normalization: dry_run', () => {
  it('leaves the series as they are; the core answers what each name would become', async () => {
    const { core: c, calls } = await core('dry_run');
    expect(c.ingest(request([span('GET /users/1'), span('GET /users/2'), span('checkout')]), NOW).ok).toBe(true);
    expect(calls().size).toBe(3);
    const view = c.table('spanMetrics')!;
    const names = new Map<string, string>();
    for (let r = 0; r < view.used; r++) {
      const id = view.key(r, 1); // SM_KEY_SPAN_NAME (docs/abi.md: key word 1)
      names.set(c.label(id), c.label(c.normalizedName(id)));
    }
    expect(Object.fromEntries(names)).toEqual({ 'GET /users/1': 'GET /users/{id}', 'GET /users/2': 'GET /users/{id}', checkout: 'checkout' });
  });
});

describe('the guides\' classic mistakes together (issue 23 "Tests and figures")', () => {
  it('user ids in a dimension, URL paths in span names: the cap holds, names stay flat, totals unchanged, the offender named', async () => {
    const sm = { ...defaultConfig().processor.span_metrics, dimensions: ['user.id'], span_name_normalization: 'on' as const };
    const c = await Core.create({ spanMetrics: sm, registry: { max_active_series: 0, max_cardinality_per_label: 50, stale_duration: 15 * 60_000 } });
    for (let b = 0; b < 10; b++) {
      const spans = Array.from({ length: 100 }, (_, i) => span(`GET /users/${b * 100 + i}/orders`, undefined, `u${b * 100 + i}`));
      expect(c.ingest(request(spans), NOW).ok).toBe(true);
    }
    const samples = parsePrometheusText(new SpanMetricsExposition(c, sm).render()).samples.filter((s) => s.name === 'traces_spanmetrics_calls_total');
    expect(samples.reduce((s, x) => s + x.value, 0)).toBe(1000);
    expect(new Set(samples.map((s) => s.labels.span_name))).toEqual(new Set(['GET /users/{id}/orders']));
    const users = new Set(samples.map((s) => s.labels.user_id));
    expect(users.has('__cardinality_overflow__')).toBe(true);
    expect(users.size - 1).toBeLessThanOrEqual(Math.ceil(50 * (1 + 4 * 1.04 / 32))); // HyperLogLog: 4 standard errors (a random hash key per core)
    const { cardinalityLimits, spanMetricsLabelWords } = await import('../../src/ui/cardinality.js');
    const report = cardinalityLimits(c, spanMetricsLabelWords(sm), { max_active_series: 0, max_cardinality_per_label: 50 });
    expect(report.labels[0]).toMatchObject({ label: 'user_id', attribute: 'user.id' });
    expect(report.fixes).toEqual(['remove user.id from processor.span_metrics.dimensions (one series per value)']);
  });
});
