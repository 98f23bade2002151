// The web page's JSON API, computed in-process from a Core fed hand-built spans at controlled
// times. Every expected number below is worked out by hand in the comments.
//
// Buckets: span metrics le 0.01, 0.1, 1 (+Inf); service graphs le 0.1, 1 (+Inf). A quantile is
// Prometheus' histogram_quantile over the increase of the buckets: rank = q · count, found in the
// first bucket whose cumulative count reaches it, interpolated linearly from its lower bound
// (0 for the first bucket).
import { beforeAll, describe, expect, it } from 'vitest';
import type { SloConfig } from '../../src/config/types.js';
import { SLO_DEFAULTS } from '../../src/config/defaults.js';
import { renderFamilies } from '../../src/exporters/exposition.js';
import { startMetricsServer } from '../../src/exporters/server.js';
import type { RunningServer } from '../../src/net/server.js';
import { REJECT_REASONS } from '../../src/telemetry.js';
import { uiRoutes } from '../../src/ui/routes.js';
import { histogramQuantile } from '../../src/ui/quantile.js';
import { type SpanSpec } from '../servicegraphs/helpers.js';
import { ingest, setup, T, type Setup } from './helpers.js';

/** The shop: frontend → checkout → (orders-db, mailer over messaging); a lone client to payment-gateway. */
const TRAFFIC: SpanSpec[] = [
  // trace 1: all OK
  { trace: 1, id: 1, kind: 'server', service: 'frontend', name: 'GET /cart', durMs: 50 },
  { trace: 1, id: 2, parent: 1, kind: 'client', service: 'frontend', name: 'POST checkout', durMs: 40 },
  { trace: 1, id: 3, parent: 2, kind: 'server', service: 'checkout', name: 'Checkout', durMs: 30 },
  { trace: 1, id: 4, parent: 3, kind: 'client', service: 'checkout', name: 'SELECT orders', durMs: 8, attrs: { 'db.system': 'postgresql', 'server.address': 'orders-db' } },
  { trace: 1, id: 5, parent: 3, kind: 'producer', service: 'checkout', name: 'send orders', durMs: 2 },
  { trace: 1, id: 6, parent: 5, kind: 'consumer', service: 'mailer', name: 'process orders', durMs: 60 },
  // trace 2: the checkout server fails, and so does the frontend's server span
  { trace: 2, id: 1, kind: 'server', service: 'frontend', name: 'GET /cart', durMs: 400, error: true },
  { trace: 2, id: 2, parent: 1, kind: 'client', service: 'frontend', name: 'POST checkout', durMs: 350 },
  { trace: 2, id: 3, parent: 2, kind: 'server', service: 'checkout', name: 'Checkout', durMs: 300, error: true },
  // trace 3: a call to an uninstrumented payment gateway
  { trace: 3, id: 1, kind: 'server', service: 'frontend', name: 'GET /home', durMs: 5 },
  { trace: 3, id: 2, parent: 1, kind: 'client', service: 'frontend', name: 'charge', durMs: 20, attrs: { 'peer.service': 'payment-gateway' } },
];

const NULL_RATES = { rate: null, error_ratio: null, p50: null, p95: null, p99: null };
/** The bucket ranges of setup(): span metrics le 0.01 … 1, service graphs le 0.1 … 1. */
const BUCKETS = { span_metrics: { first: 0.01, last: 1 }, service_graphs: { first: 0.1, last: 1 } };
/** Trace n's id: 5eed0000 abcdef01, then n (servicegraphs/helpers.ts). */
const trace = (n: number) => `5eed0000abcdef01${n.toString(16).padStart(16, '0')}`;
// The worst traces of TRAFFIC's paired edges (assembly/worst.ts): by server span duration, trace 1
// alone on mailer (consumer 0.06 s) and orders-db (a database edge: the client's 0.008 s); on
// frontend → checkout trace 2 (server 0.3 s, failed) over trace 1 (0.03 s).
const MAILER_WORST = { slowest_trace_id: trace(1), slowest_seconds: 0.06, failed_trace_id: null };
const ORDERS_DB_WORST = { slowest_trace_id: trace(1), slowest_seconds: 0.008, failed_trace_id: null };
const CHECKOUT_WORST = { slowest_trace_id: trace(2), slowest_seconds: 0.3, failed_trace_id: trace(2) };

describe('histogramQuantile', () => {
  it('interpolates within the bucket as Prometheus does', () => {
    // counts le 0.1: 1, le 1: 1, +Inf: 0 → rank 1 (q .5) ends bucket 1: 0 + 0.1·1/1 = 0.1;
    // rank 1.9 (q .95) in bucket 2: 0.1 + 0.9·0.9/1 = 0.91
    expect(histogramQuantile(0.5, [0.1, 1], [1, 1, 0])).toBe(0.1);
    expect(histogramQuantile(0.95, [0.1, 1], [1, 1, 0])).toBeCloseTo(0.91, 12);
    // in +Inf: the highest finite bound
    expect(histogramQuantile(0.99, [0.1, 1], [0, 0, 5])).toBe(1);
    // empty: null
    expect(histogramQuantile(0.5, [0.1, 1], [0, 0, 0])).toBeNull();
    // an offset into a longer array
    expect(histogramQuantile(0.5, [0.1, 1], [9, 9, 0, 4, 0], 2)).toBe(0.55);
  });
});

describe('/api/graph, /api/red, /api/health', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setup();
  });

  it('the first look has no rate yet: totals since the core started instead', async () => {
    const { core, api, clock } = s;
    // Before anyone looks: one request at T-20s, its lone root expired at T-5s (user → frontend).
    ingest(core, [{ trace: 100, id: 1, kind: 'server', service: 'frontend', name: 'GET /cart', durMs: 50 }], T - 20_000);
    core.expire(T - 5000);
    clock.now = T;
    // No rate (no interval yet); total 1, no error. frontend's span 0.05 s in span-metrics bucket
    // le 0.1: p50 rank 0.5: 0.01 + 0.09·0.5 = 0.055, p95 0.01 + 0.09·0.95 = 0.0955, p99 0.0991.
    // The edge user → frontend: server latency 0.05 in service-graph bucket le 0.1: p50 0.05 ≤ 0.1,
    // in the first bucket, and span metrics start lower (0.01): frontend's own spans (server_spans).
    // The virtual user: its outgoing edge's own histogram, 0.05, 0.095, 0.099.
    const first = { rate: null, error_ratio: 0, total: 1 };
    expect(await api.graph()).toEqual({
      time: T,
      window_seconds: 0,
      span_metrics: true,
      service_graphs: true,
      buckets: BUCKETS,
      nodes: [
        { id: 'frontend', name: 'frontend', type: 'service', ...first, p50: 0.055, p95: 0.0955, p99: 0.0991, basis: 'spans' },
        { id: 'user', name: 'user', type: 'virtual', ...first, p50: 0.05, p95: 0.095, p99: 0.099, basis: 'edges_out' },
      ],
      // The edge's worst traces (assembly/worst.ts): its one request, trace 100, server span 0.05 s; none failed.
      edges: [{
        source: 'user', target: 'frontend', connection_type: 'virtual_node', ...first, p50: 0.055, p95: 0.0955, p99: 0.0991, latency: 'server_spans',
        slowest_trace_id: trace(100), slowest_seconds: 0.05, failed_trace_id: null,
      }],
      overflow: null,
    });
  });

  it('after 10 s: paired, database and messaging edges, rates over 10 s', async () => {
    const { core, api, clock, telemetry } = s;
    ingest(core, TRAFFIC, T + 1000);
    telemetry.recordRequest({ protocol: 'http', code: 200, result: { ok: true, spans: 11 } });
    clock.now = T + 10_000;
    // frontend → checkout: 2 requests (one failed) / 10 s = 0.2/s, error ratio 0.5; server
    //   latencies 0.03, 0.3 → buckets [1, 1, 0]: p50 0.1, p95 0.1 + 0.9·0.9 = 0.91, p99 0.1 + 0.9·0.98 = 0.982.
    // checkout → orders-db (database): 1 / 10 s = 0.1/s; latency 0.008 (the client's, as the
    //   server's) → [1, 0, 0]: p50 0.1·0.5 = 0.05, p95 0.095, p99 0.099.
    // checkout → mailer (messaging): 1 request, server (consumer) latency 0.06 → same quantiles.
    // user → frontend: nothing new since the first look: rate 0, no ratio, no quantiles.
    // checkout → mailer: its p50 0.05 is in the first service-graph bucket (le 0.1) and span
    //   metrics start at 0.01: mailer's own server and consumer spans instead (server_spans);
    //   frontend → checkout too (rank 1 of 2 ends the first bucket: p50 0.1 = its bound), with
    //   checkout's own quantiles, which happen to be the same (0.1, 0.91, 0.982).
    // Nodes from span metrics (server and consumer spans):
    //   frontend: GET /cart 0.05, 0.4 (error), GET /home 0.005 → 3 / 10 s = 0.3/s, 1/3 errors;
    //     buckets le .01: 1, le .1: 1, le 1: 1 → p50 rank 1.5: 0.01 + 0.09·0.5 = 0.055;
    //     p95 rank 2.85: 0.1 + 0.9·0.85 = 0.865; p99 rank 2.97: 0.1 + 0.9·0.97 = 0.973.
    //   checkout: Checkout 0.03, 0.3 (error) → 0.2/s, 0.5, [0, 1, 1, 0]: p50 rank 1: 0.01 + 0.09 = 0.1,
    //     p95 0.91, p99 0.982.
    //   mailer: process orders 0.06 → 0.1/s, 0; [0, 1, 0, 0]: p50 0.01 + 0.09·0.5 = 0.055,
    //     p95 0.01 + 0.09·0.95 = 0.0955, p99 0.01 + 0.09·0.99 = 0.0991.
    //   orders-db: from its one incoming edge: 0.1/s, 0, 0.05, 0.095, 0.099.
    const graph = await api.graph();
    expect(graph).toEqual({
      time: T + 10_000,
      window_seconds: 10,
      span_metrics: true,
      service_graphs: true,
      buckets: BUCKETS,
      nodes: [
        { id: 'checkout', name: 'checkout', type: 'service', rate: 0.2, error_ratio: 0.5, p50: 0.1, p95: 0.91, p99: 0.982, basis: 'spans' },
        { id: 'frontend', name: 'frontend', type: 'service', rate: 0.3, error_ratio: 0.333333, p50: 0.055, p95: 0.865, p99: 0.973, basis: 'spans' },
        { id: 'mailer', name: 'mailer', type: 'service', rate: 0.1, error_ratio: 0, p50: 0.055, p95: 0.0955, p99: 0.0991, basis: 'spans' },
        { id: 'orders-db', name: 'orders-db', type: 'database', rate: 0.1, error_ratio: 0, p50: 0.05, p95: 0.095, p99: 0.099, basis: 'edges_in' },
        { id: 'user', name: 'user', type: 'virtual', rate: 0, error_ratio: null, p50: null, p95: null, p99: null, basis: 'edges_out' },
      ],
      edges: [
        { source: 'checkout', target: 'mailer', connection_type: 'messaging_system', rate: 0.1, error_ratio: 0, p50: 0.055, p95: 0.0955, p99: 0.0991, latency: 'server_spans', ...MAILER_WORST },
        { source: 'checkout', target: 'orders-db', connection_type: 'database', rate: 0.1, error_ratio: 0, p50: 0.05, p95: 0.095, p99: 0.099, latency: 'server', ...ORDERS_DB_WORST },
        { source: 'frontend', target: 'checkout', connection_type: '', rate: 0.2, error_ratio: 0.5, p50: 0.1, p95: 0.91, p99: 0.982, latency: 'server_spans', ...CHECKOUT_WORST },
        {
          source: 'user', target: 'frontend', connection_type: 'virtual_node', rate: 0, error_ratio: null, p50: null, p95: null, p99: null, latency: 'server',
          slowest_trace_id: trace(100), slowest_seconds: 0.05, failed_trace_id: null,
        },
      ],
      overflow: null,
    });
  });

  it('after 20 s: virtual nodes from expired spans; rates over 20 s, and over a 10 s window', async () => {
    const { core, api, clock, telemetry } = s;
    // The wait (10 s) ends: three lone root servers become user → frontend, the lone client
    // with peer.service an edge to payment-gateway.
    core.expire(T + 12_000);
    telemetry.recordRequest({ protocol: 'http', code: 400, result: { ok: false, spans: 10, reason: 'bad', cause: 'malformed' } });
    telemetry.recordRequest({ protocol: 'http', code: 413, rejected: 'too_large' });
    telemetry.recordRequest({ protocol: 'http', code: 413, rejected: 'too_large' });
    clock.now = T + 20_000;
    // Over 20 s (from the first look at T):
    // user → frontend: 3 requests (one failed) / 20 = 0.15/s, 1/3; server latencies 0.05, 0.4,
    //   0.005 → [2, 1, 0]: p50 rank 1.5: 0.1·0.75 = 0.075; p95 rank 2.85: 0.1 + 0.9·0.85 = 0.865; p99 0.973.
    // frontend → payment-gateway: 1 / 20 = 0.05/s; no server span: the client's 0.02 → [1, 0, 0]:
    //   0.05, 0.095, 0.099.
    // frontend → checkout 0.1/s; the rest 0.05/s.
    // frontend (spans): 3 / 20 = 0.15/s; checkout 0.1/s; mailer 0.05/s; quantiles as before.
    // user: its outgoing edge: 0.15/s, 1/3, 0.075, 0.865, 0.973.
    // Edges whose p50 is in the first bucket (le 0.1) and whose server has spans: their server's
    //   own quantiles: checkout → mailer (mailer's 0.055, 0.0955, 0.0991), user → frontend
    //   (frontend's 0.055, 0.865, 0.973). orders-db and payment-gateway have no spans: unchanged.
    const graph = await api.graph();
    expect(graph).toEqual({
      time: T + 20_000,
      window_seconds: 20,
      span_metrics: true,
      service_graphs: true,
      buckets: BUCKETS,
      nodes: [
        { id: 'checkout', name: 'checkout', type: 'service', rate: 0.1, error_ratio: 0.5, p50: 0.1, p95: 0.91, p99: 0.982, basis: 'spans' },
        { id: 'frontend', name: 'frontend', type: 'service', rate: 0.15, error_ratio: 0.333333, p50: 0.055, p95: 0.865, p99: 0.973, basis: 'spans' },
        { id: 'mailer', name: 'mailer', type: 'service', rate: 0.05, error_ratio: 0, p50: 0.055, p95: 0.0955, p99: 0.0991, basis: 'spans' },
        { id: 'orders-db', name: 'orders-db', type: 'database', rate: 0.05, error_ratio: 0, p50: 0.05, p95: 0.095, p99: 0.099, basis: 'edges_in' },
        { id: 'payment-gateway', name: 'payment-gateway', type: 'virtual', rate: 0.05, error_ratio: 0, p50: 0.05, p95: 0.095, p99: 0.099, basis: 'edges_in' },
        { id: 'user', name: 'user', type: 'virtual', rate: 0.15, error_ratio: 0.333333, p50: 0.075, p95: 0.865, p99: 0.973, basis: 'edges_out' },
      ],
      edges: [
        { source: 'checkout', target: 'mailer', connection_type: 'messaging_system', rate: 0.05, error_ratio: 0, p50: 0.055, p95: 0.0955, p99: 0.0991, latency: 'server_spans', ...MAILER_WORST },
        { source: 'checkout', target: 'orders-db', connection_type: 'database', rate: 0.05, error_ratio: 0, p50: 0.05, p95: 0.095, p99: 0.099, latency: 'server', ...ORDERS_DB_WORST },
        { source: 'frontend', target: 'checkout', connection_type: '', rate: 0.1, error_ratio: 0.5, p50: 0.1, p95: 0.91, p99: 0.982, latency: 'server_spans', ...CHECKOUT_WORST },
        // No server span: the slowest by client duration, charge's 0.02 s (trace 3).
        {
          source: 'frontend', target: 'payment-gateway', connection_type: 'virtual_node', rate: 0.05, error_ratio: 0, p50: 0.05, p95: 0.095, p99: 0.099, latency: 'client',
          slowest_trace_id: trace(3), slowest_seconds: 0.02, failed_trace_id: null,
        },
        // The lone roots: trace 100 0.05 s, then (expired now) 1 0.05, 2 0.4 failed, 3 0.005, all in one
        // 60 s window (T − 20 s … T + 40 s, T − 20 s being a whole minute): the slowest and the failed are trace 2.
        {
          source: 'user', target: 'frontend', connection_type: 'virtual_node', rate: 0.15, error_ratio: 0.333333, p50: 0.055, p95: 0.865, p99: 0.973, latency: 'server_spans',
          slowest_trace_id: trace(2), slowest_seconds: 0.4, failed_trace_id: trace(2),
        },
      ],
      overflow: null,
    });

    // A 10 s window starts at the snapshot kept at T + 10 s: only the expired edges are new:
    // user → frontend 3 / 10 = 0.3/s, frontend → payment-gateway 0.1/s; the rest 0/s.
    const recent = await api.graph({ windowMs: 10_000 });
    expect(recent.window_seconds).toBe(10);
    expect(recent.edges.map((e) => [e.source, e.target, e.rate, e.error_ratio, e.p95])).toEqual([
      ['checkout', 'mailer', 0, null, null],
      ['checkout', 'orders-db', 0, null, null],
      ['frontend', 'checkout', 0, null, null],
      ['frontend', 'payment-gateway', 0.1, 0, 0.095],
      ['user', 'frontend', 0.3, 0.333333, 0.865],
    ]);
    expect(recent.nodes.map((n) => [n.id, n.type, n.rate])).toEqual([
      ['checkout', 'service', 0],
      ['frontend', 'service', 0],
      ['mailer', 'service', 0],
      ['orders-db', 'database', 0],
      ['payment-gateway', 'virtual', 0.1],
      ['user', 'virtual', 0.3],
    ]);
  });

  it('/api/red: services (server and consumer spans) and operations (every kind), one service or all', async () => {
    const { api } = s;
    // Over 20 s. frontend's operations:
    //   GET /cart (server): 0.05 and 0.4 (error) → 0.1/s, 0.5; [0, 1, 1, 0] → p50 0.1, p95 0.91, p99 0.982
    //   GET /home (server): 0.005 → 0.05/s, 0; [1, 0, 0, 0] → p50 0.005, p95 0.0095, p99 0.0099
    //   POST checkout (client): 0.04, 0.35 → 0.1/s, 0 (the client span did not fail); 0.1, 0.91, 0.982
    //   charge (client): 0.02 → 0.05/s; [0, 1, 0, 0] → 0.055, 0.0955, 0.0991
    // checkout: SELECT orders (client, 0.008) and send orders (producer, 0.002) are both in the
    //   first bucket: 0.005, 0.0095, 0.0099.
    // History: the snapshots at T, T + 10 s and T + 20 s make two intervals. All the traffic came
    // in the first (ingested at T + 1 s): checkout 2 spans / 10 s = 0.2/s, 1/2, p95 0.91;
    // frontend 3 / 10 = 0.3/s, 1/3, p95 0.865; mailer 0.1/s, 0, p95 0.0955. The second: 0/s, none.
    // Trace ids: the helper's 5eed0000 abcdef01 then the trace number (servicegraphs/helpers.ts);
    // GET /cart and POST checkout were in traces 1 and 2 (the exemplar kept: trace 1, the later
    // one of the same ingest time is not newer), GET /home and charge in trace 3.
    const red = await api.red({ service: 'frontend' });
    const idle = { rate: 0, error_ratio: null, p95: null };
    const history = (rate: number, error_ratio: number, p95: number) => ({ rate: [rate, idle.rate], error_ratio: [error_ratio, idle.error_ratio], p95: [p95, idle.p95] });
    expect(red).toEqual({
      time: T + 20_000,
      window_seconds: 20,
      span_metrics: true,
      service: 'frontend',
      self_time: null,
      buckets: { span_metrics: { first: 0.01, last: 1 }, service_graphs: null },
      services: [
        // The slowest trace of the entry operations below: checkout's Checkout trace 2 (0.3 s; its
        // clients' 0.008 and 0.002 do not count); frontend's GET /cart trace 2 (0.4 s, over GET /home
        // 0.005); mailer's process orders trace 1 (0.06 s).
        {
          service: 'checkout', rate: 0.1, error_ratio: 0.5, p50: 0.1, p95: 0.91, p99: 0.982, basis: 'entry', operations: 3, history: history(0.2, 0.5, 0.91),
          slowest_trace_id: trace(2), slowest_seconds: 0.3,
        },
        {
          service: 'frontend', rate: 0.15, error_ratio: 0.333333, p50: 0.055, p95: 0.865, p99: 0.973, basis: 'entry', operations: 4, history: history(0.3, 0.333333, 0.865),
          slowest_trace_id: trace(2), slowest_seconds: 0.4,
        },
        {
          service: 'mailer', rate: 0.05, error_ratio: 0, p50: 0.055, p95: 0.0955, p99: 0.0991, basis: 'entry', operations: 1, history: history(0.1, 0, 0.0955),
          slowest_trace_id: trace(1), slowest_seconds: 0.06,
        },
      ],
      history_time: [T + 10_000, T + 20_000],
      operations: [
        // The worst traces: GET /cart's series (UNSET: traces 100 and 1, 0.05 s; ERROR: trace 2, 0.4 s)
        // → trace 2 both ways; POST checkout 0.04 (1) and 0.35 (2), neither failed; the others one span each.
        {
          service: 'frontend', span_name: 'GET /cart', span_kind: 'SPAN_KIND_SERVER', rate: 0.1, error_ratio: 0.5, p50: 0.1, p95: 0.91, p99: 0.982, trace_id: trace(1),
          slowest_trace_id: trace(2), slowest_seconds: 0.4, failed_trace_id: trace(2),
        },
        {
          service: 'frontend', span_name: 'GET /home', span_kind: 'SPAN_KIND_SERVER', rate: 0.05, error_ratio: 0, p50: 0.005, p95: 0.0095, p99: 0.0099, trace_id: trace(3),
          slowest_trace_id: trace(3), slowest_seconds: 0.005, failed_trace_id: null,
        },
        {
          service: 'frontend', span_name: 'POST checkout', span_kind: 'SPAN_KIND_CLIENT', rate: 0.1, error_ratio: 0, p50: 0.1, p95: 0.91, p99: 0.982, trace_id: trace(1),
          slowest_trace_id: trace(2), slowest_seconds: 0.35, failed_trace_id: null,
        },
        {
          service: 'frontend', span_name: 'charge', span_kind: 'SPAN_KIND_CLIENT', rate: 0.05, error_ratio: 0, p50: 0.055, p95: 0.0955, p99: 0.0991, trace_id: trace(3),
          slowest_trace_id: trace(3), slowest_seconds: 0.02, failed_trace_id: null,
        },
      ],
      exceptions: null, // processor.span_metrics.events is off
      overflow: null,
    });
    const all = await api.red();
    expect(all.service).toBeNull();
    expect(all.operations.map((o) => [o.service, o.span_name, o.span_kind, o.rate, o.p50])).toEqual([
      ['checkout', 'Checkout', 'SPAN_KIND_SERVER', 0.1, 0.1],
      ['checkout', 'SELECT orders', 'SPAN_KIND_CLIENT', 0.05, 0.005],
      ['checkout', 'send orders', 'SPAN_KIND_PRODUCER', 0.05, 0.005],
      ['frontend', 'GET /cart', 'SPAN_KIND_SERVER', 0.1, 0.1],
      ['frontend', 'GET /home', 'SPAN_KIND_SERVER', 0.05, 0.005],
      ['frontend', 'POST checkout', 'SPAN_KIND_CLIENT', 0.1, 0.1],
      ['frontend', 'charge', 'SPAN_KIND_CLIENT', 0.05, 0.055],
      ['mailer', 'process orders', 'SPAN_KIND_CONSUMER', 0.05, 0.055],
    ]);
    expect((await api.red({ service: 'nobody' })).operations).toEqual([]);
  });

  it('/api/red: a service\'s slowest trace is its server and consumer spans\' slowest, else any span\'s', async () => {
    // A fresh core: shop's server span 10 ms (trace 11) and its client span 50 ms (trace 12): the
    // client is slower but the row counts shop's server spans (basis entry): trace 11, 0.01 s.
    // batch has only clients, 20 ms (trace 13) and 30 ms (trace 14) (basis all): trace 14, 0.03 s.
    const t = await setup({ serviceGraphs: false });
    ingest(t.core, [
      { trace: 11, id: 1, kind: 'server', service: 'shop', name: 'GET /', durMs: 10 },
      { trace: 12, id: 1, kind: 'client', service: 'shop', name: 'GET stock', durMs: 50 },
      { trace: 13, id: 1, kind: 'client', service: 'batch', name: 'POST upload', durMs: 20 },
      { trace: 14, id: 1, kind: 'client', service: 'batch', name: 'POST upload', durMs: 30 },
    ], T + 1000);
    t.clock.now = T + 2000;
    const red = await t.api.red();
    expect(red.services.map((r) => [r.service, r.basis, r.slowest_trace_id, r.slowest_seconds])).toEqual([
      ['batch', 'all', trace(14), 0.03],
      ['shop', 'entry', trace(11), 0.01],
    ]);
    t.api.release();
  });

  it('/api/health: spans in and rejected by reason over the window, series, edge store', async () => {
    const { api, core } = s;
    // Since the first look (T, when every counter was 0): 11 accepted + 10 rejected = 21 spans
    // received / 20 s = 1.05/s, 11 / 20 = 0.55/s accepted; malformed: 10 spans (0.5/s), 1 request
    // (0.05/s); too_large: 2 requests (0.1/s).
    const h = await api.health();
    // Every reason the sidecar counts is listed (at 0 when nothing was rejected for it), by name.
    const zero = (reason: string) => ({ reason, spans_per_second: 0, spans_total: 0, requests_per_second: 0, requests_total: 0 });
    const rejected: Record<string, unknown> = Object.fromEntries(REJECT_REASONS.map((r) => [r, zero(r)]));
    rejected.malformed = { reason: 'malformed', spans_per_second: 0.5, spans_total: 10, requests_per_second: 0.05, requests_total: 1 };
    rejected.too_large = { reason: 'too_large', spans_per_second: 0, spans_total: 0, requests_per_second: 0.1, requests_total: 2 };
    expect(h).toEqual({
      time: T + 20_000,
      window_seconds: 20,
      spans: { received_per_second: 1.05, accepted_per_second: 0.55, received_total: 21, accepted_total: 11, dropped_late_total: 0 },
      rejected: [...REJECT_REASONS].sort().map((r) => rejected[r]),
      series: { active: core.activeSeries(), limit: 0, limited_total: 0, removed_total: 0 },
      service_graphs: { store_size: 0, max_items: 10_000, unpaired_total: 0, dropped_total: 0, missing_edges: [] },
      self_time: null,
      wasm_memory_bytes: core.memoryBytes(),
      warnings: [
        'Rejecting malformed requests now (1 requests, 10 spans so far).',
        'Rejecting too large requests now (2 requests, 0 spans so far).',
      ],
    });
    expect(h.series.active).toBeGreaterThan(0);
  });

  it('the same JSON over HTTP, and the page and its scripts', async () => {
    const { api } = s;
    const server: RunningServer = await startMetricsServer({ endpoint: '127.0.0.1:0', renderers: [], routes: uiRoutes(api) });
    try {
      const base = `http://${server.address}`;
      const graph = await fetch(`${base}/api/graph?window=10`);
      expect(graph.status).toBe(200);
      expect(graph.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(graph.headers.get('cache-control')).toBe('no-store');
      expect(await graph.json()).toEqual(await api.graph({ windowMs: 10_000 }));
      expect(await (await fetch(`${base}/api/red?service=mailer&window=1m`)).json()).toEqual(await api.red({ service: 'mailer', windowMs: 60_000 }));
      expect(await (await fetch(`${base}/api/health`)).json()).toEqual(await api.health());
      // No SLOs configured: an empty list.
      expect((await (await fetch(`${base}/api/slos`)).json()).slos).toEqual([]);
      const bad = await fetch(`${base}/api/graph?window=soon`);
      expect(bad.status).toBe(400);
      expect((await bad.json()).error).toMatch(/^window: /);
      expect((await fetch(`${base}/api/nothing`)).status).toBe(404);
      expect((await fetch(`${base}/api/graph`, { method: 'POST' })).status).toBe(405);

      // Browsers get the page at / and /ui; other clients the plain index at /.
      const page = await fetch(`${base}/`, { headers: { Accept: 'text/html,application/xhtml+xml' } });
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await page.text();
      expect(html).toContain('<script type="module" src="ui/app.js"></script>');
      expect(await (await fetch(`${base}/ui`)).text()).toBe(html);
      const index = await fetch(`${base}/`);
      expect(index.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await index.text()).toContain('/api/graph');
      // Every module of src/ui/web/ (the page loads app.js, which imports the others).
      for (const name of ['app.js', 'cards.js', 'dom.js', 'format.js', 'graph.js', 'layout.js', 'state.js', 'tables.js']) {
        const js = await fetch(`${base}/ui/${name}`);
        expect(js.status).toBe(200);
        expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
        expect(await js.text()).not.toMatch(/sourceMappingURL|import type/);
      }
      expect((await fetch(`${base}/ui/style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect((await fetch(`${base}/ui/secret.js`)).status).toBe(404);
      expect((await fetch(`${base}/ui/../package.json`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('/api/slos', () => {
  const DAY = 86_400_000;
  const slos: SloConfig[] = [
    { ...SLO_DEFAULTS, name: 'checkout-availability', description: 'Checkout answers', service: 'checkout', span_kind: 'server', objective: 99.9 },
    { ...SLO_DEFAULTS, name: 'cart-latency', span_name: 'GET /cart', objective: 99, window: 7 * DAY, kind: 'latency', threshold: 300 },
    { ...SLO_DEFAULTS, name: 'idle', service: 'nobody', objective: 95 },
  ];
  /** n checkout server spans, the first `errors` failed. */
  const checkout = (first: number, n: number, errors: number): SpanSpec[] =>
    Array.from({ length: n }, (_, i) => ({ trace: first + i, id: 1, kind: 'server', service: 'checkout', name: 'POST /checkout', durMs: 5, error: i < errors }));
  /** n web spans GET /cart of 300 ms (at the threshold: good), the first `slow` of 301 ms. */
  const cart = (first: number, n: number, slow: number): SpanSpec[] =>
    Array.from({ length: n }, (_, i) => ({ trace: first + i, id: 1, kind: 'server', service: 'web', name: 'GET /cart', durMs: i < slow ? 301 : 300 }));

  it('SLI and error budget left since the core started; burn rate over the window', async () => {
    const before = Date.now();
    const s = await setup({ serviceGraphs: false, slos });
    const after = Date.now();
    const { core, api, clock } = s;
    try {
      // The counts are the core's since it was built, whenever the first look comes.
      expect(core.createdAt).toBeGreaterThanOrEqual(before);
      expect(core.createdAt).toBeLessThanOrEqual(after);
      ingest(core, [...checkout(1, 1000, 3), ...cart(2001, 200, 1)], T - 10_000);
      clock.now = T;
      // checkout-availability: 997 good of 1000; budget 1 − 0.999 = 0.001; bad 0.003 →
      //   left 1 − 0.003 / 0.001 = −2 (overspent twice over).
      // cart-latency: 199 good of 200 (one at 301 ms; 300 ms is good); budget 0.01; bad 0.005 →
      //   left 1 − 0.005 / 0.01 = 0.5.
      // idle: no spans: no SLI, nothing left to say. First look: no window, no burn rate.
      expect(await api.slos()).toEqual({
        time: T,
        window_seconds: 0,
        since: core.createdAt,
        slos: [
          {
            name: 'checkout-availability', description: 'Checkout answers', service: 'checkout', span_name: '', span_name_regex: '',
            span_kind: 'server', kind: 'availability', objective: 99.9, window_seconds: 2_592_000, threshold_seconds: null,
            good: 997, total: 1000, sli: 0.997, error_budget: 0.001, budget_remaining: -2, basis: 'since_start', burn_rate: null,
          },
          {
            name: 'cart-latency', description: '', service: '', span_name: 'GET /cart', span_name_regex: '',
            span_kind: '', kind: 'latency', objective: 99, window_seconds: 604_800, threshold_seconds: 0.3,
            good: 199, total: 200, sli: 0.995, error_budget: 0.01, budget_remaining: 0.5, basis: 'since_start', burn_rate: null,
          },
          {
            name: 'idle', description: '', service: 'nobody', span_name: '', span_name_regex: '',
            span_kind: '', kind: 'availability', objective: 95, window_seconds: 2_592_000, threshold_seconds: null,
            good: 0, total: 0, sli: null, error_budget: 0.05, budget_remaining: null, basis: 'since_start', burn_rate: null,
          },
        ],
      });

      // 10 s later, after 100 more checkout spans (2 failed) and 100 cart spans (none slow):
      // checkout: 1095 good of 1100; left 1 − (5 / 1100) / 0.001 = 1 − 4.545454… = −3.54545;
      //   burn over the 10 s: (2 / 100) / 0.001 = 20.
      // cart: 299 good of 300; left 1 − (1 / 300) / 0.01 = 1 − 0.333333… = 0.666667; burn 0.
      ingest(core, [...checkout(3001, 100, 2), ...cart(4001, 100, 0)], T + 5000);
      clock.now = T + 10_000;
      const r = await api.slos();
      expect(r.window_seconds).toBe(10);
      expect(r.slos.map((x) => [x.name, x.good, x.total, x.sli, x.budget_remaining, x.burn_rate])).toEqual([
        ['checkout-availability', 1095, 1100, 1095 / 1100, -3.54545, 20],
        ['cart-latency', 299, 300, 299 / 300, 0.666667, 0],
        ['idle', 0, 0, null, null, null],
      ]);
      // The same over HTTP.
      const answer = await uiRoutes(api)('/api/slos', new URLSearchParams('window=10'));
      expect(answer?.status).toBe(200);
      expect(JSON.parse(String(answer?.body))).toEqual(r);
    } finally {
      api.release();
    }
  });
});

describe('naming: otel', () => {
  // The page reads the families by role (src/exporters/catalog.ts), not by name: with the
  // Collector's names (traces_span_metrics_calls_total, the duration histogram in milliseconds,
  // label service_name) it must show what it shows with Tempo's.
  it('the page shows the same graph, RED tables and SLOs as with Tempo naming', async () => {
    const slos: SloConfig[] = [{ ...SLO_DEFAULTS, name: 'checkout', service: 'checkout', span_kind: 'server', objective: 99 }];
    const tempo = await setup({ slos });
    const otel = await setup({ slos, naming: 'otel', spanMetrics: { histogram_unit: 'ms' } });
    try {
      // The otel scheme is in force: Collector names and service_name on /metrics.
      const text = renderFamilies(otel.catalog.families, 'text').toString('utf8');
      expect(text).not.toContain('traces_spanmetrics_calls');
      ingest(otel.core, TRAFFIC.slice(0, 1), T - 5000);
      expect(renderFamilies(otel.catalog.families, 'text').toString('utf8'))
        .toContain('traces_span_metrics_calls_total{service_name="frontend",span_name="GET /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"} 1');
      ingest(tempo.core, TRAFFIC.slice(0, 1), T - 5000);
      for (const { api, clock } of [tempo, otel]) {
        clock.now = T;
        await api.graph();
      }
      for (const { core, clock } of [tempo, otel]) {
        ingest(core, TRAFFIC, T + 1000);
        clock.now = T + 10_000;
      }
      const [graph, red, sloAnswer] = await Promise.all([otel.api.graph(), otel.api.red({ service: 'frontend' }), otel.api.slos()]);
      // As in '/api/graph … after 10 s' above: checkout 0.2/s, half failed, p95 0.91; frontend
      // 0.3/s, one in three failed; frontend → checkout 0.2/s.
      expect(graph.nodes.filter((n) => n.type === 'service').map((n) => [n.id, n.rate, n.error_ratio, n.p95])).toEqual([
        ['checkout', 0.2, 0.5, 0.91],
        ['frontend', 0.3, 0.333333, 0.865],
        ['mailer', 0.1, 0, 0.0955],
      ]);
      expect(graph.edges.find((e) => e.source === 'frontend')).toMatchObject({ target: 'checkout', rate: 0.2, error_ratio: 0.5 });
      // frontend: GET /cart 0.05 s, 0.4 s (error) → 0.2/s, 0.5 (TRAFFIC trace 1 and 2 over 10 s).
      expect(red.operations.find((o) => o.span_name === 'GET /cart')).toMatchObject({ service: 'frontend', span_kind: 'SPAN_KIND_SERVER', rate: 0.2, error_ratio: 0.5 });
      // checkout server spans: Checkout twice, once failed: 1 good of 2; burn (1/2) / 0.01 = 50.
      expect(sloAnswer.slos.map((x) => [x.name, x.good, x.total, x.burn_rate])).toEqual([['checkout', 1, 2, 50]]);
      // And everything equals Tempo naming's answer (the time and the core's start aside).
      expect(graph).toEqual(await tempo.api.graph());
      expect(red).toEqual(await tempo.api.red({ service: 'frontend' }));
      expect({ ...sloAnswer, since: 0 }).toEqual({ ...(await tempo.api.slos()), since: 0 });
    } finally {
      tempo.api.release();
      otel.api.release();
    }
  });
});
