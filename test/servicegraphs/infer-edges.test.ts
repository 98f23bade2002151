// processor.service_graphs.infer_edges: parent_child. Traces shaped like the cases the option is
// for (issue 24; Tempo issue "service graph for client->client spans", Istio's ingress gateway):
// an Istio gateway (client → client), INTERNAL-only module calls, SERVER-only instrumentation.
// With it on, an edge parent service → child service, connection_type="parent_child"; with it
// off (the default, Tempo's pairing), never. Each shape is sent in every order of its spans, and
// split over requests, since a child usually ends (and is exported) before its parent.
import { describe, expect, test } from 'vitest';
import { CLIENT, FAILED, REQ, SERVER, UNPAIRED, harness, histogram, line, permutations, sorted, type SpanSpec } from './helpers.js';

const LE = [0.1, 1];
const PC = 'connection_type="parent_child"';

/** Istio's ingress gateway: its CLIENT span calls the app, whose first span is a CLIENT span too (its sidecar's outbound). */
const GATEWAY: SpanSpec[] = [
  { trace: 1, id: 1, kind: 'client', service: 'istio-ingressgateway', durMs: 50 },
  { trace: 1, id: 2, parent: 1, kind: 'client', service: 'productpage', durMs: 40 },
];
/** Modules of one process reported as services, calling each other with INTERNAL spans only. */
const MODULES: SpanSpec[] = [
  { trace: 2, id: 1, kind: 'internal', service: 'orders-module', durMs: 300 },
  { trace: 2, id: 2, parent: 1, kind: 'internal', service: 'billing-module', durMs: 200, error: true },
];
/** Only SERVER spans: the caller's server span is the callee's parent. */
const SERVER_ONLY: SpanSpec[] = [
  { trace: 3, id: 1, parent: 9, kind: 'server', service: 'frontend', durMs: 80 },
  { trace: 3, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 60 },
];

const WAIT = 1000;

describe('infer_edges: parent_child', () => {
  for (const [name, spans, client, server, failed] of [
    ['Istio gateway (client → client)', GATEWAY, 'istio-ingressgateway', 'productpage', 0],
    ['INTERNAL-only module calls', MODULES, 'orders-module', 'billing-module', 1],
    ['SERVER-only instrumentation', SERVER_ONLY, 'frontend', 'cart', 0],
  ] as const) {
    test(`${name}: one edge parent → child with it on, in every order and split`, async () => {
      for (const order of permutations([...spans])) {
        for (const split of [false, true]) {
          const h = await harness({ histogram_buckets: LE, wait: WAIT, infer_edges: 'parent_child' });
          if (split) order.forEach((s, k) => h.send([s], k));
          else h.send(order, 0);
          h.core.expire(Infinity);
          const labels = `client="${client}",server="${server}",${PC}`;
          // client_seconds: the parent span's duration; server_seconds: the child's (spans above, in s)
          const parent = spans[0]!.durMs / 1000;
          const child = spans[1]!.durMs / 1000;
          const edge = h.lines().filter((l) => l.includes(PC));
          expect(edge, `${order.map((s) => s.id)} split ${split}`).toEqual(sorted([
            line(REQ, labels, 1),
            ...(failed ? [line(FAILED, labels, failed)] : []),
            ...histogram(SERVER, labels, LE, [child]),
            ...histogram(CLIENT, labels, LE, [parent]),
          ]));
        }
      }
    });

    test(`${name}: no edge with it off (the default)`, async () => {
      const h = await harness({ histogram_buckets: LE, wait: WAIT });
      expect(h.cfg.infer_edges).toBe('off');
      h.send(spans);
      h.core.expire(Infinity);
      // (the SERVER-only trace's first span has a parent, 9, that never comes: no user edge either)
      expect(h.lines().filter((l) => l.startsWith(REQ))).toEqual([]);
    });
  }

  test('a real server still pairs with a client that also has a child in another service', async () => {
    const h = await harness({ histogram_buckets: LE, wait: WAIT, infer_edges: 'parent_child' });
    h.send([
      { trace: 5, id: 2, parent: 1, kind: 'internal', service: 'audit', durMs: 1, error: true },
      { trace: 5, id: 1, kind: 'client', service: 'api', durMs: 20 },
      { trace: 5, id: 3, parent: 1, kind: 'server', service: 'db-svc', durMs: 10 },
    ]);
    h.core.expire(Infinity);
    // the inferred child's error does not fail the real request
    expect(h.lines().filter((l) => l.startsWith(REQ) || l.startsWith(FAILED))).toEqual([line(REQ, 'client="api",server="db-svc"', 1)]);
  });

  test('links inside one service make nothing; a child whose parent never came is not counted', async () => {
    const h = await harness({ histogram_buckets: LE, wait: WAIT, infer_edges: 'parent_child' });
    h.send([
      { trace: 6, id: 2, parent: 1, kind: 'internal', service: 'api', durMs: 1 },
      { trace: 6, id: 1, kind: 'server', service: 'api', durMs: 5 },
      { trace: 6, id: 3, parent: 2, kind: 'client', service: 'api', durMs: 1, attrs: { 'peer.service': 'ext' } },
      { trace: 7, id: 2, parent: 1, kind: 'internal', service: 'lonely', durMs: 1 },
    ]);
    expect(h.core.edgeStoreSize()).toBeGreaterThan(0);
    h.core.expire(Infinity);
    expect(h.core.edgeStoreSize()).toBe(0);
    // trace 6: the root server (user → api) and the client to its peer (api → ext), as without the option
    expect(h.lines().filter((l) => l.startsWith(REQ) || l.startsWith(UNPAIRED))).toEqual(sorted([
      line(REQ, 'client="api",server="ext",connection_type="virtual_node"', 1),
      line(REQ, 'client="user",server="api",connection_type="virtual_node"', 1),
    ]));
  });

  test('the server_only spans it explains become edges: unpaired{reason="server_only"} with it off, an edge with it on', async () => {
    const spans: SpanSpec[] = [
      { trace: 8, id: 1, kind: 'internal', service: 'gw', durMs: 5 },
      { trace: 8, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 3 },
    ];
    const off = await harness({ histogram_buckets: LE, wait: WAIT });
    off.send(spans);
    off.core.expire(Infinity);
    expect(off.lines().filter((l) => l.startsWith(UNPAIRED) || l.startsWith(REQ))).toEqual([line(UNPAIRED, 'server="cart",reason="server_only"', 1)]);
    const on = await harness({ histogram_buckets: LE, wait: WAIT, infer_edges: 'parent_child' });
    on.send(spans);
    on.core.expire(Infinity);
    expect(on.lines().filter((l) => l.startsWith(UNPAIRED) || l.startsWith(REQ))).toEqual([line(REQ, `client="gw",server="cart",${PC}`, 1)]);
  });
});
