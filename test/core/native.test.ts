// Native histograms in the core (assembly/nativehistogram.ts): the bucket a duration lands in,
// at and around bucket boundaries and at several schemas, against the formula of the
// specifications written out here; resolution reduction keeping counts and sums exact; the
// min_reset_duration rule; the zero bucket; the series cost.
import { describe, expect, it } from 'vitest';
import { Core, type NativeHistogramOptions } from '../../src/core/index.js';
import { readNative, schemaForFactor, sparseBuckets, type NativeHistogram } from '../../src/core/native.js';
import { SM_KEY_SPAN_NAME } from '../../src/core/layout.js';
import { fFixed64, fLen, request, spanMetricsConfig } from './helpers.js';

const T0 = 1_700_000_000_000_000_000n;
const NOW = 1_700_000_000_000;
const span = (name: string, ns: bigint): number[] => [...fLen(5, name), ...fFixed64(7, T0), ...fFixed64(8, T0 + ns)];

/**
 * The bucket of v > 0 at `schema`, as the Prometheus native histogram specification defines it
 * (and OpenTelemetry's exponential histogram, whose index is this one minus 1): with
 * base = 2^(2^-schema), bucket i holds the values in (base^(i-1), base^i].
 */
function specIndex(v: number, schema: number): number {
  const bound = (i: number) => 2 ** (i * 2 ** -schema);
  let i = Math.ceil(Math.log2(v) * 2 ** schema);
  while (bound(i) < v) i++;
  while (bound(i - 1) >= v) i--;
  return i + 0; // not -0
}

async function nativeCore(native: Partial<NativeHistogramOptions>, bounds: number[] = [0.1]): Promise<Core> {
  return Core.create({
    spanMetrics: spanMetricsConfig(bounds, []),
    nativeHistograms: { mode: 'native', schema: 3, maxBuckets: 160, minResetMs: 0, ...native },
  });
}

/** The native histogram of each span-metrics series, by span name. */
function histograms(core: Core, schema: number): Map<string, NativeHistogram> {
  const view = core.table('spanMetrics')!;
  const block = core.nativeBlock('spanMetrics')!;
  const out = new Map<string, NativeHistogram>();
  for (let slot = 0; slot < view.used; slot++) {
    if (view.live(slot)) out.set(core.label(view.key(slot, SM_KEY_SPAN_NAME)), readNative(view, slot, block, schema));
  }
  return out;
}

describe('the bucket of a duration, against the specification', () => {
  for (const schema of [8, 3, 1, 0, -1, -4]) {
    it(`schema ${schema}: values just under, at and just over bucket boundaries`, async () => {
      const core = await nativeCore({ schema });
      // Boundaries base^i between about 1 µs and 100 s (at schema -4: 15 µs, 1 s, 65536 s), and durations in ns on either side.
      const n = 2 ** schema;
      const cases: [string, bigint][] = [];
      for (let i = Math.ceil(-20 * n); i <= Math.max(6.6 * n, 1); i += Math.max(1, Math.floor(n * 1.37))) {
        const ns = 2 ** (i / n) * 1e9;
        const below = BigInt(Math.floor(ns));
        for (const d of [-1n, 0n, 1n, 2n]) cases.push([`${i}:${d}`, below + d]);
      }
      // Exact powers of two (in ns exactly): each is the upper bound of its bucket.
      for (const ns of [1_953_125n, 125_000_000n, 500_000_000n, 1_000_000_000n, 2_000_000_000n, 8_000_000_000n]) cases.push([`p${ns}`, ns]);
      expect(core.ingest(request(cases.map(([name, ns]) => span(name, ns))), NOW)).toEqual({ ok: true, spans: cases.length });
      const got = histograms(core, schema);
      let checked = 0;
      for (const [name, ns] of cases) {
        const h = got.get(name)!;
        const v = Number(ns) / 1e9; // the core's seconds: (end - start) / 1e9
        expect(h.counts, name).toEqual([1]);
        expect([name, h.firstIndex]).toEqual([name, specIndex(v, schema)]);
        expect(h.schema).toBe(schema);
        checked++;
      }
      expect(checked).toBeGreaterThan(12);
      // By hand: 1 s is 2^0, the top of bucket 0 at every schema; 0.5 s the top of bucket -2^schema
      // (for schema >= 0; at schema -1 bucket 0 is (1/4, 1], holding 0.5 s too).
      expect(got.get('p1000000000')!.firstIndex).toBe(0);
      if (schema >= 0) expect(got.get('p500000000')!.firstIndex).toBe(-n);
      if (schema === -1) expect(got.get('p500000000')!.firstIndex).toBe(0);
    });
  }

  it('counts a zero duration (and one ending before it starts) in the zero bucket', async () => {
    const core = await nativeCore({ schema: 3 });
    const backwards = [...fLen(5, 'z'), ...fFixed64(7, T0 + 5n), ...fFixed64(8, T0)];
    core.ingest(request([span('z', 0n), backwards, span('z', 1_000n)]), NOW);
    const h = histograms(core, 3).get('z')!;
    expect([h.count, h.zeroCount, h.counts.reduce((a, b) => a + b, 0)]).toEqual([3, 2, 1]);
    expect(h.zeroThreshold).toBe(2 ** -128);
  });

  it('picks the schema from a bucket factor as client_golang does (1.1: schema 3)', () => {
    // client_golang's HistogramOpts docs: the factor 1.1 gives schema 3 (2^(1/8) ≈ 1.09 ≤ 1.1);
    // 2 is schema 0 exactly; factors past the ends clamp to 8 and -4.
    expect([1.1, 2, 1.5, 1.0001, 65537, 1e9].map(schemaForFactor)).toEqual([3, 0, 1, 8, -4, -4]);
  });
});

describe('resolution reduction', () => {
  it('keeps count and sum exact, and the buckets are those of the lower schema', async () => {
    const core = await nativeCore({ schema: 3, maxBuckets: 10 });
    // Durations from 1 ms to 20 s, a pseudo-random spread (fixed), all in one series.
    const ns: bigint[] = [];
    let x = 12345;
    for (let k = 0; k < 400; k++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      ns.push(BigInt(Math.round(1e6 * 2 ** ((x / 2 ** 31) * 14.3))));
    }
    for (let k = 0; k < ns.length; k += 50) core.ingest(request(ns.slice(k, k + 50).map((d) => span('one', d))), NOW);
    const h = histograms(core, 3).get('one')!;
    const values = ns.map((d) => Number(d) / 1e9);
    // The sum in the order the core adds (by hand: same doubles, same order, same result).
    let sum = 0;
    for (const v of values) sum += v;
    expect(h.count).toBe(400);
    expect(h.sum).toBe(sum);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(400);
    // The schema the 10 buckets force: the highest at which lowest to highest index spans <= 10.
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    let expected = 3;
    while (specIndex(hi, expected) - specIndex(lo, expected) + 1 > 10) expected--;
    expect(h.schema).toBe(expected);
    expect(h.counts.length).toBeLessThanOrEqual(10);
    // Every value counted where the specification puts it at that schema.
    const want = new Map<number, number>();
    for (const v of values) want.set(specIndex(v, expected), (want.get(specIndex(v, expected)) ?? 0) + 1);
    const got = new Map<number, number>();
    h.counts.forEach((c, i) => c > 0 && got.set(h.firstIndex + i, c));
    expect([...got.entries()].sort((a, b) => a[0] - b[0])).toEqual([...want.entries()].sort((a, b) => a[0] - b[0]));
  });

  it('resets instead once min_reset_duration has passed since the histogram started', async () => {
    const core = await nativeCore({ schema: 3, maxBuckets: 4, minResetMs: 60_000 });
    core.ingest(request([span('r', 1_000_000n), span('r', 1_100_000n)]), NOW);
    // 30 s later a value 8 buckets up: too early to reset, the resolution halves instead.
    core.ingest(request([span('r', 2_000_000n)]), NOW + 30_000);
    let h = histograms(core, 3).get('r')!;
    expect([h.count, h.schema, h.startMs]).toEqual([3, 1, NOW]);
    // 61 s after the start, a value far up: the histogram starts again with it alone.
    core.ingest(request([span('r', 1_000_000_000n)]), NOW + 61_000);
    h = histograms(core, 3).get('r')!;
    expect([h.count, h.sum, h.schema, h.startMs, h.counts]).toEqual([1, 1, 3, NOW + 61_000, [1]]);
    expect(h.firstIndex).toBe(0); // 1 s: the top of bucket 0
  });
});

describe('the series a histogram costs (counted as Prometheus counts them)', () => {
  it('classic: its buckets, +Inf, sum and count; native: one; both: one more', async () => {
    const cost = async (mode: NativeHistogramOptions['mode']) => {
      const core = await nativeCore({ mode }, [0.1, 0.2]);
      core.ingest(request([span('a', 1_000n)]), NOW);
      return core.activeSeries();
    };
    // calls + size + histogram: by hand, 2 + (2 + 3), 2 + 1, 2 + (2 + 3 + 1)
    expect([await cost('classic'), await cost('native'), await cost('both')]).toEqual([7, 3, 8]);
  });
});

describe('sparse spans', () => {
  it('ends a span at more than two empty buckets, as client_golang writes them', () => {
    const h: NativeHistogram = {
      schema: 0, count: 7, sum: 0, zeroThreshold: 0, zeroCount: 0, startMs: 0,
      firstIndex: -2, counts: [1, 0, 0, 2, 0, 0, 0, 3, 1],
    };
    // By hand: indexes -2 … 1 (two empty buckets kept), then 3 empty, then 5 … 6.
    expect(sparseBuckets(h)).toEqual({ spans: [{ offset: -2, length: 4 }, { offset: 3, length: 2 }], counts: [1, 0, 0, 2, 3, 1] });
  });
});

describe('service-graph edges', () => {
  it('keep a native histogram each for the server and the client latency, after the classic buckets', async () => {
    const { sgConfig, request: sgRequest } = await import('../servicegraphs/helpers.js');
    const core = await Core.create({
      serviceGraphs: sgConfig({ histogram_buckets: [0.1, 1] }),
      nativeHistograms: { mode: 'both', schema: 2, maxBuckets: 20, minResetMs: 0 },
    });
    // A 250 ms client span calling a 125 ms server span (both exact powers of two in seconds).
    const ok = core.ingest(sgRequest([
      { trace: 1, id: 1, kind: 'client', service: 'front', durMs: 250 },
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'back', durMs: 125 },
    ]), NOW);
    expect(ok).toEqual({ ok: true, spans: 2 });
    const view = core.table('edges')!;
    const server = readNative(view, 0, core.nativeBlock('edges', 0)!, 2);
    const client = readNative(view, 0, core.nativeBlock('edges', 1)!, 2);
    // By hand at schema 2: 0.125 s = 2^-3 is the top of bucket -12, 0.25 s = 2^-2 of bucket -8.
    expect([server.count, server.sum, server.firstIndex, server.counts]).toEqual([1, 0.125, -12, [1]]);
    expect([client.count, client.sum, client.firstIndex, client.counts]).toEqual([1, 0.25, -8, [1]]);
    // The classic buckets are still there: value layout SG_V_BUCKETS + 3 runs of 2 before the blocks.
    expect(core.nativeBlock('edges', 0)).toBe(6 + 3 * 2);
  });
});

describe('a span-metrics histogram in milliseconds (naming: otel, histogram_unit: ms)', () => {
  it('counts milliseconds: 1 ms is the top of bucket 0, 2 ms of bucket 2^schema', async () => {
    const core = await Core.create({
      spanMetrics: spanMetricsConfig([0.1], []),
      nativeHistograms: { mode: 'native', schema: 3, maxBuckets: 160, minResetMs: 0, spanMetricsScale: 1000 },
    });
    core.ingest(request([span('a', 1_000_000n), span('b', 2_000_000n)]), NOW);
    const got = histograms(core, 3);
    // By hand: 1 ms = 2^0 ms, 2 ms = 2^1 ms, the upper bounds of buckets 0 and 8 at schema 3; sums in ms.
    expect([got.get('a')!.firstIndex, got.get('a')!.sum, got.get('b')!.firstIndex, got.get('b')!.sum]).toEqual([0, 1, 8, 2]);
  });
});
