// Service graphs end to end with the real OpenTelemetry JS SDK: one BasicTracerProvider per
// service (frontend, checkout, shipping), spans parented across services through explicit
// contexts, fixed start/end times, exported by the real OTLP/HTTP protobuf exporter (one
// BatchSpanProcessor per service, as separate processes would) to a sidecar running only the
// service-graphs processor. Then exact /metrics values.
//
//   frontend  --client-->  checkout (server; ERROR in trace 2)
//   checkout  --client-->  pg-main  (db.system.name=postgresql, db.namespace=orders, server.address=pg-main)
//   checkout  --producer-> shipping (consumer), 125 ms in the queue
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type HrTime, type Span } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkMetrics, type CaseExpect } from '../support/conformance.js';
import { fetchMetricsText, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';

const TRACES = 5;
const FAILED_TRACE = 2;
const T0 = 1_700_000_000; // s

/** base + ms (ms exact to the ns), as HrTime. */
function at(base: number, ms: number): HrTime {
  const ns = Math.round(ms * 1e6);
  return [base + Math.floor(ns / 1e9), ns % 1e9];
}

/** An exporter that remembers every export result, so a failed export fails the test. */
class Recording implements SpanExporter {
  readonly results: ExportResult[] = [];
  spans = 0;
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.spans += spans.length;
    this.inner.export(spans, (r) => {
      this.results.push(r);
      done(r);
    });
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

interface Service {
  provider: BasicTracerProvider;
  exporter: Recording;
}

function service(name: string, url: string): Service {
  const exporter = new Recording(new OTLPTraceExporter({ url }));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': name }),
    spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 1000, scheduledDelayMillis: 60_000 })],
  });
  return { provider, exporter };
}

function span(
  s: Service, name: string, kind: SpanKind, parent: Span | undefined, start: HrTime, end: HrTime,
  attributes?: Attributes, error = false,
): Span {
  const tracer = s.provider.getTracer('spanmeter-sg-e2e', '1.0.0');
  const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
  const sp = tracer.startSpan(name, { kind, startTime: start, attributes }, ctx);
  if (error) sp.setStatus({ code: SpanStatusCode.ERROR, message: 'payment declined' });
  sp.end(end);
  return sp;
}

// Per trace i (all times from base = T0 + 10·i s):
//   frontend client   0 ms, 500 + 125·i ms
//   checkout server   62.5 ms, 375 + 125·i ms
//   checkout db       125 ms, 62.5 ms
//   checkout producer 250 ms, 31.25 ms (ends at 281.25)
//   shipping consumer 406.25 ms, 250 ms (starts 125 ms after the producer ended)
function traceOnce(i: number, frontend: Service, checkout: Service, shipping: Service): void {
  const base = T0 + 10 * i;
  const clientMs = 500 + 125 * i;
  const root = frontend.provider.getTracer('spanmeter-sg-e2e').startSpan(
    'POST /checkout', { kind: SpanKind.CLIENT, startTime: at(base, 0), attributes: { 'http.request.method': 'POST' } }, context.active(),
  );
  const server = span(checkout, 'POST /checkout', SpanKind.SERVER, root, at(base, 62.5), at(base, 62.5 + clientMs - 125), undefined, i === FAILED_TRACE);
  span(checkout, 'INSERT orders', SpanKind.CLIENT, server, at(base, 125), at(base, 187.5), {
    'db.system.name': 'postgresql', 'db.namespace': 'orders', 'server.address': 'pg-main',
  });
  const producer = span(checkout, 'orders publish', SpanKind.PRODUCER, server, at(base, 250), at(base, 281.25), {
    'messaging.system': 'kafka', 'messaging.destination.name': 'orders',
  });
  span(shipping, 'orders process', SpanKind.CONSUMER, producer, at(base, 406.25), at(base, 656.25), {
    'messaging.system': 'kafka', 'messaging.destination.name': 'orders',
  });
  // the root span ends last, as a real client would
  root.end(at(base, clientMs));
}

const LE = ['0.1', '0.2', '0.4', '0.8', '1.6', '3.2', '6.4', '12.8', '+Inf'];

function histogram(name: string, labels: Record<string, string>, cumulative: number[], sum: number): CaseExpect[] {
  return [
    ...LE.map((le, k) => ({ metric: `${name}_bucket`, labels: { ...labels, le }, value: cumulative[k]! })),
    { metric: `${name}_sum`, labels, value: sum },
    { metric: `${name}_count`, labels, value: cumulative[LE.length - 1]! },
  ];
}

const SG = 'traces_service_graph_request';
const http = { client: 'frontend', server: 'checkout' };
const db = { client: 'checkout', server: 'pg-main', connection_type: 'database' };
const mq = { client: 'checkout', server: 'shipping', connection_type: 'messaging_system' };

const expected: CaseExpect[] = [
  { metric: `${SG}_total`, labels: http, value: 5 },
  { metric: `${SG}_failed_total`, labels: http, value: 1 },
  // server 375, 500, 625, 750, 875 ms
  ...histogram(`${SG}_server_seconds`, http, [0, 0, 1, 4, 5, 5, 5, 5, 5], 3.125),
  // client 500, 625, 750, 875, 1000 ms
  ...histogram(`${SG}_client_seconds`, http, [0, 0, 0, 3, 5, 5, 5, 5, 5], 3.75),
  { metric: `${SG}_total`, labels: db, value: 5 },
  // the database span's duration is both latencies
  ...histogram(`${SG}_server_seconds`, db, [5, 5, 5, 5, 5, 5, 5, 5, 5], 0.3125),
  ...histogram(`${SG}_client_seconds`, db, [5, 5, 5, 5, 5, 5, 5, 5, 5], 0.3125),
  { metric: `${SG}_total`, labels: mq, value: 5 },
  ...histogram(`${SG}_server_seconds`, mq, [0, 0, 5, 5, 5, 5, 5, 5, 5], 1.25),
  ...histogram(`${SG}_client_seconds`, mq, [5, 5, 5, 5, 5, 5, 5, 5, 5], 0.15625),
  ...histogram(`${SG}_messaging_system_seconds`, mq, [0, 5, 5, 5, 5, 5, 5, 5, 5], 0.625),
  // everything paired: nothing waits
  { metric: 'spanmeter_edge_store_size', labels: {}, value: 0 },
];

describe('OpenTelemetry JS SDK → OTLP/HTTP protobuf → sidecar (service graphs)', () => {
  let sidecar: Sidecar;
  beforeAll(async () => {
    sidecar = await startSidecar({
      label: 'servicegraphs-sdk-e2e',
      config: {
        processors: ['service-graphs'],
        processor: { service_graphs: { enable_messaging_system_latency_histogram: true } },
      },
    });
  });
  afterAll(async () => {
    await sidecar?.stop();
  });

  test('three services, five traces: exact edges, failures and latencies', async () => {
    const url = `${sidecar.otlpHttpUrl}/v1/traces`;
    const services = [service('frontend', url), service('checkout', url), service('shipping', url)];
    const [frontend, checkout, shipping] = services as [Service, Service, Service];
    for (let i = 0; i < TRACES; i++) traceOnce(i, frontend, checkout, shipping);
    // each service exports its batch (the order requests arrive in does not matter)
    await Promise.all(services.map((s) => s.provider.forceFlush()));
    await Promise.all(services.map((s) => s.provider.shutdown()));
    expect(services.map((s) => s.exporter.spans)).toEqual([5, 15, 5]);
    for (const s of services) {
      expect(s.exporter.results.length).toBeGreaterThan(0);
      for (const r of s.exporter.results) expect(r.code, r.error?.message).toBe(0);
    }

    const check = {
      expect: expected,
      absent: [
        { metric: 'traces_service_graph_unpaired_spans_total' },
        { metric: 'traces_service_graph_dropped_spans_total' },
        { metric: `${SG}_failed_total`, labels: { client: 'checkout' } },
      ],
      exhaustive: [`${SG}_total`, `${SG}_failed_total`, `${SG}_messaging_system_seconds_count`],
    };
    // completed edges are visible within 1 s of the answer
    let failures: string[] = [];
    let text = '';
    for (let k = 0; k < 20; k++) {
      text = (await fetchMetricsText(sidecar)).text;
      failures = checkMetrics(check, text).failures;
      if (failures.length === 0) break;
      await sleep(100);
    }
    expect(failures, `${failures.join('\n')}\n/metrics:\n${text}\nsidecar output:\n${sidecar.output().slice(-2000)}`).toEqual([]);
  });
});
