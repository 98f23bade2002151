// Differential test: spanmeter's service graphs against the real OpenTelemetry Collector's
// `servicegraph` connector (otlp receiver -> servicegraph -> prometheus exporter) on the same
// OTLP/HTTP requests: edge traces (support/traces.ts, each with its hand-computed outcome) and
// the bench workload under two seeds. Where the two agree every series must be equal (counters
// and buckets exactly, sums within float rounding); where Tempo and the Collector disagree and
// spanmeter follows Tempo (shared/DESIGN.md "the peers"), the difference is asserted explicitly
// with each side's value (README "Differences from Tempo and the Collector").
//
// The config translation (docs/config.md; the connector's config.go at the pinned release):
//   spanmeter processor.service_graphs     Collector connectors.servicegraph
//   wait: 4s                               store.ttl: 4s (expired every store_expiration_loop)
//   max_items: 10000                       store.max_items: 10000
//   histogram_buckets [s]                  latency_histogram_buckets [durations]
//   dimensions: [k8s.namespace.name] with  dimensions: [k8s.namespace.name] (the Collector always
//   enable_client_server_prefix: true      labels them client_X / server_X)
//   peer_attributes                        virtual_node_peer_attributes
//   database_name_attributes               database_name_attributes
//   enable_virtual_node_label (edges)      virtual_node_extra_label
//   (at once)                              metrics_flush_interval: 1s (default 60s)
// The Collector labels every series `failed="true|false"`; Tempo's scheme has no such label
// (the failed requests are their own counter), so the Collector's series are added up over it.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PACK_DIR } from '../support/conformance.js';
import { loadInput } from '../support/otlp-input.js';
import { fetchMetricsText, sleep } from '../support/sidecar.js';
import { scrapeOtelcol, sendBoth, startPair, type Pair } from './support/pair.js';
import { compareSeries, regroup, seriesOf, settle, showDifferences, total, type Difference, type SeriesValue } from './support/compare.js';
import { serviceGraphEdges, workloadRequests } from './support/traces.js';

const REQ = 'traces_service_graph_request_total';
const FAILED = 'traces_service_graph_request_failed_total';
const SERVER = 'traces_service_graph_request_server_seconds';
const CLIENT = 'traces_service_graph_request_client_seconds';
const UNPAIRED = 'traces_service_graph_unpaired_spans_total';
const SAMPLES = [REQ, FAILED, ...[SERVER, CLIENT].flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`])];
const BOUNDS_S = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8];
const PEER_ATTRIBUTES = ['peer.service', 'db.name', 'db.system'];
const DATABASE_ATTRIBUTES = ['db.namespace', 'db.name', 'db.system', 'db.system.name'];
const WAIT_S = 4;

/**
 * `virtualNodeLabel`: the Collector's virtual_node_extra_label = spanmeter's enable_virtual_node_label.
 * `pasted`: spanmeter is given the connector block as it is (`connectors: servicegraph:`,
 * src/config/peers.ts), without latency buckets and peer attributes: the connector's defaults on
 * both sides.
 */
function startServiceGraphPair(label: string, virtualNodeLabel = false, pasted = false): Promise<Pair> {
  const connectorConfig = {
    ...(pasted ? {} : { latency_histogram_buckets: BOUNDS_S.map((b) => `${Math.round(b * 1000)}ms`), virtual_node_peer_attributes: PEER_ATTRIBUTES }),
    database_name_attributes: DATABASE_ATTRIBUTES,
    dimensions: ['k8s.namespace.name'],
    store: { ttl: `${WAIT_S}s`, max_items: 10_000 },
    store_expiration_loop: '200ms',
    metrics_flush_interval: '1s',
    virtual_node_extra_label: virtualNodeLabel,
  };
  return startPair({
    label,
    connector: 'servicegraph',
    connectorConfig,
    spanmeterConfig: pasted ? { connectors: { servicegraph: connectorConfig } } : {
      processors: ['service-graphs'],
      processor: {
        service_graphs: {
          wait: `${WAIT_S}s`,
          max_items: 10_000,
          histogram_buckets: BOUNDS_S,
          dimensions: ['k8s.namespace.name'],
          enable_client_server_prefix: true,
          peer_attributes: PEER_ATTRIBUTES,
          database_name_attributes: DATABASE_ATTRIBUTES,
          enable_virtual_node_label: virtualNodeLabel,
        },
      },
    },
  });
}

interface Scraped {
  spanmeter: Map<string, SeriesValue>;
  otelcol: Map<string, SeriesValue>;
  /** spanmeter's unpaired-spans counter (no Collector counterpart). */
  unpaired: Map<string, SeriesValue>;
  /** The Collector's last scrape as it was. */
  otelcolText: string;
}

/**
 * Waits out the store (wait + the Collector's expiration loop and flush), then scrapes both until
 * their service-graph series are the same four times in a row, 0.5 s apart (30 s at most), and
 * `ready` accepts them.
 */
async function scrapeBoth(pair: Pair, ready: (s: Partial<Scraped>) => boolean = () => true): Promise<Scraped> {
  await sleep(WAIT_S * 1000 + 1500);
  const canon = (m: Map<string, SeriesValue>): string => JSON.stringify([...m].map(([k, v]) => [k, v.value]).sort());
  const result: Partial<Scraped> = {};
  await Promise.all([
    settle(
      async () => {
        const text = (await fetchMetricsText(pair.spanmeter)).text;
        result.spanmeter = seriesOf(text, SAMPLES, 'spanmeter');
        result.unpaired = seriesOf(text, [UNPAIRED], 'spanmeter');
        return canon(result.spanmeter) + canon(result.unpaired);
      },
      () => ready(result),
      { what: 'spanmeter', stableFor: 4, timeoutMs: 30_000 },
    ),
    settle(
      async () => {
        result.otelcolText = await scrapeOtelcol(pair);
        result.otelcol = seriesOf(result.otelcolText, SAMPLES, 'Collector', { sumOver: ['failed'] });
        return canon(result.otelcol);
      },
      () => ready(result),
      { what: 'Collector', stableFor: 4, timeoutMs: 30_000 },
    ),
  ]);
  return result as Scraped;
}

/** The value of the series of `metric` with exactly these labels, or undefined. */
const pick = (m: Map<string, SeriesValue>, metric: string, labels: Record<string, string>): number | undefined =>
  [...m.values()].find((s) => s.metric === metric && Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('service graphs: spanmeter = the Collector servicegraph connector where Tempo and the Collector agree', () => {
  describe('edge traces', () => {
    let pair: Pair;
    let s: Scraped;
    let diffs: Difference[];
    beforeAll(async () => {
      pair = await startServiceGraphPair('edges', true);
      const edges = serviceGraphEdges();
      await sendBoth(pair, edges.first);
      await sendBoth(pair, edges.second);
      // hand count (support/traces.ts): 11 edges on both; the Collector adds g7 (a->unknown)
      s = await scrapeBoth(pair, (r) => (r.spanmeter ? total(r.spanmeter, REQ) === 11 : true) && (r.otelcol ? total(r.otelcol, REQ) === 12 : true));
      diffs = compareSeries(s.spanmeter, s.otelcol);
    });
    afterAll(async () => {
      await pair?.stop();
    });

    const A = { client: 'sg-a', client_k8s_namespace_name: 'ns-a' };
    const both = (metric: string, labels: Record<string, string>): [number | undefined, number | undefined] => [pick(s.spanmeter, metric, labels), pick(s.otelcol, metric, labels)];

    test('client/server pairs, split across requests, errors on either side (g1-g4): 4 requests, 2 failed', () => {
      const ab = { ...A, server: 'sg-b', server_k8s_namespace_name: 'ns-b' };
      expect(both(REQ, ab)).toEqual([4, 4]);
      expect(both(FAILED, ab)).toEqual([2, 2]);
      // client spans 20 ms, server spans 10 ms (support/traces.ts)
      expect(both(`${CLIENT}_sum`, ab).map((v) => v?.toFixed(9))).toEqual(['0.080000000', '0.080000000']);
      expect(both(`${SERVER}_sum`, ab).map((v) => v?.toFixed(9))).toEqual(['0.040000000', '0.040000000']);
      // the Collector splits the edge by a `failed` label (here added up); Tempo's scheme has none
      expect(s.otelcolText).toMatch(/traces_service_graph_request_total\{[^}]*failed="true"[^}]*\} 2\n/);
      expect(s.otelcolText).toMatch(/traces_service_graph_request_total\{[^}]*failed="false"[^}]*server="sg-b"[^}]*\} 2\n/);
    });

    test('virtual nodes, labelled by the uninstrumented side: a lone root server is called by "user" (g5), a lone client with peer.service calls it (g6)', () => {
      expect(both(REQ, { client: 'user', server: 'sg-b', server_k8s_namespace_name: 'ns-b', connection_type: 'virtual_node', virtual_node: 'client' })).toEqual([1, 1]);
      expect(both(REQ, { ...A, server: 'ext-api', connection_type: 'virtual_node', virtual_node: 'server' })).toEqual([1, 1]);
    });

    test('database edges from db.name alone (g9) and db.system alone (g11); messaging (g12)', () => {
      expect(pick(s.spanmeter, REQ, { ...A, server: 'orders-db', connection_type: 'database' })).toBe(1);
      expect(both(REQ, { ...A, server: 'postgresql', connection_type: 'database' })).toEqual([1, 1]);
      expect(both(REQ, { ...A, server: 'sg-c', server_k8s_namespace_name: 'ns-c', connection_type: 'messaging_system' })).toEqual([1, 1]);
    });

    test('latency buckets are le-inclusive: a 0.1 s client span is in le=0.1, a 0.1 s + 1 ns server span in le=0.2 (g13)', () => {
      const bc = { client: 'sg-b', client_k8s_namespace_name: 'ns-b', server: 'sg-c', server_k8s_namespace_name: 'ns-c' };
      expect(both(`${CLIENT}_bucket`, { ...bc, le: '0.1' })).toEqual([1, 1]);
      expect(both(`${SERVER}_bucket`, { ...bc, le: '0.1' })).toEqual([0, 0]);
      expect(both(`${SERVER}_bucket`, { ...bc, le: '0.2' })).toEqual([1, 1]);
    });

    test('no edge from a lone non-root server (g8) or a resource without service.name (g14)', () => {
      for (const side of [s.spanmeter, s.otelcol]) {
        expect([...side.values()].filter((v) => v.labels.server === 'sg-c' && v.labels.client !== 'sg-a' && v.labels.client !== 'sg-b')).toEqual([]);
      }
      // spanmeter counts them as unpaired (the Collector has no such counter): g8 and g14's server,
      // whose parents never arrive (g14's client is in a resource without service.name, not counted)
      expect(pick(s.unpaired, UNPAIRED, { server: 'sg-c', reason: 'parent_unknown' })).toBe(2);
    });

    test('difference: a lone client without a peer attribute (g7): the Collector makes an edge to "unknown", Tempo and spanmeter count it unpaired', () => {
      const unknown = { ...A, server: 'unknown', connection_type: 'virtual_node', virtual_node: 'server' };
      expect(both(REQ, unknown)).toEqual([undefined, 1]);
      expect(pick(s.unpaired, UNPAIRED, { client: 'sg-a', reason: 'client_only' })).toBe(1);
    });

    test('difference: a database client span with peer.service (g10): the Collector names the server by the database attribute, Tempo and spanmeter by peer.service', () => {
      expect(both(REQ, { ...A, server: 'pg-main', connection_type: 'database' })).toEqual([1, undefined]);
      // orders-db: g9 on both, plus g10 on the Collector
      expect(both(REQ, { ...A, server: 'orders-db', connection_type: 'database' })).toEqual([1, 2]);
    });

    test('nothing else differs: every other series (counters, buckets, sums) is equal', () => {
      const explained = (d: Difference): boolean =>
        d.labels.client === 'sg-a' && (d.labels.server === 'unknown' || d.labels.server === 'pg-main' || d.labels.server === 'orders-db');
      const rest = diffs.filter((d) => !explained(d));
      expect(rest, showDifferences(rest, 'spanmeter', 'Collector')).toEqual([]);
      expect(s.otelcol.size).toBeGreaterThan(100);
    });
  });

  describe("the conformance pack's inputs (../shared/conformance/inputs, read in place)", () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await startServiceGraphPair('pack');
    });
    afterAll(async () => {
      await pair?.stop();
    });
    test('every input, one request each, in name order: equal but for the three documented differences', async () => {
      const dir = join(PACK_DIR, 'inputs');
      const names = readdirSync(dir).sort();
      expect(names.length).toBeGreaterThan(10);
      for (const name of names) await sendBoth(pair, loadInput(join(dir, name)).protobuf);
      const s = await scrapeBoth(pair);
      const db = (v: { labels: Record<string, string> }): boolean => v.labels.connection_type === 'database';
      // (1) database edges: the same requests under other server names (tempo-trace-with-*:
      // spanmeter/Tempo mythical-database from peer.service, mythical-database:5432 from
      // network.peer.address:port; the Collector postgres / postgresql from db.system)
      const dbDiffs = compareSeries(regroup(s.spanmeter, db, ['server']), regroup(s.otelcol, db, ['server']));
      expect(dbDiffs, showDifferences(dbDiffs, 'spanmeter', 'Collector')).toEqual([]);
      expect(pick(s.spanmeter, REQ, { client: 'mythical-server', server: 'mythical-database', connection_type: 'database' })).toBe(4);
      expect(pick(s.otelcol, REQ, { client: 'mythical-server', server: 'mythical-database', connection_type: 'database' })).toBeUndefined();
      // (2) lone clients without a peer attribute: the Collector's "unknown" edges are
      // spanmeter's unpaired client spans, client by client
      const unknown = regroup(s.otelcol, (v) => v.metric === REQ && v.labels.server === 'unknown', ['server', 'connection_type']);
      const unpairedClients = regroup(s.unpaired, (v) => v.labels.client !== undefined, ['reason']);
      expect([...unknown.values()].map((v) => [v.labels.client, v.value]).sort()).toEqual(
        [...unpairedClients.values()].map((v) => [v.labels.client, v.value]).sort(),
      );
      expect(unknown.size).toBeGreaterThan(3);
      // (3) a lone root server span with a peer attribute (tempo-trace-with-virtual-nodes.json):
      // Tempo and spanmeter name the virtual client by it, the Collector always "user"
      expect(pick(s.spanmeter, REQ, { client: 'external-platform', server: 'bar-requester', connection_type: 'virtual_node' })).toBe(1);
      expect(pick(s.otelcol, REQ, { client: 'user', server: 'bar-requester', connection_type: 'virtual_node' })).toBe(1);
      expect(pick(s.spanmeter, REQ, { client: 'external-producer', server: 'internal-consumer', connection_type: 'virtual_node' })).toBe(1);
      expect(pick(s.otelcol, REQ, { client: 'user', server: 'internal-consumer', connection_type: 'virtual_node' })).toBe(1);
      const virtualClient = (v: { labels: Record<string, string> }): boolean => v.labels.connection_type === 'virtual_node' && ['bar-requester', 'internal-consumer'].includes(v.labels.server!);
      const vcDiffs = compareSeries(regroup(s.spanmeter, virtualClient, ['client']), regroup(s.otelcol, virtualClient, ['client']));
      expect(vcDiffs, showDifferences(vcDiffs, 'spanmeter', 'Collector')).toEqual([]);
      // everything else is equal
      const rest = compareSeries(s.spanmeter, s.otelcol).filter((d) => !db(d) && d.labels.server !== 'unknown' && !virtualClient(d));
      expect(rest, showDifferences(rest, 'spanmeter', 'Collector')).toEqual([]);
      expect(total(s.otelcol, REQ)).toBeGreaterThan(20);
    });
  });

  describe('the bench workload, two seeds, cumulative', () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await startServiceGraphPair('workload');
    });
    afterAll(async () => {
      await pair?.stop();
    });
    for (const seed of [1, 2]) {
      test(`seed ${seed}`, async () => {
        const w = workloadRequests(seed, 15, 200);
        for (const r of w.requests) await sendBoth(pair, r);
        workloadAgrees(await scrapeBoth(pair));
      });
    }
  });

  // The connector block given to spanmeter as it is (issue 18 item 8, issue 19 item 9), with no
  // buckets or peer attributes: the connector's defaults (2 ms … 15 s; [peer.service, db.name,
  // db.system]) on both sides, read by src/config/peers.ts. (Its database_name_attributes default,
  // [db.name], is in test/config/peers.test.ts: the workload's database spans carry db.namespace.)
  describe('the connector block pasted into spanmeter as it is (connectors: servicegraph:), defaults included', () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await startServiceGraphPair('pasted', true, true);
    });
    afterAll(async () => {
      await pair?.stop();
    });
    test('the bench workload, seed 3: as with the translated keys', async () => {
      const w = workloadRequests(3, 15, 200);
      for (const r of w.requests) await sendBoth(pair, r);
      const s = await scrapeBoth(pair);
      workloadAgrees(s);
      // the connector's default bounds on both (its 16 and +Inf)
      for (const side of [s.spanmeter, s.otelcol]) {
        const les = new Set([...side.values()].filter((v) => v.metric === `${SERVER}_bucket`).map((v) => v.labels.le));
        expect([...les].sort()).toEqual(['0.002', '0.004', '0.006', '0.008', '0.01', '0.05', '0.1', '0.2', '0.4', '0.8', '1', '1.4', '2', '5', '10', '15', '+Inf'].sort());
      }
    });
  });
});

/**
 * The bench workload's series: equal but for the two documented differences, each checked
 * (README "Differences from Tempo and the Collector").
 */
function workloadAgrees(s: Scraped): void {
  // (1) database edges: the Collector names the server by the database attribute
  // (db.namespace here), spanmeter as Tempo by server.address (the workload sets no
  // peer.service). The same requests, latencies and failures, under other server names:
  const db = (v: { labels: Record<string, string> }): boolean => v.labels.connection_type === 'database';
  const dbDiffs = compareSeries(regroup(s.spanmeter, db, ['server']), regroup(s.otelcol, db, ['server']));
  expect(dbDiffs, showDifferences(dbDiffs, 'spanmeter', 'Collector')).toEqual([]);
  const servers = (m: Map<string, SeriesValue>): string[] => [...new Set([...m.values()].filter(db).map((v) => v.labels.server!))];
  expect(servers(s.spanmeter).length).toBeGreaterThan(5);
  for (const name of servers(s.spanmeter)) expect(name).toMatch(/\.svc\.cluster\.local$/);
  for (const name of servers(s.otelcol)) expect(name).not.toMatch(/\.svc\.cluster\.local$/);
  // (2) lone client spans without a peer attribute (traces cut at the workload's end): the
  // Collector's edges to "unknown" are spanmeter's unpaired client spans, client by client
  const unknown = regroup(s.otelcol, (v) => v.metric === REQ && v.labels.server === 'unknown', ['server', 'connection_type', 'client_k8s_namespace_name']);
  const unpairedClients = regroup(s.unpaired, (v) => v.labels.client !== undefined, ['reason']);
  expect([...unknown.values()].map((v) => [v.labels.client, v.value]).sort()).toEqual(
    [...unpairedClients.values()].map((v) => [v.labels.client, v.value]).sort(),
  );
  expect(unknown.size).toBeGreaterThan(0);
  // (3) everything else is equal
  const rest = compareSeries(s.spanmeter, s.otelcol).filter((d) => d.labels.connection_type !== 'database' && d.labels.server !== 'unknown');
  expect(rest, showDifferences(rest, 'spanmeter', 'Collector')).toEqual([]);
  expect(total(s.spanmeter, REQ)).toBeGreaterThan(1000);
}
