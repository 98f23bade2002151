// What a routing change (an instance added or removed) does to the service graphs: one trace's
// client span reaches instance A and its server span instance B, as happens while the
// load-balancing exporter's backend list changes. Neither side finds its partner within `wait`
// (1 s here), so A counts the client side and B the server side in
// traces_service_graph_unpaired_spans_total, and no instance makes a (wrong) edge. A control
// trace sent whole to A pairs normally.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import { fetchMetricsText, postTraces, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { parsePrometheusText, type Sample } from '../support/prom-text.js';

const CONFIG = { processors: ['span-metrics', 'service-graphs'], processor: { service_graphs: { wait: '1s' } } };

const client = (trace: number): SpanSpec => ({ trace, id: 2, parent: 1, kind: 'client', service: 'frontend', name: 'GET /api/cart', durMs: 20 });
const server = (trace: number): SpanSpec => ({ trace, id: 3, parent: 2, kind: 'server', service: 'cart', name: 'GET /api/cart', durMs: 15, startMs: 2 });

async function samples(s: Sidecar, family: string): Promise<string[]> {
  // only this family's lines: prom-client writes NaN gauges (nodejs_eventloop_lag_*) as "Nan",
  // which the strict test parser refuses (Prometheus itself accepts it)
  const text = (await fetchMetricsText(s)).text
    .split('\n')
    .filter((l) => l.startsWith(`${family} `) || l.startsWith(`${family}{`) || l.startsWith(`# TYPE ${family} `))
    .join('\n');
  const expo = parsePrometheusText(text + '\n');
  return expo.samples
    .filter((x: Sample) => x.name === family)
    .map((x) => `${JSON.stringify(x.labels)} ${x.value}`)
    .sort();
}

describe('a trace split across two instances during a routing change', () => {
  let a: Sidecar | undefined;
  let b: Sidecar | undefined;
  beforeAll(async () => {
    [a, b] = await Promise.all([startSidecar({ config: CONFIG, label: 'A' }), startSidecar({ config: CONFIG, label: 'B' })]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test('client side unpaired on A, server side unpaired on B, no edge for it anywhere', async () => {
    const A = a!;
    const B = b!;
    // trace 1: split (client -> A, server -> B); trace 2: control, both sides -> A
    for (const [s, spans] of [
      [A, [client(1), client(2), server(2)]],
      [B, [server(1)]],
    ] as const) {
      const r = await postTraces(s, request([...spans]), 'application/x-protobuf');
      expect(r.status, r.text).toBe(200);
    }
    // the control edge exists at once; the split spans are still waiting
    expect(await samples(A, 'traces_service_graph_request_total')).toEqual(['{"client":"frontend","server":"cart"} 1']);
    expect(await samples(B, 'traces_service_graph_request_total')).toEqual([]);

    // after `wait` (1 s) and some slack, both sides have given up
    const deadline = Date.now() + 8000;
    let ua: string[] = [];
    let ub: string[] = [];
    for (;;) {
      ua = (await samples(A, 'traces_service_graph_unpaired_spans_total')).filter((x) => !x.endsWith(' 0'));
      ub = (await samples(B, 'traces_service_graph_unpaired_spans_total')).filter((x) => !x.endsWith(' 0'));
      if ((ua.length > 0 && ub.length > 0) || Date.now() > deadline) break;
      await sleep(250);
    }
    // A's client never met its server (client_only); B's server never saw its parent, the client on A (parent_unknown)
    expect(ua).toEqual(['{"client":"frontend","reason":"client_only"} 1']);
    expect(ub).toEqual(['{"server":"cart","reason":"parent_unknown"} 1']);
    // still no edge from the split trace: A has only the control edge, B none
    expect(await samples(A, 'traces_service_graph_request_total')).toEqual(['{"client":"frontend","server":"cart"} 1']);
    expect(await samples(B, 'traces_service_graph_request_total')).toEqual([]);
    expect(await samples(A, 'traces_service_graph_request_failed_total')).toEqual([]);
    expect(await samples(B, 'traces_service_graph_request_failed_total')).toEqual([]);
    // both stores are empty again
    expect(await samples(A, 'spanmeter_edge_store_size')).toEqual(['{} 0']);
    expect(await samples(B, 'spanmeter_edge_store_size')).toEqual(['{} 0']);
    // span metrics are unaffected by routing: the fleet still counts every span once
    expect(await samples(A, 'traces_spanmetrics_calls_total')).toEqual([
      '{"service":"cart","span_name":"GET /api/cart","span_kind":"SPAN_KIND_SERVER","status_code":"STATUS_CODE_UNSET"} 1',
      '{"service":"frontend","span_name":"GET /api/cart","span_kind":"SPAN_KIND_CLIENT","status_code":"STATUS_CODE_UNSET"} 2',
    ]);
    expect(await samples(B, 'traces_spanmetrics_calls_total')).toEqual([
      '{"service":"cart","span_name":"GET /api/cart","span_kind":"SPAN_KIND_SERVER","status_code":"STATUS_CODE_UNSET"} 1',
    ]);
  }, 20_000);
});
