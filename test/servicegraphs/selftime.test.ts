// Service graphs beside span metrics' self time. Self time hashes each span's (trace id, span id)
// and (trace id, parent span id) first and leaves the hashes on the staged span (staging.ts
// SPAN_ID_HASH, SPAN_PARENT_HASH); the service graphs take them instead of hashing again, for the
// spans they store, look up and remember as parents, and for infer_edges' children. Pairing across requests and the unpaired reasons must come out as without it: the
// expected lines follow README's definitions ("Why an edge is missing"), counted by hand.
import { describe, expect, test } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { CLIENT, REQ, SERVER, UNPAIRED, SMALL_BUCKETS, edgeLines, harness, histogram, line, sorted, type SpanSpec } from './helpers.js';

const WAIT = 1000;
const withSelfTime = { spanMetrics: defaultConfig().processor.span_metrics, selfTime: { maxItems: 1000, waitMs: WAIT } };

describe('service graphs with self time on', () => {
  test('a client and its server in separate requests pair; the unpaired keep their reasons', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS, wait: WAIT }, withSelfTime);
    h.send([
      // trace 1: the client waits in the store for its server, sent next
      { trace: 1, id: 1, kind: 'client', service: 'web', durMs: 500 },
      // trace 2: an internal span, the parent of a server span sent next: server_only
      { trace: 2, id: 1, kind: 'internal', service: 'web', durMs: 400 },
      // trace 3: a client whose server never comes: client_only
      { trace: 3, id: 1, kind: 'client', service: 'web', durMs: 300 },
    ]);
    h.send([
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'api', durMs: 250 },
      { trace: 2, id: 2, parent: 1, kind: 'server', service: 'api', durMs: 200 },
    ]);
    h.core.expire(Infinity);
    expect(h.lines()).toEqual(
      sorted([
        ...edgeLines('client="web",server="api"', { server: [0.25], client: [0.5] }),
        line(UNPAIRED, 'client="web",reason="client_only"', 1),
        line(UNPAIRED, 'server="api",reason="server_only"', 1),
      ]),
    );
  });

  test('infer_edges parent_child: a child of an internal span of another service, either one first', async () => {
    // As in infer-edges.test.ts (INTERNAL-only module calls): one edge parent service → child service,
    // client_seconds the parent's duration, server_seconds the child's.
    const parent: SpanSpec = { trace: 2, id: 1, kind: 'internal', service: 'orders-module', durMs: 300 };
    const child: SpanSpec = { trace: 2, id: 2, parent: 1, kind: 'internal', service: 'billing-module', durMs: 200 };
    const labels = 'client="orders-module",server="billing-module",connection_type="parent_child"';
    for (const order of [[parent, child], [child, parent]]) {
      const h = await harness({ histogram_buckets: SMALL_BUCKETS, wait: WAIT, infer_edges: 'parent_child' }, withSelfTime);
      h.send([order[0]!], 0);
      h.send([order[1]!], 1);
      h.core.expire(Infinity);
      expect(h.lines().filter((l) => l.includes('parent_child')), `${order[0]!.id} first`).toEqual(
        sorted([line(REQ, labels, 1), ...histogram(SERVER, labels, SMALL_BUCKETS, [0.2]), ...histogram(CLIENT, labels, SMALL_BUCKETS, [0.3])]),
      );
    }
  });
});
