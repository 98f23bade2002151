// The service-graph edge store (assembly/edgestore.ts) in process: its capacity (max_items), the
// order entries expire in, and randomized pairing, drops and expiry checked against a model of the
// store. The core (debug build) fed hand-written OTLP spans, time passed explicitly, and the exact
// Prometheus lines rendered by ServiceGraphsExposition, as in core.test.ts.
import { describe, expect, test } from 'vitest';
import {
  CLIENT, DROPPED, REQ, SERVER, SMALL_BUCKETS, UNPAIRED, edgeLines, harness, histogram, line, requestOneResource, sorted,
  type Harness, type SpanSpec,
} from './helpers.js';
import { testPrng } from '../support/prng.js';

describe('store capacity (max_items)', () => {
  const MAX = 1000;
  const BATCH = 1000;
  const TOTAL = 50_000;
  // Same-size requests: fixed-length ids and names, so the input buffer does not grow.
  const batch = (b: number) =>
    requestOneResource(
      'flood',
      Array.from({ length: BATCH }, (_, i) => ({ trace: b * BATCH + i, id: 1, kind: 'client' as const, durMs: 1, name: 'GET' })),
    );

  test(`a flood of ${TOTAL} unpaired client spans: bounded store, counted drops, bounded memory`, async () => {
    const h = await harness({ max_items: MAX, wait: 10_000 });
    const { core } = h;
    expect(core.ingest(batch(0), 0)).toEqual({ ok: true, spans: BATCH });
    expect(core.edgeStoreSize()).toBe(MAX);
    expect(h.lines()).toEqual([]);
    const memoryAfterFirst = core.memoryBytes();
    let maxSize = 0;
    for (let b = 1; b < TOTAL / BATCH; b++) {
      expect(core.ingest(batch(b), b)).toEqual({ ok: true, spans: BATCH });
      maxSize = Math.max(maxSize, core.edgeStoreSize());
    }
    expect(maxSize).toBe(MAX);
    expect(h.lines()).toEqual([line(DROPPED, 'client="flood"', TOTAL - MAX)]);
    expect(core.memoryBytes()).toBe(memoryAfterFirst);
    // nothing expires before the wait
    expect(core.expire(9_999)).toBe(0);
    // the stored ones: unpaired at expiry
    expect(core.expire(Infinity)).toBe(MAX);
    expect(core.edgeStoreSize()).toBe(0);
    expect(core.expiredEdges('client')).toBe(MAX);
    expect(h.lines()).toEqual(sorted([line(DROPPED, 'client="flood"', TOTAL - MAX), line(UNPAIRED, 'client="flood",reason="client_only"', MAX)]));
    // the store is usable again, and memory is still what it was
    expect(core.ingest(batch(TOTAL / BATCH), 20_000).ok).toBe(true);
    expect(core.edgeStoreSize()).toBe(MAX);
    expect(core.memoryBytes()).toBe(memoryAfterFirst);
  });

  test('the store grows as it fills: spans that waited before it grew still pair, up to max_items', async () => {
    // The store starts at 256 entries (assembly/edgestore.ts INITIAL_ENTRIES) and doubles: 600
    // waiting clients in three requests make it grow twice (256 -> 512 -> 600, max_items).
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, max_items: 600 });
    const clients = (from: number, n: number): SpanSpec[] =>
      Array.from({ length: n }, (_, i) => ({ trace: from + i, id: 1, kind: 'client', service: 'a', durMs: 500 }));
    h.send(clients(0, 200));
    h.send(clients(200, 200));
    h.send(clients(400, 200));
    expect(h.core.edgeStoreSize()).toBe(600);
    h.send(clients(600, 5)); // full: 5 dropped
    expect(h.core.edgeStoreSize()).toBe(600);
    // Their servers, newest first: every one of the 600 finds its client, however the store grew.
    h.send(Array.from({ length: 600 }, (_, i) => ({ trace: 599 - i, id: 2, parent: 1, kind: 'server', service: 'b', durMs: 250 }) as SpanSpec));
    expect(h.core.edgeStoreSize()).toBe(0);
    // 600 pairs of 0.25 s (server) and 0.5 s (client) spans; 5 clients dropped, nothing unpaired.
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="b"', { server: Array(600).fill(0.25), client: Array(600).fill(0.5) }),
        line(DROPPED, 'client="a"', 5),
      ]),
    );
    expect(h.core.expire(Infinity)).toBe(0);
  });

  test('the index grows as the store fills: entries placed before each growth are still found and removed', async () => {
    // The index starts at 8,192 slots (assembly/edgestore.ts INDEX_SLOTS) and doubles once the
    // entries in use pass a quarter of it: at 2,049 and 4,097 waiting entries here (8,192 ->
    // 16,384 -> 32,768, the limit for max_items 10,000: 2 slots per item, a power of two).
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, max_items: 10_000 });
    const clients = (from: number, n: number): SpanSpec[] =>
      Array.from({ length: n }, (_, i) => ({ trace: from + i, id: 1, kind: 'client', service: 'a', durMs: 500 }));
    const servers = (from: number, n: number): SpanSpec[] =>
      Array.from({ length: n }, (_, i) => ({ trace: from + n - 1 - i, id: 2, parent: 1, kind: 'server', service: 'b', durMs: 250 }));
    for (let t = 0; t < 3000; t += 500) h.send(clients(t, 500)); // grows once, inside the fifth request
    expect(h.core.edgeStoreSize()).toBe(3000);
    h.send(servers(1000, 1000)); // entries placed before and after that growth, out of the index
    expect(h.core.edgeStoreSize()).toBe(2000);
    for (let t = 3000; t < 6000; t += 500) h.send(clients(t, 500)); // grows again, at 4,097
    expect(h.core.edgeStoreSize()).toBe(5000);
    // Every remaining client, placed before, between or after the growths, finds its server.
    for (const from of [5000, 0, 2000, 4000, 3000]) h.send(servers(from, 1000));
    expect(h.core.edgeStoreSize()).toBe(0);
    expect(h.lines()).toEqual(sorted(edgeLines('client="a",server="b"', { server: Array(6000).fill(0.25), client: Array(6000).fill(0.5) })));
    expect(h.core.expire(Infinity)).toBe(0);
  });

  test('a steady flood with expiry between requests: full stores drop, expired ones make room', async () => {
    // batch b (1000 spans) arrives at b·500 ms, wait 1000 ms: even batches find an empty store,
    // odd ones a full one.
    const h = await harness({ max_items: MAX, wait: 1000 });
    const { core } = h;
    let memory = 0;
    const expired: number[] = [];
    for (let b = 0; b < 40; b++) {
      expired.push(core.expire(b * 500));
      expect(core.ingest(batch(100 + b), b * 500).ok).toBe(true);
      expect(core.edgeStoreSize()).toBe(MAX);
      if (b === 1) memory = core.memoryBytes();
    }
    expect(expired).toEqual(Array.from({ length: 40 }, (_, b) => (b >= 2 && b % 2 === 0 ? MAX : 0)));
    expect(core.memoryBytes()).toBe(memory);
    expect(core.expire(Infinity)).toBe(MAX);
    expect(h.lines()).toEqual(sorted([line(DROPPED, 'client="flood"', 20 * MAX), line(UNPAIRED, 'client="flood",reason="client_only"', 20 * MAX)]));
  });

  test('with the store full, a span whose other side waits still pairs (not dropped)', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, max_items: 3 });
    h.send([1, 2, 3].map((t) => ({ trace: t, id: 1, kind: 'client', service: 'a', durMs: 500 }) as SpanSpec));
    h.send([{ trace: 4, id: 1, kind: 'client', service: 'a', durMs: 500 }, { trace: 5, id: 2, parent: 1, kind: 'server', service: 'b', durMs: 250 }]);
    expect(h.core.edgeStoreSize()).toBe(3);
    h.send([{ trace: 2, id: 2, parent: 1, kind: 'server', service: 'b', durMs: 250 }]);
    expect(h.core.edgeStoreSize()).toBe(2);
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="b"', { server: [0.25], client: [0.5] }),
        line(DROPPED, 'client="a"', 1),
        line(DROPPED, 'server="b"', 1),
      ]),
    );
  });

  // Tempo's store.UpsertEdge completes an edge that is complete after its first span (a
  // database call) before it checks max_items: the store being full never drops it.
  test('with the store full, a database client span still makes its database edge', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, max_items: 2 });
    h.send([1, 2].map((t) => ({ trace: t, id: 1, kind: 'client', service: 'a', durMs: 500 }) as SpanSpec));
    expect(h.core.edgeStoreSize()).toBe(2);
    h.send([{ trace: 3, id: 1, kind: 'client', service: 'a', durMs: 62.5, attrs: { 'db.system.name': 'postgresql', 'server.address': 'pg' } }]);
    expect(h.core.edgeStoreSize()).toBe(2);
    expect(h.lines()).toEqual(
      sorted(edgeLines('client="a",server="pg",connection_type="database"', { server: [0.0625], client: [0.0625] })),
    );
  });

  // A new entry is filled in the place the next insert takes (edgestore.ts stage()): a freed
  // entry, whose link to the next free one must survive a span that fills it and then does not
  // wait (a database call). Were that link lost, one of max_items' places would be lost too: the
  // second of the two clients below would be dropped, and it must wait.
  test('a span that does not wait leaves the freed places as they were', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, max_items: 2 });
    const client = (trace: number): SpanSpec => ({ trace, id: 1, kind: 'client', service: 'a', durMs: 500 });
    const server = (trace: number): SpanSpec => ({ trace, id: 2, parent: 1, kind: 'server', service: 'b', durMs: 250 });
    h.send([client(1), client(2)]);
    h.send([server(1), server(2)]); // both places freed
    expect(h.core.edgeStoreSize()).toBe(0);
    h.send([{ trace: 3, id: 1, kind: 'client', service: 'a', durMs: 62.5, attrs: { 'db.system.name': 'postgresql', 'server.address': 'pg' } }]);
    expect(h.core.edgeStoreSize()).toBe(0);
    h.send([client(4), client(5), client(6)]); // two places: the third is dropped
    expect(h.core.edgeStoreSize()).toBe(2);
    h.send([server(4), server(5)]);
    expect(h.core.edgeStoreSize()).toBe(0);
    // Pairs 1, 2, 4, 5 of 0.25 s (server) and 0.5 s (client); the database call of 62.5 ms.
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="a",server="b"', { server: Array(4).fill(0.25), client: Array(4).fill(0.5) }),
        ...edgeLines('client="a",server="pg",connection_type="database"', { server: [0.0625], client: [0.0625] }),
        line(DROPPED, 'client="a"', 1),
      ]),
    );
  });
});

describe('expiry order', () => {
  const lone = (trace: number, service: string): SpanSpec => ({ trace, id: 1, kind: 'client', service, durMs: 125 });
  const unpairedOf = (h: Harness) =>
    h.lines().filter((l) => l.startsWith(UNPAIRED)).map((l) => /client="([^"]+)"/.exec(l)![1]);

  test('entries expire in creation order, each once its wait has passed', async () => {
    const h = await harness({ wait: 1000, max_items: 3 });
    h.send([lone(1, 's1')], 0);
    h.send([lone(2, 's2')], 300);
    h.send([lone(3, 's3')], 600);
    // s2 completes early and leaves the queue; its freed entry is reused by s4 (created last)
    h.send([{ trace: 2, id: 2, parent: 1, kind: 'server', service: 'x', durMs: 62.5 }], 700);
    h.send([lone(4, 's4')], 800);
    expect(h.core.edgeStoreSize()).toBe(3);
    // a later span of a waiting entry does not extend its wait (Tempo's store)
    h.send([lone(1, 's1')], 900);
    const steps: [number, number, string[]][] = [
      [999, 0, []],
      [1000, 1, ['s1']],
      [1599, 0, ['s1']],
      [1600, 1, ['s1', 's3']],
      [1799.5, 0, ['s1', 's3']],
      [1800, 1, ['s1', 's3', 's4']],
      [5000, 0, ['s1', 's3', 's4']],
    ];
    for (const [now, n, seen] of steps) {
      expect(h.core.expire(now), `expire(${now})`).toBe(n);
      expect(unpairedOf(h).sort(), `after expire(${now})`).toEqual(seen);
    }
    expect(h.core.edgeStoreSize()).toBe(0);
  });

  test('expire(now) with several due entries takes them all, oldest first', async () => {
    const h = await harness({ wait: 100, max_items: 10, histogram_buckets: SMALL_BUCKETS });
    for (let t = 0; t < 5; t++) h.send([lone(t, `s${t}`)], t * 10);
    expect(h.core.expire(125)).toBe(3);
    expect(unpairedOf(h).sort()).toEqual(['s0', 's1', 's2']);
    expect(h.core.edgeStoreSize()).toBe(2);
  });
});

describe('randomized pairing against a model', () => {
  test('pairs in random order and random batches all complete; the store size follows the model', async () => {
    const random = testPrng(20231114);
    const MAX = 64;
    const PAIRS = 3000;
    const h = await harness({ max_items: MAX, histogram_buckets: SMALL_BUCKETS });
    const waiting: { trace: number; other: SpanSpec }[] = [];
    let opened = 0;
    let closed = 0;
    let batch: SpanSpec[] = [];
    let now = 0;
    const flush = () => {
      if (batch.length > 0) h.send(batch, now++);
      batch = [];
      expect(h.core.edgeStoreSize()).toBe(waiting.length);
    };
    while (closed < PAIRS) {
      const open = opened < PAIRS && waiting.length < MAX && (waiting.length === 0 || random.next() < 0.5);
      if (open) {
        const trace = Math.floor(random.next() * 2 ** 40); // random ids: varied hashes and probe runs
        const c: SpanSpec = { trace, id: 1, kind: 'client', service: 'c', durMs: 500 };
        const s: SpanSpec = { trace, id: 2, parent: 1, kind: 'server', service: 's', durMs: 250 };
        const clientFirst = random.next() < 0.5;
        batch.push(clientFirst ? c : s);
        waiting.push({ trace, other: clientFirst ? s : c });
        opened++;
      } else {
        const i = Math.floor(random.next() * waiting.length);
        const [w] = waiting.splice(i, 1);
        batch.push(w!.other);
        closed++;
      }
      if (random.next() < 0.1) flush();
    }
    flush();
    expect(h.core.edgeStoreSize()).toBe(0);
    const lines = h.lines();
    expect(lines).toContain(line(REQ, 'client="c",server="s"', PAIRS));
    expect(lines.filter((l) => l.startsWith(DROPPED) || l.startsWith(UNPAIRED))).toEqual([]);
    expect(lines).toEqual(sorted([
      line(REQ, 'client="c",server="s"', PAIRS),
      ...histogram(SERVER, 'client="c",server="s"', SMALL_BUCKETS, Array(PAIRS).fill(0.25)),
      ...histogram(CLIENT, 'client="c",server="s"', SMALL_BUCKETS, Array(PAIRS).fill(0.5)),
    ]));
  });
});

describe('randomized pairing, drops and expiry against a model', () => {
  test('expire() counts, store size and the final counters follow a FIFO model', async () => {
    const random = testPrng(7);
    const MAX = 16;
    const WAIT = 1000;
    const STEPS = 8000;
    const h = await harness({ max_items: MAX, wait: WAIT, histogram_buckets: SMALL_BUCKETS });
    interface Waiting { trace: number; expires: number; clientFirst: boolean; other: SpanSpec; abandoned: boolean }
    let waiting: Waiting[] = []; // creation order
    let now = 0;
    let trace = 0;
    let paired = 0;
    const unpaired = { client: 0, server: 0 };
    const dropped = { client: 0, server: 0 };
    for (let step = 0; step < STEPS; step++) {
      now += Math.floor(random.next() * 40);
      const due = waiting.filter((w) => w.expires <= now);
      waiting = waiting.filter((w) => w.expires > now);
      for (const w of due) unpaired[w.clientFirst ? 'client' : 'server']++;
      expect(h.core.expire(now), `step ${step}`).toBe(due.length);
      const closable = waiting.filter((w) => !w.abandoned);
      if (closable.length > 0 && random.next() < 0.45) {
        const w = closable[Math.floor(random.next() * closable.length)]!;
        waiting.splice(waiting.indexOf(w), 1);
        h.send([w.other], now);
        paired++;
      } else {
        trace++;
        const c: SpanSpec = { trace: trace * 7919, id: 1, kind: 'client', service: 'c', durMs: 500 };
        const sv: SpanSpec = { trace: trace * 7919, id: 2, parent: 1, kind: 'server', service: 's', durMs: 250 };
        const clientFirst = random.next() < 0.5;
        h.send([clientFirst ? c : sv], now);
        if (waiting.length === MAX) {
          dropped[clientFirst ? 'client' : 'server']++;
        } else {
          waiting.push({ trace, expires: now + WAIT, clientFirst, other: clientFirst ? sv : c, abandoned: random.next() < 0.3 });
        }
      }
      expect(h.core.edgeStoreSize(), `step ${step}`).toBe(waiting.length);
    }
    for (const w of waiting) unpaired[w.clientFirst ? 'client' : 'server']++;
    expect(h.core.expire(Infinity)).toBe(waiting.length);
    const counters = h.lines().filter((l) => !l.includes('_seconds_'));
    expect(counters).toEqual(
      sorted([
        line(REQ, 'client="c",server="s"', paired),
        // a waiting client's server never came; a waiting server's parent (the client) never came
        line(UNPAIRED, 'client="c",reason="client_only"', unpaired.client),
        line(UNPAIRED, 'server="s",reason="parent_unknown"', unpaired.server),
        line(DROPPED, 'client="c"', dropped.client),
        line(DROPPED, 'server="s"', dropped.server),
      ]),
    );
    // the model exercised what it is for
    expect(Math.min(paired, unpaired.client, unpaired.server, dropped.client, dropped.server)).toBeGreaterThan(50);
  });
});
