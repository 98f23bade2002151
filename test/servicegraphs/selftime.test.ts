// Service graphs beside span metrics' self time. Self time hashes each span's (trace id, span id)
// first and leaves the hash on the staged span (staging.ts SPAN_ID_HASH); the service graphs take
// it instead of hashing again, for the client spans they store and for the spans they remember
// as parents. Pairing across requests and the unpaired reasons must come out as without it: the
// expected lines follow README's definitions ("Why an edge is missing"), counted by hand.
import { describe, expect, test } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { UNPAIRED, SMALL_BUCKETS, edgeLines, harness, line, sorted } from './helpers.js';

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
});
