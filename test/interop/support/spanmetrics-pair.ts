// The span-metrics pair of the differential tests against the Collector's spanmetrics
// connector (spanmetrics-collector.test.ts, spanmetrics-pasted.test.ts): both started with one
// histogram and dimension setup, fed the same requests, scraped once settled and compared.
import { expect } from 'vitest';
import { fetchMetricsText } from '../../support/sidecar.js';
import { scrapeOtelcol, sendBoth, startPair, type Pair } from './pair.js';
import { compareSeries, seriesOf, settle, showDifferences, total, type SeriesValue } from './compare.js';
import { BOUNDS_MS, SPAN_DIMENSIONS } from './traces.js';

export const CALLS = 'traces_span_metrics_calls_total';
export const HIST = 'traces_span_metrics_duration_milliseconds';
export const EVENTS = 'traces_span_metrics_events_total';

/**
 * The histogram settings of a pair. `explicit-ms` (most tests): the same 16 bounds given to both
 * in ms. `defaults`: none given (spanmeter's naming: otel defaults against the connector's: ms,
 * 2 ms … 15 s). `explicit-s`: unit s on both (traces_span_metrics_duration_seconds).
 */
export type Histogram = 'explicit-ms' | 'defaults' | 'explicit-s';

export interface SpanMetricsPair extends Pair {
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
export async function startSpanMetricsPair(
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
export const SPLIT = {
  calls: [{ name: 'http.route' }],
  histogram: [{ name: 'url.scheme', default: 'none' }],
  events: [{ name: 'exception.type' }, { name: 'exception.escaped', default: 'unset' }],
};

export interface Scraped {
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
export async function scrapeBoth(pair: SpanMetricsPair, calls: { spanmeter: number; otelcol: number }): Promise<Scraped> {
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
 * Sends every request to both, scrapes both once each has counted all of `spans` (or the counts
 * given), and expects every span-metrics series and every span-events series equal.
 */
export async function expectSameAsCollector(pair: SpanMetricsPair, requests: Uint8Array[], calls: { spanmeter: number; otelcol: number }): Promise<Scraped> {
  for (const r of requests) await sendBoth(pair, r);
  const s = await scrapeBoth(pair, calls);
  const diffs = compareSeries(s.spanmeter, s.otelcol);
  expect(diffs, showDifferences(diffs, 'spanmeter', 'Collector')).toEqual([]);
  const eventDiffs = compareSeries(s.events.spanmeter, s.events.otelcol);
  expect(eventDiffs, showDifferences(eventDiffs, 'spanmeter', 'Collector')).toEqual([]);
  return s;
}


export function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== '');
  const kb = Object.keys(b).filter((k) => b[k] !== '');
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
}

/** The value of the series of `metric` with exactly these labels (empty values = absent), or undefined. */
export function pick(m: Map<string, SeriesValue>, metric: string, labels: Record<string, string>): number | undefined {
  for (const s of m.values()) if (s.metric === metric && sameLabels(s.labels, labels)) return s.value;
  return undefined;
}
