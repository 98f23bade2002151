// The page at a phone's, a laptop's and a desktop's width (390, 1024, 1440 px), light and dark,
// fed by `spanmeter --demo` (20 services, ~55 edges): nothing falls off the screen, the header
// stays within two rows, the graph fits the width (or says that it scrolls), and no edge label
// that is shown overlaps a node or another label, or is drawn in the colour of its background.
// Screenshots of each go to $SPANMETER_ARTIFACTS (default <tmp>/spanmeter-artifacts).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killGroup, sleep } from '../support/sidecar.js';
import { spawnDemo, type DemoProcess } from './demo-process.js';
import { artifactDir, launchBrowser } from './browser.js';

const WIDTHS = [390, 1024, 1440] as const;
const SCHEMES = ['light', 'dark'] as const;

interface Measured {
  docWidth: number;
  header: { height: number; right: number };
  graph: { scrolls: boolean; hint: boolean };
  edges: number;
  shownLabels: number;
  labelOverLabel: string[];
  labelOverNode: string[];
  invisibleLabels: string[];
}

describe('the page at 390, 1024 and 1440 px, light and dark', () => {
  let demo: DemoProcess | undefined;
  let page = '';

  beforeAll(async () => {
    demo = await spawnDemo();
    page = demo.page;
    // The shop's edges, including those from "user" once the wait (10 s) has ended; read from
    // /metrics, so that the page's API has its first look in the first test.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const edges = (await (await fetch(`${page}metrics`)).text()).split('\n').filter((l) => l.startsWith('traces_service_graph_request_total{'));
        if (edges.length > 50 && edges.some((l) => l.includes('client="user"'))) break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`the demo's graph did not fill in; output:\n${demo.output()}`);
      await sleep(1000);
    }
  }, 90_000);

  afterAll(() => {
    if (demo && demo.child.exitCode === null) killGroup(demo.child, 'SIGKILL');
  });

  it('opened after traffic, shows the totals since start at once, then rates', async () => {
    const browser = await launchBrowser();
    try {
      const p = await browser.context.newPage();
      await p.goto(page);
      // The first answer has no interval to take a rate over: the status says so and every
      // service's rate cell holds its count since start ("1,234 total").
      await p.waitForFunction(() => document.getElementById('status')!.textContent!.includes('totals since start'), null, { polling: 50, timeout: 20_000 });
      const first = await p.$$eval('#services tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
      expect(first.length).toBe(20);
      for (const text of first) expect(text).toMatch(/^[\d,]+ total$/);
      // The next answer (2 s on) has rates.
      await expect.poll(() => p.$$eval('#services tbody tr td:nth-child(2)', (tds) => tds.every((td) => /\/s$/.test(td.textContent!))), { timeout: 10_000 }).toBe(true);
    } finally {
      await browser.close();
    }
  }, 60_000);

  for (const scheme of SCHEMES) {
    it(`${scheme}: fits, labels apart, readable`, async () => {
      const browser = await launchBrowser({ colorScheme: scheme });
      try {
        for (const width of WIDTHS) {
          const p = await browser.context.newPage();
          await p.setViewportSize({ width, height: 900 });
          await p.goto(page);
          await expect.poll(() => p.$$eval('#graph .edge', (es) => es.length), { timeout: 20_000 }).toBeGreaterThan(50);
          // Two more refreshes, so that the labels are placed with the rates of a full interval.
          await p.waitForTimeout(4500);
          const m = await p.evaluate((): Measured => {
            const rect = (e: Element) => e.getBoundingClientRect();
            const overlap = (a: DOMRect, b: DOMRect) => a.left < b.right - 0.5 && a.right > b.left + 0.5 && a.top < b.bottom - 0.5 && a.bottom > b.top + 0.5;
            const name = (l: Element) => `${l.getAttribute('data-source')} → ${l.getAttribute('data-target')}`;
            const labels = [...document.querySelectorAll('#graph .label')].filter((l) => getComputedStyle(l).display !== 'none');
            const nodes = [...document.querySelectorAll('#graph .node')].map((n) => [n.getAttribute('data-id'), rect(n.querySelector('.shape-main')!)] as const);
            const labelOverLabel: string[] = [];
            const labelOverNode: string[] = [];
            const invisibleLabels: string[] = [];
            const halo = getComputedStyle(document.querySelector('#graph .label text')!).stroke;
            labels.forEach((l, i) => {
              const r = rect(l.querySelector('text')!);
              for (const other of labels.slice(i + 1)) if (overlap(r, rect(other.querySelector('text')!))) labelOverLabel.push(`${name(l)} / ${name(other)}`);
              for (const [id, nr] of nodes) if (overlap(r, nr)) labelOverNode.push(`${name(l)} / ${id}`);
              for (const t of l.querySelectorAll('tspan')) {
                if (t.textContent !== '' && getComputedStyle(t).fill === halo) invisibleLabels.push(name(l));
              }
              if (r.width < 1 || r.height < 1) invisibleLabels.push(`${name(l)} (empty)`);
            });
            const box = document.getElementById('graph')!;
            const header = rect(document.querySelector('header.top')!);
            const controls = [...document.querySelectorAll('header.top > *')].map((c) => rect(c).right);
            return {
              docWidth: document.documentElement.scrollWidth,
              header: { height: header.height, right: Math.max(...controls) },
              graph: { scrolls: box.scrollWidth > box.clientWidth + 1, hint: !document.getElementById('graph-more')!.hidden },
              edges: document.querySelectorAll('#graph .edge').length,
              shownLabels: labels.length,
              labelOverLabel,
              labelOverNode,
              invisibleLabels,
            };
          });
          await p.screenshot({ path: join(artifactDir(), `page-${width}-${scheme}.png`) });
          await p.locator('.graph-panel').screenshot({ path: join(artifactDir(), `graph-${width}-${scheme}.png`) });
          const at = `${width} px, ${scheme}: ${JSON.stringify(m)}`;
          // Nothing sticks out sideways; the header's controls are all on screen, in two rows at most.
          expect(m.docWidth, at).toBeLessThanOrEqual(width);
          expect(m.header.right, at).toBeLessThanOrEqual(width);
          expect(m.header.height, at).toBeLessThanOrEqual(width < 600 ? 80 : 60);
          // The demo's 6 columns fit from 1024 px on; on a phone the graph scrolls, and says so.
          expect(m.graph.scrolls, at).toBe(width < 600);
          expect(m.graph.hint, at).toBe(m.graph.scrolls);
          // Labels: some shown, none over a node or another label, none in the halo's colour.
          expect(m.shownLabels, at).toBeGreaterThan(10);
          expect(m.labelOverLabel, at).toEqual([]);
          expect(m.labelOverNode, at).toEqual([]);
          expect(m.invisibleLabels, at).toEqual([]);
          await p.close();
        }
      } finally {
        await browser.close();
      }
    }, 120_000);
  }
});
