// examples/embed.html in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// the page fetches the release .wasm and the sample request over HTTP, computes span metrics
// through examples/embed.mjs, and must show what the sidecar's code path computes.
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { ROOT, SAMPLE_PB, expectedSeries, fromEmbed, readBytes, type EmbedSeries } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.pb': 'application/x-protobuf',
};

/** Serves examples/ and build/*.wasm of the project, nothing else. */
function serve(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const allowed = (path.startsWith('/examples/') || /^\/build\/[^/]+\.wasm$/.test(path)) && !path.includes('..');
    const file = join(ROOT, path);
    if (!allowed || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('examples/embed.html in headless Chromium', () => {
  let server: Server;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
    server = await serve();
    profile = mkdtempSync(join(tmpdir(), 'spanmeter-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
      timeout: 30_000,
    });
  });

  afterAll(async () => {
    await context?.close();
    await new Promise((r) => server?.close(r));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('computes the same calls and latency buckets as the sidecar', async () => {
    const page = await context.newPage();
    const console: string[] = [];
    page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/examples/embed.html`);
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 20_000 });
    const state = await page.evaluate(() => document.body.dataset.state);
    const error = await page.evaluate(() => (window as unknown as { spanmeterError?: string }).spanmeterError);
    expect(state, `page failed: ${error}\n${console.join('\n')}`).toBe('done');

    const result = await page.evaluate(() => (window as unknown as { spanmeterResult: { spans: number; series: EmbedSeries[] } }).spanmeterResult);
    expect(result.spans).toBe(6);
    const expected = await expectedSeries([readBytes(SAMPLE_PB)]);
    const actual = fromEmbed(result.series);
    expect([...actual].sort()).toEqual([...expected].sort());

    // The table the page shows: one row per series, calls and cumulative buckets as computed.
    const rows = await page.$$eval('#rows tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toHaveLength(expected.size);
    expect(rows).toContainEqual(['frontend', 'GET /', 'SPAN_KIND_SERVER', 'STATUS_CODE_UNSET', '2', '2', '2', '7.5']);
    expect(rows).toContainEqual(['cart', 'GET /api/cart', 'SPAN_KIND_SERVER', 'STATUS_CODE_ERROR', '1', '0', '0', '260.0']);
    expect(await page.textContent('#status')).toBe(`6 spans in ${expected.size} series.`);
    await page.close();
  });
});
