// Why an edge is missing: traces_service_graph_unpaired_spans_total{reason}, one trace built for
// each reason. The expected reasons follow the definitions in README ("Why an edge is missing")
// and docs/abi.md (REASON_ numbers); the counts are the spans written into each trace by hand.
import { describe, expect, test } from 'vitest';
import { DROPPED, REQ, UNPAIRED, harness, line, requestOneResource, sorted, type SpanSpec } from './helpers.js';

const WAIT = 1000;

/** The unpaired and dropped lines only. */
function missing(lines: string[]): string[] {
  return lines.filter((l) => l.startsWith(UNPAIRED) || l.startsWith(DROPPED));
}

describe('reason label on traces_service_graph_unpaired_spans_total', () => {
  test('client_only: client spans whose server never came (nothing, or a non-server child)', async () => {
    const h = await harness({ wait: WAIT });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'api', durMs: 5 },
      // a child of another service, but an internal span: no server side
      { trace: 2, id: 1, kind: 'client', service: 'api', durMs: 5 },
      { trace: 2, id: 2, parent: 1, kind: 'internal', service: 'billing', durMs: 2 },
      { trace: 3, id: 1, kind: 'producer', service: 'api', durMs: 5 },
    ]);
    h.core.expire(Infinity);
    expect(missing(h.lines())).toEqual([line(UNPAIRED, 'client="api",reason="client_only"', 3)]);
  });

  test('server_only: the parent came but is not a client (before, after, in the same request)', async () => {
    const h = await harness({ wait: WAIT });
    // a client that gave up before its server came: the server finds no parent (clients are not
    // remembered once they leave the store): parent_unknown
    h.send([{ trace: 4, id: 1, kind: 'client', service: 'gw', durMs: 9 }], 0);
    expect(h.core.expire(WAIT)).toBe(1);
    h.send([{ trace: 4, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 3 }], WAIT + 10);
    // parent first, an internal span of another service, in an earlier request
    h.send([{ trace: 1, id: 1, kind: 'internal', service: 'gw', durMs: 9 }], WAIT + 20);
    h.send([{ trace: 1, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 3 }], WAIT + 30);
    // parent later (a server span: SERVER-only instrumentation), in a later request
    h.send([{ trace: 2, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 3 }], WAIT + 40);
    h.send([{ trace: 2, id: 1, kind: 'server', service: 'gw', durMs: 9 }], WAIT + 50);
    // parent in the same request, after the child
    h.send([
      { trace: 3, id: 2, parent: 1, kind: 'consumer', service: 'cart', durMs: 3 },
      { trace: 3, id: 1, kind: 'internal', service: 'cart', durMs: 9 },
    ], WAIT + 60);
    // the root server span of trace 2 (gw) becomes an edge from user, as before
    expect(h.core.expire(Infinity)).toBe(5);
    expect(missing(h.lines())).toEqual(sorted([
      line(UNPAIRED, 'client="gw",reason="client_only"', 1),
      line(UNPAIRED, 'server="cart",reason="parent_unknown"', 1),
      line(UNPAIRED, 'server="cart",reason="server_only"', 3),
    ]));
  });

  test('parent_unknown: server spans whose parent never came', async () => {
    const h = await harness({ wait: WAIT });
    h.send([
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 3 },
      { trace: 2, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 3 },
      // a sibling of the missing parent does not count as the parent
      { trace: 2, id: 3, parent: 9, kind: 'internal', service: 'gw', durMs: 3 },
    ]);
    h.core.expire(Infinity);
    expect(missing(h.lines())).toEqual([line(UNPAIRED, 'server="cart",reason="parent_unknown"', 2)]);
  });

  test('sampled_out: the waiting span was sampled with probability below 1 (tracestate ot=th:)', async () => {
    const h = await harness({ wait: WAIT });
    h.send([
      // th:8 = threshold 2^55: kept with probability 1/2 (OpenTelemetry tracestate probability sampling)
      { trace: 1, id: 1, kind: 'client', service: 'api', durMs: 5, traceState: 'ot=th:8' },
      { trace: 2, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 5, traceState: 'vendor=x,ot=th:c;rv:0123456789abcd' },
      // th:0 = probability 1: not sampled out
      { trace: 3, id: 1, kind: 'client', service: 'api', durMs: 5, traceState: 'ot=th:0' },
      // a threshold that does not parse (th:g) says nothing either
      { trace: 4, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 5, traceState: 'ot=th:g' },
      // the parent came (not a client): that explains it better than sampling
      { trace: 5, id: 1, kind: 'internal', service: 'gw', durMs: 5 },
      { trace: 5, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 5, traceState: 'ot=th:8' },
    ]);
    h.core.expire(Infinity);
    expect(missing(h.lines())).toEqual(sorted([
      line(UNPAIRED, 'client="api",reason="client_only"', 1),
      line(UNPAIRED, 'client="api",reason="sampled_out"', 1),
      line(UNPAIRED, 'server="cart",reason="parent_unknown"', 1),
      line(UNPAIRED, 'server="cart",reason="sampled_out"', 1),
      line(UNPAIRED, 'server="cart",reason="server_only"', 1),
    ]));
  });

  test('store_full: spans the full store turned away stay on traces_service_graph_dropped_spans_total, without a reason', async () => {
    const h = await harness({ wait: WAIT, max_items: 2 });
    const spans: SpanSpec[] = [1, 2, 3, 4, 5].map((t) => ({ trace: t, id: 1, kind: 'client', service: 'api', durMs: 5 }));
    h.send(spans);
    h.core.expire(Infinity);
    // 2 stored then unpaired; 3 dropped
    expect(missing(h.lines())).toEqual(sorted([
      line(DROPPED, 'client="api"', 3),
      line(UNPAIRED, 'client="api",reason="client_only"', 2),
    ]));
  });

  test('paired spans count nothing, whatever their tracestate', async () => {
    const h = await harness({ wait: WAIT });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'api', durMs: 5, traceState: 'ot=th:8' },
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 5, traceState: 'ot=th:8' },
    ]);
    h.core.expire(Infinity);
    expect(missing(h.lines())).toEqual([]);
    expect(h.lines().filter((l) => l.startsWith(REQ))).toEqual([line(REQ, 'client="api",server="cart"', 1)]);
  });
});

describe('the recent-spans cache (assembly/recentspans.ts): a parent that came first is found until the ring comes round', () => {
  // README "Why an edge is missing": the latest 61,440 spans other than clients and producers.
  // The child is remembered itself before it looks for its parent, so a parent is still found
  // with 61,438 spans remembered between the two, and not with 61,439 (the child's own entry
  // then takes the parent's place in the ring).
  const RECENT_ENTRIES = 61_440;
  const CHUNK = 4096;
  /**
   * Parent (an internal span of gw), `between` internal spans of one key (all in one slot of the
   * cache: only the ring moves), the server child (cart); the reason its wait ends with. One
   * filler key can share the parent's slot (or the child's) by chance: 2 in 65,536 runs.
   */
  async function reasonAfter(between: number): Promise<string[]> {
    const h = await harness({ wait: WAIT });
    h.send([{ trace: 1, id: 1, kind: 'internal', service: 'gw', durMs: 9 }], 0);
    for (let sent = 0; sent < between; sent += CHUNK) {
      const n = Math.min(CHUNK, between - sent);
      const filler = Array.from({ length: n }, () => ({ trace: 2, id: 1, kind: 'internal' as const, durMs: 1 }));
      expect(h.core.ingest(requestOneResource('fill', filler), 1)).toEqual({ ok: true, spans: n });
    }
    h.send([{ trace: 1, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 3 }], 2);
    h.core.expire(Infinity);
    return missing(h.lines());
  }

  test(`found with ${RECENT_ENTRIES - 2} spans remembered between parent and child`, async () => {
    expect(await reasonAfter(RECENT_ENTRIES - 2)).toEqual([line(UNPAIRED, 'server="cart",reason="server_only"', 1)]);
  });

  test(`forgotten with ${RECENT_ENTRIES - 1}: parent_unknown`, async () => {
    expect(await reasonAfter(RECENT_ENTRIES - 1)).toEqual([line(UNPAIRED, 'server="cart",reason="parent_unknown"', 1)]);
  });
});
