// The page in Chromium: one click from a slow p99 (an operation's, a service's, an edge's latency)
// to the slowest trace, and from an error ratio to the latest failed one, through ui.trace_url. The
// "trace view" is a small HTTP server of this test on loopback, which records what it was asked.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { postTraces, startSidecar, type Sidecar } from '../support/sidecar.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';
import { launchBrowser, type Browser } from './browser.js';

// web → api, four traces. api's server spans (and so the edge's server durations): 10 ms (trace 1),
// 80 ms (trace 2: the slowest), 12 ms (trace 3), 15 ms failed (trace 4: the only failed one).
const API_MS = [10, 80, 12, 15];
function traffic(): Uint8Array {
  const spans: SpanSpec[] = [];
  API_MS.forEach((ms, i) => {
    const n = i + 1;
    spans.push(
      { trace: n, id: 1, kind: 'server', service: 'web', name: 'GET /', durMs: 100 },
      { trace: n, id: 2, parent: 1, kind: 'client', service: 'web', name: 'GET /api/items', durMs: ms + 2 },
      { trace: n, id: 3, parent: 2, kind: 'server', service: 'api', name: 'GET /api/items', durMs: ms, error: n === 4 },
    );
  });
  return request(spans);
}
// servicegraphs/helpers.ts: trace n is 5eed0000 abcdef01 00000000 <n> (hex).
const trace = (n: number) => `5eed0000abcdef0100000000${n.toString(16).padStart(8, '0')}`;
const POLL = { timeout: 20_000, interval: 250 };

describe('the page links the worst traces', () => {
  let sidecar: Sidecar;
  let browser: Browser;
  let page: Page;
  let traceView: Server;
  const asked: string[] = [];

  beforeAll(async () => {
    traceView = createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<title>trace view</title><p id="shown">${req.url}</p>`);
    });
    await new Promise<void>((r) => traceView.listen(0, '127.0.0.1', r));
    const port = (traceView.address() as AddressInfo).port;
    sidecar = await startSidecar({
      label: 'worst-trace page',
      config: {
        processors: ['span-metrics', 'service-graphs'],
        processor: { service_graphs: { wait: '1s' } },
        ui: { trace_url: `http://127.0.0.1:${port}/trace/{trace_id}` },
      },
    });
    const res = await postTraces(sidecar, traffic(), 'application/x-protobuf');
    expect(res.status).toBe(200);
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await sidecar?.stop();
    await new Promise((r) => traceView?.close(r));
  });

  /** The selector of the operations row of `service` and `name` (a server span), once it is shown. */
  async function rowOf(service: string, name: string): Promise<string> {
    let i = -1;
    await expect.poll(async () => (i = await page.$$eval('#operations tbody tr', (trs, want) =>
      trs.findIndex((tr) => [...tr.children].slice(0, 3).map((td) => td.textContent).join('|') === want), `${service}|${name}|server`)), POLL).toBeGreaterThanOrEqual(0);
    return `#operations tbody tr:nth-child(${i + 1})`;
  }

  /** Clicks `selector` and answers the URL the new tab opened, and what the trace view showed in it. */
  async function follow(selector: string): Promise<[string, string]> {
    const [tab] = await Promise.all([browser.context.waitForEvent('page'), page.click(selector)]);
    await tab.waitForLoadState();
    const shown = await tab.textContent('#shown');
    const url = tab.url();
    await tab.close();
    return [url, shown ?? ''];
  }

  it('an operation\'s p99 opens its slowest trace, its error ratio the latest failed one', async () => {
    await page.goto(`${sidecar.httpUrl}/`);
    const row = await rowOf('api', 'GET /api/items');
    // Column 8 (p99) and 5 (errors): links once the rows are there.
    const p99 = `${row} td:nth-child(8) a`;
    await page.waitForSelector(p99, POLL);
    expect(await page.getAttribute(p99, 'title')).toBe('Open the slowest trace of GET /api/items (80.0ms)');
    const base = new URL(await page.getAttribute(p99, 'href') ?? '').origin;
    expect(await follow(p99)).toEqual([`${base}/trace/${trace(2)}`, `/trace/${trace(2)}`]);
    expect(await follow(`${row} td:nth-child(5) a`)).toEqual([`${base}/trace/${trace(4)}`, `/trace/${trace(4)}`]);
    // web's GET / never failed: its error ratio links nothing; its p99 its slowest (all 100 ms: the first, trace 1).
    const web = await rowOf('web', 'GET /');
    expect(await page.$$eval(`${web} td:nth-child(5) a`, (as) => as.length)).toBe(0);
    expect(await page.getAttribute(`${web} td:nth-child(8) a`, 'href')).toBe(`${base}/trace/${trace(1)}`);
    // (The tabs also ask for /favicon.ico.)
    expect(asked.filter((u) => u.startsWith('/trace/'))).toEqual([`/trace/${trace(2)}`, `/trace/${trace(4)}`]);
  });

  it('a service\'s p99 opens the slowest trace of its server spans, without selecting the service', async () => {
    // api's server spans: trace 2 the slowest (80 ms); web's: all 100 ms, its GET / operation's
    // slowest is trace 1 (the test above); web's client spans (up to 82 ms) do not count.
    const p99 = (service: string) => `#services tbody tr[data-key="${service}"] td:nth-child(6) a`;
    await page.waitForSelector(p99('api'), POLL);
    expect(await page.getAttribute(p99('api'), 'title')).toBe('Open the slowest trace of api (80.0ms)');
    const base = new URL(await page.getAttribute(p99('api'), 'href') ?? '').origin;
    expect(await follow(p99('api'))).toEqual([`${base}/trace/${trace(2)}`, `/trace/${trace(2)}`]);
    expect(await page.getAttribute(p99('web'), 'href')).toBe(`${base}/trace/${trace(1)}`);
    // The click opened the trace; the services table selected nothing (a click elsewhere on a row does).
    expect(await page.$$eval('#services tbody tr.selected', (trs) => trs.length)).toBe(0);
  });

  it('an edge\'s latency opens its slowest trace (by server span), its rate and errors the latest failed one', async () => {
    const label = '#graph .label[data-source="web"][data-target="api"]';
    await page.waitForSelector(`${label} a.slowest[href]`, { ...POLL, state: 'attached' });
    const base = new URL(await page.getAttribute(`${label} a.slowest`, 'href') ?? '').origin;
    expect(await follow(`${label} a.slowest tspan`)).toEqual([`${base}/trace/${trace(2)}`, `/trace/${trace(2)}`]);
    expect(await follow(`${label} a.failed tspan`)).toEqual([`${base}/trace/${trace(4)}`, `/trace/${trace(4)}`]);
  });

  it('an edge\'s latency line still opens its slowest trace once the window holds no spans', async () => {
    // All four traces came before the page's first look: a window of a second or more after it
    // counts none (src/ui/api.ts: rates are increases since the window's first snapshot), so the
    // edge reads 0/s with no error ratio and no quantiles, while its slowest trace (trace 2) is
    // still held. The latency line stays, with dashes (format.ts: '–' for no value), and links
    // it; it used to be empty then, a link with nothing to click (session 32, under load).
    const label = '#graph .label[data-source="web"][data-target="api"]';
    await expect.poll(() => page.textContent(`${label} a.failed tspan`), POLL).toBe('0/s · –');
    expect(await page.textContent(`${label} a.slowest tspan`)).toBe('p50 – · p95 –');
    const base = new URL(await page.getAttribute(`${label} a.slowest`, 'href') ?? '').origin;
    expect(await follow(`${label} a.slowest tspan`)).toEqual([`${base}/trace/${trace(2)}`, `/trace/${trace(2)}`]);
  });
});
