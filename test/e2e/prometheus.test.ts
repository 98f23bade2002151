// End to end with a real Prometheus (Debian package `prometheus`, /usr/bin/prometheus): it
// scrapes the sidecar's /metrics every second (negotiating the format itself); 37 spans sent with
// the OTLP/HTTP protobuf exporter must show up as sum(traces_spanmetrics_calls_total) == 37.
// Without the binary the test fails when CI is set and is skipped (with a note) otherwise.
// PROMETHEUS_BIN overrides the binary's path.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportSpans, makeSpans, SpanKind, type SpanSpec } from '../support/otel.js';
import { sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { HAVE_PROMETHEUS, IN_CI, PROMETHEUS, query, startPrometheus, type Prom } from '../support/prometheus.js';

const N = 37;

if (!HAVE_PROMETHEUS && !IN_CI) {
  console.log(`prometheus e2e: skipped: ${PROMETHEUS} not found (apt-get install prometheus; CI fails instead of skipping)`);
}

/** A Prometheus scraping `target` (host:port) every second. */
function scraping(target: string): Promise<Prom> {
  return startPrometheus({
    config: [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: spanmeter',
      '    metrics_path: /metrics',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  });
}

async function targetHealth(prom: Prom): Promise<string> {
  try {
    const res = await fetch(`${prom.url}/api/v1/targets`, { signal: AbortSignal.timeout(5000) });
    const j = (await res.json()) as { data?: { activeTargets?: { scrapeUrl: string; health: string; lastError: string }[] } };
    return (j.data?.activeTargets ?? []).map((t) => `${t.scrapeUrl}: ${t.health} ${t.lastError}`).join('; ');
  } catch (e) {
    return `(targets unavailable: ${(e as Error).message})`;
  }
}

describe.skipIf(!HAVE_PROMETHEUS && !IN_CI)('real Prometheus scrapes the sidecar', () => {
  let sidecar: Sidecar | undefined;
  let prom: Prom | undefined;

  beforeAll(async () => {
    if (!HAVE_PROMETHEUS) return;
    sidecar = await startSidecar({
      config: { processors: ['span-metrics'], processor: { span_metrics: { dimensions: ['http.method'] } } },
      label: 'prometheus-e2e',
    });
    prom = await scraping(new URL(sidecar.httpUrl).host);
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await sidecar?.stop();
  });

  test(`sum(traces_spanmetrics_calls_total) reaches exactly ${N}`, async () => {
    expect(HAVE_PROMETHEUS, `${PROMETHEUS} is missing (CI is set, so this fails): apt-get install prometheus`).toBe(true);
    const s = sidecar!;
    const p = prom!;
    // 37 spans over three series: 20 GET /a, 10 POST /a (both SERVER), 7 INTERNAL work
    const specs: SpanSpec[] = [];
    for (let i = 0; i < N; i++) {
      const kind = i < 30 ? SpanKind.SERVER : SpanKind.INTERNAL;
      const name = i < 20 ? 'GET /a' : i < 30 ? 'POST /a' : 'work';
      specs.push({
        name,
        kind,
        start: [1_700_000_000 + i, 0],
        durationNs: 1_000_000 * (i + 1),
        attributes: i < 30 ? { 'http.method': i < 20 ? 'GET' : 'POST' } : {},
      });
    }
    const exporter = new OTLPTraceExporter({ url: `${s.otlpHttpUrl}/v1/traces` });
    try {
      await exportSpans(exporter, await makeSpans('prom-e2e', specs));
    } finally {
      await exporter.shutdown();
    }

    const deadline = Date.now() + 60_000;
    let last = '';
    let value: number | undefined;
    while (Date.now() < deadline) {
      const r = await query(p, 'sum(traces_spanmetrics_calls_total)');
      last = JSON.stringify(r);
      const v = (r.data?.result[0] as { value?: [number, string] } | undefined)?.value?.[1];
      if (v !== undefined) {
        value = Number(v);
        if (value === N) break;
      }
      await sleep(500);
    }
    expect(value, `last answer: ${last}; targets: ${await targetHealth(p)}\nsidecar output:\n${s.output().slice(-2000)}\nprometheus output:\n${p.output().slice(-2000)}`).toBe(N);

    // the per-series counts, written by hand from the specs above
    const r = await query(p, 'sum by (span_name, span_kind, http_method) (traces_spanmetrics_calls_total)');
    const got = ((r.data?.result ?? []) as { metric: Record<string, string>; value: [number, string] }[])
      .map((x) => `${x.metric.span_name}|${x.metric.span_kind}|${x.metric.http_method ?? ''}=${x.value[1]}`)
      .sort();
    expect(got).toEqual(['GET /a|SPAN_KIND_SERVER|GET=20', 'POST /a|SPAN_KIND_SERVER|POST=10', 'work|SPAN_KIND_INTERNAL|=7']);
    // the scrape itself is healthy
    const up = await query(p, 'up{job="spanmeter"}');
    expect((up.data?.result[0] as { value: [number, string] } | undefined)?.value[1]).toBe('1');
  }, 90_000);
});
