// The README's quick start, followed literally as a new user would (issue 18, "Done when"):
// `npm start` in the clone, then an app of two services (test/quickstart/app.mjs: frontend calls
// cart over HTTP, one call of four fails) with the OpenTelemetry JS SDK configured by nothing but
// the `export` lines of the README's quick start; then the page's JSON API and the page itself in
// Chromium show both services, the edge between them and its error.
//
// The one liberty taken: the sidecar and the app get free ports instead of 4317/4318/9464 (other
// tests run beside this one), as flags after `npm start --` and in the README's variables.
// "Install": by default this checkout's own `npm install`; with SPANMETER_QUICKSTART_FRESH_CLONE=1
// the test first clones the committed HEAD into a temporary folder and runs `npm install` there
// (from the npm registry or its cache, minutes), as the README's first lines say.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMetricsText, freePorts, killGroup, killGroupOnExit, PROJECT_ROOT, sleep } from '../support/sidecar.js';
import { parsePrometheusText } from '../support/prom-text.js';

const FRESH_CLONE = process.env.SPANMETER_QUICKSTART_FRESH_CLONE === '1';
/** Where the quick start runs: this checkout, or (FRESH_CLONE) a clone made in beforeAll. */
let root = PROJECT_ROOT;
const README = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

/** The fenced sh blocks of the README's "## Quick start" section. */
function quickStartBlocks(): string[] {
  const start = README.indexOf('\n## Quick start\n');
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** `export NAME=VALUE` lines of the quick start, comments stripped. */
function readmeExports(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of quickStartBlocks()) {
    for (const line of block.split('\n')) {
      const m = /^export (\w+)=(\S+)/.exec(line);
      if (m) out[m[1]!] = m[2]!;
    }
  }
  return out;
}

/** The environment of a child: the runner's own OTEL_* and SPANMETER_* variables are not a new user's. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPANMETER_') && !k.startsWith('OTEL_')));
  return { ...env, ...extra };
}

interface Proc {
  child: ChildProcess;
  output(): string;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  killGroupOnExit(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 60_000, context: () => string = () => ''): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${context()}`);
    await sleep(200);
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
}

interface GraphNode { id: string; name: string; type: string }
interface GraphEdge { source: string; target: string; connection_type: string; rate: number | null; error_ratio: number | null; total?: number }
interface Graph { service_graphs: boolean; nodes: GraphNode[]; edges: GraphEdge[]; window_seconds: number }

describe('the README quick start, followed literally', () => {
  let sidecar: Proc | undefined;
  let page = '';
  let metricsUrl = '';
  let exports: Record<string, string> = {};

  beforeAll(async () => {
    // 1. The README's commands: git clone, npm install (this checkout's, or a fresh clone's), npm start.
    const blocks = quickStartBlocks().join('\n');
    expect(blocks).toMatch(/^git clone\b/m);
    expect(blocks).toMatch(/^npm install\b/m);
    expect(blocks).toMatch(/^npm start\b/m);
    if (FRESH_CLONE) {
      root = join(mkdtempSync(join(tmpdir(), 'spanmeter-quickstart-')), 'spanmeter');
      execFileSync('git', ['clone', '--quiet', PROJECT_ROOT, root], { stdio: 'inherit' });
      execFileSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: root, env: cleanEnv(), stdio: 'inherit', timeout: 20 * 60_000 });
    }
    // The README's variables, as a user copies them: traces only (issue 18 item 4).
    exports = readmeExports();
    expect(Object.keys(exports).sort()).toEqual(['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_SERVICE_NAME']);
    expect(exports.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).toBe('http://127.0.0.1:4318/v1/traces');

    const [pHttp, pGrpc, pMetrics] = await freePorts(3);
    exports.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = exports.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT!.replace(':4318/', `:${pHttp}/`);
    sidecar = run('npm', ['start', '--', '--otlp.http-endpoint', `127.0.0.1:${pHttp}`, '--otlp.grpc-endpoint', `127.0.0.1:${pGrpc}`, '--http-endpoint', `127.0.0.1:${pMetrics}`], cleanEnv());
    // "It logs ... ending with `web page http://127.0.0.1:9464/`" (here on the test's port).
    page = await until('the start-up line with the page URL', () => /"msg":"spanmeter listening: [^\n]*web page (\S+?);/.exec(sidecar!.output())?.[1], 30_000, () => sidecar!.output());
    expect(page).toBe(`http://127.0.0.1:${pMetrics}/`);
    metricsUrl = `http://127.0.0.1:${pMetrics}`;
  }, FRESH_CLONE ? 25 * 60_000 : 60_000);

  afterAll(async () => {
    if (sidecar) {
      killGroup(sidecar.child, 'SIGTERM');
      await Promise.race([exited(sidecar.child), sleep(10_000)]);
      killGroup(sidecar.child, 'SIGKILL');
    }
    if (FRESH_CLONE && root !== PROJECT_ROOT) rmSync(join(root, '..'), { recursive: true, force: true });
  });

  it("two services' spans show as two nodes and an edge with its error, within a minute", async () => {
    // 2. The app: cart serves, frontend calls it 4 times; the 3rd call fails (500, status ERROR on
    //    both sides). Each gets the README's variables, its own OTEL_SERVICE_NAME ("each service its own name").
    const cart = run(process.execPath, ['test/quickstart/app.mjs', 'cart'], cleanEnv({ ...exports, OTEL_SERVICE_NAME: 'cart' }));
    try {
      const port = await until('cart to listen', () => /listening (\d+)/.exec(cart.output())?.[1], 20_000, cart.output);
      const frontend = run(process.execPath, ['test/quickstart/app.mjs', 'frontend', `http://127.0.0.1:${port}`, '4', '3'], cleanEnv({ ...exports, OTEL_SERVICE_NAME: 'frontend' }));
      expect(await exited(frontend.child), frontend.output()).toBe(0);
    } finally {
      killGroup(cart.child, 'SIGTERM'); // cart flushes its spans on SIGTERM (app.mjs)
      await Promise.race([exited(cart.child), sleep(10_000)]);
    }
    expect(cart.output()).not.toMatch(/error/i);

    // 3. The numbers, exactly, in /metrics: 4 requests on frontend -> cart, 1 failed (hand count of app.mjs's calls).
    const edge = 'client="frontend",server="cart"';
    const counts = await until('the edge in /metrics', async () => {
      const samples = parsePrometheusText((await fetchMetricsText({ httpUrl: metricsUrl })).text).samples;
      const value = (name: string) => samples.find((s) => s.name === name && s.labels.client === 'frontend' && s.labels.server === 'cart')?.value;
      const total = value('traces_service_graph_request_total');
      return total === 4 ? { total, failed: value('traces_service_graph_request_failed_total') } : undefined;
    }, 60_000, () => sidecar!.output());
    expect(counts, edge).toEqual({ total: 4, failed: 1 });

    // 4. The page's JSON API, asked for the first time now, after the traffic (as a user opens the
    //    page after starting the app): totals since start, so the edge is there with its error ratio.
    const graph = (await (await fetch(`${page}api/graph`)).json()) as Graph;
    expect(graph.service_graphs).toBe(true);
    const services = graph.nodes.filter((n) => n.type === 'service').map((n) => n.name).sort();
    expect(services).toEqual(['cart', 'frontend']);
    const e = graph.edges.find((x) => x.source === 'frontend' && x.target === 'cart');
    expect(e, JSON.stringify(graph.edges)).toBeDefined();
    expect(e!.connection_type).toBe('');
    expect(e!.total).toBe(4);
    expect(e!.error_ratio).toBe(0.25); // 1 of 4
  });

  it.runIf(existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'))('the page in Chromium draws both services and the edge between them', async () => {
    const { launchBrowser } = await import('../ui/browser.js');
    const browser = await launchBrowser();
    try {
      const tab = await browser.context.newPage();
      await tab.goto(page);
      await tab.waitForSelector('#graph .node[data-id="frontend"]', { timeout: 30_000 });
      await tab.waitForSelector('#graph .node[data-id="cart"]', { timeout: 30_000 });
      await tab.waitForSelector('#graph .edge[data-source="frontend"][data-target="cart"]', { state: 'attached', timeout: 30_000 });
      const services = await tab.$$eval('#services tbody tr', (trs) => trs.map((t) => t.children[0]?.textContent ?? '').sort());
      expect(services).toEqual(expect.arrayContaining(['cart', 'frontend']));
    } finally {
      await browser.close();
    }
  });
});
