// End to end with the real OpenTelemetry JS exporters: OTLP/HTTP protobuf, OTLP/HTTP JSON and
// OTLP/gRPC, each with and without gzip, into one sidecar; then exact /metrics samples per
// exporter (each exporter uses its own service name). Then bad input over HTTP against a second
// sidecar: the right status with a reason, the process still healthy, /metrics unchanged.
import { gzipSync } from 'node:zlib';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkMetrics, showSeries, type CaseExpect } from '../support/conformance.js';
import { encodeRequest, hexToBytes, u64, type Msg } from '../support/otlp-input.js';
import { exportSpans, makeSpans, SpanKind, SpanStatusCode, type SpanSpec } from '../support/otel.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { fetchMetricsText, healthz, postTraces, sleep, startSidecar, type PostResult, type Sidecar } from '../support/sidecar.js';

const GZIP = 'gzip' as unknown as CompressionAlgorithm;

// Per service: four server spans GET /items (http.method=GET) lasting 5 ms, 50 ms, 500 ms and
// 2 s, and one client span SELECT items with status ERROR lasting exactly 10 ms (on the 0.01
// bound: le is inclusive).
const T0 = 1_700_000_000; // seconds
function specs(): SpanSpec[] {
  const server = (i: number, durationNs: number): SpanSpec => ({
    name: 'GET /items',
    kind: SpanKind.SERVER,
    start: [T0 + i, 123_456_789],
    durationNs,
    attributes: { 'http.method': 'GET', 'http.route': '/items' },
  });
  return [
    server(0, 5_000_000),
    server(1, 50_000_000),
    server(2, 500_000_000),
    server(3, 2_000_000_000),
    {
      name: 'SELECT items',
      kind: SpanKind.CLIENT,
      start: [T0 + 4, 999_999_999],
      durationNs: 10_000_000,
      attributes: { 'db.system': 'postgresql' },
      status: { code: SpanStatusCode.ERROR, message: 'connection reset' },
    },
  ];
}

/** The exact samples one service must show (written by hand from the specs above). */
function expected(service: string): CaseExpect[] {
  const srv = { service, span_name: 'GET /items', span_kind: 'SPAN_KIND_SERVER', status_code: 'STATUS_CODE_UNSET', http_method: 'GET' };
  const cli = { service, span_name: 'SELECT items', span_kind: 'SPAN_KIND_CLIENT', status_code: 'STATUS_CODE_ERROR' };
  return [
    { metric: 'traces_spanmetrics_calls_total', labels: srv, value: 4 },
    { metric: 'traces_spanmetrics_latency_bucket', labels: { ...srv, le: '0.01' }, value: 1 },
    { metric: 'traces_spanmetrics_latency_bucket', labels: { ...srv, le: '0.1' }, value: 2 },
    { metric: 'traces_spanmetrics_latency_bucket', labels: { ...srv, le: '1' }, value: 3 },
    { metric: 'traces_spanmetrics_latency_bucket', labels: { ...srv, le: '+Inf' }, value: 4 },
    { metric: 'traces_spanmetrics_latency_count', labels: srv, value: 4 },
    { metric: 'traces_spanmetrics_latency_sum', labels: srv, value: 2.555 },
    { metric: 'traces_spanmetrics_calls_total', labels: cli, value: 1 },
    { metric: 'traces_spanmetrics_latency_bucket', labels: { ...cli, le: '0.01' }, value: 1 },
    { metric: 'traces_spanmetrics_latency_bucket', labels: { ...cli, le: '0.1' }, value: 1 },
    { metric: 'traces_spanmetrics_latency_bucket', labels: { ...cli, le: '1' }, value: 1 },
    { metric: 'traces_spanmetrics_latency_bucket', labels: { ...cli, le: '+Inf' }, value: 1 },
    { metric: 'traces_spanmetrics_latency_count', labels: cli, value: 1 },
    { metric: 'traces_spanmetrics_latency_sum', labels: cli, value: 0.01 },
  ];
}

const SPAN_METRICS_CONFIG = {
  processors: ['span-metrics'],
  processor: { span_metrics: { histogram_buckets: [0.01, 0.1, 1], dimensions: ['http.method'] } },
};

interface Variant {
  service: string;
  make(s: Sidecar): SpanExporter;
}
const variants: Variant[] = [
  { service: 'e2e-http-proto', make: (s) => new ProtoExporter({ url: `${s.otlpHttpUrl}/v1/traces` }) },
  { service: 'e2e-http-proto-gzip', make: (s) => new ProtoExporter({ url: `${s.otlpHttpUrl}/v1/traces`, compression: GZIP }) },
  { service: 'e2e-http-json', make: (s) => new JsonExporter({ url: `${s.otlpHttpUrl}/v1/traces` }) },
  { service: 'e2e-http-json-gzip', make: (s) => new JsonExporter({ url: `${s.otlpHttpUrl}/v1/traces`, compression: GZIP }) },
  { service: 'e2e-grpc', make: (s) => new GrpcExporter({ url: `http://${s.grpcEndpoint}` }) },
  { service: 'e2e-grpc-gzip', make: (s) => new GrpcExporter({ url: `http://${s.grpcEndpoint}`, compression: GZIP }) },
];

/** Checks the samples of one service: expected values, nothing else in calls_total, size > 0. */
function serviceFailures(metricsText: string, service: string): string[] {
  const exp = expected(service);
  const failures = checkMetrics({ expect: exp, absent: [], exhaustive: [] }, metricsText).failures;
  const expo = parsePrometheusText(metricsText);
  const mine = (name: string) => expo.samples.filter((s) => s.name === name && s.labels.service === service);
  const calls = mine('traces_spanmetrics_calls_total');
  if (calls.length !== 2) {
    failures.push(`${service}: ${calls.length} calls_total series, want 2: ${calls.map((s) => showSeries(s.name, s.labels)).join('; ')}`);
  }
  const sizes = mine('traces_spanmetrics_size_total');
  if (sizes.length !== 2 || sizes.some((s) => !(s.value > 0))) {
    failures.push(`${service}: traces_spanmetrics_size_total: want 2 series > 0, got ${sizes.map((s) => `${showSeries(s.name, s.labels)} ${s.value}`).join('; ') || 'none'}`);
  }
  return failures;
}

describe('real OpenTelemetry exporters → sidecar', () => {
  let sidecar: Sidecar;
  beforeAll(async () => {
    sidecar = await startSidecar({ config: SPAN_METRICS_CONFIG, grpc: true, label: 'otel-exporters' });
  });
  afterAll(async () => {
    await sidecar?.stop();
  });

  for (const v of variants) {
    test(v.service, async () => {
      const exporter = v.make(sidecar);
      try {
        await exportSpans(exporter, await makeSpans(v.service, specs()));
      } finally {
        await exporter.shutdown();
      }
      // visible within 1 s of the answer
      let failures: string[] = [];
      for (let i = 0; i < 20; i++) {
        failures = serviceFailures((await fetchMetricsText(sidecar)).text, v.service);
        if (failures.length === 0) break;
        await sleep(100);
      }
      expect(failures, `${failures.join('\n')}\nsidecar output:\n${sidecar.output().slice(-2000)}`).toEqual([]);
    });
  }
});

// ---------------------------------------------------------------------------------------------

// google.rpc.Status, the body of an OTLP/HTTP error answer in protobuf
const RpcStatus = protobuf.Root.fromJSON({
  nested: {
    Status: {
      fields: {
        code: { type: 'int32', id: 1 },
        message: { type: 'string', id: 2 },
      },
    },
  },
}).lookupType('Status');

/** The reason an error answer gives: google.rpc.Status.message, a JSON message, or the text. */
function reasonOf(res: PostResult): string {
  if (res.contentType.startsWith('application/x-protobuf') || res.contentType.startsWith('application/protobuf')) {
    try {
      const st = RpcStatus.toObject(RpcStatus.decode(res.body)) as { message?: string };
      return st.message ?? '';
    } catch {
      return '';
    }
  }
  if (res.contentType.startsWith('application/json')) {
    try {
      const j = JSON.parse(res.text) as { message?: unknown };
      return typeof j.message === 'string' ? j.message : '';
    } catch {
      return '';
    }
  }
  return res.text.trim();
}

function span(name: string, extra: Msg = {}): Msg {
  return {
    traceId: hexToBytes('0102030405060708090a0b0c0d0e0f10'),
    spanId: hexToBytes('0102030405060708'),
    name,
    kind: 2,
    startTimeUnixNano: u64('1700000000000000000'),
    endTimeUnixNano: u64('1700000000001000000'),
    ...extra,
  };
}
function request(service: string, spans: Msg[]): Msg {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 'e2e' }, spans }],
      },
    ],
  };
}

const spanMetricLines = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('traces_spanmetrics_'))
    .sort();

describe('bad input over OTLP/HTTP', () => {
  let sidecar: Sidecar;
  let baseline: string[];
  beforeAll(async () => {
    sidecar = await startSidecar({
      config: { ...SPAN_METRICS_CONFIG, otlp: { max_request_body_size: 1024 * 1024 } },
      label: 'bad-input',
    });
    const ok = await postTraces(sidecar, encodeRequest(request('bad-input-baseline', [span('ok')])), 'application/x-protobuf');
    if (ok.status !== 200) throw new Error(`baseline POST: status ${ok.status}: ${ok.text}`);
    await sleep(200);
    baseline = spanMetricLines((await fetchMetricsText(sidecar)).text);
    if (!baseline.some((l) => l.includes('bad-input-baseline'))) {
      throw new Error(`baseline span not in /metrics:\n${baseline.join('\n')}`);
    }
  });
  afterAll(async () => {
    await sidecar?.stop();
  });

  const valid = encodeRequest(request('bad-input-victim', [span('a'), span('b')]));
  const big = encodeRequest(request('bad-input-victim', [span('x'.repeat(1536 * 1024))]));

  const cases: { what: string; body: Uint8Array | string; contentType: string; headers?: Record<string, string>; status: number }[] = [
    { what: 'truncated protobuf', body: valid.subarray(0, Math.floor(valid.length / 2)), contentType: 'application/x-protobuf', status: 400 },
    // ExportTraceServiceRequest.resource_spans (field 1) sent as a varint instead of a message
    { what: 'wrong wire type (resource_spans as varint)', body: Uint8Array.from([0x08, 0x96, 0x01]), contentType: 'application/x-protobuf', status: 400 },
    {
      // Span.start_time_unix_nano (field 7, fixed64) sent as a varint
      what: 'wrong wire type (start_time_unix_nano as varint)',
      body: wrongWireTypeSpan(),
      contentType: 'application/x-protobuf',
      status: 400,
    },
    { what: 'invalid JSON', body: '{"resourceSpans": [ {"scopeSpans": ', contentType: 'application/json', status: 400 },
    {
      what: 'gzip that expands past max_request_body_size (1 MiB)',
      body: gzipSync(big, { level: 9 }),
      contentType: 'application/x-protobuf',
      headers: { 'Content-Encoding': 'gzip' },
      status: 413,
    },
    {
      // the answer comes before the upload: a client sending without Expect gets the connection
      // closed under its upload (EPIPE) before it reads the 413
      what: 'plain body past max_request_body_size (1 MiB), Expect: 100-continue',
      body: big,
      contentType: 'application/x-protobuf',
      headers: { Expect: '100-continue' },
      status: 413,
    },
    { what: 'wrong content type (text/plain)', body: valid, contentType: 'text/plain', status: 415 },
  ];

  for (const c of cases) {
    test(`${c.what} → ${c.status}`, async () => {
      const res = await postTraces(sidecar, c.body, c.contentType, c.headers);
      expect(res.status, `answer: ${res.status} ${res.contentType} ${res.text.slice(0, 300)}`).toBe(c.status);
      expect(reasonOf(res), `no reason in the answer (${res.contentType}): ${JSON.stringify(res.text.slice(0, 300))}`).not.toBe('');
      expect(await healthz(sidecar), `sidecar output:\n${sidecar.output().slice(-2000)}`).toBe(200);
      expect(sidecar.alive()).toBe(true);
      expect(spanMetricLines((await fetchMetricsText(sidecar)).text)).toEqual(baseline);
    });
  }

  test('a valid request is still accepted afterwards', async () => {
    const res = await postTraces(sidecar, valid, 'application/x-protobuf');
    expect(res.status).toBe(200);
    await sleep(200);
    const lines = spanMetricLines((await fetchMetricsText(sidecar)).text);
    expect(lines.some((l) => l.startsWith('traces_spanmetrics_calls_total{') && l.includes('service="bad-input-victim"') && l.includes('span_name="a"'))).toBe(true);
  });
});

/** A request whose one span has start_time_unix_nano (field 7) with wire type 0 instead of 1. */
function wrongWireTypeSpan(): Uint8Array {
  // span: trace_id, span_id, name "w", kind 2, then tag (7<<3)|0 = 0x38 and a varint
  const spanBytes = Buffer.concat([
    Buffer.from('0a10' + '0102030405060708090a0b0c0d0e0f10', 'hex'),
    Buffer.from('1208' + '0102030405060708', 'hex'),
    Buffer.from('2a0177', 'hex'),
    Buffer.from('3002', 'hex'),
    Buffer.from('38' + '01', 'hex'),
  ]);
  const scopeSpans = Buffer.concat([Buffer.from([0x12, spanBytes.length]), spanBytes]);
  const resourceSpans = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans]);
  return new Uint8Array(Buffer.concat([Buffer.from([0x0a, resourceSpans.length]), resourceSpans]));
}
