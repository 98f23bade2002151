// Differential test: spanmeter with `naming: otel` against the real OpenTelemetry Collector's
// `spanmetrics` connector (otlp receiver -> spanmetrics -> prometheus exporter), on the same
// OTLP/HTTP requests: the bench workload under three seeds, edge traces (support/traces.ts) and
// the conformance pack's inputs (the connector block pasted as it is: spanmetrics-pasted.test.ts).
// Both are scraped once they have settled; every counter and bucket must be equal, sums equal within float rounding, label sets equal after dropping the
// exporter's plumbing (support/compare.ts). The differences the peers have on purpose are
// asserted one by one, with the values each side gives (README "Differences from Tempo and the
// Collector").
//
// The config translation (docs/config.md; the connector's config.go at the pinned release):
//   spanmeter processor.span_metrics       Collector connectors.spanmetrics
//   histogram_buckets [s]                  histogram.explicit.buckets [durations]
//   histogram_unit: ms | s                 histogram.unit: ms | s
//   (neither: naming: otel's defaults)     (neither: the connector's defaults, 2 ms … 15 s)
//   dimensions [names]                     dimensions [{name}]
//   intrinsic_dimensions (defaults)        exclude_dimensions not set (service.name, span.name,
//                                          span.kind, status.code all on; the pinned release
//                                          adds no collector.instance.id, later ones do unless
//                                          it is excluded)
//   naming: otel                           namespace traces.span.metrics (the default)
//   (one series per label set)             resource_metrics_key_attributes: [service.name]
//                                          (else one resource per pod, distinguished only by
//                                          the exporter's instance label)
//   (at once)                              metrics_flush_interval: 1s (default 60s)
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sendBoth } from './support/pair.js';
import { PACK_DIR } from '../support/conformance.js';
import { loadInput } from '../support/otlp-input.js';
import { compareSeries, showDifferences, total, type Difference, type SeriesValue } from './support/compare.js';
import { BOUNDS_MS, invalidUtf8Request, spanMetricsEdges, workloadRequests } from './support/traces.js';
import {
  CALLS, EVENTS, HIST, expectSameAsCollector, pick, sameLabels, scrapeBoth, startSpanMetricsPair,
  type Histogram, type Scraped, type SpanMetricsPair,
} from './support/spanmetrics-pair.js';

/**
 * A pair of its own fed the edge traces, scraped once settled, stopped. `extraCalls`: spanmeter's
 * calls beyond one per span (span weights).
 */
async function edgesOnFreshPair(
  label: string,
  histogram: Histogram,
  opts: Parameters<typeof startSpanMetricsPair>[2] = {},
  extraCalls = 0,
): Promise<Scraped & { samples: string[] }> {
  const pair = await startSpanMetricsPair(label, histogram, opts);
  try {
    const edges = spanMetricsEdges();
    for (const r of edges.requests) await sendBoth(pair, r);
    const s = await scrapeBoth(pair, { spanmeter: edges.spansWithService + edges.spansWithoutService + extraCalls, otelcol: edges.spansWithService });
    return { ...s, samples: pair.samples };
  } finally {
    await pair.stop();
  }
}


const SERVER = { span_kind: 'SPAN_KIND_SERVER', status_code: 'STATUS_CODE_UNSET' };

// The differences, each with both sides' values (README "Differences from Tempo and the
// Collector"). Left: spanmeter, which follows Tempo here; right: the Collector.
const DIFFERENT: { why: string; spanmeter?: Record<string, string>; otelcol?: Record<string, string>; calls: [number | undefined, number | undefined] }[] = [
  {
    why: 'a dimension on both the resource and the span: Tempo takes the resource, the Collector the span',
    spanmeter: { service_name: 'edge-precedence', span_name: 'both', deployment_environment: 'from-resource', ...SERVER },
    otelcol: { service_name: 'edge-precedence', span_name: 'both', deployment_environment: 'from-span', ...SERVER },
    calls: [1, 1],
  },
  ...(
    [
      ['fmt-double-tiny', 'edge_double', '0.0000001', '1e-7'],
      ['fmt-double-huge', 'edge_double', '1000000000000000000000', '1e+21'],
      ['fmt-array', 'edge_array', '[ab]', '["a","b"]'],
      ['fmt-array-mixed', 'edge_array', '[1true2.5]', '[1,true,2.5]'],
      ['fmt-kvlist', 'edge_kvlist', '{k:vn:1}', '{"k":"v","n":1}'],
      ['fmt-bytes', 'edge_bytes', '', 'AQID'],
    ] as const
  ).map(([span, label, ours, theirs]) => ({
    why: `${span}: Tempo's value formatting vs pdata's AsString (JSON, ES6 numbers, base64)`,
    spanmeter: { service_name: 'edge-dims-format', span_name: span, ...(ours ? { [label]: ours } : {}), ...SERVER },
    otelcol: { service_name: 'edge-dims-format', span_name: span, [label]: theirs, ...SERVER },
    calls: [1, 1] as [number, number],
  })),
  {
    why: 'service.name an int: Tempo formats it ("5"), the Collector reads it as a string ("")',
    spanmeter: { service_name: '5', span_name: 'int-service', ...SERVER },
    otelcol: { span_name: 'int-service', ...SERVER },
    calls: [1, 1],
  },
  {
    why: 'no service.name: Tempo counts the spans with service "", the Collector skips the resource',
    spanmeter: { span_name: 'no-service', ...SERVER },
    calls: [2, undefined],
  },
  {
    why: 'a span name and a value past 2048 bytes: spanmeter cuts them at 2048 bytes on a character boundary, the Collector keeps them whole',
    spanmeter: { service_name: 'edge-limits', span_name: 'n'.repeat(2048), edge_str: 'é'.repeat(1024), ...SERVER },
    otelcol: { service_name: 'edge-limits', span_name: 'n'.repeat(3000), edge_str: 'é'.repeat(1500), ...SERVER },
    calls: [1, 1],
  },
  {
    why: 'a span name that is not UTF-8: spanmeter repairs it (U+FFFD); the Collector counts the span but its prometheus exporter drops the series',
    spanmeter: { service_name: 'edge-limits', span_name: 'BAD\uFFFDNAME', ...SERVER },
    calls: [1, undefined],
  },
  {
    why: 'span kind 9: Tempo prints the number, the Collector an empty label',
    spanmeter: { service_name: 'edge-odd-enums', span_name: 'kind-9', span_kind: '9', status_code: 'STATUS_CODE_UNSET' },
    otelcol: { service_name: 'edge-odd-enums', span_name: 'kind-9', status_code: 'STATUS_CODE_UNSET' },
    calls: [1, 1],
  },
  {
    why: 'status code 5: Tempo prints the number, the Collector an empty label',
    spanmeter: { service_name: 'edge-odd-enums', span_name: 'status-5', span_kind: 'SPAN_KIND_SERVER', status_code: '5' },
    otelcol: { service_name: 'edge-odd-enums', span_name: 'status-5', span_kind: 'SPAN_KIND_SERVER' },
    calls: [1, 1],
  },
];

/**
 * Whether a differing series is one of DIFFERENT's (any histogram sample of it, too); `off`:
 * labels switched off on both sides, left out of DIFFERENT's label sets.
 */
function documented(labels: Record<string, string>, off: readonly string[] = []): boolean {
  const { le: _le, ...rest } = labels;
  const without = (l: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(l).filter(([k]) => !off.includes(k)));
  return DIFFERENT.some((d) => [d.spanmeter, d.otelcol].some((l) => l && sameLabels(without(l), rest)));
}

describe('span metrics: spanmeter (naming: otel) = the Collector spanmetrics connector', () => {
  describe('the bench workload, three seeds, cumulative', () => {
    let pair: SpanMetricsPair;
    beforeAll(async () => {
      pair = await startSpanMetricsPair('workload');
    });
    afterAll(async () => {
      await pair?.stop();
    });

    let sent = 0;
    for (const seed of [1, 2, 3]) {
      test(`seed ${seed}: every series equal`, async () => {
        const w = workloadRequests(seed, 15, 200);
        sent += w.spans;
        // every workload resource has a service.name, so both count every span (hand count: the
        // workload's own span total); span events are the workload's exception events
        const s = await expectSameAsCollector(pair, w.requests, { spanmeter: sent, otelcol: sent });
        expect(total(s.events.otelcol, EVENTS)).toBeGreaterThan(0);
        // the comparison covered something: many series, histogram buckets included
        expect(s.otelcol.size).toBeGreaterThan(200);
        expect(total(s.otelcol, `${HIST}_count`)).toBe(sent);
      });
    }
  });


  describe("the conformance pack's inputs (../shared/conformance/inputs, read in place)", () => {
    let pair: SpanMetricsPair;
    beforeAll(async () => {
      pair = await startSpanMetricsPair('pack');
    });
    afterAll(async () => {
      await pair?.stop();
    });

    test('every input, one request each, in name order: every series equal but those of resources without service.name', async () => {
      const inputs = packInputs();
      expect(inputs.length).toBeGreaterThan(10);
      for (const i of inputs) await sendBoth(pair, i.body);
      const named = inputs.reduce((n, i) => n + i.named, 0);
      const nameless = inputs.reduce((n, i) => n + i.nameless, 0);
      const s = await scrapeBoth(pair, { spanmeter: named + nameless, otelcol: named });
      const diffs = compareSeries(s.spanmeter, s.otelcol);
      // two differences (README). (1) Spans of a resource without service.name are counted by
      // spanmeter (no service_name label, as Tempo does) and skipped by the Collector.
      const noService = diffs.filter((d) => d.labels.service_name === undefined);
      // (2) own-sm-dimensions.json: two "GET /items" spans of service api whose resource has
      // deployment.environment=prod, one of them with the span attribute =staging. Tempo reads
      // the resource first (prod twice), the Collector the span first (prod once, staging once).
      const api = { service_name: 'api', span_name: 'GET /items', span_kind: 'SPAN_KIND_SERVER', status_code: 'STATUS_CODE_UNSET' };
      expect(pick(s.spanmeter, CALLS, { ...api, deployment_environment: 'prod' })).toBe(2);
      expect(pick(s.spanmeter, CALLS, { ...api, deployment_environment: 'staging' })).toBeUndefined();
      expect(pick(s.otelcol, CALLS, { ...api, deployment_environment: 'prod' })).toBe(1);
      expect(pick(s.otelcol, CALLS, { ...api, deployment_environment: 'staging' })).toBe(1);
      const precedence = (d: Difference): boolean => d.labels.service_name === 'api' && d.labels.deployment_environment !== undefined;
      const rest = diffs.filter((d) => d.labels.service_name !== undefined && !precedence(d));
      expect(rest, showDifferences(rest, 'spanmeter', 'Collector')).toEqual([]);
      for (const d of noService) expect(d.right, d.key).toBeUndefined();
      // (service.name "" has no service_name label on either side, and counts on both)
      expect(total(s.spanmeter, CALLS, { service_name: undefined }) - total(s.otelcol, CALLS, { service_name: undefined })).toBe(nameless);
      expect(nameless).toBeGreaterThan(0);
    });
  });

  describe('edge traces', () => {
    let pair: SpanMetricsPair;
    let scraped: Scraped;
    let diffs: Difference[];
    const edges = spanMetricsEdges();
    beforeAll(async () => {
      pair = await startSpanMetricsPair('edges');
      for (const r of edges.requests) await sendBoth(pair, r);
      await sendBoth(pair, invalidUtf8Request());
      // hand count: the Collector skips a resource without service.name; spanmeter counts it;
      // the span with a name that is not UTF-8 is not in the Collector's exposition
      scraped = await scrapeBoth(pair, {
        spanmeter: edges.spansWithService + edges.spansWithoutService + 1,
        otelcol: edges.spansWithService,
      });
      diffs = compareSeries(scraped.spanmeter, scraped.otelcol);
    });
    afterAll(async () => {
      await pair?.stop();
    });

    // Where the peers agree, with hand-computed values (support/traces.ts builds every span).
    const calls = (m: Map<string, SeriesValue>, labels: Record<string, string>): number | undefined => pick(m, CALLS, labels);

    test('durations: exactly on a bound is in that bucket (le inclusive), 1 ns above is in the next; 0, negative, sub-ms, past the last bound', () => {
      for (const side of [scraped.spanmeter, scraped.otelcol]) {
        const on = { service_name: 'edge-durations', span_name: 'on-bound', k8s_namespace_name: 'edge', ...SERVER };
        const above = { ...on, span_name: 'above-bound' };
        BOUNDS_MS.forEach((b, i) => {
          // span i lasts exactly bound i: cumulative count at le=bound i is i+1; the span 1 ns above it is not in
          expect(pick(side, `${HIST}_bucket`, { ...on, le: String(b) })).toBe(i + 1);
          expect(pick(side, `${HIST}_bucket`, { ...above, le: String(b) })).toBe(i);
        });
        expect(pick(side, `${HIST}_bucket`, { ...on, le: '+Inf' })).toBe(BOUNDS_MS.length);
        // sum of the bounds, in ms: 2+4+6+8+10+50+100+200+400+800+1000+1400+2000+5000+10000+15000
        expect(pick(side, `${HIST}_sum`, on)).toBeCloseTo(35_980, 9);
        const z = { service_name: 'edge-durations', k8s_namespace_name: 'edge', ...SERVER };
        for (const name of ['zero', 'negative']) {
          expect(pick(side, `${HIST}_bucket`, { ...z, span_name: name, le: '2' })).toBe(1);
          expect(pick(side, `${HIST}_sum`, { ...z, span_name: name })).toBe(0);
        }
        expect(pick(side, `${HIST}_sum`, { ...z, span_name: 'sub-ms' })).toBeCloseTo(0.001234, 12);
        expect(pick(side, `${HIST}_bucket`, { ...z, span_name: 'past-last', le: '15000' })).toBe(0);
        expect(pick(side, `${HIST}_bucket`, { ...z, span_name: 'past-last', le: '+Inf' })).toBe(1);
      }
    });

    test('kinds and status codes: one series each of 6 x 3, named as both peers name them', () => {
      const kinds = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
      for (const side of [scraped.spanmeter, scraped.otelcol]) {
        for (const k of kinds) {
          for (const st of ['UNSET', 'OK', 'ERROR']) {
            expect(calls(side, { service_name: 'edge-status', span_name: `op-${k}`, span_kind: `SPAN_KIND_${k}`, status_code: `STATUS_CODE_${st}` })).toBe(1);
          }
        }
      }
    });

    test('string, int, bool and plain double dimensions print alike; an empty string is no label', () => {
      const d = { service_name: 'edge-dims', ...SERVER };
      for (const side of [scraped.spanmeter, scraped.otelcol]) {
        expect(calls(side, { ...d, span_name: 'dim-str', edge_str: 'a b/c"d\\e' })).toBe(1);
        expect(calls(side, { ...d, span_name: 'dim-int', edge_int: '42' })).toBe(1);
        expect(calls(side, { ...d, span_name: 'dim-int-neg', edge_int: '-7' })).toBe(1);
        expect(calls(side, { ...d, span_name: 'dim-int-big', edge_int: '9007199254740993' })).toBe(1);
        expect(calls(side, { ...d, span_name: 'dim-bool', edge_bool: 'true' })).toBe(1);
        expect(calls(side, { ...d, span_name: 'dim-bool-false', edge_bool: 'false' })).toBe(1);
        expect(calls(side, { ...d, span_name: 'dim-double', edge_double: '1.5' })).toBe(1);
        expect(calls(side, { ...d, span_name: 'dim-double-int', edge_double: '3' })).toBe(1);
        expect(calls(side, { ...d, span_name: 'dim-double-frac', edge_double: '0.1' })).toBe(1);
        expect(calls(side, { ...d, span_name: 'dim-many', http_request_method: 'GET', http_response_status_code: '503', edge_bool: 'true' })).toBe(1);
        expect(calls(side, { ...d, span_name: 'dim-empty-str' })).toBe(1);
      }
    });

    test('sampling: the pinned Collector counts a span once whatever its tracestate th or X-SampleRatio; so does spanmeter without span_multiplier_key', () => {
      for (const side of [scraped.spanmeter, scraped.otelcol]) {
        for (const name of ['th-50', 'th-25', 'attr-25']) expect(calls(side, { service_name: 'edge-sampled', span_name: name, ...SERVER })).toBe(1);
      }
    });

    test('database and messaging spans, the consumer in a later request; service.name ""', () => {
      for (const side of [scraped.spanmeter, scraped.otelcol]) {
        const db = { service_name: 'edge-db', span_name: 'SELECT shop.orders', span_kind: 'SPAN_KIND_CLIENT', db_system_name: 'postgresql' };
        expect(calls(side, { ...db, status_code: 'STATUS_CODE_UNSET' })).toBe(1);
        expect(calls(side, { ...db, status_code: 'STATUS_CODE_ERROR' })).toBe(1);
        const m = { service_name: 'edge-messaging', messaging_system: 'kafka', status_code: 'STATUS_CODE_UNSET' };
        expect(calls(side, { ...m, span_name: 'orders publish', span_kind: 'SPAN_KIND_PRODUCER' })).toBe(1);
        expect(calls(side, { ...m, span_name: 'orders process', span_kind: 'SPAN_KIND_CONSUMER' })).toBe(1);
        expect(calls(side, { span_name: 'empty-service', ...SERVER })).toBe(1);
      }
    });


    test.each(DIFFERENT)('difference: $why', (d) => {
      if (d.spanmeter) {
        expect(calls(scraped.spanmeter, d.spanmeter), 'spanmeter').toBe(d.calls[0]);
        expect(calls(scraped.otelcol, d.spanmeter), 'the Collector has no such series').toBeUndefined();
      }
      if (d.otelcol) {
        expect(calls(scraped.otelcol, d.otelcol), 'Collector').toBe(d.calls[1]);
        expect(calls(scraped.spanmeter, d.otelcol), 'spanmeter has no such series').toBeUndefined();
      }
    });

    test('span events: two events of one span count under one label set once event_name is added up; an event without the dimension has no label', () => {
      const two = { service_name: 'edge-events', span_name: 'ev-two', ...SERVER };
      for (const side of [scraped.events.spanmeter, scraped.events.otelcol]) {
        expect(pick(side, EVENTS, { ...two, exception_type: 'IOError' })).toBe(1);
        expect(pick(side, EVENTS, two)).toBe(1);
      }
    });

    test('difference: an event dimension also on the span: spanmeter takes the event\'s value, the Collector the span\'s', () => {
      const both = { service_name: 'edge-events', span_name: 'ev-shadowed', ...SERVER };
      expect(pick(scraped.events.spanmeter, EVENTS, { ...both, exception_type: 'Timeout' })).toBe(1);
      expect(pick(scraped.events.otelcol, EVENTS, { ...both, exception_type: 'SpanLevel' })).toBe(1);
      const rest = compareSeries(scraped.events.spanmeter, scraped.events.otelcol).filter((d) => d.labels.span_name !== 'ev-shadowed');
      expect(rest, showDifferences(rest, 'spanmeter', 'Collector')).toEqual([]);
    });

    test('nothing else differs: every other series (counters, buckets, sums) is equal', () => {
      const rest = diffs.filter((d) => !documented(d.labels));
      expect(rest, showDifferences(rest, 'spanmeter', 'Collector')).toEqual([]);
      // and the comparison saw the edges: every edge span is counted on the Collector's side
      expect(total(scraped.otelcol, CALLS)).toBe(edges.spansWithService);
    });
  });

  test('difference: spanmeter with span_multiplier_key X-SampleRatio (Tempo) weights a span of ratio 0.25 four times; the Collector has no such key and counts it once', async () => {
    // hand count: the attr-25 span weighs 1/0.25 = 4 in spanmeter, 1 in the Collector
    const s = await edgesOnFreshPair('edges multiplier', 'explicit-ms', { spanMultiplierKey: 'X-SampleRatio' }, 3);
    const attr = { service_name: 'edge-sampled', span_name: 'attr-25', ...SERVER };
    expect(pick(s.spanmeter, CALLS, attr)).toBe(4);
    expect(pick(s.otelcol, CALLS, attr)).toBe(1);
    expect(pick(s.spanmeter, `${HIST}_sum`, attr)).toBe(8); // 2 ms x 4
    const rest = compareSeries(s.spanmeter, s.otelcol).filter((d) => !documented(d.labels) && d.labels.span_name !== 'attr-25');
    expect(rest, showDifferences(rest, 'spanmeter', 'Collector')).toEqual([]);
  });

  test('span_kind and status_code switched off on both (intrinsic_dimensions / exclude_dimensions): the series merge alike', async () => {
    const s = await edgesOnFreshPair('edges no kind/status', 'explicit-ms', { noKindStatus: true });
    const rest = compareSeries(s.spanmeter, s.otelcol).filter((d) => !documented(d.labels, ['span_kind', 'status_code']));
    expect(rest, showDifferences(rest, 'spanmeter', 'Collector')).toEqual([]);
    // by hand: the 3 status codes of each of the 6 kinds' spans now share one series per span name
    for (const side of [s.spanmeter, s.otelcol]) {
      expect(pick(side, CALLS, { service_name: 'edge-status', span_name: 'op-SERVER' })).toBe(3);
      expect([...side.values()].some((v) => v.labels.span_kind !== undefined || v.labels.status_code !== undefined)).toBe(false);
    }
  });

  describe("the histogram variants on the edge traces: both peers' defaults, and unit s", () => {
    for (const variant of ['defaults', 'explicit-s'] as const) {
      test(`${variant}: every series equal but the documented differences`, async () => {
        const s = await edgesOnFreshPair(`edges ${variant}`, variant);
        const rest = compareSeries(s.spanmeter, s.otelcol).filter((d) => !documented(d.labels));
        expect(rest, showDifferences(rest, 'spanmeter', 'Collector')).toEqual([]);
        // the bounds both used (hand: the connector's defaults are BOUNDS_MS in ms; with unit s the same in s)
        const les = [...s.otelcol.values()].filter((v) => v.labels.le !== undefined).map((v) => v.labels.le!);
        const want = [...(variant === 'defaults' ? BOUNDS_MS : BOUNDS_MS.map((b) => b / 1000)).map(String), '+Inf'];
        expect([...new Set(les)].sort()).toEqual([...want].sort());
        const on = { service_name: 'edge-durations', span_name: 'on-bound', k8s_namespace_name: 'edge', ...SERVER };
        expect(pick(s.otelcol, s.samples[1]!, { ...on, le: want[0]! })).toBe(1);
        expect(pick(s.spanmeter, s.samples[1]!, { ...on, le: want[0]! })).toBe(1);
      });
    }
  });
});

/**
 * The conformance pack's inputs in protobuf, with their spans counted by hand from the decoded
 * request: `named` under a resource whose service.name is a string, `nameless` under one without
 * service.name.
 */
function packInputs(): { name: string; body: Uint8Array; named: number; nameless: number }[] {
  const dir = join(PACK_DIR, 'inputs');
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const input = loadInput(join(dir, name));
      let named = 0;
      let nameless = 0;
      type KVm = { key: string; value?: { stringValue?: string } };
      type RS = { resource?: { attributes?: KVm[] }; scopeSpans?: { spans?: unknown[] }[] };
      for (const rs of (input.message.resourceSpans ?? []) as RS[]) {
        const n = (rs.scopeSpans ?? []).reduce((a, ss) => a + (ss.spans ?? []).length, 0);
        const svc = (rs.resource?.attributes ?? []).find((a) => a.key === 'service.name');
        if (!svc) nameless += n;
        else if (typeof svc.value?.stringValue === 'string') named += n;
        else throw new Error(`${name}: a service.name that is not a string; count it by hand`);
      }
      return { name, body: input.protobuf, named, nameless };
    });
}
