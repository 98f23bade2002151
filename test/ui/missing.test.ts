// "Why edges are missing" on the page: /api/health's service_graphs.missing_edges, per service
// and side, from spans built so that each reason has a known count (worked out in the comments).
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { buildCatalog } from '../../src/exporters/catalog.js';
import { UiApi } from '../../src/ui/api.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';

async function setup(maxItems = 10_000) {
  const sg = { ...defaultConfig().processor.service_graphs, wait: 1000, max_items: maxItems };
  const core = await Core.create({ serviceGraphs: sg, build: 'debug' });
  const catalog = buildCatalog(core, { serviceGraphs: sg });
  const api = new UiApi({ core, catalog, maxItems, now: () => 0, minScanMs: 0 });
  const send = (spans: SpanSpec[], now = 0) => expect(core.ingest(request(spans), now)).toEqual({ ok: true, spans: spans.length });
  return { core, api, send };
}

describe('/api/health service_graphs.missing_edges', () => {
  it('counts each side by reason against its paired requests, largest share first, with the sentence', async () => {
    const { core, api, send } = await setup();
    const spans: SpanSpec[] = [];
    // payments → bank: 8 paired requests (traces 1-8)
    for (let t = 1; t <= 8; t++) {
      spans.push({ trace: t, id: 1, kind: 'client', service: 'payments', durMs: 5 });
      spans.push({ trace: t, id: 2, parent: 1, kind: 'server', service: 'bank', durMs: 4 });
    }
    // payments: 2 client spans whose server never comes (client_only)
    spans.push({ trace: 20, id: 1, kind: 'client', service: 'payments', durMs: 5 });
    spans.push({ trace: 21, id: 1, kind: 'client', service: 'payments', durMs: 5 });
    // bank: 1 server span whose parent is an internal span of gw (server_only), 1 whose parent never comes (parent_unknown)
    spans.push({ trace: 30, id: 1, kind: 'internal', service: 'gw', durMs: 9 });
    spans.push({ trace: 30, id: 2, parent: 1, kind: 'server', service: 'bank', durMs: 4 });
    spans.push({ trace: 31, id: 2, parent: 1, kind: 'server', service: 'bank', durMs: 4 });
    send(spans);
    core.expire(Infinity);
    const h = await api.health();
    // payments' client side: 8 paired + 2 missing = 10, 2 / 10 = 20%.
    // bank's server side: 8 paired + 2 missing = 10, 20%; ties are ordered by missing, then name.
    const none = { client_only: 0, server_only: 0, parent_unknown: 0, sampled_out: 0, store_full: 0 };
    expect(h.service_graphs!.missing_edges).toEqual([
      {
        service: 'bank', side: 'server', spans: 10, missing: 2, share: 0.2,
        reasons: { ...none, server_only: 1, parent_unknown: 1 },
        // server_only and parent_unknown tie: the first in the order of MISSING_REASONS decides.
        sentence: 'bank: 20% of server spans never met their client (1 server_only, 1 parent_unknown): their parent spans came '
          + 'but are not client spans; processor.service_graphs.infer_edges: parent_child makes these edges.',
      },
      {
        service: 'payments', side: 'client', spans: 10, missing: 2, share: 0.2,
        reasons: { ...none, client_only: 2 },
        sentence: 'payments: 20% of client spans never met their server (2 client_only): is the server instrumented? '
          + 'is it sampled differently? does it reach another instance?',
      },
    ]);
    expect(h.service_graphs!.unpaired_total).toBe(4);
  });

  it('store_full: the dropped spans, with the advice to raise max_items', async () => {
    const { core, api, send } = await setup(1);
    // 3 lone client spans, store of 1: 1 waits then is unpaired (client_only), 2 dropped (store_full)
    send([1, 2, 3].map((t) => ({ trace: t, id: 1, kind: 'client' as const, service: 'api', durMs: 1 })));
    core.expire(Infinity);
    const [row] = (await api.health()).service_graphs!.missing_edges;
    expect(row).toMatchObject({ service: 'api', side: 'client', spans: 3, missing: 3, share: 1 });
    expect(row!.sentence).toBe('api: 100% of client spans never met their server (1 client_only, 2 store_full): the edge store was full; '
      + 'raise processor.service_graphs.max_items.');
  });
});
