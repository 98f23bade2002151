// The web page in headless Chromium: the sidecar (a child process) gets a known topology over
// OTLP/HTTP; the page must show its nodes, edges and RED numbers, follow new traffic without
// moving what is already drawn, and work from the keyboard. Screenshots (light and dark) are
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
      { trace: n, id: 3, parent: 2, kind: 'server', service: 'api', name: 'GET /api/items', durMs: 10, error: failing.includes(n) },
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

describe('the web page in Chromium', () => {
  let sidecar: Sidecar;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    sidecar = await startSidecar({
      label: 'web page',
      config: { processors: ['span-metrics', 'service-graphs'], processor: { service_graphs: { wait: '1s' } } },
    });
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
    await expect.poll(async () => (await rowOf(page, 'services', 'api'))?.slice(2), POLL).toEqual(['25%', '12.0ms', '15.6ms', '15.9ms', '3']);
    // web and worker: 30 ms and 20 ms, in (0.016, 0.032]: 24 ms, 31.2 ms, 31.84 ms; no errors.
    expect((await rowOf(page, 'services', 'web'))?.slice(2)).toEqual(['0%', '24.0ms', '31.2ms', '31.8ms', '3']);
    expect((await rowOf(page, 'services', 'worker'))?.slice(2)).toEqual(['0%', '24.0ms', '31.2ms', '31.8ms', '1']);
    expect((await rowOf(page, 'services', 'api'))![1]).toMatch(/^[0-9.]+\/s$/);
    // web → api: one of 4 failed; the server spans (10 ms) in the first service-graph bucket
    // (0, 0.1]: p50 50 ms, p95 95 ms.
    await expect.poll(() => edgeLabel(page, 'web', 'api'), POLL).toEqual([expect.stringMatching(/^[0-9.]+\/s · 25%$/), 'p50 50ms · p95 95ms']);
    expect(await nodeStats(page, 'api')).toMatch(/^[0-9.]+\/s · 25% err · p95 15.6ms$/);
    expect(await page.textContent('#h-spans .sub')).toBe('28 accepted since start');
    expect(await page.textContent('#h-graph .sub')).toBe('waiting spans · 0 unpaired · 0 dropped');

    // More traffic, three of four failing: the numbers follow, nothing moves.
    const before = await transforms(page);
    await send(sidecar, traffic([5, 6, 7, 8], [5, 6, 7]));
    await expect.poll(async () => (await rowOf(page, 'services', 'api'))?.[2], POLL).toBe('50%');
    await expect.poll(() => edgeLabel(page, 'web', 'api'), POLL).toEqual([expect.stringMatching(/ · 50%$/), 'p50 50ms · p95 95ms']);
    expect(await nodeStats(page, 'api')).toMatch(/ · 50% err · /);
    expect(await page.textContent('#h-spans .sub')).toBe('56 accepted since start');
    expect(await transforms(page)).toEqual(before);

    // A new service: its node and edge appear.
    await send(sidecar, traffic([9, 10], [], true));
    await expect.poll(() => nodeIds(page), POLL).toContain('cache service');
    expect(await edgeKeys(page)).toContain('api → cache conn-none');
    await expect.poll(async () => (await rowOf(page, 'services', 'cache'))?.slice(2), POLL).toEqual(['0%', '1.00ms', '1.90ms', '1.98ms', '1']);

    await page.waitForTimeout(2500);
    await page.screenshot({ path: join(artifactDir(), 'page.png'), fullPage: true });
  });

  it('sorts, filters and selects from the keyboard', async () => {
    // Sort by name: Enter on the header button.
    await page.focus('#services th[data-key="service"] button');
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('#services th[data-key="service"]', 'aria-sort')).toBe('ascending');
    expect(await page.$$eval('#services tbody tr', (trs) => trs.map((t) => t.children[0]!.textContent))).toEqual(['api', 'cache', 'web', 'worker']);
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
    expect(problems).toEqual([]);
  });

  it('is readable in the dark scheme', async () => {
    const dark = await launchBrowser({ colorScheme: 'dark' });
    try {
      const p = await dark.context.newPage();
      await p.goto(`${sidecar.httpUrl}/ui`);
      await expect.poll(() => p.$$eval('#graph .node', (ns) => ns.length), POLL).toBe(7);
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
