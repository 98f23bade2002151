// The soak run (`npm run soak`, not part of CI): the sidecar as a child process, fed churning
// series at a steady rate for SOAK_MINUTES (default 12), with a small series limit and a short
// stale_duration, so that label sets keep arriving, folding into overflow and going stale.
// Every 10 s it prints the sidecar's resident memory, JS heap (used/total), external memory, WASM
// memory, active series and counters; at the end a summary, and exit status 1 when memory grew
// after the warm-up.
//
// Load: every 100 ms one OTLP/HTTP protobuf request of SOAK_RATE / 10 spans (default 5,000
// spans/s): client spans of `frontend` paired with server spans of svc-0..4 in the same request
// (service-graph edges), one lone client span in twenty (waits `wait`, then unpaired), span
// names from 100 routes and `customer.id` from 8 customers per 20-second generation. A
// generation is 1,600 label sets, 30,400 series: more than max_active_series (20,000), so new
// label sets fold into overflow, and stale_duration (30s) removes old generations: the table
// turns over about once a minute.
//
// Memory check, after a warm-up of 6 minutes (half the run if shorter): the web page's API, which
// the soak polls as a browser would, keeps a snapshot of its totals every 5 s for 5 minutes
// (src/ui/api.ts), so memory rises by design until that window is full. The run fails when the
// resident set grows by more than 8 MiB (median of the last three samples against the first
// three) at more than 1 MiB/min (least-squares slope), or when the WASM memory grows at all.
// It also fails when the sidecar dies, refuses a request, or counts other than the spans it
// acknowledged.
//
//   npm run build:ts && npm run soak          (SOAK_MINUTES=10 for a shorter run)
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ExportTraceServiceRequest } from '../src/otlp/messages.js';
import { Prng } from '../src/workload/prng.js';
import { residentBytes, startSidecar } from './processes.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 12);
const RATE = Number(process.env.SOAK_RATE ?? 5000);
const SAMPLE_MS = 10_000;
const TICK_MS = 100;
const GENERATION_MS = 20_000;
const ROUTES = 100;
const CUSTOMERS = 8;
const MAX_ACTIVE_SERIES = 20_000;
const STALE_DURATION = '30s';
const WARMUP_MS = Math.min(360_000, (MINUTES * 60_000) / 2);
const RSS_GROWTH_BYTES = 8 * 2 ** 20;
const RSS_SLOPE_PER_MIN = 2 ** 20;

const MiB = (b: number): string => (b / 2 ** 20).toFixed(1);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** One tick's request: `spans` spans, client/server pairs plus some lone clients, of generation `g`. */
function tickRequest(spans: number, g: number, rng: Prng): Uint8Array {
  const now = Date.now() * 1e6;
  const client: object[] = [];
  const servers: object[][] = Array.from({ length: 5 }, () => []);
  for (let i = 0; i < spans; ) {
    const route = `/g${g}/r${rng.int(0, ROUTES - 1)}`;
    const attributes = [kv('customer.id', `c${g}-${rng.int(0, CUSTOMERS - 1)}`)];
    const traceId = rng.bytes(16);
    const spanId = rng.bytes(8);
    const start = now - 20e6;
    client.push({ traceId, spanId, name: `call ${route}`, kind: 3, startTimeUnixNano: start, endTimeUnixNano: now, attributes });
    i++;
    if (rng.chance(0.05) || i >= spans) continue; // a lone client: unpaired after `wait`
    servers[rng.int(0, 4)]!.push({
      traceId, spanId: rng.bytes(8), parentSpanId: spanId, name: route, kind: 2, startTimeUnixNano: start + 2e6, endTimeUnixNano: now - 2e6, attributes,
      status: rng.chance(0.01) ? { code: 2, message: 'boom' } : undefined,
    });
    i++;
  }
  const resource = (service: string, list: object[]) => ({ resource: { attributes: [kv('service.name', service)] }, scopeSpans: [{ spans: list }] });
  return ExportTraceServiceRequest.encode({
    resourceSpans: [resource('frontend', client), ...servers.map((list, k) => resource(`svc-${k}`, list)).filter((r) => r.scopeSpans[0]!.spans.length > 0)],
  }).finish();
}

function post(agent: http.Agent, url: URL, body: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, timeout: 10_000,
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': String(body.length) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/** The value of an unlabelled sample in Prometheus text, or NaN. */
function sample(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

interface Sample {
  ms: number;
  rss: number;
  heap: number;
  heapTotal: number;
  external: number;
  wasm: number;
  active: number;
  removed: number;
  limited: number;
  accepted: number;
  edges: number;
}

function slopePerMinute(points: Sample[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.ms, 0) / n;
  const my = points.reduce((a, p) => a + p.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.ms - mx) * (p.rss - my);
    den += (p.ms - mx) ** 2;
  }
  return (num / den) * 60_000;
}

const median3 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'spanmeter-soak-'));
  const sidecar = await startSidecar(dir, [
    'processors: [span-metrics, service-graphs]',
    'processor:',
    '  span_metrics: {dimensions: [customer.id]}',
    '  service_graphs: {wait: 2s, max_items: 2000}',
    `registry: {max_active_series: ${MAX_ACTIVE_SERIES}, stale_duration: ${STALE_DURATION}}`,
    'log_level: error',
  ]);
  const pid = sidecar.child.pid!;
  const url = new URL(sidecar.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const rng = new Prng(0x50a4);

  const started = Date.now();
  const endAt = started + MINUTES * 60_000;
  let sent = 0;
  let acknowledged = 0;
  const refused = new Map<number, number>();
  const pending = new Set<Promise<void>>();
  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
  const feeder = setInterval(() => {
    const spans = perTick;
    const p = post(agent, url, tickRequest(spans, Math.floor((Date.now() - started) / GENERATION_MS), rng)).then((status) => {
      if (status === 200) acknowledged += spans;
      else refused.set(status, (refused.get(status) ?? 0) + 1);
      pending.delete(p);
    });
    pending.add(p);
    sent += spans;
  }, TICK_MS);

  const samples: Sample[] = [];
  const read = async (): Promise<Sample> => {
    const text = await (await fetch(`${sidecar.metrics}/metrics`, { headers: { Accept: 'text/plain;version=0.0.4' } })).text();
    await (await fetch(`${sidecar.metrics}/api/health`)).arrayBuffer(); // the web page's API, as a browser would poll it
    return {
      ms: Date.now() - started,
      rss: residentBytes(pid),
      heap: sample(text, 'nodejs_heap_size_used_bytes'),
      heapTotal: sample(text, 'nodejs_heap_size_total_bytes'),
      external: sample(text, 'nodejs_external_memory_bytes'),
      wasm: sample(text, 'spanmeter_wasm_memory_bytes'),
      active: sample(text, 'spanmeter_active_series'),
      removed: sample(text, 'spanmeter_series_removed_total'),
      limited: sample(text, 'spanmeter_series_limited_total'),
      accepted: sample(text, 'spanmeter_spans_accepted_total'),
      edges: sample(text, 'spanmeter_edge_store_size'),
    };
  };
  process.stdout.write(`soak: ${MINUTES} min at ${int(RATE)} spans/s, max_active_series ${int(MAX_ACTIVE_SERIES)}, stale_duration ${STALE_DURATION}, sidecar pid ${pid}\n`);
  let dead = false;
  try {
    while (Date.now() < endAt) {
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_MS, endAt - Date.now())));
      if (sidecar.child.exitCode !== null || sidecar.child.signalCode !== null) {
        dead = true;
        break;
      }
      const s = await read();
      samples.push(s);
      const t = Math.round(s.ms / 1000);
      process.stdout.write(
        `[${String(Math.floor(t / 60)).padStart(3)}:${String(t % 60).padStart(2, '0')}] rss ${MiB(s.rss)} MiB  heap ${MiB(s.heap)}/${MiB(s.heapTotal)} MiB  ` +
          `external ${MiB(s.external)} MiB  ` +
          `wasm ${MiB(s.wasm)} MiB  active ${int(s.active)}/${int(MAX_ACTIVE_SERIES)}  removed ${int(s.removed)}  limited ${int(s.limited)}  ` +
          `edges ${int(s.edges)}  spans ${int(s.accepted)}${s.ms < WARMUP_MS ? '  (warm-up)' : ''}\n`,
      );
    }
  } finally {
    clearInterval(feeder);
    await Promise.all(pending);
  }

  const failures: string[] = [];
  if (dead) failures.push(`the sidecar died (exit ${sidecar.child.exitCode}, signal ${sidecar.child.signalCode})`);
  if (!dead) {
    const last = await read();
    if (last.accepted !== acknowledged) failures.push(`the sidecar accepted ${int(last.accepted)} spans, ${int(acknowledged)} were acknowledged`);
  }
  if (refused.size > 0) failures.push(`requests not answered 200: ${JSON.stringify(Object.fromEntries(refused))} (0 = no answer)`);
  const after = samples.filter((s) => s.ms >= WARMUP_MS);
  const lines = [`sent ${int(sent)} spans, ${int(acknowledged)} acknowledged, in ${((Date.now() - started) / 60_000).toFixed(1)} min`];
  if (samples.length > 0) {
    const rss = samples.map((s) => s.rss);
    lines.push(`RSS: first ${MiB(rss[0]!)} MiB, last ${MiB(rss.at(-1)!)} MiB, max ${MiB(Math.max(...rss))} MiB`);
    lines.push(`JS heap used: first ${MiB(samples[0]!.heap)} MiB, last ${MiB(samples.at(-1)!.heap)} MiB, max ${MiB(Math.max(...samples.map((s) => s.heap)))} MiB`);
    lines.push(`WASM memory: first ${MiB(samples[0]!.wasm)} MiB, last ${MiB(samples.at(-1)!.wasm)} MiB`);
    lines.push(`active series: last ${int(samples.at(-1)!.active)}; removed ${int(samples.at(-1)!.removed)}, limited ${int(samples.at(-1)!.limited)}`);
  }
  if (after.length >= 6) {
    const growth = median3(after.slice(-3).map((s) => s.rss)) - median3(after.slice(0, 3).map((s) => s.rss));
    const slope = slopePerMinute(after);
    lines.push(`after warm-up (${after.length} samples): RSS ${growth >= 0 ? '+' : ''}${MiB(growth)} MiB, slope ${slope >= 0 ? '+' : ''}${MiB(slope)} MiB/min ` +
      `(fails past +${MiB(RSS_GROWTH_BYTES)} MiB at more than ${MiB(RSS_SLOPE_PER_MIN)} MiB/min); WASM ${MiB(after[0]!.wasm)} → ${MiB(after.at(-1)!.wasm)} MiB (fails on any growth)`);
    if (growth > RSS_GROWTH_BYTES && slope > RSS_SLOPE_PER_MIN) failures.push(`RSS grew ${MiB(growth)} MiB after warm-up at ${MiB(slope)} MiB/min`);
    const wasmGrowth = Math.max(...after.map((s) => s.wasm)) - after[0]!.wasm;
    if (wasmGrowth > 0) failures.push(`WASM memory grew ${MiB(wasmGrowth)} MiB after warm-up`);
  } else {
    lines.push(`after warm-up: ${after.length} samples, too few to judge growth (run longer)`);
  }
  process.stdout.write(`\nsoak summary\n  ${lines.join('\n  ')}\n  result: ${failures.length === 0 ? 'OK' : `FAILED: ${failures.join('; ')}`}\n`);
  agent.destroy();
  await sidecar.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(2);
});
