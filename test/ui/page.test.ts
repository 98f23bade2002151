// The web page in headless Chromium: the sidecar (a child process) gets a known topology over
// OTLP/HTTP; the page must show its nodes, edges and RED numbers, follow new traffic without
// moving what is already drawn, and work from the keyboard. A second sidecar with two SLOs (one
// within its error budget, one overspent) for the SLO section. Screenshots (light and dark) are
// saved to $SPANMETER_ARTIFACTS (default: <tmp>/spanmeter-artifacts).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { postTraces, startSidecar, type Sidecar } from '../support/sidecar.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import { artifactDir, launchBrowser, type Browser } from './browser.js';

/**
 * One request of the shop: web (root) → api (paired) → pg-main (database) and → worker
 * (messaging); web → stripe (a lone client with peer.service: a virtual node once the wait
 * ends); the root becomes an edge from the virtual "user" then. With `cache`, api → cache too.
 */
function traffic(traces: number[], failing: number[], cache = false): Uint8Array {
  const spans: SpanSpec[] = [];
  for (const n of traces) {
    spans.push(
      { trace: n, id: 1, kind: 'server', service: 'web', name: 'GET /', durMs: 30 },
      { trace: n, id: 2, parent: 1, kind: 'client', service: 'web', name: 'GET /api/items', durMs: 12 },
      {
        trace: n, id: 3, parent: 2, kind: 'server', service: 'api', name: 'GET /api/items', durMs: 10, error: failing.includes(n),
        ...(failing.includes(n) ? { events: [{ name: 'exception', attrs: { 'exception.type': 'IOError' } }] } : {}),
      },
      { trace: n, id: 4, parent: 3, kind: 'client', service: 'api', name: 'SELECT items', durMs: 3, attrs: { 'db.system': 'postgresql', 'server.address': 'pg-main' } },
      { trace: n, id: 5, parent: 3, kind: 'producer', service: 'api', name: 'publish items', durMs: 1 },
      { trace: n, id: 6, parent: 5, kind: 'consumer', service: 'worker', name: 'process items', durMs: 20 },
      { trace: n, id: 7, parent: 1, kind: 'client', service: 'web', name: 'charge', durMs: 40, attrs: { 'peer.service': 'stripe' } },
    );
    if (cache) {
      spans.push(
        { trace: n, id: 8, parent: 3, kind: 'client', service: 'api', name: 'GET item', durMs: 2 },
        { trace: n, id: 9, parent: 8, kind: 'server', service: 'cache', name: 'GET', durMs: 1 },
      );
    }
  }
  return request(spans);
}

async function send(sidecar: Sidecar, body: Uint8Array): Promise<void> {
  const res = await postTraces(sidecar, body, 'application/x-protobuf');
  expect(res.status, res.text).toBe(200);
}

const nodeIds = (page: Page) => page.$$eval('#graph .node', (ns) => ns.map((n) => `${n.getAttribute('data-id')} ${[...n.classList].filter((c) => ['service', 'database', 'virtual'].includes(c)).join('')}`).sort());
const edgeKeys = (page: Page) =>
  page.$$eval('#graph .edge', (es) => es.map((e) => `${e.getAttribute('data-source')} → ${e.getAttribute('data-target')} ${[...e.classList].find((c) => c.startsWith('conn-'))}`).sort());
const rowOf = (page: Page, table: string, first: string) =>
  page.$$eval(`#${table} tbody tr`, (trs, key) => {
    const tr = trs.find((t) => t.children[0]?.textContent === key);
    return tr ? [...tr.children].map((td) => td.textContent) : null;
  }, first);
const edgeLabel = (page: Page, source: string, target: string) =>
  page.$eval(`#graph .label[data-source="${source}"][data-target="${target}"]`, (l) => [...l.querySelectorAll('tspan')].map((t) => t.textContent));
const nodeStats = (page: Page, id: string) => page.$eval(`#graph .node[data-id="${id}"] .stats`, (t) => t.textContent);
const transforms = (page: Page) => page.$$eval('#graph .node', (ns) => Object.fromEntries(ns.map((n) => [n.getAttribute('data-id'), n.getAttribute('transform')])));

const POLL = { timeout: 20_000, interval: 250 };

/** The SLO section's rows: every text part, the bar's width and whether the row is overspent. */
const sloRows = (page: Page) =>
  page.$$eval('#slo-table tbody tr', (trs) => trs.map((tr) => {
    const t = (sel: string) => [...tr.querySelectorAll(sel)].map((e) => e.textContent);
    return [
      ...t('.slo-name, td .line, .target, .sli, .pct, .flag, .burn, .spans'),
      (tr.querySelector('.bar span') as HTMLElement).style.width,
      tr.querySelector('.budget')!.classList.contains('over') && tr.querySelector('.bar')!.classList.contains('over') ? 'over' : 'within',
    ];
  }));

describe('the web page in Chromium', () => {
  let sidecar: Sidecar;
  let sloSidecar: Sidecar;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    [sidecar, sloSidecar] = await Promise.all([
      startSidecar({
        label: 'web page',
        config: {
          processors: ['span-metrics', 'service-graphs'],
          processor: { span_metrics: { events: { enabled: true, dimensions: ['exception.type'] } }, service_graphs: { wait: '1s' } },
          ui: { trace_url: 'http://127.0.0.1:16686/trace/{trace_id}' },
        },
      }),
      startSidecar({
        label: 'web page with SLOs',
        config: {
          processors: ['span-metrics'],
          slos: [
            { name: 'checkout-availability', description: 'Checkout answers', service: 'checkout', span_kind: 'server', objective: 99.9 },
            { name: 'cart-latency', span_name: 'GET /cart', objective: 99, kind: 'latency', threshold: '300ms', window: '7d' },
          ],
        },
      }),
    ]);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await sidecar?.stop();
    await sloSidecar?.stop();
  });

  it('shows the topology, the RED numbers and the health, and follows new traffic', async () => {
    await page.goto(`${sidecar.httpUrl}/`);
    expect(await page.title()).toBe('spanmeter');
    // The first look takes the baseline; traffic sent after it is what the rates show.
    await expect.poll(() => page.getAttribute('#status', 'class'), POLL).toBe('status live');
    await send(sidecar, traffic([1, 2, 3, 4], [4]));

    // Virtual nodes appear once the wait (1 s) has ended for the lone spans.
    await expect.poll(() => nodeIds(page), POLL).toEqual([
      'api service', 'pg-main database', 'stripe virtual', 'user virtual', 'web service', 'worker service',
    ]);
    expect(await edgeKeys(page)).toEqual([
      'api → pg-main conn-database',
      'api → worker conn-messaging_system',
      'user → web conn-virtual_node',
      'web → api conn-none',
      'web → stripe conn-virtual_node',
    ]);
    // api's server spans: 4 × 10 ms, one failed. Span-metrics buckets 0.002·2^k: all in
    // (0.008, 0.016]: p50 0.008 + 0.008·0.5 = 12 ms, p95 15.6 ms, p99 15.92 ms.
    // (Columns: service, rate, errors, p50, p95, p99, operations, then the trend sparklines.)
    await expect.poll(async () => (await rowOf(page, 'services', 'api'))?.slice(2, 7), POLL).toEqual(['25%', '12.0ms', '15.6ms', '15.9ms', '3']);
    // web and worker: 30 ms and 20 ms, in (0.016, 0.032]: 24 ms, 31.2 ms, 31.84 ms; no errors.
    expect((await rowOf(page, 'services', 'web'))?.slice(2, 7)).toEqual(['0%', '24.0ms', '31.2ms', '31.8ms', '3']);
    expect((await rowOf(page, 'services', 'worker'))?.slice(2, 7)).toEqual(['0%', '24.0ms', '31.2ms', '31.8ms', '1']);
    expect((await rowOf(page, 'services', 'api'))![1]).toMatch(/^[0-9.]+\/s$/);
    // web → api: one of 4 failed; the server spans (10 ms) in the first service-graph bucket
    // (0, 0.1], where histogram_quantile would say p50 50 ms, p95 95 ms: the edge shows api's own
    // server spans instead (span-metrics buckets start at 2 ms): p50 12 ms, p95 15.6 ms as above.
    await expect.poll(() => edgeLabel(page, 'web', 'api'), POLL).toEqual([expect.stringMatching(/^[0-9.]+\/s · 25%$/), 'p50 12ms · p95 15.6ms']);
    // pg-main has no spans of its own: its edge's 3 ms client spans stay in the first bucket,
    // which is all the label says.
    expect((await edgeLabel(page, 'api', 'pg-main'))[1]).toBe('p50 < 100ms · p95 < 100ms');
    expect(await nodeStats(page, 'api')).toMatch(/^[0-9.]+\/s · 25% err · p95 15.6ms$/);
    expect(await page.textContent('#h-spans .sub')).toBe('28 accepted since start');
    expect(await page.textContent('#h-graph .sub')).toBe('waiting spans · 0 unpaired · 0 dropped');
    // No SLOs configured: no SLO section.
    expect(await page.isHidden('#slos')).toBe(true);
    // Every span met its other side: nothing on why edges are missing.
    expect(await page.isHidden('#missing-edges')).toBe(true);

    // More traffic, three of four failing: the numbers follow, nothing moves.
    const before = await transforms(page);
    await send(sidecar, traffic([5, 6, 7, 8], [5, 6, 7]));
    await expect.poll(async () => (await rowOf(page, 'services', 'api'))?.[2], POLL).toBe('50%');
    await expect.poll(() => edgeLabel(page, 'web', 'api'), POLL).toEqual([expect.stringMatching(/ · 50%$/), 'p50 12ms · p95 15.6ms']);
    expect(await nodeStats(page, 'api')).toMatch(/ · 50% err · /);
    expect(await page.textContent('#h-spans .sub')).toBe('56 accepted since start');
    expect(await transforms(page)).toEqual(before);

    // A new service: its node and edge appear.
    await send(sidecar, traffic([9, 10], [], true));
    await expect.poll(() => nodeIds(page), POLL).toContain('cache service');
    expect(await edgeKeys(page)).toContain('api → cache conn-none');
    // cache: 1 ms spans, in the first span-metrics bucket (0, 2 ms]: every quantile is "< 2.00ms"
    // (histogram_quantile would say 1.00, 1.90, 1.98 ms).
    await expect.poll(async () => (await rowOf(page, 'services', 'cache'))?.slice(2, 7), POLL).toEqual(['0%', '< 2.00ms', '< 2.00ms', '< 2.00ms', '1']);
    // Each service's trend: a sparkline per row once the window has two snapshots.
    await expect.poll(() => page.$$eval('#services tbody td.trend svg.spark', (s) => s.length), POLL).toBe(4);

    // Exceptions: the failing api spans carried one IOError each, 1 + 3 since the page opened.
    await expect.poll(() => page.$$eval('#exceptions tbody tr', (trs) => trs.map((t) => [...t.children].map((c, i) => (i === 3 ? '' : c.textContent)))), POLL)
      .toEqual([['api', 'GET /api/items', 'IOError', '', '4']]);
    expect(await page.textContent('#exc-hint')).toBe('');

    // A server span whose caller never sends its span: after the wait (1 s), the page says why its
    // edge is missing (src/ui/missing.ts's sentence; 1 of cart's 1 server spans: 100%).
    await send(sidecar, request([{ trace: 99, id: 2, parent: 1, kind: 'server', service: 'cart', name: 'GET /cart', durMs: 5 }]));
    await expect.poll(() => page.$$eval('#missing-edges li', (lis) => lis.map((li) => li.textContent)), POLL).toEqual([
      'cart: 100% of server spans never met their client (1 parent_unknown): their parent spans never came: '
        + 'is the caller instrumented? is it sampled differently? does it send to another instance?',
    ]);
    expect(await page.isVisible('#missing-edges')).toBe(true);

    await page.waitForTimeout(2500);
    await page.screenshot({ path: join(artifactDir(), 'page.png'), fullPage: true });
  });

  it('sorts, filters and selects from the keyboard', async () => {
    // Sort by name: Enter on the header button.
    await page.focus('#services th[data-key="service"] button');
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('#services th[data-key="service"]', 'aria-sort')).toBe('ascending');
    expect(await page.$$eval('#services tbody tr', (trs) => trs.map((t) => t.children[0]!.textContent))).toEqual(['api', 'cache', 'cart', 'web', 'worker']); // cart: the missing-edge span sent above
    // Errors, largest first.
    await page.click('#services th[data-key="error_ratio"] button');
    expect(await page.getAttribute('#services th[data-key="error_ratio"]', 'aria-sort')).toBe('descending');
    expect(await page.$eval('#services tbody tr', (tr) => tr.children[0]!.textContent)).toBe('api');
    await page.click('#services th[data-key="service"] button');

    // Arrow keys move between rows; Enter shows the operations of the focused service.
    await page.focus('#services tbody tr');
    const focused = () => page.evaluate(() => (document.activeElement as HTMLElement).closest('tr')?.children[0]?.textContent ?? null);
    expect(await focused()).toBe('api');
    await page.keyboard.press('ArrowDown');
    expect(await focused()).toBe('cache');
    await page.keyboard.press('End');
    expect(await focused()).toBe('worker');
    await page.keyboard.press('ArrowUp');
    expect(await focused()).toBe('web');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('#ops-title'), POLL).toBe('Operations of web');
    await expect.poll(() => page.$$eval('#operations tbody tr', (trs) => trs.map((t) => t.children[1]!.textContent).sort()), POLL).toEqual(['GET /', 'GET /api/items', 'charge']);
    expect(await page.getAttribute('#services tbody tr[data-key="web"]', 'aria-selected')).toBe('true');
    // Focus stays on the row while the page refreshes.
    await page.waitForTimeout(2500);
    expect(await focused()).toBe('web');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.textContent('#ops-title'), POLL).toBe('Operations');

    // Filters.
    await page.fill('#svc-filter', 'wor');
    expect(await page.$$eval('#services tbody tr', (trs) => trs.map((t) => t.children[0]!.textContent))).toEqual(['worker']);
    await page.fill('#svc-filter', '');
    await page.fill('#op-filter', 'items');
    expect(await page.$$eval('#operations tbody tr', (trs) => trs.map((t) => t.children[1]!.textContent).sort())).toEqual([
      'GET /api/items', 'GET /api/items', 'SELECT items', 'process items', 'publish items',
    ]);
    await page.fill('#op-filter', '');
    // The span-kind filter: only the client operations (web's two calls, api's SELECT and GET item).
    await page.selectOption('#op-kind', 'SPAN_KIND_CLIENT');
    expect(await page.$$eval('#operations tbody tr', (trs) => trs.map((t) => `${t.children[0]!.textContent} ${t.children[1]!.textContent}`).sort())).toEqual([
      'api GET item', 'api SELECT items', 'web GET /api/items', 'web charge',
    ]);
    expect(new URL(page.url()).searchParams.get('kind')).toBe('SPAN_KIND_CLIENT');
    await page.selectOption('#op-kind', '');
    // Each operation links its latest exemplar to the trace view of ui.trace_url: a trace of the
    // helper's (5eed0000abcdef01 and the trace number, servicegraphs/helpers.ts), shown by its first 8 digits.
    const link = await page.$eval('#operations tbody tr td.trace a', (a) => [a.getAttribute('href'), a.textContent, a.getAttribute('rel')]);
    expect(link[0]).toMatch(/^http:\/\/127\.0\.0\.1:16686\/trace\/5eed0000abcdef01[0-9a-f]{16}$/);
    expect(link.slice(1)).toEqual(['5eed0000', 'noopener noreferrer']);
    expect(problems).toEqual([]);
  });

  it('shows each SLO\'s target, SLI and error budget left, overspent or not', async () => {
    const p = await browser.context.newPage();
    try {
      await p.goto(`${sloSidecar.httpUrl}/`);
      await expect.poll(() => p.getAttribute('#status', 'class'), POLL).toBe('status live');
      expect(await p.isVisible('#slos')).toBe(true);
      // checkout: 1000 server spans, 3 failed; GET /cart: 200 spans, one of 301 ms (300 is good).
      const spans: SpanSpec[] = [];
      for (let i = 0; i < 1000; i++) spans.push({ trace: i + 1, id: 1, kind: 'server', service: 'checkout', name: 'POST /checkout', durMs: 5, error: i < 3 });
      for (let i = 0; i < 200; i++) spans.push({ trace: 5000 + i, id: 1, kind: 'server', service: 'web', name: 'GET /cart', durMs: i === 0 ? 301 : 300 });
      await send(sloSidecar, request(spans));
      // checkout-availability: SLI 997 / 1000 = 99.7% (shown to 2 decimals, one more than the
      //   objective's: 99.70 → 99.7%); budget 0.001, bad 0.003: 1 − 3 = −2 → −200%, overspent,
      //   an empty bar on a red track; all of it came within the window: burn 0.003 / 0.001 = 3.
      // cart-latency: SLI 199 / 200 = 99.5%; budget 0.01, bad 0.005: 50% left; burn 0.5.
      await expect.poll(() => sloRows(p), POLL).toEqual([
        ['checkout-availability', 'Checkout answers', '99.9% availability', '30d window', '99.7%', '−200%', 'overspent', '3.00×', '3 / 1,000', '0%', 'over'],
        ['cart-latency', 'any service · GET /cart', '99% ≤ 300ms', '7d window', '99.5%', '50%', 'left', '0.5×', '1 / 200', '50%', 'within'],
      ]);
      // Span events are off there: the exceptions panel says how to turn them on.
      expect(await p.textContent('#exc-hint')).toBe('Exception counts come from span events: set processor.span_metrics.events to {enabled: true, dimensions: [exception.type]}.');
      expect(await p.isHidden('#exc-wrap')).toBe(true);
      // Below its objective the SLI is marked; at or above it, not.
      expect(await p.$$eval('#slo-table td.sli', (tds) => tds.map((td) => td.classList.contains('miss')))).toEqual([true, false]);
      // The page says what the figures count: since the sidecar started, not the SLO windows.
      // The start time alone on the day of the answer, with its date on a later day (a run that
      // crosses midnight).
      const api = (await (await fetch(`${sloSidecar.httpUrl}/api/slos`)).json()) as { since: number; time: number };
      const time = await p.evaluate(
        ([s, now]) => (new Date(s).toDateString() === new Date(now).toDateString() ? new Date(s).toLocaleTimeString() : new Date(s).toLocaleString()),
        [api.since, api.time] as const,
      );
      const hint = (await p.textContent('#slos-hint'))!.replace(/last \d+ s\./, 'last N s.');
      expect(hint).toBe(`Counted since spanmeter started (${time}), not over each SLO's own window; burn rate over the last N s.`);
      // Labelled for assistive technology: the section by its heading, the columns by their headers.
      expect(await p.$eval('#slos', (s) => document.getElementById(s.getAttribute('aria-labelledby')!)?.textContent)).toBe('Service-level objectives');
      expect(await p.$$eval('#slo-table thead th', (ths) => ths.map((th) => `${th.getAttribute('scope')} ${th.textContent}`))).toEqual([
        'col SLO', 'col Target', 'col SLI', 'col Error budget', 'col Burn rate', 'col Bad / all spans',
      ]);
      await p.screenshot({ path: join(artifactDir(), 'page-slos.png'), fullPage: true });
      await p.emulateMedia({ colorScheme: 'dark' });
      await p.locator('#slos').screenshot({ path: join(artifactDir(), 'page-slos-dark.png') });
    } finally {
      await p.close();
    }
  });

  it('is readable in the dark scheme', async () => {
    const dark = await launchBrowser({ colorScheme: 'dark' });
    try {
      const p = await dark.context.newPage();
      await p.goto(`${sidecar.httpUrl}/ui`);
      await expect.poll(() => p.$$eval('#graph .node', (ns) => ns.length), POLL).toBe(8); // 7 and cart, whose edge is missing
      const [bg, fg] = await p.evaluate(() => [getComputedStyle(document.body).backgroundColor || getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).color]);
      const lum = (c: string) => {
        const [r, g, b] = c.match(/\d+/g)!.map(Number) as [number, number, number];
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      };
      const html = await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
      expect(lum(html)).toBeLessThan(0.2);
      expect(lum(fg)).toBeGreaterThan(0.8);
      expect(bg).toBeDefined();
      await p.waitForTimeout(2500);
      await p.screenshot({ path: join(artifactDir(), 'page-dark.png'), fullPage: true });
    } finally {
      await dark.close();
    }
  });
});
