// Double attribute values as label values (assembly/dtoa.ts through labelvalue.ts putDouble):
// Go's strconv.FormatFloat(v, 'f', -1, 64), the shortest digits that read back as v and among
// those the closest, in plain decimal. The oracle is JavaScript's String(v), whose digits the
// ECMAScript spec requires to be exactly those; plainDecimal() below only moves the point.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import type { SpanMetricsConfig } from '../../src/config/types.js';
import { ExportTraceServiceRequest } from '../../src/otlp/messages.js';
import { u64 } from './helpers.js';
import { testPrng } from '../support/prng.js';

const CONFIG: SpanMetricsConfig = {
  histogram_buckets: [1],
  dimensions: ['d'],
  intrinsic_dimensions: { service: true, span_name: true, span_kind: true, status_code: true, status_message: false },
  span_multiplier_key: '',
  histogram_unit: 's', events: { enabled: false, dimensions: [] }, namespace: 'traces.span.metrics',
  filter_policies: [], enable_tracestate_span_multiplier: false,
};

/** The oracle: String(v)'s digits and exponent, laid out without an exponent. */
function plainDecimal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  let s = String(Math.abs(v)); // "123.45", "1.5e-7", "1e+21", "0.001"
  let exp = 0;
  const e = s.indexOf('e');
  if (e >= 0) {
    exp = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const dot = s.indexOf('.');
  let digits = s;
  if (dot >= 0) {
    digits = s.slice(0, dot) + s.slice(dot + 1);
    exp -= s.length - dot - 1;
  }
  digits = digits.replace(/^0+/, '');
  if (digits === '') return sign + '0';
  const zeros = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - zeros);
  exp += zeros;
  // value = digits × 10^exp
  const point = digits.length + exp;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

const f64 = new Float64Array(1);
const bits = new BigUint64Array(f64.buffer);
const fromBits = (b: bigint): number => {
  bits[0] = b;
  return f64[0]!;
};
const toBits = (v: number): bigint => {
  f64[0] = v;
  return bits[0]!;
};
/** The doubles next to v on either side (same sign, by bit pattern). */
const neighbours = (v: number): number[] => {
  const b = toBits(v);
  return [fromBits(b - 1n), fromBits(b + 1n)].filter((x) => Number.isFinite(x) && Math.sign(x) === Math.sign(v));
};

function spans(values: number[], from: number): object[] {
  return values.map((v, i) => ({
    name: `v${from + i}`,
    startTimeUnixNano: u64(1_700_000_000_000_000_000n),
    endTimeUnixNano: u64(1_700_000_000_001_000_000n),
    attributes: [{ key: 'd', value: { doubleValue: v } }],
  }));
}

const encode = (spanList: object[]): Uint8Array =>
  new Uint8Array(ExportTraceServiceRequest.encode({
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [{ spans: spanList }],
    }],
  }).finish());

const PER_REQUEST = 500;
const PER_CORE = 5000;

/** Sends the values through fresh cores, PER_REQUEST spans a request; returns the d label of each. */
async function labels(values: number[]): Promise<string[]> {
  const out: string[] = new Array(values.length);
  for (let c = 0; c < values.length; c += PER_CORE) {
    const core = await Core.create({ spanMetrics: CONFIG, build: 'debug' });
    const end = Math.min(values.length, c + PER_CORE);
    for (let r = c; r < end; r += PER_REQUEST) {
      const result = core.ingest(encode(spans(values.slice(r, Math.min(end, r + PER_REQUEST)), r)));
      expect(result).toMatchObject({ ok: true });
    }
    const text = new SpanMetricsExposition(core, CONFIG).render();
    let seen = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith('traces_spanmetrics_calls_total{')) continue;
      const name = /span_name="v(\d+)"/.exec(line);
      const d = /[{,]d="([^"]*)"/.exec(line);
      expect(name, line).not.toBeNull();
      out[Number(name![1])] = d ? d[1]! : '';
      seen++;
    }
    expect(seen).toBe(end - c);
  }
  return out;
}

/** Compares every value's label to the oracle; reports the first mismatches all at once. */
async function check(values: number[]): Promise<void> {
  const got = await labels(values);
  const wrong: string[] = [];
  values.forEach((v, i) => {
    const want = plainDecimal(v);
    if (got[i] !== want && wrong.length < 20) wrong.push(`${String(v)} (0x${toBits(v).toString(16)}): got ${got[i]}, want ${want}`);
  });
  expect(wrong).toEqual([]);
}

describe('the oracle', () => {
  it('lays out String(v) in plain decimal', () => {
    expect(plainDecimal(0.25)).toBe('0.25');
    expect(plainDecimal(1e-7)).toBe('0.0000001');
    expect(plainDecimal(1e21)).toBe('1000000000000000000000');
    expect(plainDecimal(3)).toBe('3');
    expect(plainDecimal(-0)).toBe('-0');
    expect(plainDecimal(0)).toBe('0');
    expect(plainDecimal(-1.5)).toBe('-1.5');
    expect(plainDecimal(120)).toBe('120');
    expect(plainDecimal(5e-324)).toBe(`0.${'0'.repeat(323)}5`);
    expect(plainDecimal(1.7976931348623157e308)).toBe(`17976931348623157${'0'.repeat(292)}`);
    expect(plainDecimal(251527280.93063354)).toBe('251527280.93063354');
    expect(plainDecimal(NaN)).toBe('NaN');
    expect(plainDecimal(Infinity)).toBe('+Inf');
    expect(plainDecimal(-Infinity)).toBe('-Inf');
  });
});

describe('doubles as label values', () => {
  it('edge cases', async () => {
    const values = [
      0, -0, NaN, Infinity, -Infinity, 0.25, 1e-7, 1e21, 1e22, 1e23, 3, -3, 0.1, 0.2, 0.3, 0.1 + 0.2, 1 / 3, 2 / 3, -1 / 3,
      251527280.93063354, 2.1571264043450355e-18, 3.6832859270275105e34, 123456789012345680000,
      5e-324, -5e-324, 1e-323, 2.225073858507201e-308, 2.2250738585072014e-308, 2.2250738585072014e-308 * 2,
      1.7976931348623157e308, -1.7976931348623157e308, Number.EPSILON, 1 + Number.EPSILON, 1 - Number.EPSILON / 2,
      9007199254740991, 9007199254740992, 9007199254740994, 18014398509481984, 2 ** 63, 2 ** 64, 2 ** 64 - 2048,
      299792458, 6.02214076e23, 6.62607015e-34, 1.602176634e-19, Math.PI, Math.E, Math.SQRT2, 1 / 7, 0.5, 0.125,
    ];
    await check(values);
    // The hand-written ones, not through the oracle.
    const got = await labels([0.25, 1e-7, 1e21, 3, -0, 5e-324, 1.7976931348623157e308, NaN, Infinity, -Infinity]);
    expect(got).toEqual([
      '0.25', '0.0000001', '1000000000000000000000', '3', '-0', `0.${'0'.repeat(323)}5`,
      `17976931348623157${'0'.repeat(292)}`, 'NaN', '+Inf', '-Inf',
    ]);
  });

  it('powers of 2 and of 10, and their neighbours', async () => {
    const values: number[] = [];
    for (let e = -1074; e <= 1023; e++) values.push(2 ** e, ...neighbours(2 ** e));
    for (let e = -323; e <= 308; e++) {
      const v = Number(`1e${e}`);
      values.push(v, -v, ...neighbours(v));
    }
    await check(values);
  });

  it('subnormals', async () => {
    const rng = testPrng(7);
    const values: number[] = [];
    for (let k = 1n; k <= 300n; k++) values.push(fromBits(k), fromBits((1n << 52n) - k));
    for (let i = 0; i < 5000; i++) {
      const v = fromBits((BigInt(rng.u32() & 0xfffff) << 32n) | BigInt(rng.u32()));
      values.push(rng.chance(0.5) ? v : -v);
    }
    await check(values);
  });

  it('integers up to 2^53 and beyond, and short decimals', async () => {
    const rng = testPrng(53);
    const values: number[] = [];
    for (let i = 1; i <= 2000; i++) values.push(i, i * 1000, -i, i / 10, i / 100, i / 1000);
    for (let i = 0; i < 5000; i++) {
      const bitsUsed = 1 + rng.below(53);
      values.push(Math.floor(rng.next() * 2 ** bitsUsed)); // integers below 2^53: every digit kept
      values.push(Math.floor(rng.next() * 2 ** 53) * 2 ** rng.int(1, 40)); // above 2^53: gaps > 1
      // Short decimals and their neighbours: the tie and exact-bound paths.
      const x = Number((rng.next() * 10 ** rng.int(-30, 30)).toPrecision(rng.int(1, 17)));
      values.push(x, ...neighbours(x));
    }
    await check(values);
  });

  it('100,000 random-bit finite doubles', async () => {
    const rng = testPrng(20180618);
    const values: number[] = [];
    while (values.length < 100_000) {
      const v = fromBits(rng.u64());
      if (Number.isFinite(v)) values.push(v);
    }
    await check(values);
  });

  it('cost per double (printed, not asserted)', async () => {
    // The same spans twice over: d as a double, and d as the string the double formats to.
    // Re-ingesting hits existing series, so the difference is formatting the double.
    const rng = testPrng(99);
    const values = Array.from({ length: PER_REQUEST }, () => {
      let v: number;
      do v = fromBits(rng.u64()); while (!Number.isFinite(v) || Math.abs(Math.log10(Math.abs(v))) > 20);
      return v;
    });
    const doubles = encode(spans(values, 0));
    const strings = encode(values.map((v, i) => ({
      name: `v${i}`,
      startTimeUnixNano: u64(1_700_000_000_000_000_000n),
      endTimeUnixNano: u64(1_700_000_000_001_000_000n),
      attributes: [{ key: 'd', value: { stringValue: plainDecimal(v) } }],
    })));
    const time = async (request: Uint8Array): Promise<number> => {
      const core = await Core.create({ spanMetrics: CONFIG, build: 'release' });
      const rounds = 400;
      for (let i = 0; i < 50; i++) core.ingest(request);
      let best = Infinity;
      for (let rep = 0; rep < 5; rep++) {
        const t = process.hrtime.bigint();
        for (let i = 0; i < rounds; i++) core.ingest(request);
        best = Math.min(best, Number(process.hrtime.bigint() - t) / (rounds * PER_REQUEST));
      }
      return best;
    };
    const asDouble = await time(doubles);
    const asString = await time(strings);
    console.log(
      `span with a double attribute: ${asDouble.toFixed(0)} ns, with the same text as a string: ${asString.toFixed(0)} ns; ` +
      `formatting a double ≈ ${(asDouble - asString).toFixed(0)} ns (release build)`,
    );
  });
});
