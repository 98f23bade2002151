// span_multiplier_key must not disturb the histogram bounds. Found by the differential test
// against the Collector (test/interop/spanmetrics-collector.test.ts): the multiplier's key was
// watched after the bounds had been copied into the core's scratch memory, and the key's bytes
// overwrote the first bounds, so spans of every length landed in the wrong buckets.
import { describe, expect, it } from 'vitest';
import { fDouble, fFixed64, fLen, keyValue, makeCore, request, spanMetricsConfig } from './helpers.js';

const T0 = 1_700_000_000_000_000_000n;
const span = (name: string, ns: bigint, ratio?: number) => [
  ...fLen(5, name),
  ...fFixed64(7, T0),
  ...fFixed64(8, T0 + ns),
  ...(ratio === undefined ? [] : fLen(9, keyValue('X-SampleRatio', fDouble(4, ratio)))),
];

describe('span_multiplier_key and the latency buckets', () => {
  it('keeps every bound: 3 ms is in le=0.004, not le=0.002; a ratio of 0.25 counts 4', async () => {
    const { core, exposition } = await makeCore({ ...spanMetricsConfig([0.002, 0.004, 0.006], []), span_multiplier_key: 'X-SampleRatio' });
    expect(core.ingest(request([span('three', 3_000_000n), span('sampled', 1_000_000n, 0.25)]))).toMatchObject({ ok: true });
    const text = exposition.render();
    // by hand: a 3 ms span is above 0.002 and at most 0.004; the sampled 1 ms span weighs 1/0.25
    expect(text).toContain('traces_spanmetrics_latency_bucket{service="svc",span_name="three",span_kind="SPAN_KIND_UNSPECIFIED",status_code="STATUS_CODE_UNSET",le="0.002"} 0\n');
    expect(text).toContain('traces_spanmetrics_latency_bucket{service="svc",span_name="three",span_kind="SPAN_KIND_UNSPECIFIED",status_code="STATUS_CODE_UNSET",le="0.004"} 1\n');
    expect(text).toContain('traces_spanmetrics_latency_bucket{service="svc",span_name="sampled",span_kind="SPAN_KIND_UNSPECIFIED",status_code="STATUS_CODE_UNSET",le="0.002"} 4\n');
    expect(text).toContain('traces_spanmetrics_calls_total{service="svc",span_name="sampled",span_kind="SPAN_KIND_UNSPECIFIED",status_code="STATUS_CODE_UNSET"} 4\n');
  });
});
