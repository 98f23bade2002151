// The real OpenTelemetry Collector in front of spanmeter, configured as README "Sending traces to
// spanmeter" tells users to: an `otlp` receiver, and an `otlp/spanmeter` exporter with
// `endpoint` and `tls.insecure: true` only, so everything else is the exporter's default:
// OTLP/gRPC, gzip compression, sending queue on, retry on failure on.
//
// Traces reach the Collector two ways, each with a count known without spanmeter:
//   - the OpenTelemetry JS SDK's OTLP/gRPC exporter: SDK_SPANS spans made here, of which
//     SDK_ERRORS have status ERROR;
//   - raw OTLP/HTTP protobuf requests of the bench workload (src/workload/workload.ts: its
//     generator counts the spans it encodes, spanCounts).
// Then: spanmeter's traces_spanmetrics_calls_total summed = the spans sent = the spans the
// Collector says it accepted (its own otelcol_receiver_accepted_spans, read from its telemetry
// endpoint) = the spans its exporter says it sent (otelcol_exporter_sent_spans).
// A second Collector sends to a port where spanmeter only starts after the spans arrived: the
// sending queue and retries deliver them, each counted once.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateWorkload } from '../../src/workload/workload.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { exportSpans, makeSpans, SpanKind, SpanStatusCode, type SpanSpec } from '../support/otel.js';
import { fetchMetricsText, postTraces, sleep, type Sidecar } from '../support/sidecar.js';
import {
  freePorts, otelcolTelemetry, startOtelcol, startSidecar, telemetryConfig, telemetrySum, type Otelcol,
} from './support/otelcol.js';

const SDK_SPANS = 40;
const SDK_ERRORS = 10; // every 4th span
const WORKLOAD = { seed: 16, batches: 20, spansPerBatch: 50 };

/** The sum of one family's samples in a text exposition, filtered by labels. */
function sum(text: string, name: string, labels: Record<string, string> = {}): number {
  return parsePrometheusText(text)
    .samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

describe('the Collector in front of spanmeter (README "Sending traces to spanmeter")', () => {
  let spanmeter: Sidecar | undefined;
  let otelcol: Otelcol | undefined;
  let telemetryPort = 0;
  let otlpHttpUrl = '';
  let grpcUrl = '';
  const workload = generateWorkload(WORKLOAD);
  const workloadSpans = workload.spanCounts.reduce((a, b) => a + b, 0);
  const total = SDK_SPANS + workloadSpans;

  beforeAll(async () => {
    spanmeter = await startSidecar({
      config: { processors: ['span-metrics', 'service-graphs'] },
      grpc: true,
      label: 'spanmeter',
    });
    const [grpcPort, httpPort, tPort] = await freePorts(3);
    telemetryPort = tPort!;
    otlpHttpUrl = `http://127.0.0.1:${httpPort}`;
    grpcUrl = `http://127.0.0.1:${grpcPort}`;
    otelcol = await startOtelcol(
      {
        receivers: {
          otlp: {
            protocols: {
              grpc: { endpoint: `127.0.0.1:${grpcPort}` },
              http: { endpoint: `127.0.0.1:${httpPort}` },
            },
          },
        },
        exporters: {
          // README's block, verbatim but for the address: gzip, the sending queue and retries are
          // the otlp exporter's defaults (its README: compression gzip, sending_queue.enabled
          // true, retry_on_failure.enabled true)
          'otlp/spanmeter': { endpoint: spanmeter.grpcEndpoint, tls: { insecure: true } },
        },
        service: {
          telemetry: telemetryConfig(telemetryPort),
          pipelines: { traces: { receivers: ['otlp'], exporters: ['otlp/spanmeter'] } },
        },
      },
      { label: 'collector' },
    );
  }, 120_000);

  afterAll(async () => {
    await otelcol?.stop();
    await spanmeter?.stop();
  });

  test('every span sent through the Collector is counted once by spanmeter', async () => {
    // 1. the JS SDK's OTLP/gRPC exporter → the Collector's gRPC receiver
    const t0 = Math.floor(Date.now() / 1000) - 60;
    const specs: SpanSpec[] = Array.from({ length: SDK_SPANS }, (_, i) => ({
      name: i % 2 ? 'GET /cart' : 'POST /checkout',
      kind: SpanKind.SERVER,
      start: [t0 + i, 0],
      durationNs: 1_000_000 * (i + 1),
      status: i % 4 === 3 ? { code: SpanStatusCode.ERROR, message: 'boom' } : undefined,
    }));
    const exporter = new OTLPTraceExporter({ url: grpcUrl });
    await exportSpans(exporter, await makeSpans('sdk-checkout', specs));
    await exporter.shutdown();

    // 2. raw OTLP/HTTP protobuf requests of the bench workload → the Collector's HTTP receiver
    for (const body of workload.batches) {
      const res = await postTraces({ otlpHttpUrl }, body, 'application/x-protobuf');
      expect(res.status, res.text).toBe(200);
    }

    // the exporter's queue drains asynchronously: wait until spanmeter has them all
    let metrics = '';
    const deadline = Date.now() + 60_000;
    for (;;) {
      metrics = (await fetchMetricsText(spanmeter!)).text;
      if (sum(metrics, 'traces_spanmetrics_calls_total') >= total || Date.now() > deadline) break;
      await sleep(200);
    }
    await sleep(1000); // anything beyond `total` (a duplicate from a retry) would show by now
    metrics = (await fetchMetricsText(spanmeter!)).text;
    const telemetry = await otelcolTelemetry(telemetryPort);
    const context = `\ncollector logs:\n${otelcol!.logs().slice(-3000)}\nspanmeter:\n${spanmeter!.output().slice(-2000)}`;

    // the count known independently: 40 SDK spans + the workload's spans (generator's count)
    expect(workloadSpans).toBe(WORKLOAD.batches * WORKLOAD.spansPerBatch);
    // the Collector's own account
    const accepted = telemetrySum(telemetry, 'otelcol_receiver_accepted_spans', { receiver: 'otlp' });
    expect(accepted, `otelcol_receiver_accepted_spans${context}`).toBe(total);
    expect(telemetrySum(telemetry, 'otelcol_receiver_accepted_spans', { receiver: 'otlp', transport: 'grpc' })).toBe(SDK_SPANS);
    expect(telemetrySum(telemetry, 'otelcol_receiver_accepted_spans', { receiver: 'otlp', transport: 'http' })).toBe(workloadSpans);
    expect(telemetrySum(telemetry, 'otelcol_receiver_refused_spans', { receiver: 'otlp' })).toBe(0);
    expect(telemetrySum(telemetry, 'otelcol_exporter_sent_spans', { exporter: 'otlp/spanmeter' }), context).toBe(total);
    expect(telemetrySum(telemetry, 'otelcol_exporter_send_failed_spans', { exporter: 'otlp/spanmeter' })).toBe(0);

    // spanmeter's: every accepted span counted exactly once
    expect(sum(metrics, 'traces_spanmetrics_calls_total'), context).toBe(accepted);
    expect(sum(metrics, 'spanmeter_spans_accepted_total')).toBe(total);
    expect(sum(metrics, 'spanmeter_requests_total', { protocol: 'grpc', code: 'OK' })).toBeGreaterThan(0);
    expect(sum(metrics, 'spanmeter_spans_rejected_total')).toBe(0);
    // the SDK's spans by series: 20 of each name, every 4th (10) an error (the specs above)
    const sdk = (name: string, status: string): number =>
      sum(metrics, 'traces_spanmetrics_calls_total', { service: 'sdk-checkout', span_name: name, status_code: status });
    expect(sdk('POST /checkout', 'STATUS_CODE_UNSET') + sdk('GET /cart', 'STATUS_CODE_UNSET')).toBe(SDK_SPANS - SDK_ERRORS);
    expect(sdk('GET /cart', 'STATUS_CODE_ERROR')).toBe(SDK_ERRORS); // i % 4 == 3 is odd: GET /cart
    expect(sdk('POST /checkout', 'STATUS_CODE_ERROR')).toBe(0);
  });
});

describe('the Collector in front of spanmeter: spans sent while spanmeter is down', () => {
  let spanmeter: Sidecar | undefined;
  let otelcol: Otelcol | undefined;
  afterAll(async () => {
    await otelcol?.stop();
    await spanmeter?.stop();
  });

  test('wait in the sending queue, are retried, and are counted exactly once when it comes up', async () => {
    const [grpcPort, httpPort, telemetryPort, spanmeterGrpc] = await freePorts(4);
    // the same README exporter block, pointed at a port where nothing listens yet
    otelcol = await startOtelcol(
      {
        receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpcPort}` }, http: { endpoint: `127.0.0.1:${httpPort}` } } } },
        exporters: { 'otlp/spanmeter': { endpoint: `127.0.0.1:${spanmeterGrpc}`, tls: { insecure: true } } },
        service: {
          telemetry: telemetryConfig(telemetryPort!),
          pipelines: { traces: { receivers: ['otlp'], exporters: ['otlp/spanmeter'] } },
        },
      },
      { label: 'collector (spanmeter down)' },
    );
    const w = generateWorkload({ seed: 61, batches: 5, spansPerBatch: 50 });
    const sent = w.spanCounts.reduce((a, b) => a + b, 0);
    expect(sent).toBe(250); // 5 × 50: the generator fills every batch
    for (const body of w.batches) {
      const res = await postTraces({ otlpHttpUrl: `http://127.0.0.1:${httpPort}` }, body, 'application/x-protobuf');
      expect(res.status, res.text).toBe(200);
    }
    // the Collector accepted them and could not deliver them yet: they wait (queue or retry)
    const t0 = await otelcolTelemetry(telemetryPort!);
    expect(telemetrySum(t0, 'otelcol_receiver_accepted_spans', { receiver: 'otlp' })).toBe(sent);
    expect(telemetrySum(t0, 'otelcol_exporter_sent_spans', { exporter: 'otlp/spanmeter' })).toBe(0);
    await sleep(1500);
    expect(otelcol.logs(), 'the exporter reported the failed export').toMatch(/Exporting failed\. Will retry|connection refused/);

    spanmeter = await startSidecar({ config: { processors: ['span-metrics'] }, grpc: true, grpcPort: spanmeterGrpc, label: 'spanmeter (late)' });
    let metrics = '';
    const deadline = Date.now() + 90_000;
    while (sum(metrics, 'traces_spanmetrics_calls_total') < sent && Date.now() < deadline) {
      await sleep(500);
      metrics = (await fetchMetricsText(spanmeter)).text;
    }
    await sleep(1000);
    metrics = (await fetchMetricsText(spanmeter)).text;
    const t1 = await otelcolTelemetry(telemetryPort!);
    const context = `\ncollector logs:\n${otelcol.logs().slice(-3000)}`;
    expect(sum(metrics, 'traces_spanmetrics_calls_total'), context).toBe(sent);
    expect(telemetrySum(t1, 'otelcol_exporter_sent_spans', { exporter: 'otlp/spanmeter' }), context).toBe(sent);
    expect(telemetrySum(t1, 'otelcol_exporter_send_failed_spans', { exporter: 'otlp/spanmeter' })).toBe(0);
  }, 150_000);
});
