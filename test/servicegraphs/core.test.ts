// The service-graphs processor in process: the core (debug build) fed hand-written OTLP spans,
// time passed explicitly so expiry is deterministic, and the exact Prometheus lines rendered
// by ServiceGraphsExposition. Semantics are Tempo's (see /work/shared/conformance/README.md).
//
// Durations are dyadic fractions of a second (0.5, 0.25, 0.125, 0.0625, ...) so sums are exact
// whatever the order of addition. The edge store's capacity, expiry order and randomized runs
// against a model: edgestore.test.ts.
import { describe, expect, test } from 'vitest';
import {
  CLIENT, DROPPED, FAILED, MSG, REQ, SERVER, SMALL_BUCKETS, UNPAIRED,
  edgeLines, harness, histogram, line, permutations, request, sorted,
  type SpanSpec,
} from './helpers.js';
import { defaultConfig } from '../../src/config/defaults.js';

const DEFAULT_LE = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8];

describe('client/server pair', () => {
  const client: SpanSpec = { trace: 1, id: 1, kind: 'client', service: 'frontend', durMs: 250 };
  const server: SpanSpec = { trace: 1, id: 2, parent: 1, kind: 'server', service: 'checkout', startMs: 10, durMs: 125 };
  // Written out in full once, with the default buckets (0.1 · 2^k, k = 0..7).
  const expected = sorted([
    'traces_service_graph_request_total{client="frontend",server="checkout"} 1',
    'traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="0.1"} 0',
    'traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="0.2"} 1',
    'traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="0.4"} 1',
    'traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="0.8"} 1',
    'traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="1.6"} 1',
    'traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="3.2"} 1',
    'traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="6.4"} 1',
    'traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="12.8"} 1',
    'traces_service_graph_request_server_seconds_bucket{client="frontend",server="checkout",le="+Inf"} 1',
    'traces_service_graph_request_server_seconds_sum{client="frontend",server="checkout"} 0.125',
    'traces_service_graph_request_server_seconds_count{client="frontend",server="checkout"} 1',
    'traces_service_graph_request_client_seconds_bucket{client="frontend",server="checkout",le="0.1"} 0',
    'traces_service_graph_request_client_seconds_bucket{client="frontend",server="checkout",le="0.2"} 0',
    'traces_service_graph_request_client_seconds_bucket{client="frontend",server="checkout",le="0.4"} 1',
    'traces_service_graph_request_client_seconds_bucket{client="frontend",server="checkout",le="0.8"} 1',
    'traces_service_graph_request_client_seconds_bucket{client="frontend",server="checkout",le="1.6"} 1',
    'traces_service_graph_request_client_seconds_bucket{client="frontend",server="checkout",le="3.2"} 1',
    'traces_service_graph_request_client_seconds_bucket{client="frontend",server="checkout",le="6.4"} 1',
    'traces_service_graph_request_client_seconds_bucket{client="frontend",server="checkout",le="12.8"} 1',
    'traces_service_graph_request_client_seconds_bucket{client="frontend",server="checkout",le="+Inf"} 1',
    'traces_service_graph_request_client_seconds_sum{client="frontend",server="checkout"} 0.25',
    'traces_service_graph_request_client_seconds_count{client="frontend",server="checkout"} 1',
  ]);

  test('client then server, one request: the edge completes at once', async () => {
    const h = await harness();
    h.send([client, server]);
    expect(h.core.edgeStoreSize()).toBe(0);
    expect(h.lines()).toEqual(expected);
    const text = h.text();
    for (const name of [REQ, FAILED, SERVER, CLIENT, UNPAIRED, DROPPED]) expect(text).toContain(`# TYPE ${name} `);
    // the messaging histogram is opt-in
    expect(text).not.toContain(MSG);
    // nothing waits, so expiry changes nothing
    expect(h.core.expire(Infinity)).toBe(0);
    expect(h.lines()).toEqual(expected);
  });

  test('server first, in separate requests: the same edge', async () => {
    const h = await harness();
    h.send([server], 0);
    expect(h.core.edgeStoreSize()).toBe(1);
    expect(h.lines()).toEqual([]);
    h.send([client], 5000);
    expect(h.core.edgeStoreSize()).toBe(0);
    expect(h.lines()).toEqual(expected);
  });

  test('requests accumulate on one series', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    for (let t = 1; t <= 3; t++) {
      h.send([
        { ...client, trace: t, durMs: 250 * t },
        { ...server, trace: t, durMs: 62.5 * t },
      ]);
    }
    expect(h.lines()).toEqual(sorted(edgeLines('client="frontend",server="checkout"', { server: [0.0625, 0.125, 0.1875], client: [0.25, 0.5, 0.75] })));
  });
});

describe('more pairing rules', () => {
  const e = { server: [0.25], client: [0.5] };

  test('a duplicated client span (export retry) still makes one request', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    const c: SpanSpec = { trace: 1, id: 1, kind: 'client', service: 'a', durMs: 500 };
    h.send([c]);
    h.send([c]);
    h.send([{ trace: 1, id: 2, parent: 1, kind: 'server', service: 'b', durMs: 250 }]);
    expect(h.core.edgeStoreSize()).toBe(0);
    expect(h.lines()).toEqual(sorted(edgeLines('client="a",server="b"', e)));
  });

  test('mixed kinds: the connection type of the span processed last (as in Tempo)', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'a', durMs: 500 },
      { trace: 1, id: 2, parent: 1, kind: 'consumer', service: 'b', durMs: 250 },
      { trace: 2, id: 2, parent: 1, kind: 'consumer', service: 'c', durMs: 250 },
      { trace: 2, id: 1, kind: 'client', service: 'd', durMs: 500 },
    ]);
    expect(h.lines()).toEqual(
      sorted([...edgeLines('client="a",server="b",connection_type="messaging_system"', e), ...edgeLines('client="d",server="c"', e)]),
    );
  });

  test('label values are escaped; the text stays valid', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'we"ird\\svc\nx', durMs: 500 },
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'ünï cödé', durMs: 250 },
    ]);
    expect(h.lines()).toEqual(sorted(edgeLines('client="we\\"ird\\\\svc\\nx",server="ünï cödé"', e)));
  });

  test('dimension values of other types: int in decimal, bool, double', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, dimensions: ['retries', 'cached', 'ratio'] });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'a', durMs: 500, attrs: { retries: 3, cached: true, ratio: 0.5 } },
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'b', durMs: 250, attrs: { retries: -9007199254740991 } },
    ]);
    expect(h.lines()).toEqual(sorted(edgeLines('client="a",server="b",retries="-9007199254740991",cached="true",ratio="0.5"', e)));
  });

  test('custom database_name_attributes: only those make a database edge', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, database_name_attributes: ['db.name'] });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'a', durMs: 500, attrs: { 'db.system': 'mysql', 'server.address': 'm' } },
      { trace: 2, id: 1, kind: 'client', service: 'a', durMs: 500, attrs: { 'db.name': 'users' } },
    ]);
    expect(h.core.edgeStoreSize()).toBe(1);
    expect(h.lines()).toEqual(sorted(edgeLines('client="a",server="users",connection_type="database"', { server: [0.5], client: [0.5] })));
  });

  // The core looks at the first four database attributes without a loop and any further ones in
  // one (assembly/edgelabels.ts upsertDatabase): six attributes, each case naming the edge by
  // the first of the list the span has (Tempo's order: the list's).
  test('six database_name_attributes: the first one the span has names the edge', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, database_name_attributes: ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'] });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'a', durMs: 500, attrs: { d6: 'six' } },
      { trace: 2, id: 1, kind: 'client', service: 'b', durMs: 500, attrs: { d6: 'six', d5: 'five' } },
      { trace: 3, id: 1, kind: 'client', service: 'c', durMs: 500, attrs: { d6: 'six', d4: 'four' } },
      { trace: 4, id: 1, kind: 'client', service: 'd', durMs: 500, attrs: { d3: 'three', d2: 'two' } },
      { trace: 5, id: 1, kind: 'client', service: 'e', durMs: 500, attrs: { 'db.name': 'users' } },
    ]);
    // e's db.name is not in the list: it waits as a plain client span.
    expect(h.core.edgeStoreSize()).toBe(1);
    const e = { server: [0.5], client: [0.5] };
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="six",connection_type="database"', e),
        ...edgeLines('client="b",server="five",connection_type="database"', e),
        ...edgeLines('client="c",server="four",connection_type="database"', e),
        ...edgeLines('client="d",server="two",connection_type="database"', e),
      ]),
    );
  });

  test('two database_name_attributes: the second alone still names the edge', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, database_name_attributes: ['d1', 'd2'] });
    h.send([{ trace: 1, id: 1, kind: 'client', service: 'a', durMs: 500, resource: { d2: 'res' } }]);
    expect(h.core.edgeStoreSize()).toBe(0);
    expect(h.lines()).toEqual(sorted(edgeLines('client="a",server="res",connection_type="database"', { server: [0.5], client: [0.5] })));
  });

  test('peer attributes: span attributes only, in configured order', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, peer_attributes: ['net.peer.name', 'peer.service'], wait: 1000 });
    h.send([
      // both: the first configured wins
      { trace: 1, id: 1, kind: 'client', service: 'a', durMs: 500, attrs: { 'peer.service': 'second', 'net.peer.name': 'first' } },
      { trace: 2, id: 1, kind: 'client', service: 'b', durMs: 500, attrs: { 'peer.service': 'ps' } },
      // on the resource only: not a peer
      { trace: 3, id: 1, kind: 'client', service: 'c', durMs: 500, resource: { 'peer.service': 'res-peer' } },
    ]);
    h.core.expire(1000);
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="first",connection_type="virtual_node"', { server: [0], client: [0.5] }),
        ...edgeLines('client="b",server="ps",connection_type="virtual_node"', { server: [0], client: [0.5] }),
        line(UNPAIRED, 'client="c",reason="client_only"', 1),
      ]),
    );
  });

  test('peer attributes past the fourth, and a root server span named by its peer', async () => {
    // The first configured attribute the span has wins (Tempo's upsertPeerNode walks
    // PeerAttributes in order); the core looks at the first four without a loop, the rest in one.
    const peers = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, peer_attributes: peers, wait: 1000 });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'a', durMs: 500, attrs: { p6: 'six', p5: 'five' } },
      { trace: 2, id: 1, kind: 'client', service: 'b', durMs: 500, attrs: { p6: 'six' } },
      { trace: 3, id: 1, kind: 'client', service: 'c', durMs: 500, attrs: { p4: 'four', p3: 'three' } },
      { trace: 4, id: 1, kind: 'server', service: 'd', durMs: 250, attrs: { p6: 'lb' } },
      { trace: 5, id: 1, kind: 'client', service: 'e', durMs: 500, attrs: { other: 'x' } },
    ]);
    h.core.expire(1000);
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="five",connection_type="virtual_node"', { server: [0], client: [0.5] }),
        ...edgeLines('client="b",server="six",connection_type="virtual_node"', { server: [0], client: [0.5] }),
        ...edgeLines('client="c",server="three",connection_type="virtual_node"', { server: [0], client: [0.5] }),
        ...edgeLines('client="lb",server="d",connection_type="virtual_node"', { server: [0.25], client: [0] }),
        line(UNPAIRED, 'client="e",reason="client_only"', 1),
      ]),
    );
  });

  test('a malformed request changes nothing (all or nothing)', async () => {
    const h = await harness();
    const good = request([
      { trace: 1, id: 1, kind: 'client', service: 'a', durMs: 500 },
      { trace: 2, id: 2, parent: 1, kind: 'server', service: 'b', durMs: 250 },
    ]);
    const bad = new Uint8Array([...good, 0x0a, 0xff]); // a ResourceSpans whose length runs past the end
    const r = h.core.ingest(bad, 0);
    expect(r.ok).toBe(false);
    expect(h.core.edgeStoreSize()).toBe(0);
    expect(h.core.expire(Infinity)).toBe(0);
    expect(h.lines()).toEqual([]);
  });
});

describe('failed requests', () => {
  test('ERROR on either side (or both) fails the request; no failed series without failures', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    const pair = (trace: number, clientError: boolean, serverError: boolean, c = 'a', s = 'b'): SpanSpec[] => [
      { trace, id: 1, kind: 'client', service: c, durMs: 500, error: clientError },
      { trace, id: 2, parent: 1, kind: 'server', service: s, durMs: 250, error: serverError },
    ];
    h.send([...pair(1, true, false), ...pair(2, false, true), ...pair(3, false, false), ...pair(4, true, true)]);
    // server span first, error on the client processed later
    h.send([pair(5, true, false)[1]!, pair(5, true, false)[0]!]);
    // an edge that never failed
    h.send([...pair(6, false, false, 'c', 'd')]);
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="b"', { server: [0.25, 0.25, 0.25, 0.25, 0.25], client: [0.5, 0.5, 0.5, 0.5, 0.5], failed: 4 }),
        ...edgeLines('client="c",server="d"', { server: [0.25], client: [0.5] }),
      ]),
    );
    expect(h.text()).not.toContain(`${FAILED}{client="c"`);
  });
});

describe('messaging', () => {
  // producer ends at 62.5 ms; the consumer starts 250 ms later, exactly at the end, or before it.
  const spans = (trace: number, consumerStartMs: number): SpanSpec[] => [
    { trace, id: 1, kind: 'producer', service: 'orders', durMs: 62.5 },
    { trace, id: 2, parent: 1, kind: 'consumer', service: 'shipping', startMs: consumerStartMs, durMs: 125 },
  ];
  const labels = 'client="orders",server="shipping",connection_type="messaging_system"';

  test('producer/consumer pair: messaging_system edge with the queue latency; <= 0 not observed', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, enable_messaging_system_latency_histogram: true });
    h.send(spans(1, 312.5));
    expect(h.lines()).toEqual(sorted(edgeLines(labels, { server: [0.125], client: [0.0625], queue: [0.25] })));
    // consumer starts exactly when the producer ends (0) and before it ends (negative)
    h.send(spans(2, 62.5));
    h.send([spans(3, 12.5)[1]!, spans(3, 12.5)[0]!]);
    expect(h.lines()).toEqual(
      sorted(edgeLines(labels, { server: [0.125, 0.125, 0.125], client: [0.0625, 0.0625, 0.0625], queue: [0.25] })),
    );
    expect(h.text()).toContain(`# TYPE ${MSG} histogram`);
  });

  test('only non-positive queue times: the messaging histogram has no series', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, enable_messaging_system_latency_histogram: true });
    h.send(spans(1, 62.5));
    expect(h.lines()).toEqual(sorted(edgeLines(labels, { server: [0.125], client: [0.0625] })));
  });

  test('without enable_messaging_system_latency_histogram: no messaging histogram at all', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    h.send(spans(1, 312.5));
    expect(h.lines()).toEqual(sorted(edgeLines(labels, { server: [0.125], client: [0.0625] })));
    expect(h.text()).not.toContain(MSG);
  });
});

describe('database edges', () => {
  const DB = { 'db.system.name': 'postgresql', 'db.namespace': 'orders' };
  const cases: { name: string; attrs?: Record<string, string | number>; resource?: Record<string, string | number>; server: string }[] = [
    {
      name: 'peer.service first',
      attrs: { ...DB, 'peer.service': 'orders-db', 'server.address': 'pg-main', 'network.peer.address': '10.0.0.5', 'network.peer.port': 5432 },
      server: 'orders-db',
    },
    {
      name: 'then server.address',
      attrs: { ...DB, 'server.address': 'pg-main', 'network.peer.address': '10.0.0.5', 'network.peer.port': 5432 },
      server: 'pg-main',
    },
    { name: 'then network.peer.address:port (int port)', attrs: { ...DB, 'network.peer.address': '10.0.0.5', 'network.peer.port': 5432 }, server: '10.0.0.5:5432' },
    { name: 'network.peer.address without a port', attrs: { ...DB, 'network.peer.address': '10.0.0.6' }, server: '10.0.0.6' },
    { name: 'then the db attribute: db.namespace before the others', attrs: { 'db.system.name': 'postgresql', 'db.system': 'pg', 'db.name': 'n', 'db.namespace': 'ns' }, server: 'ns' },
    { name: 'db.name before db.system', attrs: { 'db.system': 'mysql', 'db.name': 'users' }, server: 'users' },
    { name: 'db.system before db.system.name', attrs: { 'db.system.name': 'redis', 'db.system': 'redis-legacy' }, server: 'redis-legacy' },
    { name: 'db.system.name alone', attrs: { 'db.system.name': 'redis' }, server: 'redis' },
    { name: 'resource attribute before span attribute', resource: { 'server.address': 'res-host' }, attrs: { ...DB, 'server.address': 'span-host' }, server: 'res-host' },
    { name: 'database attribute on the resource', resource: { 'db.system': 'mysql' }, attrs: { 'network.peer.address': 'db.local' }, server: 'db.local' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const h = await harness({ histogram_buckets: SMALL_BUCKETS });
      h.send([{ trace: 1, id: 1, parent: 9, kind: 'client', service: 'api', durMs: 62.5, attrs: c.attrs, resource: c.resource }]);
      // completes from the client span alone: nothing waits
      expect(h.core.edgeStoreSize()).toBe(0);
      expect(h.lines()).toEqual(
        sorted(edgeLines(`client="api",server="${c.server}",connection_type="database"`, { server: [0.0625], client: [0.0625] })),
      );
    });
  }

  test('a client span without a database attribute is not a database edge', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    h.send([{ trace: 1, id: 1, kind: 'client', service: 'api', durMs: 62.5, attrs: { 'server.address': 'pg-main' } }]);
    expect(h.core.edgeStoreSize()).toBe(1);
    expect(h.lines()).toEqual([]);
  });
});

describe('virtual nodes at expiry', () => {
  const WAIT = 2000;
  const spans: SpanSpec[] = [
    // root server spans: the caller is not instrumented
    { trace: 1, id: 1, kind: 'server', service: 'web', durMs: 125 },
    { trace: 2, id: 1, kind: 'server', service: 'admin', durMs: 250, attrs: { 'peer.service': 'lb' } },
    // a client span calling something uninstrumented, named by peer.service
    { trace: 3, id: 1, parent: 7, kind: 'client', service: 'api', durMs: 500, attrs: { 'peer.service': 'stripe' } },
  ];
  for (const label of [false, true]) {
    test(`enable_virtual_node_label: ${label}`, async () => {
      const h = await harness({ histogram_buckets: SMALL_BUCKETS, wait: WAIT, enable_virtual_node_label: label });
      h.send(spans, 1000);
      expect(h.core.edgeStoreSize()).toBe(3);
      expect(h.core.expire(1000 + WAIT - 1)).toBe(0);
      expect(h.lines()).toEqual([]);
      expect(h.core.expire(1000 + WAIT)).toBe(3);
      expect(h.core.edgeStoreSize()).toBe(0);
      expect(h.core.expiredEdges('server')).toBe(2);
      expect(h.core.expiredEdges('client')).toBe(1);
      const vc = label ? ',virtual_node="client"' : '';
      const vs = label ? ',virtual_node="server"' : '';
      // the missing side is observed as latency 0
      expect(h.lines()).toEqual(
        sorted([
          ...edgeLines(`client="user",server="web",connection_type="virtual_node"${vc}`, { server: [0.125], client: [0] }),
          ...edgeLines(`client="lb",server="admin",connection_type="virtual_node"${vc}`, { server: [0.25], client: [0] }),
          ...edgeLines(`client="api",server="stripe",connection_type="virtual_node"${vs}`, { server: [0], client: [0.5] }),
        ]),
      );
    });
  }
});

describe('unpaired spans', () => {
  test('a non-root lone server and a lone client without a peer are counted by the side seen', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, wait: 1000 });
    h.send([
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'billing', durMs: 125 },
      // a peer attribute does not make a non-root server a virtual-node edge
      { trace: 2, id: 2, parent: 1, kind: 'server', service: 'billing', durMs: 125, attrs: { 'peer.service': 'x' } },
      { trace: 3, id: 1, kind: 'client', service: 'api', durMs: 125 },
      { trace: 4, id: 1, kind: 'consumer', service: 'worker', parent: 5, durMs: 125 },
    ]);
    expect(h.core.expire(999)).toBe(0);
    expect(h.core.expire(1000)).toBe(4);
    expect(h.lines()).toEqual(
      sorted([
        // their parents (span 1, span 5) never came; the client's server never came
        line(UNPAIRED, 'server="billing",reason="parent_unknown"', 2), line(UNPAIRED, 'client="api",reason="client_only"', 1),
        line(UNPAIRED, 'server="worker",reason="parent_unknown"', 1),
      ]),
    );
  });

  test('a lone client whose server only sent a span without service.name', async () => {
    const h = await harness({ wait: 1000 });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'api', durMs: 125 },
      { trace: 1, id: 2, parent: 1, kind: 'server', service: null, durMs: 125 },
    ]);
    expect(h.core.edgeStoreSize()).toBe(1);
    h.core.expire(Infinity);
    expect(h.lines()).toEqual([line(UNPAIRED, 'client="api",reason="client_only"', 1)]);
  });
});

describe('resources without service.name', () => {
  test('are skipped: nothing stored, nothing counted', async () => {
    const h = await harness({ wait: 1000 });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: null, durMs: 125, attrs: { 'peer.service': 'p' } },
      { trace: 1, id: 2, parent: 1, kind: 'server', service: null, durMs: 125 },
      { trace: 2, id: 1, kind: 'server', service: null, durMs: 125 },
      { trace: 3, id: 1, kind: 'client', service: null, durMs: 125, attrs: { 'db.system': 'mysql' } },
      { trace: 4, id: 1, kind: 'client', service: null, durMs: 125, resource: { 'host.name': 'h' } },
    ]);
    expect(h.core.edgeStoreSize()).toBe(0);
    expect(h.core.expire(Infinity)).toBe(0);
    expect(h.lines()).toEqual([]);
  });
});

describe('dimensions', () => {
  const client = (trace: number, service: string, env?: string, more: Partial<SpanSpec> = {}): SpanSpec => ({
    trace, id: 1, kind: 'client', service, durMs: 500, ...(env !== undefined ? { attrs: { env, 'http.method': 'GET' } } : {}), ...more,
  });
  const server = (trace: number, service: string, env?: string, more: Partial<SpanSpec> = {}): SpanSpec => ({
    trace, id: 2, parent: 1, kind: 'server', service, durMs: 250, ...(env !== undefined ? { attrs: { env } } : {}), ...more,
  });
  const e = { server: [0.25], client: [0.5] };

  test('without the prefix: the span processed last wins; resource before span', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, dimensions: ['env', 'http.method'] });
    h.send([client(1, 'a', 'from-client'), server(1, 'b', 'from-server')]);
    h.send([server(2, 'c', 'from-server'), client(2, 'd', 'from-client')]);
    // in separate requests, server first
    h.send([server(3, 'e', 'from-server')]);
    h.send([client(3, 'f', 'from-client')]);
    // the resource attribute wins over the span attribute; the server span has none
    h.send([client(4, 'g', 'span-env', { resource: { env: 'res-env' } }), server(4, 'h')]);
    expect(h.lines()).toEqual(
      sorted([
        // http.method only on the client span: kept although the server span came last
        ...edgeLines('client="a",server="b",env="from-server",http_method="GET"', e),
        ...edgeLines('client="d",server="c",env="from-client",http_method="GET"', e),
        ...edgeLines('client="f",server="e",env="from-client",http_method="GET"', e),
        ...edgeLines('client="g",server="h",env="res-env",http_method="GET"', e),
      ]),
    );
  });

  test('with enable_client_server_prefix: client_X and server_X from each side', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, dimensions: ['env', 'http.method'], enable_client_server_prefix: true });
    h.send([client(1, 'a', 'from-client'), server(1, 'b', 'from-server')]);
    h.send([server(2, 'c', 'from-server'), client(2, 'd', 'from-client')]);
    h.send([client(4, 'g', 'span-env', { resource: { env: 'res-env' } }), server(4, 'h')]);
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="b",client_env="from-client",client_http_method="GET",server_env="from-server"', e),
        ...edgeLines('client="d",server="c",client_env="from-client",client_http_method="GET",server_env="from-server"', e),
        ...edgeLines('client="g",server="h",client_env="res-env",client_http_method="GET"', e),
      ]),
    );
  });
});

describe('one trace split over several requests, in every order', () => {
  // frontend → checkout (server ERROR) → payment; checkout → postgres (database);
  // checkout → queue → shipping. Dimension env from each resource, prefixed (order-independent).
  const fe = { env: 'fe' };
  const co = { env: 'co' };
  const A: SpanSpec = { trace: 42, id: 1, kind: 'client', service: 'frontend', resource: fe, durMs: 500 };
  const B: SpanSpec = { trace: 42, id: 2, parent: 1, kind: 'server', service: 'checkout', resource: co, startMs: 10, durMs: 250, error: true };
  const C: SpanSpec = { trace: 42, id: 3, parent: 2, kind: 'client', service: 'checkout', resource: co, startMs: 20, durMs: 125 };
  const D: SpanSpec = { trace: 42, id: 4, parent: 3, kind: 'server', service: 'payment', resource: { env: 'pay' }, startMs: 30, durMs: 62.5 };
  const E: SpanSpec = {
    trace: 42, id: 5, parent: 2, kind: 'client', service: 'checkout', resource: co, startMs: 40, durMs: 31.25,
    attrs: { 'db.system.name': 'postgresql', 'server.address': 'pg' },
  };
  const F: SpanSpec = { trace: 42, id: 6, parent: 2, kind: 'producer', service: 'checkout', resource: co, startMs: 100, durMs: 15.625 };
  const G: SpanSpec = { trace: 42, id: 7, parent: 6, kind: 'consumer', service: 'shipping', resource: { env: 'sh' }, startMs: 365.625, durMs: 125 };
  const expected = sorted([
    ...edgeLines('client="frontend",server="checkout",client_env="fe",server_env="co"', { server: [0.25], client: [0.5], failed: 1 }),
    ...edgeLines('client="checkout",server="payment",client_env="co",server_env="pay"', { server: [0.0625], client: [0.125] }),
    ...edgeLines('client="checkout",server="pg",connection_type="database",client_env="co"', { server: [0.03125], client: [0.03125] }),
    ...edgeLines('client="checkout",server="shipping",connection_type="messaging_system",client_env="co",server_env="sh"', {
      server: [0.125], client: [0.015625], queue: [0.25],
    }),
  ]);
  const splits: [string, SpanSpec[][]][] = [
    ['4 requests', [[A, E], [B, C], [D, F], [G]]],
    ['4 requests, servers and clients mixed', [[D, A], [G, B], [C], [F, E]]],
    ['3 requests', [[B, G], [A, D], [C, E, F]]],
  ];
  const config = {
    histogram_buckets: SMALL_BUCKETS, dimensions: ['env'], enable_client_server_prefix: true,
    enable_messaging_system_latency_histogram: true,
  };
  for (const [name, requests] of splits) {
    test(name, async () => {
      const perms = permutations(requests.map((_, i) => i));
      expect(perms.length).toBe(requests.length === 4 ? 24 : 6);
      for (const order of perms) {
        const h = await harness(config);
        order.forEach((r, k) => h.send(requests[r]!, 100 * k));
        expect(h.core.edgeStoreSize(), `order ${order}`).toBe(0);
        expect(h.lines(), `order ${order}`).toEqual(expected);
        expect(h.core.expire(Infinity), `order ${order}`).toBe(0);
      }
    });
  }
  test('the same with span metrics enabled in the same core (shared attribute slots)', async () => {
    const spanMetrics = { ...defaultConfig().processor.span_metrics, dimensions: ['server.address', 'env', 'db.system.name'] };
    const h = await harness(config, { spanMetrics });
    for (const r of splits[0]![1]) h.send(r);
    expect(h.lines()).toEqual(expected);
  });
});

describe('durations', () => {
  test('exact nanoseconds near 1.7e18: 100 ms is in le="0.1", 100 ms + 1 ns is not; negative is 0', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    // odd start offsets: a double near 1.7e18 cannot hold them
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'a', startMs: 0.000123, durMs: 100 },
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'b', startMs: 0.000377, durMs: 100.000001 },
      { trace: 2, id: 1, kind: 'client', service: 'a', startMs: 0.000255, durMs: -5 },
      { trace: 2, id: 2, parent: 1, kind: 'server', service: 'b', startMs: 7.000001, durMs: 1000 },
    ]);
    const labels = 'client="a",server="b"';
    expect(h.lines()).toEqual(
      sorted([
        line(REQ, labels, 2),
        `${SERVER}_bucket{${labels},le="0.1"} 0`,
        `${SERVER}_bucket{${labels},le="1"} 2`,
        `${SERVER}_bucket{${labels},le="+Inf"} 2`,
        line(`${SERVER}_sum`, labels, 0.100000001 + 1),
        line(`${SERVER}_count`, labels, 2),
        ...histogram(CLIENT, labels, SMALL_BUCKETS, [0.1, 0]),
      ]),
    );
  });

  test('internal and unspecified spans take no part', async () => {
    const h = await harness({ wait: 10 });
    h.send([
      { trace: 1, id: 1, kind: 'internal', service: 'a', durMs: 1, attrs: { 'peer.service': 'p', 'db.system': 'x' } },
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'b', durMs: 1 },
    ]);
    expect(h.core.edgeStoreSize()).toBe(1);
    h.core.expire(Infinity);
    // its parent came, an internal span: server_only
    expect(h.lines()).toEqual([line(UNPAIRED, 'server="b",reason="server_only"', 1)]);
  });
});

test('DEFAULT_LE matches the configured defaults', async () => {
  const h = await harness();
  expect(h.cfg.histogram_buckets).toEqual(DEFAULT_LE);
});
