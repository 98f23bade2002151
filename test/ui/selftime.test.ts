// Self time on the page, in Chromium: per operation the self-time p50 · p95 beside the latency,
// and the share of spans counted apart, and a health card for its store; no column and no card
// with self time off. Expected values by hand from the traces below and the default buckets
// 0.002·2^k (src/config/defaults.ts), with histogram_quantile's linear interpolation inside a
// bucket (Prometheus' rule):
//   traces 1-4: web "GET /" [0, 100) ms with one child "db" [20, 80): self time 40 ms each, all
//     four in the bucket (0.032, 0.064]: p50 = 0.032 + 0.032·(2/4) = 0.048 s, p95 = 0.032 +
//     0.032·(3.8/4) = 0.0624 s.
//   trace 5: "GET /" [0, 200) with six 10 ms children in time order, then one [5, 8) that starts
//     before what the entry already summed (README "Self time": an entry keeps 4 merged intervals;
//     the same shape as test/core/selftime.test.ts' "P"): counted apart. 1 of 5 decided: 20%.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { postTraces, startSidecar, type Sidecar } from '../support/sidecar.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import { launchBrowser, type Browser } from './browser.js';

function traffic(): Uint8Array {
  const spans: SpanSpec[] = [];
  for (let n = 1; n <= 4; n++) {
    spans.push(
      { trace: n, id: 2, parent: 1, kind: 'client', service: 'web', name: 'db', startMs: 20, durMs: 60 },
      { trace: n, id: 1, kind: 'server', service: 'web', name: 'GET /', startMs: 0, durMs: 100 },
    );
  }
  [0, 20, 40, 60, 80, 100].forEach((from, i) => spans.push({ trace: 5, id: 10 + i, parent: 1, kind: 'client', service: 'web', name: 'db', startMs: from, durMs: 10 }));
  spans.push(
    { trace: 5, id: 20, parent: 1, kind: 'client', service: 'web', name: 'db', startMs: 5, durMs: 3 },
    { trace: 5, id: 1, kind: 'server', service: 'web', name: 'GET /', startMs: 0, durMs: 200 },
  );
  return request(spans);
}
const POLL = { timeout: 20_000, interval: 250 };

describe('the page shows self time per operation', () => {
  let browser: Browser;
  let page: Page;
  const sidecars: Sidecar[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    for (const s of sidecars) await s.stop();
  });

  const rowText = (name: string) => page.$$eval('#operations tbody tr', (trs, want) => {
    const tr = trs.find((t) => t.children[1]?.textContent === want);
    return tr ? { self: tr.children[8]!.textContent, hidden: (tr.children[8] as HTMLElement).hidden } : null;
  }, name);

  const selfCard = () => page.$eval('#h-self', (c) => ({
    hidden: (c as HTMLElement).hidden,
    big: c.querySelector('.big')!.textContent,
    sub: c.querySelector('.sub')!.textContent,
    bad: c.classList.contains('bad'),
  }));

  it('self time on: p50 · p95 and the share counted apart', async () => {
    const sidecar = await startSidecar({
      label: 'self-time page',
      config: { processors: ['span-metrics'], processor: { span_metrics: { self_time: true }, service_graphs: { wait: '1s' } } },
    });
    sidecars.push(sidecar);
    // The page first (its first look is the window's start), then the spans.
    await page.goto(`${sidecar.httpUrl}/`);
    await expect.poll(() => page.$eval('#op-self', (th) => (th as HTMLElement).hidden), POLL).toBe(false);
    expect((await postTraces(sidecar, traffic(), 'application/x-protobuf')).status).toBe(200);
    // decided wait (1 s) after they came, by the sidecar's expiry every second
    await expect.poll(() => rowText('GET /'), POLL).toEqual({ self: '48.0ms · 62.4ms · 20% apart', hidden: false });
    const red = await (await fetch(`${sidecar.httpUrl}/api/red`)).json() as { self_time: unknown; operations: { span_name: string; self_time?: unknown }[] };
    expect(red.self_time).toEqual({ first: 0.002, last: 16.384 });
    expect(red.operations.find((o) => o.span_name === 'GET /')!.self_time).toEqual({ p50: 0.048, p95: 0.0624, unknown_ratio: 0.2 });
  });

  it('self time off: no column, no figures', async () => {
    const sidecar = await startSidecar({ label: 'no self-time page', config: { processors: ['span-metrics'] } });
    sidecars.push(sidecar);
    await page.goto(`${sidecar.httpUrl}/`);
    expect((await postTraces(sidecar, traffic(), 'application/x-protobuf')).status).toBe(200);
    await expect.poll(() => rowText('GET /'), POLL).toEqual({ self: '', hidden: true });
    expect(await page.$eval('#op-self', (th) => (th as HTMLElement).hidden)).toBe(true);
    expect(await selfCard()).toMatchObject({ hidden: true });
    const red = await (await fetch(`${sidecar.httpUrl}/api/red`)).json() as { self_time: unknown; operations: object[] };
    expect(red.self_time).toBeNull();
    expect(red.operations.every((o) => !('self_time' in o))).toBe(true);
  });

  // The store's figures by hand, as in test/spanmetrics/selftime-health.test.ts (README "Self
  // time": every counted span takes one entry; a child whose parent has no entry makes one for
  // that parent; an entry lives wait, then one more wait as a tombstone): with room for 2,
  //   three root spans in one request → 2 entries and the third refused: 1 dropped;
  //   then, the store empty again, one child of a parent never sent → 2 entries (its own, its
  //   parent's); after wait the parent's entry expires unmet: 1 orphaned.
  it('self time on: a health card for its store, entries against self_time_max_items, orphaned and dropped', async () => {
    const sidecar = await startSidecar({
      label: 'self-time store card',
      config: {
        processors: ['span-metrics'],
        processor: { span_metrics: { self_time: true, self_time_max_items: 2 }, service_graphs: { wait: '3s' } },
      },
    });
    sidecars.push(sidecar);
    await page.goto(`${sidecar.httpUrl}/`);
    await expect.poll(selfCard, POLL).toEqual({ hidden: false, big: '0 / 2', sub: 'waiting spans · 0 orphaned · 0 dropped', bad: false });
    const roots: SpanSpec[] = ['a', 'b', 'c'].map((name, i) => ({ trace: 100 + i, id: 1, kind: 'server', service: 'shop', name, durMs: 10 }));
    expect((await postTraces(sidecar, request(roots), 'application/x-protobuf')).status).toBe(200);
    // 2 × wait = 6 s in the store: the page (every 2 s) sees it full
    await expect.poll(selfCard, POLL).toEqual({ hidden: false, big: '2 / 2', sub: 'waiting spans · 0 orphaned · 1 dropped', bad: true });
    await expect.poll(selfCard, POLL).toEqual({ hidden: false, big: '0 / 2', sub: 'waiting spans · 0 orphaned · 1 dropped', bad: true });
    const orphan: SpanSpec = { trace: 200, id: 2, parent: 1, kind: 'server', service: 'shop', name: 'orphan', durMs: 5 };
    expect((await postTraces(sidecar, request([orphan]), 'application/x-protobuf')).status).toBe(200);
    await expect.poll(selfCard, POLL).toEqual({ hidden: false, big: '0 / 2', sub: 'waiting spans · 1 orphaned · 1 dropped', bad: true });
  });
});
