// The page's JSON API over time and at its limits: the window's snapshots, stale series, virtual
// node ids, the series limit, exceptions, unused dimensions. Every expected number below is worked
// out by hand in the comments; the Core and UiApi are helpers.ts's.
import { afterEach, describe, expect, it } from 'vitest';
import { type SpanSpec } from '../servicegraphs/helpers.js';
import { ingest, setup, T, type Setup } from './helpers.js';

describe('lifecycle and limits', () => {
  let s: Setup | undefined;
  afterEach(() => {
    s?.api.release();
    s = undefined;
  });

  it('snapshots are kept every 5 s for 5 minutes; the window starts at the oldest one inside it', async () => {
    s = await setup({ serviceGraphs: false });
    const { core, api, clock } = s;
    const span = (trace: number): SpanSpec => ({ trace, id: 1, kind: 'server', service: 'api', name: 'GET /', durMs: 5 });
    clock.now = T;
    await api.red();
    // One span every 2 s; a look every 2 s, but a snapshot only every ≥ 5 s: T, T+6, T+12, …
    for (let i = 1; i <= 200; i++) {
      ingest(core, [span(i)], T + i * 2000);
      clock.now = T + i * 2000;
      await api.red();
    }
    // At T+400 s: snapshots every 6 s (T+6·k); kept from T+100 on (5 minutes).
    // 60 s window: the oldest snapshot at or after T+340 is T+342 → 58 s, 29 spans → 0.5/s.
    let red = await api.red();
    expect(red.window_seconds).toBe(58);
    expect(red.services[0]!.rate).toBe(0.5);
    // A longer window than kept is cut to 5 minutes: oldest kept ≥ T+100 is T+102 → 298 s, 149 spans.
    red = await api.red({ windowMs: 3_600_000 });
    expect(red.window_seconds).toBe(298);
    expect(red.services[0]!.rate).toBe(0.5);
    // Released after idling: the next look starts from nothing again.
    api.release();
    red = await api.red();
    expect(red.window_seconds).toBe(0);
    expect(red.services[0]!.rate).toBeNull();
  });

  it('a series removed as stale is not a counter reset of its operation', async () => {
    s = await setup({ serviceGraphs: false });
    const { core, api, clock } = s;
    const span = (trace: number, error: boolean): SpanSpec => ({ trace, id: 1, kind: 'server', service: 'api', name: 'GET /', durMs: 5, error });
    // Two series of one operation: status ERROR (only before T) and UNSET (every 5 minutes).
    ingest(core, [span(1, true)], T - 1000);
    clock.now = T;
    await api.red();
    for (let i = 1; i <= 3; i++) {
      ingest(core, [span(10 + i, false)], T + i * 300_000 - 1000);
      clock.now = T + i * 300_000;
      await api.red();
    }
    // At T+1000 s the ERROR series (last updated T−1 s) is stale and removed: the operation's
    // sum of series drops from 1 + 3 to 3, then one more UNSET span comes.
    expect(core.sweep(T + 1_000_000)).toBe(1);
    ingest(core, [span(20, false)], T + 1_000_000);
    // 300 s window at T+1100 s: from the snapshot at T+900 s, 200 s: 1 span → 0.005/s, no errors.
    clock.now = T + 1_100_000;
    const red = await api.red({ windowMs: 300_000 });
    expect(red.window_seconds).toBe(200);
    expect(red.operations.map((o) => [o.span_name, o.rate, o.error_ratio])).toEqual([['GET /', 0.005, 0]]);
  });

  it('a virtual node named like a service gets an id of its own', async () => {
    s = await setup();
    const { core, api, clock } = s;
    clock.now = T;
    await api.graph();
    // A service called "user", and a root span whose caller becomes Tempo's virtual "user".
    ingest(core, [
      { trace: 1, id: 1, kind: 'server', service: 'web', name: 'GET /', durMs: 50 },
      { trace: 1, id: 2, parent: 1, kind: 'client', service: 'web', name: 'GetUser', durMs: 40 },
      { trace: 1, id: 3, parent: 2, kind: 'server', service: 'user', name: 'GetUser', durMs: 30 },
    ], T + 1000);
    core.expire(T + 12_000);
    clock.now = T + 20_000;
    const g = await api.graph();
    expect(g.nodes.map((n) => [n.id, n.name, n.type, n.rate])).toEqual([
      ['user', 'user', 'service', 0.05],
      ['virtual:user', 'user', 'virtual', 0.05],
      ['web', 'web', 'service', 0.05],
    ]);
    expect(g.edges.map((e) => [e.source, e.target, e.connection_type])).toEqual([
      ['virtual:user', 'web', 'virtual_node'],
      ['web', 'user', ''],
    ]);
  });

  it('past max_active_series the new label sets are the overflow row, and a warning says so', async () => {
    // A span-metrics label set with 3 buckets is 8 series (calls, size, 3 buckets + +Inf, sum,
    // count), and the core keeps room for the overflow series (8 more): 24 holds two label sets.
    s = await setup({ serviceGraphs: false, maxActiveSeries: 24 });
    const { core, api, clock } = s;
    clock.now = T;
    await api.red();
    const spans: SpanSpec[] = ['a', 'b', 'c', 'd'].map((svc, i) => ({ trace: 1, id: i + 1, kind: 'server', service: svc, name: 'op', durMs: 5 }));
    ingest(core, spans, T + 1000);
    clock.now = T + 10_000;
    const red = await api.red();
    // a and b fit; c and d go to the overflow series: 2 spans / 10 s = 0.2/s, both in le 0.01.
    expect(red.services.map((r) => r.service)).toEqual(['a', 'b']);
    expect(red.overflow).toEqual({ rate: 0.2, error_ratio: 0, p50: 0.005, p95: 0.0095, p99: 0.0099 });
    const h = await api.health();
    expect(h.series).toEqual({ active: 16, limit: 24, limited_total: 2, removed_total: 0 });
    expect(h.warnings).toEqual(['Series limit reached (24): 2 new label sets were counted in the metric_overflow="true" series.']);
    expect(h.service_graphs).toBeNull();
  });

  it('exceptions by operation and type from the span-events counter, since start and then over the window', async () => {
    s = await setup({ serviceGraphs: false, spanMetrics: { events: { enabled: true, dimensions: ['exception.type'] } } });
    const { core, api, clock } = s;
    const exc = (type: string) => ({ name: 'exception', attrs: { 'exception.type': type } });
    // Before the first look: one IOError in checkout's Checkout.
    ingest(core, [{ trace: 1, id: 1, kind: 'server', service: 'checkout', name: 'Checkout', durMs: 5, error: true, events: [exc('IOError')] }], T - 5000);
    clock.now = T;
    // First look: no rate yet, the count since start.
    expect((await api.red()).exceptions).toEqual({
      typed: true,
      rows: [{ service: 'checkout', span_name: 'Checkout', exception_type: 'IOError', count: 1, rate: null }],
    });
    // Then: two IOErrors and a TimeoutError in Checkout, an IOError in cart's GET /cart, and an
    // event that is not an exception (not counted here).
    ingest(core, [
      { trace: 2, id: 1, kind: 'server', service: 'checkout', name: 'Checkout', durMs: 5, events: [exc('IOError'), exc('TimeoutError'), { name: 'retry' }] },
      { trace: 3, id: 1, kind: 'server', service: 'checkout', name: 'Checkout', durMs: 5, events: [exc('IOError')] },
      { trace: 4, id: 1, kind: 'server', service: 'cart', name: 'GET /cart', durMs: 5, events: [exc('IOError')] },
    ], T + 1000);
    clock.now = T + 10_000;
    // Over the 10 s since the first look: 2 / 10 = 0.2/s, then 1 / 10 = 0.1/s each, most first
    // (ties by service, operation, type).
    expect((await api.red()).exceptions).toEqual({
      typed: true,
      rows: [
        { service: 'checkout', span_name: 'Checkout', exception_type: 'IOError', count: 2, rate: 0.2 },
        { service: 'cart', span_name: 'GET /cart', exception_type: 'IOError', count: 1, rate: 0.1 },
        { service: 'checkout', span_name: 'Checkout', exception_type: 'TimeoutError', count: 1, rate: 0.1 },
      ],
    });
    expect((await api.red({ service: 'cart' })).exceptions?.rows.map((r) => r.exception_type)).toEqual(['IOError']);
  });

  it('a configured dimension that no span carried is a warning, with its other spelling', async () => {
    s = await setup({ serviceGraphs: false, spanMetrics: { dimensions: ['http.method', 'http.route', 'url.full', 'tenant'] } });
    const { core, api, clock, telemetry } = s;
    clock.now = T;
    // No spans yet: nothing to say.
    expect((await api.health()).warnings).toEqual([]);
    // Three spans with http.request.method (the current name) and http.route; none has
    // http.method, url.full or tenant.
    const spans: SpanSpec[] = [1, 2, 3].map((n) => ({
      trace: n, id: 1, kind: 'server', service: 'web', name: 'GET /items', durMs: 5,
      attrs: { 'http.request.method': 'GET', 'http.route': '/items' },
    }));
    ingest(core, spans, T + 1000);
    telemetry.recordRequest({ protocol: 'http', code: 200, result: { ok: true, spans: 3 } });
    clock.now = T + 10_000;
    // http.method became http.request.method (HTTP semantic conventions, stable in 1.23);
    // url.full is the newer name of http.url; tenant is no convention's.
    expect((await api.health()).warnings).toEqual([
      'No span of the 3 so far carried the dimension http.method: current semantic conventions call it http.request.method (processor.span_metrics.dimensions).',
      'No span of the 3 so far carried the dimension url.full: SDKs on semantic conventions before its rename send http.url (processor.span_metrics.dimensions).',
      "No span of the 3 so far carried the dimension tenant: check its spelling against your spans' attributes (looked up on the resource, then the span).",
    ]);
    // A span with tenant (on its resource): that warning goes, for good.
    ingest(core, [{ trace: 9, id: 1, kind: 'server', service: 'web', name: 'GET /items', durMs: 5, resource: { tenant: 'a' } }], T + 11_000);
    telemetry.recordRequest({ protocol: 'http', code: 200, result: { ok: true, spans: 1 } });
    clock.now = T + 20_000;
    expect((await api.health()).warnings.map((w) => w.split(':')[0])).toEqual([
      'No span of the 4 so far carried the dimension http.method',
      'No span of the 4 so far carried the dimension url.full',
    ]);
  });
});
