// Cardinality control and bounded memory (issue 5): the series limit with its overflow series,
// stale-series removal with memory reuse, and spans outside the ingestion slack.
import { describe, expect, test } from 'vitest';
import { Core } from '../../src/core/index.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { parsePrometheusText } from '../support/prom-text.js';

// A hand-rolled OTLP encoder: millions of spans in seconds, independent of the code under test.
function varint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}
function field(out: number[], num: number, bytes: number[]): void {
  varint(out, (num << 3) | 2);
  varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}
function fixed64(out: number[], num: number, v: bigint): void {
  varint(out, (num << 3) | 1);
  for (let i = 0n; i < 8n; i++) out.push(Number((v >> (8n * i)) & 0xffn));
}
const utf8 = (s: string) => [...new TextEncoder().encode(s)];

/** One request: service `svc`, a server span per name, each lasting `ms` milliseconds, ending at `endNs`. */
function request(svc: string, names: string[], ms = 5, endNs = 1_700_000_000_000_000_000n): Uint8Array {
  // Every span is the same but for its name: encode the rest once.
  const tail: number[] = [];
  varint(tail, (6 << 3) | 0);
  varint(tail, 2);
  fixed64(tail, 7, endNs - BigInt(ms) * 1_000_000n);
  fixed64(tail, 8, endNs);
  const kv: number[] = [];
  field(kv, 1, utf8('service.name'));
  const any: number[] = [];
  field(any, 1, utf8(svc));
  field(kv, 2, any);
  const resource: number[] = [];
  field(resource, 1, kv);
  const scope: number[] = [];
  for (const name of names) {
    const span: number[] = [];
    field(span, 5, utf8(name));
    for (const b of tail) span.push(b);
    field(scope, 2, span);
  }
  const rs: number[] = [];
  field(rs, 1, resource);
  field(rs, 2, scope);
  const req: number[] = [];
  field(req, 1, rs);
  return Uint8Array.from(req);
}

function spanMetricsConfig() {
  return defaultConfig().processor.span_metrics;
}

function callsBySeries(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of parsePrometheusText(text).samples) {
    if (s.name === 'traces_spanmetrics_calls_total') out.set(JSON.stringify(s.labels), s.value);
  }
  return out;
}

describe('series limit', () => {
  test('1,000,000 distinct span names through a 10,000-series limit: bounded, nothing lost', async () => {
    const sm = spanMetricsConfig();
    const core = await Core.create({ spanMetrics: sm, registry: { max_active_series: 10_000, stale_duration: 15 * 60_000 } });
    const BATCH = 500;
    const BATCHES = 2000;
    let now = 1_700_000_000_000;
    let memoryAfterFirstTenth = 0;
    for (let b = 0; b < BATCHES; b++) {
      const names = Array.from({ length: BATCH }, (_, i) => `GET /item/${b * BATCH + i}`);
      const r = core.ingest(request('shop', names), now);
      expect(r.ok).toBe(true);
      expect(core.activeSeries()).toBeLessThanOrEqual(10_000);
      if (b % 50 === 49) core.sweep((now += 1000));
      if (b === BATCHES / 10) memoryAfterFirstTenth = core.memoryBytes();
    }
    // 14 buckets: one label set costs calls + size + 14 buckets + +Inf + sum + count = 19 series;
    // the overflow series' 19 are set aside, leaving floor(9981 / 19) = 525 label sets.
    expect(core.activeSeries()).toBe(525 * 19);
    const calls = callsBySeries(new SpanMetricsExposition(core, sm).render());
    expect(calls.size).toBe(526);
    expect(calls.get(JSON.stringify({ metric_overflow: 'true' }))).toBe(1_000_000 - 525);
    let total = 0;
    for (const v of calls.values()) total += v;
    expect(total).toBe(1_000_000);
    expect(core.seriesLimited()).toBe(1_000_000 - 525);
    // Past the limit nothing new is stored: memory stops growing (README states the bound).
    expect(core.memoryBytes()).toBe(memoryAfterFirstTenth);
    expect(core.memoryBytes()).toBeLessThanOrEqual(8 * 1024 * 1024);
  }, 120_000);

  test('existing series keep counting past the limit', async () => {
    const sm = { ...spanMetricsConfig(), histogram_buckets: [1] };
    // 1 bucket: a label set costs 6 series; 18 allows the overflow's 6 and two label sets.
    const core = await Core.create({ spanMetrics: sm, registry: { max_active_series: 18, stale_duration: 60_000 } });
    core.ingest(request('svc', ['a', 'b', 'c', 'd']), 1_000_000);
    core.ingest(request('svc', ['a', 'b', 'e']), 1_001_000);
    const calls = callsBySeries(new SpanMetricsExposition(core, sm).render());
    const key = (name: string) => JSON.stringify({ service: 'svc', span_name: name, span_kind: 'SPAN_KIND_SERVER', status_code: 'STATUS_CODE_UNSET' });
    expect(calls.get(key('a'))).toBe(2);
    expect(calls.get(key('b'))).toBe(2);
    expect(calls.get(JSON.stringify({ metric_overflow: 'true' }))).toBe(3);
    expect(calls.size).toBe(3);
    expect(core.activeSeries()).toBe(12);
  });
});

describe('stale series', () => {
  test('removed after stale_duration, memory reused over 20 cycles, a returning series restarts at zero', async () => {
    const sm = spanMetricsConfig();
    const core = await Core.create({ spanMetrics: sm, registry: { max_active_series: 0, stale_duration: 2000 } });
    const exposition = new SpanMetricsExposition(core, sm);
    let now = 1_700_000_000_000;
    core.ingest(request('svc', ['keep']), now);
    core.ingest(request('svc', ['keep']), now);
    const memory: number[] = [];
    for (let cycle = 0; cycle < 20; cycle++) {
      const names = Array.from({ length: 2000 }, (_, i) => `cycle-${cycle}-op-${i}`);
      for (let k = 0; k < 4; k++) core.ingest(request('svc', names.slice(k * 500, (k + 1) * 500)), now);
      expect(core.activeSeries()).toBe((cycle === 0 ? 2001 : 2000) * 19);
      now += 3000;
      const removed = core.sweep(now);
      expect(removed).toBe(cycle === 0 ? 2001 : 2000);
      expect(core.activeSeries()).toBe(0);
      memory.push(core.memoryBytes());
    }
    expect(callsBySeries(exposition.render()).size).toBe(0);
    // After the first cycles sized the tables, memory stays put.
    expect(new Set(memory.slice(2)).size).toBe(1);
    expect(core.seriesRemoved()).toBe(20 * 2000 + 1);

    core.ingest(request('svc', ['keep']), now);
    const calls = callsBySeries(exposition.render());
    expect(calls.get(JSON.stringify({ service: 'svc', span_name: 'keep', span_kind: 'SPAN_KIND_SERVER', status_code: 'STATUS_CODE_UNSET' }))).toBe(1);
  });

  test('a series updated within stale_duration stays', async () => {
    const sm = spanMetricsConfig();
    const core = await Core.create({ spanMetrics: sm, registry: { max_active_series: 0, stale_duration: 5000 } });
    const t0 = 1_700_000_000_000;
    core.ingest(request('svc', ['a', 'b']), t0);
    core.ingest(request('svc', ['a']), t0 + 4000);
    expect(core.sweep(t0 + 6000)).toBe(1);
    const calls = callsBySeries(new SpanMetricsExposition(core, sm).render());
    expect([...calls.values()]).toEqual([2]);
  });
});

describe('metrics_ingestion_time_range_slack', () => {
  test('spans that ended before now - slack are left out and counted', async () => {
    const sm = spanMetricsConfig();
    const core = await Core.create({ spanMetrics: sm, slackMs: 30_000 });
    const now = 1_700_000_100_000; // ms
    const recentEnd = 1_700_000_090_000_000_000n; // 10 s before now
    const oldEnd = 1_700_000_060_000_000_000n; // 40 s before now
    core.ingest(request('svc', ['recent']), now);
    expect(core.ingest(request('svc', ['recent'], 5, recentEnd), now)).toEqual({ ok: true, spans: 1 });
    expect(core.ingest(request('svc', ['old', 'old'], 5, oldEnd), now)).toEqual({ ok: true, spans: 2 });
    const calls = callsBySeries(new SpanMetricsExposition(core, sm).render());
    expect([...calls.keys()].map((k) => JSON.parse(k).span_name)).toEqual(['recent']);
    expect(core.lateSpans()).toBe(3); // the first request's span ended in 2023 too
  });
});
