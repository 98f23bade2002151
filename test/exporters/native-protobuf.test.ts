// /metrics in the Prometheus protobuf exposition, with native histograms: Accept negotiation as
// Prometheus asks, the MetricFamily messages decoded with a schema written here from
// prometheus/client_model metrics.proto (not with our writer), and a real Prometheus
// (--enable-feature=native-histograms) scraping the sidecar, for span metrics and an edge: histogram_quantile on the native
// histogram within the schema's relative error of the exact quantile of the durations sent.
import protobuf from 'protobufjs';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { Core, type NativeHistogramOptions } from '../../src/core/index.js';
import { spanMetricsFamilies } from '../../src/exporters/spanmetrics.js';
import { negotiate, renderFamilies } from '../../src/exporters/exposition.js';
import { fFixed64, fLen, request, spanMetricsConfig } from '../core/helpers.js';
import { exportSpans, makeSpans, SpanKind, type SpanSpec } from '../support/otel.js';
import { postTraces, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { request as edgeRequest, type SpanSpec as EdgeSpan } from '../servicegraphs/helpers.js';
import { HAVE_PROMETHEUS, IN_CI, PROMETHEUS, query, startPrometheus, type Prom } from '../support/prometheus.js';

// io.prometheus.client, from client_model's metrics.proto (field numbers and types).
const root = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
    Exemplar: { fields: { label: { rule: 'repeated', type: 'LabelPair', id: 1 }, value: { type: 'double', id: 2 }, timestamp: { type: 'Timestamp', id: 3 } } },
    Counter: { fields: { value: { type: 'double', id: 1 }, exemplar: { type: 'Exemplar', id: 2 } } },
    Gauge: { fields: { value: { type: 'double', id: 1 } } },
    Untyped: { fields: { value: { type: 'double', id: 1 } } },
    Bucket: {
      fields: {
        cumulativeCount: { type: 'uint64', id: 1 }, cumulativeCountFloat: { type: 'double', id: 4 },
        upperBound: { type: 'double', id: 2 }, exemplar: { type: 'Exemplar', id: 3 },
      },
    },
    BucketSpan: { fields: { offset: { type: 'sint32', id: 1 }, length: { type: 'uint32', id: 2 } } },
    Histogram: {
      fields: {
        sampleCount: { type: 'uint64', id: 1 }, sampleCountFloat: { type: 'double', id: 4 }, sampleSum: { type: 'double', id: 2 },
        bucket: { rule: 'repeated', type: 'Bucket', id: 3 }, schema: { type: 'sint32', id: 5 },
        zeroThreshold: { type: 'double', id: 6 }, zeroCount: { type: 'uint64', id: 7 }, zeroCountFloat: { type: 'double', id: 8 },
        positiveSpan: { rule: 'repeated', type: 'BucketSpan', id: 12 }, positiveDelta: { rule: 'repeated', type: 'sint64', id: 13 },
        positiveCount: { rule: 'repeated', type: 'double', id: 14 },
      },
    },
    Metric: {
      fields: {
        label: { rule: 'repeated', type: 'LabelPair', id: 1 }, gauge: { type: 'Gauge', id: 2 }, counter: { type: 'Counter', id: 3 },
        untyped: { type: 'Untyped', id: 5 }, histogram: { type: 'Histogram', id: 7 },
      },
    },
    MetricFamily: {
      fields: {
        name: { type: 'string', id: 1 }, help: { type: 'string', id: 2 }, type: { type: 'int32', id: 3 },
        metric: { rule: 'repeated', type: 'Metric', id: 4 },
      },
    },
  },
});
const MetricFamily = root.lookupType('MetricFamily');

interface Decoded {
  name: string;
  type: number;
  metric: {
    label: { name: string; value: string }[];
    counter?: { value: number };
    histogram?: {
      sampleCount: number; sampleSum: number; schema: number; zeroThreshold: number; zeroCount: number;
      bucket: { cumulativeCount: number; upperBound: number }[];
      positiveSpan: { offset: number; length: number }[]; positiveDelta: number[];
    };
  }[];
}

function decode(bytes: Uint8Array): Decoded[] {
  const reader = protobuf.Reader.create(bytes);
  const out: Decoded[] = [];
  while (reader.pos < reader.len) {
    out.push(MetricFamily.toObject(MetricFamily.decodeDelimited(reader), { longs: Number, defaults: true, arrays: true }) as unknown as Decoded);
  }
  return out;
}

const T0 = 1_700_000_000_000_000_000n;
const span = (name: string, ns: bigint): number[] => [...fLen(5, name), ...fFixed64(7, T0), ...fFixed64(8, T0 + ns)];

async function render(mode: NativeHistogramOptions['mode']): Promise<{ families: Decoded[]; text: string }> {
  const config = spanMetricsConfig([0.005, 0.1], []);
  const core = await Core.create({ spanMetrics: config, nativeHistograms: { mode, schema: 3, maxBuckets: 100, minResetMs: 0 } });
  // 1 ms three times, 2 ms, 0 and 1 s.
  core.ingest(request([1_000_000n, 1_000_000n, 1_000_000n, 2_000_000n, 0n, 1_000_000_000n].map((ns) => span('op', ns))), 1_700_000_000_000);
  const families = spanMetricsFamilies(core, config);
  return { families: decode(renderFamilies(families, 'protobuf')), text: renderFamilies(families, 'text').toString() };
}

describe('Accept negotiation', () => {
  it('serves what Prometheus asks for first', () => {
    // Prometheus' scrape Accept headers (scrape/scrape.go): with native histograms the protobuf
    // first; without, OpenMetrics first.
    expect(negotiate('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2')).toBe('protobuf');
    expect(negotiate('application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')).toBe('openmetrics');
    expect(negotiate('text/plain;version=0.0.4')).toBe('text');
    expect(negotiate(undefined)).toBe('text');
    expect(negotiate('*/*')).toBe('text');
    // A protobuf of another message, or not delimited, is not ours to serve.
    expect(negotiate('application/vnd.google.protobuf;proto=other.Message;encoding=delimited')).toBe('text');
    expect(negotiate('text/plain;q=0.9,application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.8')).toBe('text');
  });
});

describe('the protobuf exposition', () => {
  it('both: one histogram with the classic buckets and the native ones, the same count', async () => {
    const { families } = await render('both');
    const calls = families.find((f) => f.name === 'traces_spanmetrics_calls_total')!;
    expect(calls.type).toBe(0); // COUNTER
    expect(calls.metric[0]!.counter!.value).toBe(6);
    expect(calls.metric[0]!.label).toContainEqual({ name: 'span_name', value: 'op' });
    const latency = families.find((f) => f.name === 'traces_spanmetrics_latency')!;
    expect(latency.type).toBe(4); // HISTOGRAM
    const h = latency.metric[0]!.histogram!;
    // By hand, schema 3 (bucket i holds (2^((i-1)/8), 2^(i/8)]): 1 ms is in bucket ceil(8·log2 0.001)
    // = ceil(-79.7) = -79, 2 ms in ceil(-71.7) = -71, 1 s in 0; 0 s in the zero bucket.
    expect([h.sampleCount, h.schema, h.zeroCount, h.zeroThreshold]).toEqual([6, 3, 1, 2 ** -128]);
    expect(h.sampleSum).toBeCloseTo(1.005, 12);
    expect(h.positiveSpan).toEqual([{ offset: -79, length: 1 }, { offset: 7, length: 1 }, { offset: 70, length: 1 }]);
    expect(h.positiveDelta).toEqual([3, -2, 0]);
    // Classic: le 0.005 holds the 0 and the four 1-2 ms spans, le 0.1 the same; +Inf is the count.
    expect(h.bucket.map((b) => [b.upperBound, b.cumulativeCount])).toEqual([[0.005, 5], [0.1, 5]]);
  });

  it('native: no classic buckets in either format (text: +Inf, sum and count)', async () => {
    const { families, text } = await render('native');
    const h = families.find((f) => f.name === 'traces_spanmetrics_latency')!.metric[0]!.histogram!;
    expect(h.bucket).toEqual([]);
    expect(h.positiveDelta).toEqual([3, -2, 0]);
    expect(text).toMatch(/traces_spanmetrics_latency_bucket\{[^}]*le="\+Inf"\} 6\n/);
    expect(text).not.toMatch(/le="0.005"/);
  });

  it('classic: no native fields', async () => {
    const { families } = await render('classic');
    const h = families.find((f) => f.name === 'traces_spanmetrics_latency')!.metric[0]!.histogram!;
    expect([h.positiveSpan, h.zeroThreshold, h.bucket.length]).toEqual([[], 0, 2]);
  });
});

if (!HAVE_PROMETHEUS && !IN_CI) console.log(`native histograms with Prometheus: skipped: ${PROMETHEUS} not found`);

describe.skipIf(!HAVE_PROMETHEUS && !IN_CI)('a real Prometheus scrapes native histograms', () => {
  let sidecar: Sidecar | undefined;
  let native: Prom | undefined;
  let classic: Prom | undefined;
  const N = 600;
  // Durations spread log-uniformly over 0.5 ms … 3 s (fixed), in ns.
  const durations: number[] = [];
  let x = 7;
  for (let i = 0; i < N; i++) {
    x = (x * 48271) % 2147483647;
    durations.push(Math.round(5e5 * 6000 ** (x / 2147483647)));
  }

  const scrape = (target: string, flags: string[]) => startPrometheus({
    flags,
    config: [
      'global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}',
      'scrape_configs:',
      '  - job_name: spanmeter',
      `    static_configs: [{targets: ['${target}']}]`,
      '',
    ].join('\n'),
  });

  beforeAll(async () => {
    if (!HAVE_PROMETHEUS) return;
    sidecar = await startSidecar({ config: { processors: ['span-metrics', 'service-graphs'], generate_native_histograms: 'both' }, label: 'native-prom' });
    const target = new URL(sidecar.httpUrl).host;
    // One Prometheus asks for the protobuf (native histograms), one for OpenMetrics (classic buckets).
    native = await scrape(target, ['--enable-feature=native-histograms']);
    classic = await scrape(target, []);
  }, 90_000);

  afterAll(async () => {
    await native?.stop();
    await classic?.stop();
    await sidecar?.stop();
  });

  test('histogram_quantile is within the schema-3 relative error of the exact quantiles; both forms count the same', async () => {
    expect(HAVE_PROMETHEUS, `${PROMETHEUS} is missing (CI is set, so this fails)`).toBe(true);
    const specs: SpanSpec[] = durations.map((ns, i) => ({ name: 'GET /q', kind: SpanKind.SERVER, start: [1_700_000_000 + i, 0], durationNs: ns }));
    const exporter = new OTLPTraceExporter({ url: `${sidecar!.otlpHttpUrl}/v1/traces` });
    try {
      await exportSpans(exporter, await makeSpans('native-svc', specs));
    } finally {
      await exporter.shutdown();
    }
    // The same durations on an edge front → back (server spans; clients 1 ms longer).
    const pairs: EdgeSpan[] = durations.flatMap((ns, i): EdgeSpan[] => [
      { trace: i + 1, id: 1, kind: 'client', service: 'front', name: 'GET /q', durMs: ns / 1e6 + 1 },
      { trace: i + 1, id: 2, parent: 1, kind: 'server', service: 'back', name: 'GET /q', durMs: ns / 1e6 },
    ]);
    const posted = await postTraces(sidecar!, edgeRequest(pairs), 'application/x-protobuf');
    expect(posted.status, posted.text).toBe(200);
    const value = async (p: Prom, q: string): Promise<number | undefined> => {
      const r = await query(p, q);
      const v = (r.data?.result[0] as { value?: [number, string] } | undefined)?.value?.[1];
      return v === undefined ? undefined : Number(v);
    };
    const deadline = Date.now() + 60_000;
    let nativeCount: number | undefined;
    let classicCount: number | undefined;
    const EDGE = 'traces_service_graph_request_server_seconds{client="front",server="back"}';
    let edgeCounts: (number | undefined)[] = [];
    while (Date.now() < deadline) {
      nativeCount = await value(native!, 'histogram_count(traces_spanmetrics_latency{service="native-svc",span_name="GET /q"})');
      classicCount = await value(classic!, 'traces_spanmetrics_latency_count{service="native-svc",span_name="GET /q"}');
      edgeCounts = [await value(native!, `histogram_count(${EDGE})`), await value(classic!, EDGE.replace('_seconds{', '_seconds_count{'))];
      if (nativeCount === N && classicCount === N && edgeCounts[0] === N && edgeCounts[1] === N) break;
      await sleep(500);
    }
    expect([nativeCount, classicCount], `native Prometheus: ${native!.output().slice(-1500)}\nsidecar: ${sidecar!.output().slice(-1500)}`).toEqual([N, N]);
    expect(edgeCounts).toEqual([N, N]);
    // The sum too, in both forms (the same observations).
    const nativeSum = await value(native!, 'histogram_sum(traces_spanmetrics_latency{service="native-svc",span_name="GET /q"})');
    const classicSum = await value(classic!, 'traces_spanmetrics_latency_sum{service="native-svc",span_name="GET /q"}');
    expect(nativeSum).toBeCloseTo(classicSum!, 9);
    // Exact quantiles (nearest rank) of the durations sent; at schema 3 a bucket spans a factor
    // 2^(1/8), so an estimate inside the rank's bucket is off by less than 2^(1/8) - 1 (9.05 %).
    const sorted = durations.map((ns) => ns / 1e9).sort((a, b) => a - b);
    const bound = 2 ** (1 / 8) - 1;
    for (const q of [0.5, 0.9, 0.95, 0.99]) {
      const exact = sorted[Math.ceil(q * N) - 1]!;
      for (const series of ['traces_spanmetrics_latency{service="native-svc",span_name="GET /q"}', EDGE]) {
        const estimate = await value(native!, `histogram_quantile(${q}, ${series})`);
        expect(Math.abs(estimate! - exact) / exact, `${series} q=${q}: ${estimate} vs exact ${exact}`).toBeLessThan(bound);
      }
    }
    // The classic buckets (Tempo's default, 2 ms · 2^k) are far coarser: shown for contrast in the
    // failure message only, not asserted.
  }, 120_000);
});
