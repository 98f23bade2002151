// The OTLP push of native histograms into the real Collector: spanmeter (generate_native_histograms:
// native) pushes ExponentialHistograms over OTLP/HTTP to the Collector's `otlp` receiver; its
// `prometheus` exporter exposes them as Prometheus native histograms, which a real Prometheus
// (--enable-feature=native-histograms) scrapes. histogram_count is the spans sent and
// histogram_quantile lies within the schema's relative error of the exact quantiles: the
// Collector and Prometheus read the data points as OTLP defines them.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { postTraces, sleep, type Sidecar } from '../support/sidecar.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import { HAVE_PROMETHEUS, query, startPrometheus, type Prom } from '../support/prometheus.js';
import { freePorts, startOtelcol, startSidecar, type Otelcol } from './support/otelcol.js';

describe.skipIf(!HAVE_PROMETHEUS)('OTLP push of exponential histograms through the Collector into Prometheus', () => {
  let spanmeter: Sidecar | undefined;
  let otelcol: Otelcol | undefined;
  let prom: Prom | undefined;
  const N = 300;
  const durationsMs: number[] = [];
  let x = 5;
  for (let i = 0; i < N; i++) {
    x = (x * 48271) % 2147483647;
    durationsMs.push(Math.round(1e6 * 2 * 1000 ** (x / 2147483647)) / 1e6); // 2 ms … 2 s
  }

  beforeAll(async () => {
    const [otlpPort, promExporterPort] = await freePorts(2);
    otelcol = await startOtelcol({
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${otlpPort}` } } } },
      exporters: { prometheus: { endpoint: `127.0.0.1:${promExporterPort}`, enable_open_metrics: true } },
      service: { pipelines: { metrics: { receivers: ['otlp'], exporters: ['prometheus'] } } },
    }, { label: 'otelcol-native' });
    spanmeter = await startSidecar({
      label: 'spanmeter-native-push',
      config: {
        processors: ['span-metrics'],
        generate_native_histograms: 'native',
        otlp_metrics: { endpoint: `http://127.0.0.1:${otlpPort}`, protocol: 'http/protobuf', interval: '1s' },
      },
    });
    prom = await startPrometheus({
      flags: ['--enable-feature=native-histograms'],
      config: [
        'global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}',
        'scrape_configs:',
        '  - job_name: otelcol',
        `    static_configs: [{targets: ['127.0.0.1:${promExporterPort}']}]`,
        '',
      ].join('\n'),
    });
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await spanmeter?.stop();
    await otelcol?.stop();
  });

  test('histogram_count and histogram_quantile of what the Collector exposes', async () => {
    const spans: SpanSpec[] = durationsMs.map((ms, i) => ({ trace: i + 1, id: 1, kind: 'server', service: 'shop', name: 'GET /p', durMs: ms }));
    const r = await postTraces(spanmeter!, request(spans), 'application/x-protobuf');
    expect(r.status, r.text).toBe(200);
    const value = async (q: string): Promise<number | undefined> => {
      const v = ((await query(prom!, q)).data?.result[0] as { value?: [number, string] } | undefined)?.value?.[1];
      return v === undefined ? undefined : Number(v);
    };
    const SERIES = 'traces_spanmetrics_latency{service="shop",span_name="GET /p"}';
    const deadline = Date.now() + 60_000;
    let count: number | undefined;
    while (Date.now() < deadline) {
      count = await value(`histogram_count(${SERIES})`);
      if (count === N) break;
      await sleep(500);
    }
    expect(count, `otelcol: ${otelcol!.logs().slice(-2000)}\nprometheus: ${prom!.output().slice(-1000)}`).toBe(N);
    const sorted = durationsMs.map((ms) => ms / 1000).sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.ceil(q * N) - 1]!;
      const estimate = await value(`histogram_quantile(${q}, ${SERIES})`);
      // Schema 3 (the default factor 1.1): within 2^(1/8) - 1 of the exact nearest-rank quantile.
      expect(Math.abs(estimate! - exact) / exact, `q=${q}: ${estimate} vs ${exact}`).toBeLessThan(2 ** (1 / 8) - 1);
    }
  }, 120_000);
});
