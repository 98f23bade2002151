// Edge series records across removal as stale: an edge whose series was removed (registry
// stale_duration, 15 minutes by default) and then seen again starts a new series from zero, and a
// record freed by one edge and taken by another counts only that other edge. The core looks an
// edge's record up through a memo in front of the series table (assembly/series.ts upsertVia): these
// are the cases where a remembered record no longer belongs to the key.
import { describe, expect, test } from 'vitest';
import { SMALL_BUCKETS, edgeLines, harness, sorted, type SpanSpec } from './helpers.js';

const MIN = 60_000;

/** A client/server pair client → server in trace `trace`, 0.5 s client span, 0.25 s server span. */
function pair(trace: number, client: string, server: string): SpanSpec[] {
  return [
    { trace, id: 1, kind: 'client', service: client, durMs: 500 },
    { trace, id: 2, parent: 1, kind: 'server', service: server, durMs: 250 },
  ];
}

describe('edge records removed as stale', () => {
  // a → b at 0 and b → a at 10 minutes: a sweep at 16 minutes (stale after 15) removes a → b
  // only, and "a" and "b" stay interned (b → a holds them), so a → b comes back with the very
  // same key words.
  async function setUp() {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    h.send(pair(1, 'a', 'b'), 0);
    h.send(pair(2, 'b', 'a'), 10 * MIN);
    expect(h.core.sweep(16 * MIN)).toBe(1);
    expect(h.lines()).toEqual(sorted(edgeLines('client="b",server="a"', { server: [0.25], client: [0.5] })));
    return h;
  }

  test('an edge seen again after its series was removed counts from zero, in a new series', async () => {
    const h = await setUp();
    h.send(pair(3, 'a', 'b'), 16 * MIN);
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="b"', { server: [0.25], client: [0.5] }),
        ...edgeLines('client="b",server="a"', { server: [0.25], client: [0.5] }),
      ]),
    );
  });

  test('a record freed by one edge and taken by another counts only the other', async () => {
    const h = await setUp();
    // c → d takes the record a → b left; then a → b comes back and needs a record of its own.
    h.send(pair(3, 'c', 'd'), 16 * MIN);
    h.send(pair(4, 'a', 'b'), 16 * MIN);
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="b"', { server: [0.25], client: [0.5] }),
        ...edgeLines('client="b",server="a"', { server: [0.25], client: [0.5] }),
        ...edgeLines('client="c",server="d"', { server: [0.25], client: [0.5] }),
      ]),
    );
  });
});

// A database edge's name goes through a memo of AnyValue bytes → interned id in front of intern
// (assembly/valuememo.ts). An id freed by a sweep may be reused by another string: the memo must
// not answer the old id for the old name then.
describe('database names across a sweep that frees their strings', () => {
  /** A database call from `client` to `address` (server.address names the edge: Tempo's order, see core.test.ts). */
  function dbCall(trace: number, client: string, address: string): SpanSpec[] {
    return [{ trace, id: 1, kind: 'client', service: client, durMs: 500, attrs: { 'db.system.name': 'postgresql', 'server.address': address } }];
  }

  test('a name seen again after its string was freed and its id reused is still that name', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    h.send(dbCall(1, 'a', 'orders-db.shop.internal'), 0);
    h.send(dbCall(2, 'b', 'users-db.shop.internal'), 10 * MIN);
    // a → orders-db is stale at 16 minutes (stale after 15): its series goes, and with it the last
    // holder of "a" and "orders-db.shop.internal".
    expect(h.core.sweep(16 * MIN)).toBe(1);
    // Freed ids are taken again by new strings, then the old name comes back.
    h.send(dbCall(3, 'c', 'payments-db.shop.internal'), 16 * MIN);
    h.send(dbCall(4, 'd', 'inventory-db.shop.internal'), 16 * MIN);
    h.send(dbCall(5, 'a', 'orders-db.shop.internal'), 16 * MIN);
    // One call per edge, each 0.5 s (hand count of the requests above).
    const e = { server: [0.5], client: [0.5] };
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="orders-db.shop.internal",connection_type="database"', e),
        ...edgeLines('client="b",server="users-db.shop.internal",connection_type="database"', e),
        ...edgeLines('client="c",server="payments-db.shop.internal",connection_type="database"', e),
        ...edgeLines('client="d",server="inventory-db.shop.internal",connection_type="database"', e),
      ]),
    );
  });
});

// Edge-store entries hold no references of their own: sweep() holds the ids of the entries waiting
// then while it frees strings (assembly/servicegraphs.ts holdWaitingIds). Without that, a span
// waiting through a sweep would lose its service and peer names to strings interned afterwards.
describe('a waiting span across a sweep that frees strings', () => {
  test('its edge still names its own services when it expires', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, wait: 20 * MIN });
    // A client span of "api" calling the uninstrumented "stripe" (peer.service): it waits 20 minutes.
    h.send([{ trace: 1, id: 1, parent: 7, kind: 'client', service: 'api', durMs: 500, attrs: { 'peer.service': 'stripe' } }], 0);
    // No series yet: nothing but the waiting entry has "api" and "stripe".
    expect(h.core.sweep(16 * MIN)).toBe(0);
    expect(h.core.edgeStoreSize()).toBe(1);
    // New strings, which would take the ids of any string the sweep freed.
    h.send(pair(2, 'c', 'd'), 16 * MIN);
    expect(h.core.expire(20 * MIN)).toBe(1);
    // The waiting client span becomes an edge to the virtual node "stripe", its server latency 0
    // (as in core.test.ts "virtual nodes at expiry"); c → d as in pair().
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="api",server="stripe",connection_type="virtual_node"', { server: [0], client: [0.5] }),
        ...edgeLines('client="c",server="d"', { server: [0.25], client: [0.5] }),
      ]),
    );
  });
});
