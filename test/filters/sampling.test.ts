// enable_tracestate_span_multiplier and span_multiplier_key as Tempo reads them, and the
// ingestion slack on both sides. Expected values: Tempo's tests (grafana/tempo
// pkg/sampling/multiplier_test.go TestMultiplierFromTraceState, where 0 means "no multiplier", so
// the span counts 1; modules/generator/processor/util/util_test.go TestGetSpanMultiplier_WithTraceState),
// and for the resource fallback Tempo's GetSpanMultiplier (util.go: span attributes, then the
// resource's, a positive double only).
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import type { SpanMetricsConfig } from '../../src/config/types.js';
import * as L from '../../src/core/layout.js';
import { anyString, fDouble, fFixed64, fLen, keyValue, request, spanMetricsConfig, type Bytes } from '../core/helpers.js';

const T0 = 1_700_000_000_000_000_000n;

function span(traceState: string, attrs: Bytes[] = [], endNs = T0 + 1_000_000n): Bytes {
  return [
    ...(traceState ? fLen(3, traceState) : []),
    ...fLen(5, 'op'),
    ...fFixed64(7, T0),
    ...fFixed64(8, endNs),
    ...attrs.flatMap((kv) => fLen(9, kv)),
  ];
}

async function callsOf(config: Partial<SpanMetricsConfig>, spans: Bytes[], resource?: Bytes[], slackMs = 0, nowMs?: number): Promise<number> {
  const core = await Core.create({ spanMetrics: { ...spanMetricsConfig([1], []), ...config }, slackMs });
  expect(core.ingest(request(spans, resource), nowMs).ok).toBe(true);
  const t = core.table('spanMetrics')!;
  let calls = 0;
  for (let i = 0; i < t.used; i++) if (t.live(i)) calls += t.value(i, L.SM_V_CALLS);
  return calls;
}

const ratio = (v: number) => keyValue('sampling.ratio', fDouble(4, v));

describe("enable_tracestate_span_multiplier: Tempo's TestMultiplierFromTraceState", () => {
  // [tracestate, Tempo's multiplier (0: none, the span counts 1)]
  const CASES: [string, number][] = [
    ['', 0],
    ['ot=th:0', 1],
    ['ot=th:8', 2],
    ['ot=th:c', 4],
    ['ot=th:fd70a4', 100],
    ['vendor1=value1,ot=th:8,vendor2=value2', 2],
    ['ot=rv:00112233445566;th:8', 2],
    ['ot=th:xyz', 0],
    ['vendor1=value1,vendor2=value2', 0],
    ['ot=rv:00112233445566', 0],
    ['ot=th:123456789abcdef', 0],
    ['ot=th:', 0],
    ['not=foo:bar', 0],
    ['not=th:c', 0],
    ['not=th:8,ot=th:c', 4],
    ['not=th:8, ot=th:c', 4],
    ['ot=th:8;rv:12345678901234', 2],
    ['ot=th:c;rv:12345678901234', 4],
    ['ot=th:4', 4 / 3],
  ];
  for (const [ts, m] of CASES) {
    it(`${JSON.stringify(ts)} counts ${m === 0 ? 1 : m}`, async () => {
      // tolerance as Tempo's InDelta(…, 0.001); th:fd70a4 is 100.0000…, not exactly 100
      expect(await callsOf({ enable_tracestate_span_multiplier: true }, [span(ts)])).toBeCloseTo(m === 0 ? 1 : m, 3);
    });
  }

  it('a fractional multiplier with rv is rounded to floor or ceil by the top 53 bits of rv: th:4 (4/3) counts 2 for rv 0, 1 for rv ffffffffffffff', async () => {
    // by hand: r = (rv >> 3) / 2^53; rv 0 → r 0 < 1/3 → ceil 2; rv 2^56-1 → r ≈ 1 ≥ 1/3 → floor 1
    expect(await callsOf({ enable_tracestate_span_multiplier: true }, [span('ot=th:4;rv:00000000000000')])).toBe(2);
    expect(await callsOf({ enable_tracestate_span_multiplier: true }, [span('ot=th:4;rv:ffffffffffffff')])).toBe(1);
    // rv 50000000000000: r = 5/16 = 0.3125 < 1/3 → 2; rv 60000000000000: r = 6/16 = 0.375 → 1
    expect(await callsOf({ enable_tracestate_span_multiplier: true }, [span('ot=th:4;rv:50000000000000')])).toBe(2);
    expect(await callsOf({ enable_tracestate_span_multiplier: true }, [span('ot=th:4;rv:60000000000000')])).toBe(1);
  });

  it('an ot value with spaces, an empty member or an upper-case key is not read', async () => {
    for (const ts of ['ot=th:8 ', 'ot=th:8;;rv:00000000000000', 'ot=TH:8', 'ot=th:8;']) {
      expect(await callsOf({ enable_tracestate_span_multiplier: true }, [span(ts)])).toBe(1);
    }
  });
});

describe("tracestate and span_multiplier_key: Tempo's TestGetSpanMultiplier_WithTraceState", () => {
  const key = { span_multiplier_key: 'sampling.ratio' };
  it('tracestate disabled, uses attribute: 2', async () => {
    expect(await callsOf({ ...key }, [span('ot=th:8', [ratio(0.5)])])).toBe(2);
  });
  it('tracestate enabled, tracestate wins over attribute: 4', async () => {
    expect(await callsOf({ ...key, enable_tracestate_span_multiplier: true }, [span('ot=th:c', [ratio(0.5)])])).toBe(4);
  });
  it('tracestate enabled but empty, falls back to attribute: 2', async () => {
    expect(await callsOf({ ...key, enable_tracestate_span_multiplier: true }, [span('', [ratio(0.5)])])).toBe(2);
  });
  it('tracestate enabled but invalid, falls back to attribute: 4', async () => {
    expect(await callsOf({ ...key, enable_tracestate_span_multiplier: true }, [span('ot=th:xyz', [ratio(0.25)])])).toBe(4);
  });
  it('tracestate disabled, ignores tracestate: 1', async () => {
    expect(await callsOf({}, [span('ot=th:8')])).toBe(1);
  });
});

describe('span_multiplier_key: the span attribute, then the resource attribute (Tempo util.go GetSpanMultiplier)', () => {
  const key = { span_multiplier_key: 'sampling.ratio' };
  const svc = keyValue('service.name', anyString('svc'));
  it('only the resource has it: 1/0.5 = 2', async () => {
    expect(await callsOf(key, [span('')], [svc, ratio(0.5)])).toBe(2);
  });
  it('both have it: the span wins, 1/0.25 = 4', async () => {
    expect(await callsOf(key, [span('', [ratio(0.25)])], [svc, ratio(0.5)])).toBe(4);
  });
  it('the span value is not a positive double (a string, or 0): the resource is read, 2', async () => {
    expect(await callsOf(key, [span('', [keyValue('sampling.ratio', anyString('0.1'))])], [svc, ratio(0.5)])).toBe(2);
    expect(await callsOf(key, [span('', [ratio(0)])], [svc, ratio(0.5)])).toBe(2);
  });
});

describe('metrics_ingestion_time_range_slack bounds both sides (Tempo instance.go preprocessSpans)', () => {
  const now = Number(T0 / 1_000_000n);
  it('with 30s: a span ending 29s ahead counts, 31s ahead or 31s behind does not; 0 keeps all', async () => {
    const at = (ms: number) => span('', [], T0 + BigInt(ms) * 1_000_000n);
    expect(await callsOf({}, [at(29_000), at(-29_000), at(31_000), at(-31_000)], undefined, 30_000, now)).toBe(2);
    expect(await callsOf({}, [at(31_000), at(-31_000)], undefined, 0, now)).toBe(2);
  });
});
