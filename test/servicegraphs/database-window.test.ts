// The core looks at a window of four watched-attribute slots holding every database-name slot
// before it looks at those slots one by one (assembly/edgelabels.ts upsertDatabase): all zeros on
// the resource and the span, and the client span is no database call. Slots are numbered in the
// order keys are first watched (src/core/configure.ts: service graphs' peer.service,
// server.address, network.peer.address, network.peer.port, then the dimensions, the peer
// attributes, the database attributes). The window starts at the lowest database slot, or ends
// with the last slot watched by then when that one is nearer. The configurations below place it
// exactly on the four default database slots, from a low database slot over other slots, ending
// with the last slot over other slots, and nowhere (the database keys too far apart: the slots
// one by one only).
//
// Expectations are Tempo's database edge (modules/generator/processor/servicegraphs/
// servicegraphs.go: a client span with a database_name_attributes attribute, on the span or its
// resource, completes an edge alone, its server named by peer.service, server.address,
// network.peer.address[:port], else the attribute's value), as in core.test.ts "database edges";
// a client span without one waits for its server.
import { describe, expect, test } from 'vitest';
import { SMALL_BUCKETS, edgeLines, harness, sorted } from './helpers.js';
import type { ServiceGraphsConfig } from '../../src/config/types.js';

type Attrs = Record<string, string | number>;
const E = { server: [0.0625], client: [0.0625] };
const DEFAULT_KEYS = ['db.namespace', 'db.name', 'db.system', 'db.system.name'];

interface Setup {
  over?: Partial<ServiceGraphsConfig>;
}

/** One client span of service api, `attrs` on it and `resource` on its resource: the server its database edge names, or null when it waits. */
async function databaseEdge(setup: Setup, attrs: Attrs, resource: Attrs = {}): Promise<string | null> {
  const h = await harness({ histogram_buckets: SMALL_BUCKETS, ...setup.over });
  h.send([{ trace: 1, id: 1, parent: 9, kind: 'client', service: 'api', durMs: 62.5, attrs, resource }]);
  const lines = h.lines();
  if (h.core.edgeStoreSize() === 1) {
    expect(lines).toEqual([]);
    return null;
  }
  expect(h.core.edgeStoreSize()).toBe(0);
  const server = /server="([^"]*)"/.exec(lines[0] ?? '')?.[1] ?? '';
  expect(lines).toEqual(sorted(edgeLines(`client="api",server="${server}",connection_type="database"`, E)));
  return server;
}

describe('database attributes through the slot window', () => {
  // Slots 4 to 7, the last four: the window.
  test('default keys: each alone on the span, then alone on the resource', async () => {
    for (const key of DEFAULT_KEYS) {
      expect(await databaseEdge({}, { [key]: 'db1', 'http.route': '/x' })).toBe('db1');
      expect(await databaseEdge({}, { 'http.route': '/x' }, { [key]: 'db2' })).toBe('db2');
    }
  });

  test('default keys: keys sharing a prefix with a database key, and the other watched keys, make no database edge', async () => {
    expect(await databaseEdge({}, { 'db.nam': 'x', 'db.names': 'x', 'db.system.name.x': 'x', db: 'x', 'http.route': '/x' })).toBeNull();
    const others = { 'peer.service': 'p', 'server.address': 's', 'network.peer.address': '10.0.0.1', 'network.peer.port': 5432 };
    expect(await databaseEdge({}, others, { 'peer.service': 'rp', 'server.address': 'rs' })).toBeNull();
  });

  // server.address (slot 1) and db.name (slot 4, a peer attribute's) of 7: the window [1, 5),
  // from the lowest, also holds network.peer.address's and network.peer.port's slots.
  test('a low database slot: the window starts there', async () => {
    const setup = { over: { database_name_attributes: ['server.address', 'db.name'] } };
    expect(await databaseEdge(setup, { 'server.address': 'pg' })).toBe('pg');
    expect(await databaseEdge(setup, {}, { 'server.address': 'rs' })).toBe('rs');
    expect(await databaseEdge(setup, { 'db.name': 'n' })).toBe('n');
    expect(await databaseEdge(setup, { 'network.peer.address': '10.0.0.1', 'network.peer.port': 5432, 'db.system': 'pg' })).toBeNull();
  });

  // network.peer.port as the one database key: slot 3; the window [3, 7) also holds the slots of
  // three peer attributes (db.name, db.system, db.system.name): those alone are no database call.
  test('a database key whose window holds other slots after it', async () => {
    const setup = { over: { database_name_attributes: ['network.peer.port'] } };
    expect(await databaseEdge(setup, { 'network.peer.port': 5432 })).toBe('5432');
    expect(await databaseEdge(setup, {}, { 'network.peer.port': 6379 })).toBe('6379');
    expect(await databaseEdge(setup, { 'network.peer.port': 5432, 'server.address': 'pg' })).toBe('pg');
    expect(await databaseEdge(setup, { 'db.system.name': 'postgresql', 'db.system': 'pg', 'db.name': 'n' })).toBeNull();
  });

  // dz watched last (slot 7 of 8): the window ends with it, [4, 8), over three peer attributes' slots.
  test('a database key watched last: the window ends with the last slot', async () => {
    const setup = { over: { database_name_attributes: ['dz'] } };
    expect(await databaseEdge(setup, { dz: 'zz' })).toBe('zz');
    expect(await databaseEdge(setup, {}, { dz: 'zr' })).toBe('zr');
    expect(await databaseEdge(setup, { 'db.name': 'n', 'db.system': 'pg' })).toBeNull();
  });

  // A dimension (slot 4) and a key watched after the peer attributes (slot 8): no window of four
  // holds both, and the core looks at the slots one by one.
  test('database keys too far apart for one window', async () => {
    const over = { dimensions: ['tier'], database_name_attributes: ['tier', 'dz'] };
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, ...over });
    h.send([{ trace: 1, id: 1, parent: 9, kind: 'client', service: 'api', durMs: 62.5, attrs: { tier: 'gold' } }]);
    expect(h.core.edgeStoreSize()).toBe(0);
    expect(h.lines()).toEqual(sorted(edgeLines('client="api",server="gold",connection_type="database",tier="gold"', E)));
    expect(await databaseEdge({ over }, {}, { dz: 'zz' })).toBe('zz');
    expect(await databaseEdge({ over }, { dz: 'zz' })).toBe('zz');
    expect(await databaseEdge({ over }, { 'db.name': 'n' })).toBeNull();
  });
});
