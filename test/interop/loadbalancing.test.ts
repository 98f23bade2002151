// Scale-out through the real Collector's `loadbalancing` exporter (routing_key: traceID, static
// resolver with three 127.0.0.1:port hostnames) to three spanmeters, as deploy/
// collector-loadbalancing.yaml sets it up, and the same traces through a second pipeline of the
// same Collector (one receiver, two pipelines: every request goes to both) to a fourth spanmeter.
//
// The traces: the bench workload (src/workload/workload.ts), whose pods flush on their own
// timers so that the client and server spans of one trace usually travel in different requests.
//
// Checks:
//   - the sums over the fleet of every span-metrics and service-graph family equal the single
//     instance, series by series (counters and bucket counts exactly, _sum within float rounding,
//     since the fleet adds in another order), edges (and unpaired spans) included;
//   - every instance got spans, and exactly the spans of the traces that test/scaleout/
//     trace-id-ring.ts (our reading of the exporter's ring, checked there against the exporter's
//     own test vectors) routes to it: the real exporter and our reading agree.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExportTraceServiceRequest } from '../../src/otlp/messages.js';
import { generateWorkload } from '../../src/workload/workload.js';
import { parsePrometheusText, type Sample } from '../support/prom-text.js';
import { fetchMetricsText, postTraces, sleep, type Sidecar } from '../support/sidecar.js';
import { TraceIdRing } from '../scaleout/trace-id-ring.js';
import { freePorts, startOtelcol, startSidecar, telemetryConfig, type Otelcol } from './support/otelcol.js';

const WORKLOAD = { seed: 1616, batches: 30, spansPerBatch: 100 };
const SM_BUCKETS = [0.004, 0.032, 0.256];
const SG_BUCKETS = [0.016, 0.128, 1.024];
/** Long enough that no pair is split by the Collector's queues: both sides always meet. */
const WAIT = '4s';

const SPANMETER_CONFIG = {
  processors: ['span-metrics', 'service-graphs'],
  processor: {
    span_metrics: { histogram_buckets: SM_BUCKETS },
    service_graphs: { wait: WAIT, histogram_buckets: SG_BUCKETS },
  },
};

type Series = Map<string, number>;

/** The `traces_*` samples of a text exposition as "name{sorted labels}" → value. */
function tracesSeries(text: string): Series {
  const out: Series = new Map();
  for (const s of parsePrometheusText(text).samples) {
    if (!s.name.startsWith('traces_')) continue;
    out.set(seriesKey(s), s.value);
  }
  return out;
}

function seriesKey(s: Sample): string {
  const labels = Object.entries(s.labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  return `${s.name}{${labels}}`;
}

function sumSeries(parts: Series[]): Series {
  const out: Series = new Map();
  for (const p of parts) for (const [k, v] of p) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}

function familyTotal(series: Series, name: string): number {
  let n = 0;
  for (const [k, v] of series) if (k.startsWith(`${name}{`)) n += v;
  return n;
}

const selfMetric = (text: string, name: string): number =>
  parsePrometheusText(text).samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);

describe('three spanmeters behind the real loadbalancing exporter = one spanmeter fed everything', () => {
  let fleet: Sidecar[] = [];
  let single: Sidecar | undefined;
  let otelcol: Otelcol | undefined;
  let otlpHttpUrl = '';
  const workload = generateWorkload(WORKLOAD);
  const total = workload.spanCounts.reduce((a, b) => a + b, 0);
  let fleetSeries: Series[] = [];
  let singleSeries: Series = new Map();
  let fleetSelf: string[] = [];

  beforeAll(async () => {
    const started = await Promise.all(
      ['spanmeter-0', 'spanmeter-1', 'spanmeter-2', 'single'].map((label) =>
        startSidecar({ config: SPANMETER_CONFIG, grpc: true, label }),
      ),
    );
    fleet = started.slice(0, 3);
    single = started[3];
    const [grpcPort, httpPort, telemetryPort] = await freePorts(3);
    otlpHttpUrl = `http://127.0.0.1:${httpPort}`;
    const backend = { tls: { insecure: true }, timeout: '5s' };
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
          // deploy/collector-loadbalancing.yaml with this test's addresses
          loadbalancing: {
            routing_key: 'traceID',
            protocol: { otlp: backend },
            resolver: { static: { hostnames: fleet.map((s) => s.grpcEndpoint) } },
          },
          'otlp/single': { endpoint: single!.grpcEndpoint, ...backend },
        },
        service: {
          telemetry: telemetryConfig(telemetryPort!),
          pipelines: {
            'traces/fleet': { receivers: ['otlp'], exporters: ['loadbalancing'] },
            'traces/single': { receivers: ['otlp'], exporters: ['otlp/single'] },
          },
        },
      },
      { label: 'collector' },
    );

    for (const body of workload.batches) {
      const res = await postTraces({ otlpHttpUrl }, body, 'application/x-protobuf');
      expect(res.status, res.text).toBe(200);
    }

    // until every instance has its spans and no edge is waiting any more (every pair met or
    // expired after `wait`), and then twice the same answer
    const deadline = Date.now() + 90_000;
    let last = '';
    for (;;) {
      const texts = await Promise.all([...fleet, single!].map(async (s) => (await fetchMetricsText(s)).text));
      const accepted = texts.map((t) => selfMetric(t, 'spanmeter_spans_accepted_total'));
      const waiting = texts.map((t) => selfMetric(t, 'spanmeter_edge_store_size'));
      const settled =
        accepted[3] === total &&
        accepted.slice(0, 3).reduce((a, b) => a + b, 0) === total &&
        texts.every((t) => t.includes('\nspanmeter_edge_store_size ')) &&
        waiting.every((w) => w === 0);
      const now = texts.map((t) => [...tracesSeries(t)].join(';')).join('|');
      if (settled && now === last) {
        fleetSelf = texts.slice(0, 3);
        fleetSeries = texts.slice(0, 3).map(tracesSeries);
        singleSeries = tracesSeries(texts[3]!);
        break;
      }
      last = settled ? now : '';
      if (Date.now() > deadline) {
        throw new Error(
          `not settled: accepted ${accepted.join(', ')} of ${total}, edges waiting ${waiting.join(', ')}\n` +
            `collector logs:\n${otelcol.logs().slice(-3000)}`,
        );
      }
      await sleep(500);
    }
  }, 180_000);

  afterAll(async () => {
    await otelcol?.stop();
    await Promise.all([...fleet, single].map((s) => s?.stop()));
  });

  test('the workload splits pairs across requests and has edges of every kind', () => {
    // the generator's own statistics: the point of the workload for service graphs
    expect(workload.stats.pairsSplit).toBeGreaterThan(0.3);
    const edges = [...singleSeries].filter(([k]) => k.startsWith('traces_service_graph_request_total{'));
    const types = new Set(edges.map(([k]) => /connection_type="([^"]*)"/.exec(k)?.[1] ?? ''));
    expect([...types].sort(), edges.map(([k]) => k).join('\n')).toEqual(expect.arrayContaining(['', 'database', 'messaging_system']));
    expect(familyTotal(singleSeries, 'traces_spanmetrics_calls_total')).toBe(total);
    expect(familyTotal(singleSeries, 'traces_service_graph_request_total')).toBeGreaterThan(total / 10);
  });

  test('every instance got exactly the spans of the traces our reading of the ring routes to it', () => {
    const ring = new TraceIdRing(fleet.map((s) => s.grpcEndpoint));
    const want = new Map(fleet.map((s) => [s.grpcEndpoint, 0]));
    for (const body of workload.batches) {
      const req = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body)) as {
        resourceSpans?: { scopeSpans?: { spans?: { traceId: Uint8Array }[] }[] }[];
      };
      for (const rs of req.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? [])
          for (const span of ss.spans ?? []) {
            const e = ring.endpointFor(span.traceId);
            want.set(e, want.get(e)! + 1);
          }
    }
    const got = fleet.map((s, i) => [s.grpcEndpoint, selfMetric(fleetSelf[i]!, 'spanmeter_spans_accepted_total')]);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
    for (const [, n] of got) expect(n).toBeGreaterThan(0);
  });

  test('the fleet sums equal the single instance, series by series, edges included', () => {
    const fleetSum = sumSeries(fleetSeries);
    // series that are 0 on the fleet sum but absent on the single instance do not count
    const nonZero = (m: Series): string[] => [...m].filter(([, v]) => v !== 0).map(([k]) => k).sort();
    expect(nonZero(fleetSum)).toEqual(nonZero(singleSeries));
    const sums: string[] = [];
    for (const [k, v] of singleSeries) {
      const f = fleetSum.get(k) ?? 0;
      if (/_sum\{/.test(k)) {
        if (Math.abs(f - v) > 1e-9 * Math.max(1, Math.abs(v))) sums.push(`${k}: fleet ${f}, single ${v}`);
      } else expect(f, k).toBe(v);
    }
    expect(sums).toEqual([]);
    for (const family of [
      'traces_spanmetrics_calls_total',
      'traces_spanmetrics_latency_bucket',
      'traces_service_graph_request_total',
      'traces_service_graph_request_failed_total',
      'traces_service_graph_request_server_seconds_bucket',
      'traces_service_graph_request_client_seconds_bucket',
    ]) {
      expect(familyTotal(singleSeries, family), family).toBeGreaterThan(0);
    }
  });
});
