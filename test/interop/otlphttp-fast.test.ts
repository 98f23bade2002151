// The real Collector's `otlphttp` exporter (Go net/http client; compression gzip by default, and
// none) into spanmeter's OTLP/HTTP receiver, whose fast path (src/receivers/http-fast.ts) takes
// `POST /v1/traces` HTTP/1.1 protobuf with a Content-Length. The Python SDK and curl were sent to
// it before; the Collector's exporter had not been.
//
// One Collector, one pipeline, the bench workload (raw OTLP/HTTP requests to its `otlp`
// receiver, as collector-front.test.ts sends it) fanned out to five exporters:
//   - otlphttp (gzip) and otlphttp (none) into two receivers run here, in this process, with a
//     consumer that decodes with protobufjs: every span arrives, and node:http's server never
//     saw a request (its 'request' event), so the fast path read every one of them;
//   - otlphttp (gzip), otlphttp (none) and otlp (gRPC, gzip) into three spanmeter processes:
//     the span-metrics calls per (service, span name, kind, status) equal the counts made here
//     from the requests sent, the service-graph request counts the client/server and
//     producer/consumer pairs found here in them, and the two HTTP sidecars' series equal the
//     gRPC one's, every series.
import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startHttpReceiver } from '../../src/receivers/http.js';
import type { RunningServer } from '../../src/net/server.js';
import { ExportTraceServiceRequest, type PbExportTraceServiceRequest } from '../../src/otlp/messages.js';
import { Telemetry } from '../../src/telemetry.js';
import { generateWorkload } from '../../src/workload/workload.js';
import { RecordingConsumer } from '../receivers/support.js';
import { fetchMetricsText, postTraces, sleep, type Sidecar } from '../support/sidecar.js';
import { compareSeries, seriesOf, showDifferences } from './support/compare.js';
import { freePorts, startOtelcol, startSidecar, type Otelcol } from './support/otelcol.js';

const WORKLOAD = { seed: 23, batches: 12, spansPerBatch: 100 };
const CALLS = 'traces_spanmetrics_calls_total';
const LATENCY = ['traces_spanmetrics_latency_bucket', 'traces_spanmetrics_latency_count', 'traces_spanmetrics_latency_sum'];
const EDGES = 'traces_service_graph_request_total';
const GRAPH = [
  EDGES, 'traces_service_graph_request_failed_total',
  ...['server', 'client'].flatMap((side) => ['bucket', 'count', 'sum'].map((s) => `traces_service_graph_request_${side}_seconds_${s}`)),
];
// OTLP's enum names (opentelemetry-proto trace.proto), as Tempo's span metrics spell them.
const KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUSES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

/**
 * What the requests hold, counted here from their protobufjs decoding: spans; calls by
 * "service|span name|kind|status"; and the edges by "client|server", a CLIENT span's (PRODUCER's)
 * child SERVER span (CONSUMER) of another service in the same trace (Tempo's service graphs).
 */
function expected(bodies: readonly Uint8Array[]) {
  const calls = new Map<string, number>();
  const spans: { trace: string; id: string; parent: string; kind: number; service: string }[] = [];
  for (const body of bodies) {
    const req = ExportTraceServiceRequest.decode(body) as unknown as PbExportTraceServiceRequest;
    for (const rs of req.resourceSpans ?? []) {
      const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? '';
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          const key = `${service}|${s.name}|${KINDS[s.kind ?? 0]}|${STATUSES[s.status?.code ?? 0]}`;
          calls.set(key, (calls.get(key) ?? 0) + 1);
          spans.push({ trace: hex(s.traceId), id: hex(s.spanId), parent: hex(s.parentSpanId), kind: s.kind ?? 0, service });
        }
      }
    }
  }
  const byId = new Map(spans.map((s) => [`${s.trace}/${s.id}`, s]));
  const edges = new Map<string, number>();
  for (const s of spans) {
    const p = byId.get(`${s.trace}/${s.parent}`);
    if (!p || p.service === s.service) continue;
    if (!((s.kind === 2 && p.kind === 3) || (s.kind === 5 && p.kind === 4))) continue;
    const key = `${p.service}|${s.service}`;
    edges.set(key, (edges.get(key) ?? 0) + 1);
  }
  return { spans: spans.length, calls, edges };
}

/** A receiver of this process with a recording consumer, and the requests node:http saw. */
async function recordingReceiver(): Promise<{ server: RunningServer; consumer: RecordingConsumer; nodeRequests: string[] }> {
  const consumer = new RecordingConsumer();
  const server = await startHttpReceiver({
    endpoint: '127.0.0.1:0', maxBodyBytes: 4 << 20, consumer, telemetry: new Telemetry({ defaultMetrics: false }),
  });
  // What node:http parses it announces with 'request', or 'checkContinue' (Expect: 100-continue;
  // the receiver listens for it, so another listener changes nothing).
  const nodeRequests: string[] = [];
  const seen = (req: http.IncomingMessage) => nodeRequests.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
  (server.listener as http.Server).on('request', seen).on('checkContinue', seen);
  return { server, consumer, nodeRequests };
}

describe('the Collector\'s otlphttp exporter into the OTLP/HTTP fast path', () => {
  const workload = generateWorkload(WORKLOAD);
  const want = expected(workload.batches);
  let otelcol: Otelcol | undefined;
  let otlpHttpUrl = '';
  const sidecars: Record<'gzip' | 'none' | 'grpc', Sidecar | undefined> = { gzip: undefined, none: undefined, grpc: undefined };
  const receivers: Record<'gzip' | 'none', Awaited<ReturnType<typeof recordingReceiver>> | undefined> = { gzip: undefined, none: undefined };

  beforeAll(async () => {
    // A short wait: pairs complete within it, and the spans left unpaired (roots, database calls)
    // expire soon, so that the series settle.
    const config = { processors: ['span-metrics', 'service-graphs'], processor: { service_graphs: { wait: '1s' } } };
    sidecars.gzip = await startSidecar({ config, label: 'spanmeter (otlphttp gzip)' });
    sidecars.none = await startSidecar({ config, label: 'spanmeter (otlphttp none)' });
    sidecars.grpc = await startSidecar({ config, grpc: true, label: 'spanmeter (otlp grpc)' });
    receivers.gzip = await recordingReceiver();
    receivers.none = await recordingReceiver();
    const [httpPort] = await freePorts(1);
    otlpHttpUrl = `http://127.0.0.1:${httpPort}`;
    // The otlphttp exporter's endpoint is the base URL: it appends /v1/traces. Compression is gzip
    // unless set (its README); `none` sends the protobuf as it is.
    const http = (url: string, compression?: string) => ({ endpoint: url, ...(compression ? { compression } : {}) });
    otelcol = await startOtelcol({
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}` } } } },
      exporters: {
        'otlphttp/gzip': http(sidecars.gzip.otlpHttpUrl),
        'otlphttp/none': http(sidecars.none.otlpHttpUrl, 'none'),
        'otlp/grpc': { endpoint: sidecars.grpc.grpcEndpoint, tls: { insecure: true } },
        'otlphttp/here-gzip': http(`http://${receivers.gzip.server.address}`),
        'otlphttp/here-none': http(`http://${receivers.none.server.address}`, 'none'),
      },
      service: {
        pipelines: { traces: { receivers: ['otlp'], exporters: ['otlphttp/gzip', 'otlphttp/none', 'otlp/grpc', 'otlphttp/here-gzip', 'otlphttp/here-none'] } },
      },
    }, { label: 'collector (otlphttp)' });
    for (const body of workload.batches) {
      const res = await postTraces({ otlpHttpUrl }, body, 'application/x-protobuf');
      expect(res.status, res.text).toBe(200);
    }
  }, 180_000);

  afterAll(async () => {
    await otelcol?.stop();
    for (const s of Object.values(sidecars)) await s?.stop();
    for (const r of Object.values(receivers)) await r?.server.close();
  });

  test('the workload: the counts the expectations come from', () => {
    // generateWorkload fills every batch; the pairs are counted here, not taken from its stats.
    expect(want.spans).toBe(WORKLOAD.batches * WORKLOAD.spansPerBatch);
    expect(workload.spanCounts.reduce((a, b) => a + b, 0)).toBe(want.spans);
    expect(want.edges.size).toBeGreaterThan(5);
  });

  test.each(['gzip', 'none'] as const)('compression %s: every request on the fast path, every span arrives', async (c) => {
    const r = receivers[c]!;
    const deadline = Date.now() + 60_000;
    const arrived = () => r.consumer.arrivals.reduce((a, x) => a + x.names.length, 0);
    while (arrived() < want.spans && Date.now() < deadline) await sleep(200);
    await sleep(500);
    expect(arrived(), otelcol!.logs().slice(-3000)).toBe(want.spans);
    expect(r.nodeRequests, 'requests node:http read (not the fast path)').toEqual([]);
  });

  /**
   * A sidecar's span-metrics and service-graph series once it counted every span and they stopped
   * changing (three scrapes a second apart; its self metrics change all the time).
   */
  async function settled(s: Sidecar): Promise<string> {
    const deadline = Date.now() + 60_000;
    const ours = (text: string) => text.split('\n').filter((l) => /^traces_(spanmetrics|service_graph)_/.test(l)).join('\n');
    let text = '';
    let last = '';
    let same = 0;
    for (;;) {
      text = (await fetchMetricsText(s)).text;
      const calls = [...seriesOf(text, [CALLS], 'spanmeter').values()].reduce((a, v) => a + v.value, 0);
      same = ours(text) === last ? same + 1 : 0;
      if ((calls >= want.spans && same >= 3) || Date.now() > deadline) return text;
      last = ours(text);
      await sleep(1000);
    }
  }

  test.each(['gzip', 'none', 'grpc'] as const)('%s: span-metrics calls and service-graph edges are the spans\' counts', async (c) => {
    const text = await settled(sidecars[c]!);
    const got = new Map<string, number>();
    for (const s of seriesOf(text, [CALLS], c).values()) {
      const l = s.labels;
      got.set(`${l.service}|${l.span_name}|${l.span_kind}|${l.status_code}`, s.value);
    }
    expect(Object.fromEntries(got), sidecars[c]!.output().slice(-2000)).toEqual(Object.fromEntries(want.calls));
    const edges = new Map<string, number>();
    for (const s of seriesOf(text, [EDGES], c).values()) {
      if (s.labels.connection_type === 'virtual_node' || s.labels.connection_type === 'database') continue;
      const key = `${s.labels.client}|${s.labels.server}`;
      edges.set(key, (edges.get(key) ?? 0) + s.value);
    }
    expect(Object.fromEntries(edges)).toEqual(Object.fromEntries(want.edges));
  });

  test.each(['gzip', 'none'] as const)('otlphttp %s: every series equals the gRPC sidecar\'s', async (c) => {
    const names = [CALLS, ...LATENCY, ...GRAPH];
    const http = seriesOf(await settled(sidecars[c]!), names, c);
    const grpc = seriesOf(await settled(sidecars.grpc!), names, 'grpc');
    expect(http.size).toBeGreaterThan(want.calls.size);
    const diffs = compareSeries(http, grpc);
    expect(diffs, showDifferences(diffs, c, 'grpc')).toEqual([]);
  });
});
