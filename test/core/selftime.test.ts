// Self time (processor.span_metrics.self_time, assembly/selftime.ts): per span, its duration minus
// the union of its children's [start, end) clipped to it, for the children that come within
// `wait`; spans whose children could not all be kept are counted apart. Every expected value below
// is a hand computation from the span times written next to it (ms from T0), not the core's.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import { parsePrometheusText, validateExposition } from '../support/prom-text.js';
import { encode, spanMetricsConfig, u64 } from './helpers.js';

const T0 = 1_700_000_000_000_000_000n; // ns
const NOW = Number(T0 / 1_000_000n); // ms
const WAIT = 10_000;
const TRACE = Buffer.alloc(16, 7);
const config = spanMetricsConfig([0.015, 0.025, 0.05], []);

interface S { name: string; id: number; parent?: number; from: number; to: number; trace?: Buffer }
const id = (n: number) => Buffer.from([0, 0, 0, 0, 0, 0, n >> 8, n & 255]);

function request(spans: S[]): Uint8Array {
  return encode({ resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
    scopeSpans: [{ spans: spans.map((s) => ({
      traceId: s.trace ?? TRACE, spanId: id(s.id), parentSpanId: s.parent === undefined ? undefined : id(s.parent), name: s.name, kind: 1,
      startTimeUnixNano: u64(T0 + BigInt(s.from) * 1_000_000n), endTimeUnixNano: u64(T0 + BigInt(s.to) * 1_000_000n),
    })) }],
  }] });
}

async function selfTimeCore(maxItems = 1000): Promise<Core> {
  return Core.create({ spanMetrics: config, selfTime: { maxItems, waitMs: WAIT }, build: 'debug' });
}

/** Per span name: self-time count, sum (s), the unknown and late-children counters (0 when absent). */
function read(core: Core): Record<string, { count: number; sum: number; unknown: number; late: number; le15: number }> {
  const text = new SpanMetricsExposition(core, config).render('text');
  const expo = parsePrometheusText(text);
  expect(validateExposition(expo)).toEqual([]);
  const out: Record<string, { count: number; sum: number; unknown: number; late: number; le15: number }> = {};
  for (const s of expo.samples) {
    const name = s.labels.span_name!;
    const o = (out[name] ??= { count: 0, sum: 0, unknown: 0, late: 0, le15: 0 });
    if (s.name === 'traces_spanmetrics_self_time_seconds_count') o.count = s.value;
    if (s.name === 'traces_spanmetrics_self_time_seconds_sum') o.sum = s.value;
    if (s.name === 'traces_spanmetrics_self_time_seconds_bucket' && s.labels.le === '0.015') o.le15 = s.value;
    if (s.name === 'traces_spanmetrics_self_time_unknown_total') o.unknown = s.value;
    if (s.name === 'traces_spanmetrics_self_time_late_children_total') o.late = s.value;
  }
  return out;
}

describe('self time', () => {
  it('nested children: A[0,100) ⊃ B[10,40) ⊃ C[20,30): A 70, B 20, C 10 ms', async () => {
    const core = await selfTimeCore();
    expect(core.ingest(request([
      { name: 'C', id: 3, parent: 2, from: 20, to: 30 },
      { name: 'B', id: 2, parent: 1, from: 10, to: 40 },
      { name: 'A', id: 1, from: 0, to: 100 },
    ]), NOW).ok).toBe(true);
    core.expire(NOW + WAIT - 1); // not yet: nothing decided before the wait ends
    expect(read(core).A!.count).toBe(0);
    core.expire(NOW + WAIT);
    const r = read(core);
    // A: 100 − |[10,40)| = 70; B: 30 − |[20,30)| = 20; C: no children, 10.
    expect(r.A).toMatchObject({ count: 1, unknown: 0, late: 0 });
    expect(r.A!.sum).toBeCloseTo(0.07, 12);
    expect(r.B!.sum).toBeCloseTo(0.02, 12);
    expect(r.C!.sum).toBeCloseTo(0.01, 12);
    // Buckets 0.015 / 0.025 / 0.05: C (0.010) at or under 0.015, B (0.020) and A (0.070) above it.
    expect([r.A!.le15, r.B!.le15, r.C!.le15]).toEqual([0, 0, 1]);
    // OpenMetrics: the same histogram (A's 70 ms: above 0.05, so only +Inf holds it)
    const om = new SpanMetricsExposition(core, config).render('openmetrics');
    expect(om).toContain('# TYPE traces_spanmetrics_self_time_seconds histogram');
    expect(om).toContain('traces_spanmetrics_self_time_seconds_bucket{service="api",span_name="A",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_UNSET",le="0.05"} 0');
    expect(om).toContain('traces_spanmetrics_self_time_seconds_bucket{service="api",span_name="A",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_UNSET",le="+Inf"} 1');
    // The latency histogram is untouched: A's is its whole 100 ms.
    expect(new SpanMetricsExposition(core, config).render('text'))
      .toContain('traces_spanmetrics_latency_sum{service="api",span_name="A",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_UNSET"} 0.1');
  });

  it('overlapping children are not subtracted twice: B[10,50) and C[30,70) under A[0,100) cover 60, A 40', async () => {
    const core = await selfTimeCore();
    core.ingest(request([
      { name: 'B', id: 2, parent: 1, from: 10, to: 50 },
      { name: 'C', id: 3, parent: 1, from: 30, to: 70 },
      { name: 'A', id: 1, from: 0, to: 100 },
    ]), NOW);
    core.expire(NOW + WAIT);
    // union [10,70) = 60 ms; 100 − 60 = 40 (the sum of the two, 80, would give 20)
    expect(read(core).A!.sum).toBeCloseTo(0.04, 12);
  });

  it('a child running past its parent is clipped: B[80,150) under A[0,100) covers 20, A 80', async () => {
    const core = await selfTimeCore();
    core.ingest(request([{ name: 'A', id: 1, from: 0, to: 100 }, { name: 'B', id: 2, parent: 1, from: 80, to: 150 }]), NOW);
    core.expire(NOW + WAIT);
    const r = read(core);
    expect(r.A!.sum).toBeCloseTo(0.08, 12); // 100 − (100 − 80)
    expect(r.B!.sum).toBeCloseTo(0.07, 12); // B has no children: its 70 ms
  });

  it('children and parent split across requests, in any order', async () => {
    const core = await selfTimeCore();
    // C first (t), then A (t + 1 s), then B (t + 2 s): B comes within A's wait, which starts when A came.
    core.ingest(request([{ name: 'C', id: 3, parent: 2, from: 20, to: 30 }]), NOW);
    core.ingest(request([{ name: 'A', id: 1, from: 0, to: 100 }]), NOW + 1000);
    core.ingest(request([{ name: 'B', id: 2, parent: 1, from: 10, to: 40 }]), NOW + 2000);
    core.expire(NOW + 1000 + WAIT - 1); // C's entry (made at t) waits for B, which came at t + 2 s
    expect(read(core).A?.count ?? 0).toBe(0);
    core.expire(NOW + 2000 + WAIT);
    const r = read(core);
    // the nested case's values: A 70, B 20, C 10
    expect([r.A!.sum, r.B!.sum, r.C!.sum].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.07, 0.02, 0.01]);
    expect([r.A!.unknown, r.B!.unknown, r.C!.unknown]).toEqual([0, 0, 0]);
    expect(core.selfTimeStore().orphans).toBe(0);
  });

  it('a late child is counted on its parent, never in its histogram; an orphan only in the store counters', async () => {
    const core = await selfTimeCore();
    core.ingest(request([{ name: 'A', id: 1, from: 0, to: 100 }]), NOW);
    core.expire(NOW + WAIT); // A decided without children: 100 ms
    core.ingest(request([{ name: 'B', id: 2, parent: 1, from: 10, to: 40 }]), NOW + WAIT + 1);
    // D's parent (id 9) never comes; E names the all-zero span id as parent, which is no span
    // (an invalid id, W3C Trace Context): E is a root, and no entry waits for a parent of it.
    core.ingest(request([{ name: 'D', id: 4, parent: 9, from: 0, to: 5 }, { name: 'E', id: 5, parent: 0, from: 0, to: 5 }]), NOW + WAIT + 1);
    // B, D and E (waiting until t + 2·wait + 1) are decided at the expiry at t + 3·wait, then stay
    // tombstones one wait from there: gone at the expiry at t + 4·wait.
    core.expire(NOW + 3 * WAIT);
    expect(core.selfTimeStore().size).toBe(3); // B's, D's and E's tombstones
    core.expire(NOW + 4 * WAIT);
    const r = read(core);
    expect(r.A).toMatchObject({ count: 1, late: 1, unknown: 0 });
    expect(r.A!.sum).toBeCloseTo(0.1, 12); // still the one observation made, not changed after
    expect(r.B!.sum).toBeCloseTo(0.03, 12);
    expect(r.D!.sum).toBeCloseTo(0.005, 12);
    expect(core.selfTimeStore()).toEqual({ size: 0, dropped: 0, orphans: 1 }); // the entry D made for span 9 (none for E)
  });

  it('more disjoint children than an entry keeps: exact in time order, unknown when one comes before the fold', async () => {
    const core = await selfTimeCore();
    // A[0,200) with 6 disjoint children of 10 ms in time order: covered 60, self 140.
    const kids = [0, 20, 40, 60, 80, 100].map((from, i) => ({ name: 'k', id: 10 + i, parent: 1, from, to: from + 10 }));
    core.ingest(request([...kids, { name: 'A', id: 1, from: 0, to: 200 }]), NOW);
    // P[0,200) with the same 6, then one [5,8) out of order, before what was folded: unknown.
    const late = [0, 20, 40, 60, 80, 100].map((from, i) => ({ name: 'k2', id: 30 + i, parent: 2, from, to: from + 10 }));
    core.ingest(request([...late, { name: 'k2', id: 40, parent: 2, from: 5, to: 8 }, { name: 'P', id: 2, from: 0, to: 200 }]), NOW);
    core.expire(NOW + WAIT);
    const r = read(core);
    expect(r.A!.sum).toBeCloseTo(0.14, 12);
    expect(r.P).toMatchObject({ count: 0, unknown: 1 });
  });

  it('store full: the span without an entry is unknown and counted dropped; a dropped child makes parents of its time unknown', async () => {
    let core = await selfTimeCore(2);
    // A and B take the two entries; C (B's child) reaches B's entry but gets none of its own.
    core.ingest(request([
      { name: 'A', id: 1, from: 0, to: 100 }, { name: 'B', id: 2, parent: 1, from: 10, to: 40 }, { name: 'C', id: 3, parent: 2, from: 20, to: 30 },
    ]), NOW);
    core.expire(NOW + WAIT);
    let r = read(core);
    expect([r.A!.sum, r.B!.sum].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.07, 0.02]);
    expect(r.C).toMatchObject({ count: 0, unknown: 1 });
    expect(core.selfTimeStore().dropped).toBe(1);

    core = await selfTimeCore(1);
    // A takes the only entry; D's parent (9) has none and gets none: the child is dropped, so A
    // (whose wait overlaps the drop) may have lost a child: unknown, as D is.
    core.ingest(request([{ name: 'A', id: 1, from: 0, to: 100 }, { name: 'D', id: 4, parent: 9, from: 0, to: 5 }]), NOW);
    core.expire(NOW + WAIT);
    r = read(core);
    expect(r.A).toMatchObject({ count: 0, unknown: 1 });
    expect(r.D).toMatchObject({ count: 0, unknown: 1 });
    expect(core.selfTimeStore().dropped).toBe(2); // D as a child, D as a parent
  });

  it('counts against the series limit: B + 5 more series per span-metrics series, past it the overflow series', async () => {
    // A span-metrics series with B = 3 bounds costs calls + size + (B + 3) histogram series = 8
    // (docs/abi.md, active_series); self time adds its histogram (B + 3) and two counters: 16.
    const off = await Core.create({ spanMetrics: config, build: 'debug' });
    off.ingest(request([{ name: 'A', id: 1, from: 0, to: 100 }]), NOW);
    expect(off.activeSeries()).toBe(8);
    const on = await Core.create({ spanMetrics: config, selfTime: { maxItems: 100, waitMs: WAIT }, build: 'debug' });
    on.ingest(request([{ name: 'A', id: 1, from: 0, to: 100 }]), NOW);
    expect(on.activeSeries()).toBe(16);
    // Room for one series and the overflow record's (2 × 16): B's spans fold into the overflow
    // series, its self time with them.
    const limited = await Core.create({
      spanMetrics: config, selfTime: { maxItems: 100, waitMs: WAIT }, registry: { max_active_series: 32, stale_duration: 15 * 60_000 }, build: 'debug',
    });
    limited.ingest(request([{ name: 'A', id: 1, from: 0, to: 100 }, { name: 'B', id: 2, parent: 1, from: 10, to: 40 }]), NOW);
    limited.expire(NOW + WAIT);
    const text = new SpanMetricsExposition(limited, config).render('text');
    expect(text).toContain('traces_spanmetrics_self_time_seconds_count{metric_overflow="true"} 1');
    expect(text).toMatch(/traces_spanmetrics_self_time_seconds_sum\{metric_overflow="true"\} 0\.03\n/); // B's 30 ms
    expect(limited.activeSeries()).toBe(16);
  });

  it('off: no self-time families and no block', async () => {
    const core = await Core.create({ spanMetrics: config, build: 'debug' });
    core.ingest(request([{ name: 'A', id: 1, from: 0, to: 100 }]), NOW);
    expect(core.selfTimeBlock()).toBeUndefined();
    expect(new SpanMetricsExposition(core, config).render('text')).not.toContain('self_time');
  });
});
