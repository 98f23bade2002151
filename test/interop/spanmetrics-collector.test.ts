// Differential test: spanmeter with `naming: otel` against the real OpenTelemetry Collector's
// `spanmetrics` connector (otlp receiver -> spanmetrics -> prometheus exporter), on the same
// OTLP/HTTP requests: the bench workload under three seeds, edge traces (support/traces.ts) and
// the conformance pack's inputs. Both are scraped once they have settled; every counter and
// bucket must be equal, sums equal within float rounding, label sets equal after dropping the
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
import { ExportTraceServiceRequest } from '../../src/otlp/messages.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchMetricsText } from '../support/sidecar.js';
import { scrapeOtelcol, sendBoth, startPair, type Pair } from './support/pair.js';
import { PACK_DIR } from '../support/conformance.js';
import { loadInput } from '../support/otlp-input.js';
import { compareSeries, seriesOf, settle, showDifferences, total, type Difference, type SeriesValue } from './support/compare.js';
import { BOUNDS_MS, SPAN_DIMENSIONS, invalidUtf8Request, spanMetricsEdges, workloadRequests } from './support/traces.js';

const CALLS = 'traces_span_metrics_calls_total';
const HIST = 'traces_span_metrics_duration_milliseconds';
const EVENTS = 'traces_span_metrics_events_total';

/**
 * The histogram settings of a pair. `explicit-ms` (most tests): the same 16 bounds given to both
 * in ms. `defaults`: none given (spanmeter's naming: otel defaults against the connector's: ms,
 * 2 ms … 15 s). `explicit-s`: unit s on both (traces_span_metrics_duration_seconds).
 */
type Histogram = 'explicit-ms' | 'defaults' | 'explicit-s';

interface SpanMetricsPair extends Pair {
  /** The histogram's sample names. */
  samples: string[];
  /** The calls counter's sample name. */
  calls: string;
  /** The events counter's sample name. */
  events: string;
}

/**
 * `spanMultiplierKey`: spanmeter's span_multiplier_key (the Collector has none). `noKindStatus`:
 * the span_kind and status_code labels off (intrinsic_dimensions / exclude_dimensions).
 * `pasted`: spanmeter is given the Collector's connector block as it is (`connectors:
 * spanmetrics:`, src/config/peers.ts) instead of its own keys; `namespace`: the connector's;
 * `httpRouteDefault`: the connector's `default` of a dimension http.route (not in SPAN_DIMENSIONS).
 * `split` (with `pasted`): SPLIT's calls_dimensions, histogram.dimensions, event dimension default
 * and add_resource_attributes; `scopes`: include_instrumentation_scope.
 */
async function startSpanMetricsPair(
  label: string,
  histogram: Histogram = 'explicit-ms',
  opts: { spanMultiplierKey?: string; noKindStatus?: boolean; pasted?: boolean; namespace?: string; httpRouteDefault?: string; split?: boolean; scopes?: string[] } = {},
): Promise<SpanMetricsPair> {
  const otelcolHistogram = {
    'explicit-ms': { unit: 'ms', explicit: { buckets: BOUNDS_MS.map((b) => `${b}ms`) } },
    defaults: {},
    'explicit-s': { unit: 's', explicit: { buckets: BOUNDS_MS.map((b) => `${b}ms`) } },
  }[histogram];
  if (opts.split) Object.assign(otelcolHistogram, { dimensions: SPLIT.histogram });
  const spanmeterHistogram = {
    'explicit-ms': { histogram_buckets: BOUNDS_MS.map((b) => b / 1000), histogram_unit: 'ms' },
    defaults: {},
    'explicit-s': { histogram_buckets: BOUNDS_MS.map((b) => b / 1000), histogram_unit: 's' },
  }[histogram];
  const connectorConfig = {
    histogram: otelcolHistogram,
    dimensions: [
      ...SPAN_DIMENSIONS.map((name) => ({ name })),
      ...(opts.httpRouteDefault !== undefined ? [{ name: 'http.route', default: opts.httpRouteDefault }] : []),
    ],
    resource_metrics_key_attributes: ['service.name'],
    metrics_flush_interval: '1s',
    events: { enabled: true, dimensions: [{ name: 'exception.type' }] },
    ...(opts.noKindStatus ? { exclude_dimensions: ['span.kind', 'status.code'] } : {}),
    ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
    ...(opts.split ? { calls_dimensions: SPLIT.calls, events: { enabled: true, dimensions: SPLIT.events }, add_resource_attributes: true } : {}),
    ...(opts.scopes ? { include_instrumentation_scope: opts.scopes } : {}),
  };
  const pair = await startPair({
    label,
    connector: 'spanmetrics',
    connectorConfig,
    spanmeterConfig: opts.pasted ? { connectors: { spanmetrics: connectorConfig } } : {
      naming: 'otel',
      processors: ['span-metrics'],
      processor: {
        span_metrics: {
          ...spanmeterHistogram,
          dimensions: SPAN_DIMENSIONS,
          events: { enabled: true, dimensions: ['exception.type'] },
          ...(opts.spanMultiplierKey ? { span_multiplier_key: opts.spanMultiplierKey } : {}),
          ...(opts.noKindStatus ? { intrinsic_dimensions: { span_kind: false, status_code: false } } : {}),
        },
      },
    },
  });
  // The connector names its metrics namespace + "." + calls / duration; its prometheus exporter
  // turns "." into "_" and adds the unit and _total (connector.go buildMetricName).
  const ns = opts.namespace === undefined ? 'traces_span_metrics_' : opts.namespace === '' ? '' : `${opts.namespace.replaceAll('.', '_')}_`;
  const hist = `${ns}duration_${histogram === 'explicit-s' ? 'seconds' : 'milliseconds'}`;
  return { ...pair, samples: [`${ns}calls_total`, `${hist}_bucket`, `${hist}_sum`, `${hist}_count`], calls: `${ns}calls_total`, events: `${ns}events_total` };
}

/**
 * The connector's split dimensions (config.go at v0.141.0: calls_dimensions label the calls
 * counter only, histogram.dimensions the duration histogram only, both after `dimensions`;
 * connector.go aggregateMetrics), a default on a histogram dimension and on an event dimension
 * no workload event has (so every event takes it).
 */
const SPLIT = {
  calls: [{ name: 'http.route' }],
  histogram: [{ name: 'url.scheme', default: 'none' }],
  events: [{ name: 'exception.type' }, { name: 'exception.escaped', default: 'unset' }],
};

interface Scraped {
  spanmeter: Map<string, SeriesValue>;
  otelcol: Map<string, SeriesValue>;
  /**
   * The span-events counter of each side. spanmeter's is added up over its `event_name` label,
   * which the Collector does not have (README "Span events"); the rest must then be equal.
   */
  events: { spanmeter: Map<string, SeriesValue>; otelcol: Map<string, SeriesValue> };
}

/**
 * Scrapes both until each has settled: the same span-metrics series twice in a row, 0.5 s
 * apart, with the expected number of calls (the Collector flushes every second), 30 s at most.
 */
async function scrapeBoth(pair: SpanMetricsPair, calls: { spanmeter: number; otelcol: number }): Promise<Scraped> {
  const canon = (m: Map<string, SeriesValue>): string => JSON.stringify([...m].map(([k, v]) => [k, v.value]).sort());
  const result: Partial<Scraped> = {};
  const events: Partial<Scraped['events']> = {};
  const one = async (side: 'spanmeter' | 'otelcol', scrape: () => Promise<string>, want: number): Promise<void> => {
    await settle(
      async () => {
        const text = await scrape();
        const series = seriesOf(text, pair.samples, side);
        result[side] = series;
        events[side] = seriesOf(text, [pair.events], side, { sumOver: side === 'spanmeter' ? ['event_name'] : [] });
        return canon(series) + canon(events[side]);
      },
      () => total(result[side]!, pair.calls) === want,
      { what: `${side} expecting ${want} calls`, timeoutMs: 30_000 },
    );
  };
  await Promise.all([
    one('spanmeter', async () => (await fetchMetricsText(pair.spanmeter)).text, calls.spanmeter),
    one('otelcol', () => scrapeOtelcol(pair), calls.otelcol),
  ]);
  result.events = events as Scraped['events'];
  return result as Scraped;
}

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

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== '');
  const kb = Object.keys(b).filter((k) => b[k] !== '');
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
}

/** The value of the series of `metric` with exactly these labels (empty values = absent), or undefined. */
function pick(m: Map<string, SeriesValue>, metric: string, labels: Record<string, string>): number | undefined {
  for (const s of m.values()) if (s.metric === metric && sameLabels(s.labels, labels)) return s.value;
  return undefined;
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
        for (const r of w.requests) await sendBoth(pair, r);
        sent += w.spans;
        // every workload resource has a service.name, so both count every span (hand count: the
        // workload's own span total)
        const s = await scrapeBoth(pair, { spanmeter: sent, otelcol: sent });
        const diffs = compareSeries(s.spanmeter, s.otelcol);
        expect(diffs, showDifferences(diffs, 'spanmeter', 'Collector')).toEqual([]);
        // span events (the workload's exception events), spanmeter's added up over event_name
        const eventDiffs = compareSeries(s.events.spanmeter, s.events.otelcol);
        expect(eventDiffs, showDifferences(eventDiffs, 'spanmeter', 'Collector')).toEqual([]);
        expect(total(s.events.otelcol, EVENTS)).toBeGreaterThan(0);
        // the comparison covered something: many series, histogram buckets included
        expect(s.otelcol.size).toBeGreaterThan(200);
        expect(total(s.otelcol, `${HIST}_count`)).toBe(sent);
      });
    }
  });

  // The Collector's connector block given to spanmeter as it is (issue 18 item 8, issue 19 item 8):
  // src/config/peers.ts reads it as the connector does; no spanmeter key is set.
  describe('the connector block pasted into spanmeter as it is (connectors: spanmetrics:)', () => {
    test('namespace app.spans, exclude_dimensions [span.kind, status.code] and a dimension default: every series equal, under the namespace', async () => {
      const pair = await startSpanMetricsPair('pasted', 'explicit-ms', { pasted: true, noKindStatus: true, namespace: 'app.spans', httpRouteDefault: 'no-route' });
      try {
        const w = workloadRequests(1, 15, 200);
        for (const r of w.requests) await sendBoth(pair, r);
        const s = await scrapeBoth(pair, { spanmeter: w.spans, otelcol: w.spans });
        const diffs = compareSeries(s.spanmeter, s.otelcol);
        expect(diffs, showDifferences(diffs, 'spanmeter', 'Collector')).toEqual([]);
        const eventDiffs = compareSeries(s.events.spanmeter, s.events.otelcol);
        expect(eventDiffs, showDifferences(eventDiffs, 'spanmeter', 'Collector')).toEqual([]);
        expect(total(s.events.otelcol, 'app_spans_events_total')).toBeGreaterThan(0);
        // hand count: every workload span once, in the namespace's histogram
        expect(total(s.otelcol, 'app_spans_duration_milliseconds_count')).toBe(w.spans);
        expect(total(s.spanmeter, 'app_spans_duration_milliseconds_count')).toBe(w.spans);
        // the workload's spans without http.route carry the default on both sides
        expect(total(s.otelcol, 'app_spans_calls_total', { http_route: 'no-route' })).toBeGreaterThan(0);
        expect(total(s.spanmeter, 'app_spans_calls_total', { http_route: 'no-route' })).toBe(total(s.otelcol, 'app_spans_calls_total', { http_route: 'no-route' }));
        for (const v of s.spanmeter.values()) {
          expect(v.labels.span_kind, 'excluded').toBeUndefined();
          expect(v.labels.status_code, 'excluded').toBeUndefined();
        }
      } finally {
        await pair.stop();
      }
    });

    test('calls_dimensions, histogram.dimensions with a default, an event dimension default, add_resource_attributes, include_instrumentation_scope: every series equal', async () => {
      const w = workloadRequests(4, 15, 200);
      // two of the workload's scope names (one per ScopeSpans), read from its first request
      const first = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(w.requests[0]!)) as {
        resourceSpans: { scopeSpans: { scope: { name: string } }[] }[];
      };
      const names = [...new Set(first.resourceSpans.flatMap((r) => r.scopeSpans.map((s) => s.scope.name)))].sort().slice(0, 2);
      expect(names).toHaveLength(2);
      const pair = await startSpanMetricsPair('pasted-split', 'explicit-ms', { pasted: true, split: true, scopes: names });
      try {
        for (const r of w.requests) await sendBoth(pair, r);
        const s = await scrapeBoth(pair, { spanmeter: w.spans, otelcol: w.spans });
        const diffs = compareSeries(s.spanmeter, s.otelcol);
        expect(diffs, showDifferences(diffs, 'spanmeter', 'Collector')).toEqual([]);
        const eventDiffs = compareSeries(s.events.spanmeter, s.events.otelcol);
        expect(eventDiffs, showDifferences(eventDiffs, 'spanmeter', 'Collector')).toEqual([]);
        for (const side of [s.spanmeter, s.otelcol]) {
          const calls = [...side.values()].filter((v) => v.metric === CALLS);
          const hist = [...side.values()].filter((v) => v.metric === `${HIST}_count`);
          // http.route on calls only (the workload's HTTP server spans have it), url.scheme on the histogram only
          expect(calls.some((v) => v.labels.http_route !== undefined)).toBe(true);
          expect(calls.every((v) => v.labels.url_scheme === undefined)).toBe(true);
          expect(hist.every((v) => v.labels.http_route === undefined)).toBe(true);
          // spans without url.scheme take the default: every span is on a histogram series with the label
          expect(hist.every((v) => v.labels.url_scheme !== undefined)).toBe(true);
          expect(total(side, `${HIST}_count`, { url_scheme: 'none' })).toBeGreaterThan(0);
        }
        // every event takes the default of exception.escaped, on both sides (hand count: the events are the total)
        expect(total(s.events.otelcol, EVENTS, { exception_escaped: 'unset' })).toBe(total(s.events.otelcol, EVENTS));
        expect(total(s.events.otelcol, EVENTS)).toBeGreaterThan(0);
        expect(total(s.spanmeter, CALLS)).toBe(w.spans);
        // the connector's span.instrumentation.scope.name / .version on the spans of those scopes only
        for (const side of [s.spanmeter, s.otelcol]) {
          const scoped = [...side.values()].filter((v) => v.metric === CALLS && v.labels.span_instrumentation_scope_name !== undefined);
          expect(new Set(scoped.map((v) => v.labels.span_instrumentation_scope_name))).toEqual(new Set(names));
          expect(scoped.every((v) => (v.labels.span_instrumentation_scope_version ?? '') !== '')).toBe(true);
        }
      } finally {
        await pair.stop();
      }
    });

    test("no histogram settings and an empty namespace: the connector's default buckets, names without a prefix", async () => {
      const pair = await startSpanMetricsPair('pasted-defaults', 'defaults', { pasted: true, namespace: '' });
      try {
        const w = workloadRequests(2, 10, 200);
        for (const r of w.requests) await sendBoth(pair, r);
        const s = await scrapeBoth(pair, { spanmeter: w.spans, otelcol: w.spans });
        const diffs = compareSeries(s.spanmeter, s.otelcol);
        expect(diffs, showDifferences(diffs, 'spanmeter', 'Collector')).toEqual([]);
        expect(total(s.spanmeter, 'calls_total')).toBe(w.spans);
        // the connector's 16 default bounds (2 ms … 15 s) and +Inf, on one series of each side
        const { le: _le, ...one } = [...s.otelcol.values()].find((v) => v.metric === 'duration_milliseconds_bucket')!.labels;
        const bounds = ['2', '4', '6', '8', '10', '50', '100', '200', '400', '800', '1000', '1400', '2000', '5000', '10000', '15000', '+Inf'];
        for (const side of [s.spanmeter, s.otelcol]) {
          for (const le of bounds) expect(pick(side, 'duration_milliseconds_bucket', { ...one, le }), le).toBeDefined();
          expect([...side.values()].filter((v) => v.metric === 'duration_milliseconds_bucket' && sameLabels({ ...v.labels, le: '' }, one)).length).toBe(bounds.length);
        }
      } finally {
        await pair.stop();
      }
    });
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
