// spanmeter's benchmark (`npm run bench`, DESIGN.md §6). On one generated workload, in one run:
//   (a)  the floor: the core copies each request into WASM memory and walks its wire format,
//        aggregation off (Core with no processors);
//   (b)  spanmeter: copy + walk + span metrics + service graphs (default config);
//   (b1) spanmeter with span metrics only, the like-for-like peer of (c) and (d);
//   (b2) as (b1) plus the span-events metric and four SLOs (BENCH_SLOS), to price them;
//   (b3) as (b) with two filter policies on each processor (BENCH_FILTERS), keeping every span,
//        and a dimension mapping on span metrics (BENCH_MAPPING); (b4)-(b7): see bench/stages.ts
//        ((b7): issue 24's options, infer_edges parent_child and self time);
//   (c)  the same design in plain TypeScript (bench/js-core.ts, the walk bench/js-otlp.ts), checking the structure of
//        the whole request as the core does; (c0) the same, skipping unread what it does not
//        aggregate;
//   (d)  the naive peer: protobufjs decode + Map (bench/naive.ts);
// then bytes per active span-metrics series, /metrics render time for N series, and OTLP/HTTP
// end to end: the sidecar in one process, a sender (bench/sender.ts) in another, uncompressed
// and gzip, beside the transport floor (bench/sink.ts: a bare node:http receiver) and gunzip
// alone on the same bodies; then OTLP/gRPC end to end beside two gRPC transport floors and the
// real OpenTelemetry Collector side by side (bench/grpc.ts). In-process stages take turns round by round and are timed in CPU
// time of this process (spans per core, steadier than wall time on a shared machine); the
// table shows medians and ratios to (b). Every stage's span metrics are checked against (b).
//
//   node dist/bench/index.js [--quick] [--json] [--rounds 7] [--batches 64] [--spans-per-batch 512]
//        [--attributes N] [--series 100000] [--duration 10] [--connections 4] [--streams 2] [--seed N]
//        [--pairs 3] [--no-http] [--no-grpc] [--no-collector]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { Core } from '../src/core/index.js';
import { defaultConfig } from '../src/config/defaults.js';
import { freePorts, measureLoad, spawnReceiver, startSidecar, type Receiver } from './processes.js';
import { writeBodies, type SenderResult } from './sender.js';
import { grpcEndToEnd, grpcTable, type GrpcResult } from './grpc.js';
import { generateWorkload, type Workload, type WorkloadStats } from '../src/workload/workload.js';
import { inProcess, type StageResult } from './stages.js';
import { seriesAndRender, type SeriesResult } from './render.js';
import { fmt1, fmt2, fmtInt, machine, median, progress, sample } from './util.js';

const SENDER = fileURLToPath(new URL('./sender.js', import.meta.url));
const SINK = fileURLToPath(new URL('./sink.js', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  quick: boolean;
  json: boolean;
  /** Also write the JSON report to this file (the table still goes to stdout). */
  jsonFile: string;
  rounds: number;
  batches: number;
  spansPerBatch: number;
  attributes: number | undefined;
  series: number;
  durationS: number;
  warmupS: number;
  connections: number;
  seed: number;
  http: boolean;
  grpc: boolean;
  collector: boolean;
  /** gRPC calls in flight per HTTP/2 channel (channels: --connections). */
  streams: number;
  /** Side-by-side sidecar and Collector runs on the workload, each once per pair (medians compared). */
  pairs: number;
  /** Shortest timed sample of an in-process stage, ms. */
  sampleMs: number;
}

const HELP = `usage: node dist/bench/index.js [options]
  --spans-per-batch N  spans per request (default 512)
  --batches N          requests in the workload (default 64)
  --attributes N       span attributes per span (default: what instrumentation sets, 8–15)
  --series N           series grown for bytes/series and /metrics render (default 100000)
  --duration S         seconds per end-to-end HTTP run (default 10)
  --rounds N           timed rounds per in-process stage (default 7)
  --connections N      keep-alive connections of the HTTP sender (default 4)
  --seed N             workload seed (default 24301)
  --streams N          gRPC calls in flight per channel (channels: --connections; default 2)
  --pairs N            side-by-side sidecar and Collector runs on the workload, alternated (default 3)
  --no-http            skip the end-to-end HTTP runs
  --no-grpc            skip the end-to-end gRPC runs (and the Collector beside them)
  --no-collector       skip the Collector runs (also skipped when its binary is not built)
  --json               print one JSON object instead of the table
  --json-file PATH     print the table and write the JSON object to PATH
  --quick              small and fast (CI smoke): 8 requests, 3 rounds, 5000 series, 1 s HTTP runs
`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    quick: false, json: false, jsonFile: '', rounds: 7, batches: 64, spansPerBatch: 512, attributes: undefined, series: 100_000,
    durationS: 10, warmupS: 1, connections: 4, seed: 24301, http: true, grpc: true, collector: true, streams: 2, pairs: 3, sampleMs: 400,
  };
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): number => {
      const v = inline ?? argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number, got ${v}`);
      return n;
    };
    given.add(flag);
    switch (flag) {
      case '--quick': o.quick = true; break;
      case '--json': o.json = true; break;
      case '--json-file': o.jsonFile = inline ?? argv[++i] ?? ''; break;
      case '--no-http': o.http = false; break;
      case '--no-grpc': o.grpc = false; break;
      case '--no-collector': o.collector = false; break;
      case '--streams': o.streams = Math.round(value()); break;
      case '--pairs': o.pairs = Math.round(value()); break;
      case '--rounds': o.rounds = Math.round(value()); break;
      case '--batches': o.batches = Math.round(value()); break;
      case '--spans-per-batch': o.spansPerBatch = Math.round(value()); break;
      case '--attributes': o.attributes = Math.round(value()); break;
      case '--series': o.series = Math.round(value()); break;
      case '--duration': o.durationS = value(); break;
      case '--connections': o.connections = Math.round(value()); break;
      case '--seed': o.seed = Math.round(value()); break;
      case '--help': case '-h': process.stdout.write(HELP); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${HELP}`);
    }
  }
  if (o.quick) {
    if (!given.has('--rounds')) o.rounds = 3;
    if (!given.has('--batches')) o.batches = 8;
    if (!given.has('--series')) o.series = 5000;
    if (!given.has('--duration')) o.durationS = 1;
    if (!given.has('--pairs')) o.pairs = 1;
    o.warmupS = 0.3;
    o.sampleMs = 60;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// End to end over HTTP

interface HttpRun {
  /** spanmeter, or the HTTP floor (bench/sink.ts: read the body, gunzip it if gzip, answer 200). */
  target: 'sidecar' | 'sink';
  mode: 'uncompressed' | 'gzip';
  spansPerSec: number;
  requestsPerSec: number;
  megabytesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU of the receiving process during the window, in cores. */
  serverCpuCores: number;
  senderCpuCores: number;
  spansPerServerCoreSec: number;
  failures: number;
  firstFailure: string;
}

interface HttpResult {
  connections: number;
  durationS: number;
  runs: HttpRun[];
  gunzipAloneSpansPerSec: number;
  gunzipPlusCoreSpansPerSec: number;
  gzipRatio: number;
  gzipOverGunzip: number;
  accepted: number;
  counted: number;
}

async function startSink(): Promise<Receiver> {
  const [port] = await freePorts(1);
  const r = await spawnReceiver([SINK, '--port', String(port), '--gunzip'], 'the HTTP sink', async (out) => out.includes('ready'));
  return { ...r, url: `http://127.0.0.1:${port}/v1/traces` };
}

/** Sum of traces_spanmetrics_calls_total samples in a /metrics page. */
function callsTotal(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('traces_spanmetrics_calls_total')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

async function endToEnd(o: Options, w: Workload): Promise<HttpResult> {
  const dir = mkdtempSync(join(os.tmpdir(), 'spanmeter-bench-'));
  try {
    progress.update('gzip-compressing the request bodies');
    const plain = w.batches.map((b, i) => ({ spans: w.spanCounts[i]!, bytes: b }));
    const gz = plain.map((b) => ({ spans: b.spans, bytes: new Uint8Array(zlib.gzipSync(b.bytes)) }));
    writeFileSync(join(dir, 'plain.bin'), writeBodies(plain));
    writeFileSync(join(dir, 'gzip.bin'), writeBodies(gz));
    const gzRatio = plain.reduce((n, b) => n + b.bytes.length, 0) / gz.reduce((n, b) => n + b.bytes.length, 0);

    // gunzip alone on the same bodies (what the sidecar's one thread can inflate), then gunzip + core.
    const cfg = defaultConfig();
    const core = await Core.create({ spanMetrics: cfg.processor.span_metrics, serviceGraphs: cfg.processor.service_graphs, build: 'release' });
    const gunzipPass = () => {
      let n = 0;
      for (const b of gz) {
        zlib.gunzipSync(b.bytes);
        n += b.spans;
      }
      return n;
    };
    const bothPass = () => {
      let n = 0;
      for (const b of gz) {
        const r = core.ingest(zlib.gunzipSync(b.bytes), Date.now());
        if (!r.ok) throw new Error(r.reason);
        n += r.spans;
      }
      return n;
    };
    sample(gunzipPass, o.sampleMs);
    sample(bothPass, o.sampleMs);
    const g: number[] = [];
    const gb: number[] = [];
    for (let r = 0; r < Math.max(3, Math.min(o.rounds, 5)); r++) {
      progress.update(`gunzip alone, round ${r + 1}`);
      g.push(sample(gunzipPass, o.sampleMs).cpu);
      gb.push(sample(bothPass, o.sampleMs).cpu);
    }

    const runs: HttpRun[] = [];
    let accepted = 0;
    let counted = 0;
    const load = async (target: HttpRun['target'], receiver: Receiver, mode: HttpRun['mode']): Promise<number> => {
      const started = Date.now();
      const timer = setInterval(() => {
        const sec = (Date.now() - started) / 1000;
        progress.update(`HTTP ${target} ${mode}: ${sec.toFixed(0)} s of ${(o.warmupS + o.durationS).toFixed(0)} s`);
      }, 1000);
      let measured: { res: SenderResult; cpuSeconds: number };
      try {
        measured = await measureLoad(SENDER, [
          '--url', receiver.url,
          '--file', join(dir, mode === 'gzip' ? 'gzip.bin' : 'plain.bin'),
          '--connections', String(o.connections),
        ], { ...o, gzip: mode === 'gzip' }, receiver.child.pid!);
      } finally {
        clearInterval(timer);
      }
      const { res } = measured;
      const cores = measured.cpuSeconds / res.seconds;
      runs.push({
        target,
        mode,
        spansPerSec: res.spans / res.seconds,
        requestsPerSec: res.requests / res.seconds,
        megabytesPerSec: res.bodyBytes / res.seconds / 1e6,
        p50Ms: res.p50,
        p99Ms: res.p99,
        serverCpuCores: cores,
        senderCpuCores: res.cpuSeconds / res.seconds,
        spansPerServerCoreSec: res.spans / res.seconds / cores,
        failures: res.failures,
        firstFailure: res.firstFailure,
      });
      return res.acceptedTotal;
    };

    progress.update('starting the sidecar');
    const sidecar = await startSidecar(dir);
    try {
      for (const mode of ['uncompressed', 'gzip'] as const) accepted += await load('sidecar', sidecar, mode);
      progress.update('reading /metrics from the sidecar');
      const page = await fetch(`${sidecar.metrics}/metrics`, { headers: { Accept: 'text/plain;version=0.0.4' } });
      counted = callsTotal(await page.text());
    } finally {
      await sidecar.stop();
    }
    progress.update('starting the HTTP sink');
    const sink = await startSink();
    try {
      for (const mode of ['uncompressed', 'gzip'] as const) await load('sink', sink, mode);
    } finally {
      await sink.stop();
    }
    const gzipRun = runs.find((r) => r.target === 'sidecar' && r.mode === 'gzip')!;
    return {
      connections: o.connections,
      durationS: o.durationS,
      runs,
      gunzipAloneSpansPerSec: median(g),
      gunzipPlusCoreSpansPerSec: median(gb),
      gzipRatio: gzRatio,
      gzipOverGunzip: gzipRun.spansPerSec / median(g),
      accepted,
      counted,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Report

interface Report {
  machine: ReturnType<typeof machine>;
  /** 1, 5 and 15 minute load averages when the run started (other work on the machine skews results). */
  loadBefore: number[];
  options: Options;
  workload: WorkloadStats & { batches: number; spansPerBatch: number; generateMs: number };
  edgeStoreAfterOnePass: Record<string, number>;
  inProcess: StageResult[];
  series?: SeriesResult;
  http?: HttpResult;
  grpc?: GrpcResult;
  /** The ratios issue 20 asks for (NaN: not measured in this run). */
  ratios: Record<string, number>;
  checks: string[];
  targets: { name: string; value: number; want: string; ok: boolean }[];
  totalSeconds: number;
}

/**
 * issue 20's ratios; NaN where this run did not measure the parts. End to end they compare spans
 * per CPU-second of the receiving process (wall-clock rates on a shared machine follow the load).
 */
function ratios(r: Report): Record<string, number> {
  const rate = (k: string) => r.inProcess.find((s) => s.key === k)!.spansPerSec;
  const http = (t: HttpRun['target'], m: HttpRun['mode']) => r.http?.runs.find((x) => x.target === t && x.mode === m)?.spansPerServerCoreSec ?? NaN;
  return {
    b_over_a: rate('b') / rate('a'),
    b_over_c: rate('b') / rate('c'),
    b_over_d: rate('b') / rate('d'),
    grpc_gzip_over_floor: r.grpc?.gzipOverFloor ?? NaN,
    grpc_gzip_over_http2_floor: r.grpc?.gzipOverHttp2Floor ?? NaN,
    http_over_sink: http('sidecar', 'uncompressed') / http('sink', 'uncompressed'),
    http_gzip_over_gunzip: http('sidecar', 'gzip') / (r.http?.gunzipAloneSpansPerSec ?? NaN),
    cpu_efficiency_over_collector: r.grpc?.cpuEfficiencyOverCollector ?? NaN,
    rss_collector_over_spanmeter: r.grpc?.rssCollectorOverSpanmeter ?? NaN,
    bytes_per_series_grown: r.series && r.series.core.bytesPerSeries > 0 ? r.series.core.bytesPerSeries : NaN,
    bytes_per_series_grown_native: r.series && r.series.core.nativeBytesPerSeries > 0 ? r.series.core.nativeBytesPerSeries : NaN,
  };
}

/** issue 20's targets, for what this run measured. */
function targets(r: Report): Report['targets'] {
  const rate = (k: string) => r.inProcess.find((s) => s.key === k)!.spansPerSec;
  const q = r.ratios;
  const t: Report['targets'] = [
    { name: '(b) spans/s per core', value: rate('b'), want: '>= 4,000,000', ok: rate('b') >= 4e6 },
    { name: '(b)/(a)', value: q.b_over_a!, want: '>= 0.65', ok: q.b_over_a! >= 0.65 },
    { name: '(b)/(c)', value: q.b_over_c!, want: '>= 2', ok: q.b_over_c! >= 2 },
    { name: '(b)/(d)', value: q.b_over_d!, want: '>= 15', ok: q.b_over_d! >= 15 },
  ];
  if (r.series) {
    if (r.series.core.bytesPerSeries > 0) {
      t.push({ name: `bytes grown per series at ${fmtInt(r.series.series)} series`, value: r.series.core.bytesPerSeries, want: '<= 250', ok: r.series.core.bytesPerSeries <= 250 });
    }
    const ms = (r.series.render.warmMs * 1e5) / r.series.render.lines;
    t.push({ name: '/metrics render for 100,000 Prometheus series, ms', value: ms, want: '< 100', ok: ms < 100 });
  }
  if (r.http) {
    t.push({ name: 'HTTP uncompressed / sink (per receiver CPU-s)', value: q.http_over_sink!, want: '>= 0.5', ok: q.http_over_sink! >= 0.5 });
    t.push({ name: 'HTTP gzip per receiver CPU-s / gunzip alone per CPU-s', value: q.http_gzip_over_gunzip!, want: '>= 0.8', ok: q.http_gzip_over_gunzip! >= 0.8 });
  }
  if (r.grpc) {
    t.push({ name: 'gRPC gzip / grpc-js transport floor (per receiver CPU-s)', value: q.grpc_gzip_over_floor!, want: '>= 0.6', ok: q.grpc_gzip_over_floor! >= 0.6 });
    if (!r.grpc.collectorSkipped) {
      t.push({ name: 'spans per CPU-s, sidecar / Collector (gRPC gzip)', value: q.cpu_efficiency_over_collector!, want: '>= 10', ok: q.cpu_efficiency_over_collector! >= 10 });
      t.push({ name: 'peak RSS at 100,000 series, Collector / sidecar', value: q.rss_collector_over_spanmeter!, want: '>= 4', ok: q.rss_collector_over_spanmeter! >= 4 });
    }
  }
  return t;
}

function printTable(r: Report): void {
  const m = r.machine;
  const wl = r.workload;
  const out: string[] = [];
  out.push(`spanmeter bench: ${m.cpu}, ${m.nproc} cores, Node ${m.node}, ${m.platform}; load average ${r.loadBefore.map(fmt2).join(' ')} before, ${m.loadAverage.map(fmt2).join(' ')} after`);
  out.push(`workload: ${wl.services} services (${wl.instances} pods), ${wl.operations} operations, ${wl.series} span-metrics series; `
    + `${wl.batches} requests x ${wl.spansPerBatch} spans = ${fmtInt(wl.spans)} spans in ${fmtInt(wl.traces)} traces, `
    + `${fmtInt(wl.bytesPerSpan)} B/span, ${fmt1(wl.attributesPerSpan)} attributes/span (${wl.minAttributes}-${wl.maxAttributes}), `
    + `${fmt2(wl.errorRate * 100)}% errors, ${Math.round(wl.pairsSplit * 100)}% of ${fmtInt(wl.pairs)} client/server pairs split across requests`);
  out.push(`service-graph store after one pass: ${fmtInt(r.edgeStoreAfterOnePass.waiting!)} waiting, ${fmtInt(r.edgeStoreAfterOnePass.edges!)} edges, ${fmtInt(r.edgeStoreAfterOnePass.dropped!)} dropped`);
  out.push('');
  out.push(`In process, one thread, median of ${r.options.rounds} rounds (spans per CPU-second of the process; wall-clock rates in --json):`);
  const w0 = Math.max(...r.inProcess.map((s) => s.label.length));
  out.push(`  ${'stage'.padEnd(w0)}  ${'spans/s'.padStart(12)}  ${'ns/span'.padStart(8)}  ${'(b) / stage'.padStart(11)}`);
  for (const s of r.inProcess) {
    out.push(`  ${s.label.padEnd(w0)}  ${fmtInt(s.spansPerSec).padStart(12)}  ${fmt1(s.nsPerSpan).padStart(8)}  ${fmt2(s.bOver).padStart(11)}`);
  }
  if (r.series) {
    const s = r.series;
    out.push('');
    out.push(`Span-metrics series (default 14 buckets), ${fmtInt(s.series)} grown (distinct span names):`);
    out.push(s.core.bytesPerSeries > 0
      ? `  core (WASM): ${fmt1(s.core.bytesPerSeries)} B/series of linear memory grown = ${fmt1(s.core.labelBytesPerSeries)} B label + ${fmt1(s.core.beyondLabelsPerSeries)} B beyond it; ${fmt1(s.core.nativeBytesPerSeries)} B with native histograms (both, 100 buckets)`
      : `  core (WASM): ${fmtInt(s.series)} series fit in the initial linear memory (no growth to measure; use --series 100000)`);
    out.push(`    static: record ${s.core.recordStride} B + index ${s.core.indexBytesPerRecord} B = ${s.core.staticRecordBytes} B per table slot (capacity ${fmtInt(s.core.tableCapacity)}); `
      + `an interned label: ${s.core.internEntryBytes} B entry + 4.6-9.1 B of index (4-byte slots, 7/8 to 7/16 full) + its bytes; the slowest-trace slot ${s.core.worstSlotBytes} B`);
    out.push(`  (c) plain TypeScript: ${fmt1(s.js.bytesPerSeries)} B/series in typed arrays (${fmt1(s.js.beyondLabelsPerSeries)} B beyond the label)`);
    out.push(`  (d) naive Map: ${fmt1(s.naive.heapBytesPerSeries)} B/series of JS heap`);
    out.push(`  /metrics render (renderFamilies, bytes as served): ${fmt1(s.render.warmMs)} ms (first, building label sets: ${fmt1(s.render.firstMs)} ms), `
      + `${fmt1(s.render.megabytes)} MB, ${fmtInt(s.render.lines)} lines`);
    const perLine = (s.render.warmMs * 1e6) / s.render.lines;
    out.push(`    = ${fmtInt(perLine)} ns per sample line; each label set is ${fmt1(s.render.lines / s.series)} Prometheus series (calls, size, ${14 + 3} histogram lines), `
      + `so 100,000 Prometheus series would take ~${fmt1((perLine * 1e5) / 1e6)} ms`);
  }
  if (r.http) {
    const h = r.http;
    out.push('');
    out.push(`OTLP/HTTP end to end, ${wl.spansPerBatch}-span protobuf requests from a second process over ${h.connections} keep-alive connections, ${h.durationS} s per run:`);
    out.push(`  ${'receiver'.padEnd(8)} ${'body'.padEnd(12)} ${'spans/s'.padStart(11)} ${'req/s'.padStart(6)} ${'MB/s'.padStart(6)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} `
      + `${'receiver CPU'.padStart(12)} ${'spans/s per receiver core'.padStart(25)} ${'sender CPU'.padStart(10)}`);
    for (const x of h.runs) {
      out.push(`  ${x.target.padEnd(8)} ${x.mode.padEnd(12)} ${fmtInt(x.spansPerSec).padStart(11)} ${fmtInt(x.requestsPerSec).padStart(6)} ${fmt1(x.megabytesPerSec).padStart(6)} `
        + `${fmt2(x.p50Ms).padStart(7)} ${fmt2(x.p99Ms).padStart(7)} ${fmt2(x.serverCpuCores).padStart(12)} ${fmtInt(x.spansPerServerCoreSec).padStart(25)} ${fmt2(x.senderCpuCores).padStart(10)}`
        + (x.failures ? `  FAILURES ${x.failures}: ${x.firstFailure}` : ''));
    }
    out.push('  (sink: a bare node:http server that reads the body, gunzips it when gzip, and answers 200: the transport floor)');
    const find = (t: HttpRun['target'], m: HttpRun['mode']) => h.runs.find((x) => x.target === t && x.mode === m);
    for (const m of ['uncompressed', 'gzip'] as const) {
      const a = find('sidecar', m);
      const b = find('sink', m);
      if (a && b) out.push(`  sidecar / sink, ${m}: ${fmt2(a.spansPerSec / b.spansPerSec)}`);
    }
    out.push(`  gunzip alone (zlib.gunzipSync in process, same bodies): ${fmtInt(h.gunzipAloneSpansPerSec)} spans/s per core; gunzip + core (b): ${fmtInt(h.gunzipPlusCoreSpansPerSec)} spans/s; `
      + `gzip ratio ${fmt1(h.gzipRatio)}x; sidecar gzip / gunzip alone = ${fmt2(h.gzipOverGunzip)}`);
    out.push(`  the sidecar counted ${fmtInt(h.counted)} spans in traces_spanmetrics_calls_total; the sender had ${fmtInt(h.accepted)} accepted`);
  }
  if (r.grpc) {
    out.push('');
    out.push(...grpcTable(r.grpc, wl.spansPerBatch));
  }
  out.push('');
  out.push(`Ratios: ${Object.entries(r.ratios).map(([k, v]) => `${k} ${Number.isFinite(v) ? fmt2(v) : 'n/a'}`).join(', ')}`);
  out.push('Targets (issue 20):');
  for (const t of r.targets) {
    const v = Math.abs(t.value) >= 1000 ? fmtInt(t.value) : fmt2(t.value);
    out.push(`  ${t.ok ? 'met   ' : 'MISSED'} ${t.name}: ${v} (want ${t.want})`);
  }
  if (r.checks.length) {
    out.push('');
    out.push('CHECKS FAILED:');
    for (const c of r.checks) out.push(`  ${c}`);
  } else {
    out.push(`Checks passed: (b1), (b2), (b3), (b4), (b7), (c), (c0) and (d) agree with (b) on every series (calls, buckets, sum; size but for (d)); `
      + '(b7) observed self times with no span refused by a full store; '
      + `(b) and (c) refuse a truncated request${r.http ? '; the sidecar counted every span it accepted' : ''}.`);
  }
  out.push(`Total ${fmt1(r.totalSeconds)} s.`);
  process.stdout.write(out.join('\n') + '\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = os.loadavg();
  const o = parseOptions(process.argv.slice(2));
  const smConfig = defaultConfig().processor.span_metrics;

  progress.update(`generating ${o.batches} requests of ${o.spansPerBatch} spans`);
  const g0 = performance.now();
  const w = generateWorkload({ seed: o.seed, batches: o.batches, spansPerBatch: o.spansPerBatch, attributes: o.attributes });
  const generateMs = performance.now() - g0;

  const ip = await inProcess(o, w, smConfig);
  const series = await seriesAndRender(o, smConfig);
  const http = o.http ? await endToEnd(o, w) : undefined;
  const checks = [...ip.checks];
  let grpc: GrpcResult | undefined;
  if (o.grpc) {
    const dir = mkdtempSync(join(os.tmpdir(), 'spanmeter-bench-grpc-'));
    try {
      grpc = await grpcEndToEnd({
        durationS: o.durationS, warmupS: o.warmupS, channels: o.connections, streams: o.streams, spansPerBatch: o.spansPerBatch,
        seriesLevels: o.quick ? [o.series] : [10_000, 100_000], collector: o.collector, pairs: o.pairs,
      }, w, dir, (m) => progress.update(m));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const r of grpc.runs) if (r.failures) checks.push(`gRPC ${r.target} ${r.mode}: ${r.failures} failed calls (${r.firstFailure})`);
  }
  if (http) {
    if (http.counted !== http.accepted) checks.push(`HTTP: sidecar counted ${http.counted} spans, sender had ${http.accepted} accepted`);
    for (const r of http.runs) if (r.failures) checks.push(`HTTP ${r.mode}: ${r.failures} failed requests (${r.firstFailure})`);
  }
  progress.done();

  const report: Report = {
    machine: machine(),
    loadBefore,
    options: o,
    workload: { ...w.stats, batches: o.batches, spansPerBatch: o.spansPerBatch, generateMs },
    edgeStoreAfterOnePass: ip.edgeStore,
    inProcess: ip.stages,
    series,
    http,
    grpc,
    ratios: {},
    checks,
    targets: [],
    totalSeconds: (performance.now() - started) / 1000,
  };
  report.ratios = ratios(report);
  report.targets = targets(report);
  if (o.jsonFile) writeFileSync(o.jsonFile, JSON.stringify(report, null, 2) + '\n');
  if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else printTable(report);
  if (checks.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  progress.done();
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
