// Span weights in service graphs: an edge counts its spans' multiplier (Tempo's servicegraphs
// processor adds edge.SpanMultiplier to the request counter and as the weight of each latency
// observation; the multiplier from processor util GetSpanMultiplier, here the tracestate's
// sampling threshold with enable_tracestate_span_multiplier). The span loop has a copy for the
// default options where every span weighs 1 (assembly/servicegraphs.ts aggregatePlain): these
// cases take the other one. Expected values by hand: OpenTelemetry tracestate probability
// sampling, ot=th:8 is a threshold of 2^55 of 2^56 (kept with probability 1/2: weight 2), th:c
// one of 3 × 2^54 (probability 1/4: weight 4).
import { describe, expect, it } from 'vitest';
import { CLIENT, REQ, SERVER, SMALL_BUCKETS, harness, line } from './helpers.js';

describe('service graphs weigh spans by their tracestate (enable_tracestate_span_multiplier)', () => {
  it('a paired edge and a database edge count their weight in requests and in each latency histogram', async () => {
    const h = await harness({ enable_tracestate_span_multiplier: true, histogram_buckets: SMALL_BUCKETS });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'api', durMs: 5, traceState: 'ot=th:8' },
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 4, traceState: 'ot=th:8' },
      { trace: 2, id: 1, kind: 'client', service: 'api', durMs: 2, traceState: 'ot=th:c', attrs: { 'db.system': 'postgres' } },
    ]);
    const lines = h.lines();
    const edge = 'client="api",server="cart"';
    const db = 'client="api",server="postgres",connection_type="database"';
    expect(lines).toContain(line(REQ, edge, 2));
    expect(lines).toContain(line(`${SERVER}_count`, edge, 2));
    expect(lines).toContain(line(`${SERVER}_sum`, edge, 0.008)); // 2 × 4 ms
    expect(lines).toContain(line(`${SERVER}_bucket`, `${edge},le="0.1"`, 2));
    expect(lines).toContain(line(`${CLIENT}_count`, edge, 2));
    expect(lines).toContain(line(`${CLIENT}_sum`, edge, 0.01)); // 2 × 5 ms
    expect(lines).toContain(line(REQ, db, 4));
    expect(lines).toContain(line(`${SERVER}_count`, db, 4));
    expect(lines).toContain(line(`${SERVER}_sum`, db, 0.008)); // 4 × 2 ms, the client span's
  });

  it('without the option the same spans weigh 1', async () => {
    const h = await harness({ histogram_buckets: SMALL_BUCKETS });
    h.send([
      { trace: 1, id: 1, kind: 'client', service: 'api', durMs: 5, traceState: 'ot=th:8' },
      { trace: 1, id: 2, parent: 1, kind: 'server', service: 'cart', durMs: 4, traceState: 'ot=th:8' },
    ]);
    const lines = h.lines();
    expect(lines).toContain(line(REQ, 'client="api",server="cart"', 1));
    expect(lines).toContain(line(`${SERVER}_sum`, 'client="api",server="cart"', 0.004));
  });
});
