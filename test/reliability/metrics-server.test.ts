// The metrics/page server against clients that ask and never read (issue 21 items 1, 7, 9): a
// pipelined burst on one connection, a response nobody reads, more requests in flight or more
// connections than allowed; the bearer token over every path but the probes; HEAD /metrics;
// promtool over the self metrics. Each attack is bounded (a few connections, one burst of 1000
// requests, loopback) and reproduces what the issue measured on main before the fix: every
// pipelined request rendered into memory (1000 × a large /metrics), responses held forever.
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { startMetricsServer, type MetricsServerOptions } from '../../src/exporters/server.js';
import type { RefusalReason } from '../../src/net/limits.js';
import type { RunningServer } from '../../src/net/server.js';
import { Telemetry } from '../../src/telemetry.js';
import { HAVE_PROMTOOL, IN_CI, PROMTOOL } from '../support/prometheus.js';
import { until } from './helpers.js';

const MiB = 1 << 20;
const servers: RunningServer[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server whose one renderer counts its calls and answers `size()` bytes of `a`s and a newline. */
async function start(size: () => number, options: Partial<MetricsServerOptions> = {}) {
  const state = { renders: 0, refusals: [] as RefusalReason[] };
  const server = await startMetricsServer({
    endpoint: '127.0.0.1:0',
    renderers: [() => {
      state.renders++;
      const b = Buffer.alloc(size(), 0x61);
      b[b.length - 1] = 0x0a;
      return b;
    }],
    onRefused: (r) => state.refusals.push(r),
    ...options,
  });
  servers.push(server);
  return { ...state, state, url: `http://${server.address}`, port: Number(server.address.slice(server.address.lastIndexOf(':') + 1)) };
}

/** A connection that sends `text` and never reads: its receive window fills and the server's writes stall. */
function neverReads(port: number, text: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    sockets.push(s);
    s.pause();
    s.once('connect', () => {
      s.write(text);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Retries `attempt` every 20 ms until it answers true (at most 200 tries). */
async function eventually(attempt: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await attempt()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached in 200 tries');
}

/** Reads what the server left on `s` until it is closed; resolves the byte count. */
function closedAfterReading(s: net.Socket): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    s.on('data', (c: Buffer) => { n += c.length; });
    if (s.closed) resolve(n);
    else s.once('close', () => resolve(n));
    s.resume();
  });
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

describe('clients that do not read (issue 21 item 1)', () => {
  it('1000 pipelined GET /metrics on one connection: one is rendered, the connection is cut, others are served exactly', async () => {
    const s = await start(() => 4 * MiB);
    const rssBefore = process.memoryUsage().rss;
    const attacker = await neverReads(s.port, GET('/metrics').repeat(1000));
    // Before the fix each of the 1000 was rendered at once (4 GiB here). Now: the first is being
    // answered, 8 wait (MAX_PIPELINED_REQUESTS), the 10th cuts the connection.
    await until(() => s.state.refusals.length > 0, 10_000);
    await closedAfterReading(attacker);
    expect(s.state.refusals).toEqual(['pipelined']);
    expect(s.state.renders).toBe(1);
    // Bound stated in README (Reliability): one connection holds at most one answer.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(128 * MiB);
    const ok = await fetch(`${s.url}/metrics`);
    expect(ok.status).toBe(200);
    const body = Buffer.from(await ok.arrayBuffer());
    expect(body.length).toBe(4 * MiB); // the renderer's size: 4 MiB of 'a' ending in a newline
    expect(body[0]).toBe(0x61);
    expect(body[body.length - 1]).toBe(0x0a);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  }, 30_000);

  it('a response nobody reads cuts its connection after write_timeout', async () => {
    let size = 32 * MiB; // more than loopback's socket buffers hold, so the write stalls
    const s = await start(() => size, { limits: { max_connections: 0, max_requests_in_flight: 0, write_timeout: 300 } });
    const attacker = await neverReads(s.port, GET('/metrics'));
    // Before the fix the connection (and its 32 MiB) stayed until the client went away.
    await until(() => s.state.refusals.length > 0, 20_000);
    const got = await closedAfterReading(attacker);
    expect(got).toBeLessThan(32 * MiB); // cut before the whole answer was written
    expect(s.state.refusals).toEqual(['write_timeout']);
    size = 100;
    const ok = await fetch(`${s.url}/metrics`);
    expect([ok.status, (await ok.text()).length]).toEqual([200, 100]);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
  }, 30_000);

  it('past max_requests_in_flight a request gets 503 with Retry-After; probes still answer', async () => {
    let size = 32 * MiB;
    const s = await start(() => size, { limits: { max_connections: 0, max_requests_in_flight: 2, write_timeout: 0 } });
    const a = await neverReads(s.port, GET('/metrics'));
    const b = await neverReads(s.port, GET('/metrics'));
    await until(() => s.state.renders === 2, 10_000);
    const third = await fetch(`${s.url}/metrics`);
    expect([third.status, third.headers.get('retry-after')]).toEqual([503, '1']);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    expect(s.state.renders).toBe(2);
    expect(s.state.refusals).toEqual(['in_flight']);
    a.destroy();
    b.destroy();
    size = 10;
    // The slots come back once the server sees the connections go.
    let status = 0;
    await eventually(async () => { status = (await fetch(`${s.url}/metrics`)).status; return status === 200; });
    expect(s.state.renders).toBe(3);
  }, 30_000);

  it('past max_connections a new connection is closed on arrival; one freed is usable again', async () => {
    const s = await start(() => 10, { limits: { max_connections: 3, max_requests_in_flight: 0, write_timeout: 0 } });
    const held = await Promise.all([0, 1, 2].map(() => answeredConnection(s.port)));
    const fourth = await neverReads(s.port, GET('/healthz'));
    await until(() => s.state.refusals.length > 0, 10_000);
    expect(await closedAfterReading(fourth)).toBe(0);
    expect(s.state.refusals).toEqual(['connections']);
    held[0]!.destroy();
    let status = 0;
    await eventually(async () => {
      status = await fetch(`${s.url}/healthz`, { headers: { Connection: 'close' } }).then((r) => r.status, () => 0);
      return status === 200;
    });
  }, 30_000);
});

/** A keep-alive connection that got its answer to GET /healthz (so the server counts it). */
function answeredConnection(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    sockets.push(s);
    s.on('error', reject);
    s.once('connect', () => s.write(GET('/healthz')));
    s.once('data', () => resolve(s));
  });
}

describe('http_auth covers every path but the probes (issue 21 item 7)', () => {
  it('/metrics, /api/*, the page and / ask for the token; /healthz and /readyz do not', async () => {
    const routes: MetricsServerOptions['routes'] = async (path) =>
      ({ status: 200, contentType: 'application/json', body: `{"path":${JSON.stringify(path)}}\n` });
    const s = await start(() => 10, { bearerToken: 'tok', routes });
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${s.url}${path}`, { headers });
    for (const path of ['/metrics', '/api/graph', '/api/red?service=a', '/api/health', '/api/slos', '/ui', '/ui/style.css', '/', '/nope']) {
      const r = await get(path, { Accept: 'text/html' });
      expect([path, r.status, r.headers.get('www-authenticate')]).toEqual([path, 401, 'Bearer realm="spanmeter"']);
    }
    expect((await get('/api/graph', { Authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await get('/api/graph', { Authorization: 'Bearer tok' });
    expect([ok.status, await ok.text()]).toEqual([200, '{"path":"/api/graph"}\n']);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
    expect(s.state.renders).toBe(0);
  });
});

describe('smaller (issue 21 item 9)', () => {
  it('HEAD /metrics answers the GET headers without rendering', async () => {
    const s = await start(() => 10);
    const head = await fetch(`${s.url}/metrics`, { method: 'HEAD', headers: { Accept: 'text/plain;version=0.0.4' } });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8']);
    expect(s.state.renders).toBe(0);
    const get = await fetch(`${s.url}/metrics`, { headers: { Accept: 'text/plain;version=0.0.4' } });
    expect([get.status, get.headers.get('content-type')]).toEqual([200, head.headers.get('content-type')]);
    expect(s.state.renders).toBe(1);
  });

  describe.skipIf(!HAVE_PROMTOOL && !IN_CI)('promtool check metrics', () => {
    it('passes over the self metrics, with the process_* and nodejs_* defaults', async () => {
      expect(HAVE_PROMTOOL, `${PROMTOOL} is missing (CI is set, so this fails)`).toBe(true);
      const telemetry = new Telemetry();
      try {
        const text = await telemetry.render('text');
        // prom-client's own names before the fix: nodejs_active_handles_total (a gauge) made promtool exit 3.
        expect(text).toMatch(/^# TYPE nodejs_active_handles gauge$/m);
        execFileSync(PROMTOOL, ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
      } finally {
        telemetry.clear();
      }
    });
  });
});

// The defaults the README states (Reliability and security).
it('http_limits defaults', () => {
  // read_header_timeout and idle_timeout: the Collector's confighttp defaults (1m each).
  expect(defaultConfig().http_limits).toEqual({
    max_connections: 512, max_requests_in_flight: 16, write_timeout: 30_000, read_header_timeout: 60_000, idle_timeout: 60_000,
  });
});
