// The OTLP/gRPC part of the benchmark (issue 20), run by bench/index.ts:
//   1. end to end: the sidecar's gRPC receiver fed by bench/grpc-sender.ts (a second process,
//      several HTTP/2 channels, pre-built frames of the bench's 512-span bodies), uncompressed and
//      gzip, beside two transport floors (bench/grpc-sink.ts: a bare grpc-js server and a bare
//      node:http2 unary handler, each taking the raw bytes, gunzipping and dropping them);
//   2. the real OpenTelemetry Collector (`npm run interop:build`; its spanmetrics and servicegraph
//      connectors into the prometheus exporter) beside the sidecar on the same gRPC+gzip path, in
//      the same run: spans per CPU-second of the receiving process (/proc/<pid>/stat utime+stime
//      over the sender's measured window) and peak RSS (VmHWM), on the bench workload and with
//      10,000 and 100,000 active span-metrics series (seriesBatches: one span name per series).
//      On the workload the two take turns `pairs` times (sidecar first, then the Collector first,
//      ...), and their medians are compared: one run of either moves by ~5% with the machine.
// When the Collector's binary is missing the Collector runs are skipped, and the result says why.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect } from 'node:net';
import zlib from 'node:zlib';
import YAML from 'yaml';
import { DEFAULT_SPAN_METRICS_BUCKETS, defaultConfig } from '../src/config/defaults.js';
import { seriesBatches, type Workload } from '../src/workload/workload.js';
import { PROJECT_ROOT, freePorts, measureLoad, residentBytes, spawnReceiver, startSidecar, type Receiver } from './processes.js';
import { writeBodies, type SenderResult } from './sender.js';
import { median } from './util.js';

const GRPC_SENDER = fileURLToPath(new URL('./grpc-sender.js', import.meta.url));
const GRPC_SINK = fileURLToPath(new URL('./grpc-sink.js', import.meta.url));

export interface GrpcOptions {
  durationS: number;
  warmupS: number;
  /** HTTP/2 connections of the sender, and calls in flight on each. */
  channels: number;
  streams: number;
  spansPerBatch: number;
  /** Active-series levels of the side-by-side runs. */
  seriesLevels: number[];
  collector: boolean;
  /** Side-by-side runs of each on the workload (alternated); at the series levels, one each. */
  pairs: number;
}

export type GrpcTarget = 'sidecar' | 'floor-grpc-js' | 'floor-http2' | 'collector';

export interface GrpcRun {
  target: GrpcTarget;
  mode: 'uncompressed' | 'gzip';
  /** 'workload' (the bench's requests) or the number of distinct series sent. */
  load: 'workload' | number;
  spansPerSec: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuCores: number;
  senderCpuCores: number;
  /** Spans per CPU-second of the receiving process. */
  spansPerCpuSec: number;
  /** Peak resident memory of the receiving process (VmHWM) at the run's end, bytes. */
  peakRssBytes: number;
  failures: number;
  firstFailure: string;
}

export interface GrpcResult {
  channels: number;
  streams: number;
  durationS: number;
  runs: GrpcRun[];
  /** Why the Collector runs were skipped, if they were. */
  collectorSkipped?: string;
  collectorBinary?: string;
  /**
   * Sidecar gzip ÷ the grpc-js floor gzip (and ÷ the node:http2 floor), in spans per CPU-second
   * of the receiving process: on a shared machine wall-clock rates follow whatever else runs.
   */
  gzipOverFloor: number;
  gzipOverHttp2Floor: number;
  /** The medians of the side-by-side workload gzip runs: spans per CPU-second of the sidecar and of the Collector. */
  sidecarSpansPerCpuSec: number;
  collectorSpansPerCpuSec: number;
  /** Sidecar spans/CPU-s ÷ the Collector's, medians of the side-by-side workload gzip runs (NaN without the Collector). */
  cpuEfficiencyOverCollector: number;
  /** The Collector's peak RSS ÷ the sidecar's at the largest series level. */
  rssCollectorOverSpanmeter: number;
}

/** The Collector binary built by `npm run interop:build` (interop/paths.mjs), or why not. */
async function collectorBinary(): Promise<{ bin?: string; why?: string }> {
  let bin = process.env.OTELCOL_BIN;
  if (!bin) {
    const paths = pathToFileURL(join(PROJECT_ROOT, 'interop', 'paths.mjs')).href;
    try {
      const m = (await import(paths)) as { otelcolBinaryPath: () => string };
      bin = m.otelcolBinaryPath();
    } catch (e) {
      return { why: `interop/paths.mjs not found (${e instanceof Error ? e.message : String(e)})` };
    }
  }
  return existsSync(bin) ? { bin } : { why: `${bin} is missing: run \`npm run interop:build\`` };
}

/**
 * The Collector config: otlp gRPC receiver -> spanmetrics + servicegraph -> prometheus, with the
 * sidecar's defaults where the two differ (span-metrics buckets; the edge store's size and wait).
 */
function collectorConfig(grpcPort: number, promPort: number): string {
  const sg = defaultConfig().processor.service_graphs;
  return YAML.stringify({
    receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpcPort}` } } } },
    connectors: {
      spanmetrics: { histogram: { explicit: { buckets: DEFAULT_SPAN_METRICS_BUCKETS.map((b) => `${Math.round(b * 1000)}ms`) } } },
      servicegraph: { store: { max_items: sg.max_items, ttl: `${sg.wait / 1000}s` } },
    },
    exporters: { prometheus: { endpoint: `127.0.0.1:${promPort}` } },
    service: {
      pipelines: {
        traces: { receivers: ['otlp'], exporters: ['spanmetrics', 'servicegraph'] },
        metrics: { receivers: ['spanmetrics', 'servicegraph'], exporters: ['prometheus'] },
      },
      telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
    },
  });
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function startCollector(bin: string, dir: string): Promise<Receiver> {
  const [pGrpc, pProm] = await freePorts(2);
  const configPath = join(dir, 'otelcol.yaml');
  writeFileSync(configPath, collectorConfig(pGrpc!, pProm!));
  const r = await spawnReceiver(['--config', configPath], 'the Collector', async () => (await tcpAccepts(pGrpc!)) && tcpAccepts(pProm!), bin);
  return { ...r, url: '', grpc: `127.0.0.1:${pGrpc}`, metrics: `http://127.0.0.1:${pProm}` };
}

async function startFloor(impl: 'grpc-js' | 'http2'): Promise<Receiver> {
  const [port] = await freePorts(1);
  const r = await spawnReceiver([GRPC_SINK, '--port', String(port), '--impl', impl], `the ${impl} floor`, async (out) => out.includes('ready'));
  return { ...r, url: '', grpc: `127.0.0.1:${port}` };
}

export async function grpcEndToEnd(o: GrpcOptions, w: Workload, dir: string, progress: (msg: string) => void): Promise<GrpcResult> {
  const files = new Map<string, string>();
  const bodiesFile = (load: 'workload' | number, mode: GrpcRun['mode']): string => {
    const key = `${load}-${mode}`;
    let f = files.get(key);
    if (!f) {
      progress(`gRPC: encoding ${key} bodies`);
      const plain = load === 'workload'
        ? w.batches.map((b, i) => ({ spans: w.spanCounts[i]!, bytes: b }))
        : seriesBatches(load, o.spansPerBatch).map((b, i) => ({ spans: Math.min(o.spansPerBatch, load - i * o.spansPerBatch), bytes: b }));
      const bodies = mode === 'gzip' ? plain.map((b) => ({ spans: b.spans, bytes: new Uint8Array(zlib.gzipSync(b.bytes)) })) : plain;
      f = join(dir, `grpc-${key}.bin`);
      writeFileSync(f, writeBodies(bodies));
      files.set(key, f);
    }
    return f;
  };

  const runs: GrpcRun[] = [];
  const load = async (target: GrpcTarget, receiver: Receiver, mode: GrpcRun['mode'], what: GrpcRun['load']): Promise<GrpcRun> => {
    const started = Date.now();
    const label = `gRPC ${target} ${mode} ${what === 'workload' ? 'workload' : `${what} series`}`;
    const timer = setInterval(() => progress(`${label}: ${((Date.now() - started) / 1000).toFixed(0)} s of ${(o.warmupS + o.durationS).toFixed(0)} s`), 1000);
    let measured: { res: SenderResult; cpuSeconds: number };
    try {
      measured = await measureLoad(GRPC_SENDER, [
        '--target', receiver.grpc!,
        '--file', bodiesFile(what, mode),
        '--channels', String(o.channels),
        '--streams', String(o.streams),
      ], { ...o, gzip: mode === 'gzip' }, receiver.child.pid!);
    } finally {
      clearInterval(timer);
    }
    const { res, cpuSeconds: cpu } = measured;
    const run: GrpcRun = {
      target, mode, load: what,
      spansPerSec: res.spans / res.seconds,
      requestsPerSec: res.requests / res.seconds,
      p50Ms: res.p50,
      p99Ms: res.p99,
      serverCpuCores: cpu / res.seconds,
      senderCpuCores: res.cpuSeconds / res.seconds,
      spansPerCpuSec: res.spans / cpu,
      peakRssBytes: residentBytes(receiver.child.pid!, 'VmHWM'),
      failures: res.failures,
      firstFailure: res.firstFailure,
    };
    runs.push(run);
    return run;
  };
  const withReceiver = async (start: () => Promise<Receiver>, body: (r: Receiver) => Promise<void>): Promise<void> => {
    const r = await start();
    try {
      await body(r);
    } finally {
      await r.stop();
    }
  };

  progress('gRPC: starting the sidecar');
  await withReceiver(() => startSidecar(dir, undefined, true), async (r) => {
    for (const mode of ['uncompressed', 'gzip'] as const) await load('sidecar', r, mode, 'workload');
  });
  for (const impl of ['grpc-js', 'http2'] as const) {
    await withReceiver(() => startFloor(impl), async (r) => {
      for (const mode of ['uncompressed', 'gzip'] as const) await load(`floor-${impl}`, r, mode, 'workload');
    });
  }

  // Side by side with the Collector: a fresh process per run, so each VmHWM is that run's; on the
  // workload `pairs` times, who goes first alternating, so that a drift of the machine's load
  // weighs on both alike.
  const found = o.collector ? await collectorBinary() : { why: 'not asked for (--no-collector)' };
  const sidecarRun = (what: GrpcRun['load']): Promise<void> =>
    withReceiver(() => startSidecar(dir, undefined, true), async (r) => { await load('sidecar', r, 'gzip', what); });
  const collectorRun = async (what: GrpcRun['load']): Promise<void> => {
    if (found.bin) await withReceiver(() => startCollector(found.bin!, dir), async (r) => { await load('collector', r, 'gzip', what); });
  };
  const sideBySide: GrpcRun[] = [];
  for (let p = 0; p < (found.bin ? Math.max(1, o.pairs) : 1); p++) {
    const before = runs.length;
    for (const run of p % 2 === 0 ? [sidecarRun, collectorRun] : [collectorRun, sidecarRun]) await run('workload');
    sideBySide.push(...runs.slice(before));
  }
  for (const what of o.seriesLevels) {
    await sidecarRun(what);
    await collectorRun(what);
  }

  const find = (t: GrpcTarget, m: GrpcRun['mode'], l: GrpcRun['load'] = 'workload'): GrpcRun | undefined =>
    runs.find((x) => x.target === t && x.mode === m && x.load === l);
  // The sidecar's workload gzip figure beside the floors: the first run's (the side-by-side ones repeat it).
  const side = find('sidecar', 'gzip')!;
  const top = Math.max(...o.seriesLevels);
  const sideTop = find('sidecar', 'gzip', top);
  const colTop = find('collector', 'gzip', top);
  const perCpu = (t: GrpcTarget): number => {
    const xs = sideBySide.filter((x) => x.target === t).map((x) => x.spansPerCpuSec);
    return xs.length > 0 ? median(xs) : NaN;
  };
  const sidecarSpansPerCpuSec = perCpu('sidecar');
  const collectorSpansPerCpuSec = perCpu('collector');
  return {
    channels: o.channels,
    streams: o.streams,
    durationS: o.durationS,
    runs,
    collectorSkipped: found.bin ? undefined : found.why,
    collectorBinary: found.bin,
    gzipOverFloor: side.spansPerCpuSec / find('floor-grpc-js', 'gzip')!.spansPerCpuSec,
    gzipOverHttp2Floor: side.spansPerCpuSec / find('floor-http2', 'gzip')!.spansPerCpuSec,
    sidecarSpansPerCpuSec,
    collectorSpansPerCpuSec,
    cpuEfficiencyOverCollector: sidecarSpansPerCpuSec / collectorSpansPerCpuSec,
    rssCollectorOverSpanmeter: colTop && sideTop ? colTop.peakRssBytes / sideTop.peakRssBytes : NaN,
  };
}

const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fmt2 = (n: number): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : 'n/a');

/** The gRPC section of the bench's table. */
export function grpcTable(g: GrpcResult, spansPerBatch: number): string[] {
  const out: string[] = [];
  out.push(`OTLP/gRPC end to end, ${spansPerBatch}-span requests from a second process over ${g.channels} HTTP/2 channels x ${g.streams} calls in flight, ${g.durationS} s per run:`);
  out.push(`  ${'receiver'.padEnd(13)} ${'body'.padEnd(12)} ${'load'.padEnd(14)} ${'spans/s'.padStart(10)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} `
    + `${'recv CPU'.padStart(8)} ${'spans per recv CPU-s'.padStart(20)} ${'peak RSS MB'.padStart(11)} ${'sender CPU'.padStart(10)}`);
  for (const x of g.runs) {
    out.push(`  ${x.target.padEnd(13)} ${x.mode.padEnd(12)} ${(x.load === 'workload' ? 'workload' : `${fmtInt(x.load)} series`).padEnd(14)} `
      + `${fmtInt(x.spansPerSec).padStart(10)} ${fmt2(x.p50Ms).padStart(7)} ${fmt2(x.p99Ms).padStart(7)} ${fmt2(x.serverCpuCores).padStart(8)} `
      + `${fmtInt(x.spansPerCpuSec).padStart(20)} ${fmtInt(x.peakRssBytes / 1e6).padStart(11)} ${fmt2(x.senderCpuCores).padStart(10)}`
      + (x.failures ? `  FAILURES ${x.failures}: ${x.firstFailure}` : ''));
  }
  out.push('  (floor-grpc-js / floor-http2: a bare grpc-js server / node:http2 unary handler that gunzips and drops each message;');
  out.push('   collector: the OpenTelemetry Collector, otlp receiver -> spanmetrics + servicegraph connectors -> prometheus exporter)');
  out.push(`  spans per receiver CPU-second, sidecar gzip / grpc-js floor gzip: ${fmt2(g.gzipOverFloor)}; / node:http2 floor gzip: ${fmt2(g.gzipOverHttp2Floor)}`);
  if (g.collectorSkipped) out.push(`  the Collector runs were skipped: ${g.collectorSkipped}`);
  else {
    out.push(`  spans per receiver CPU-second, sidecar / Collector (workload, gzip, medians of the side-by-side runs: `
      + `${fmtInt(g.sidecarSpansPerCpuSec)} / ${fmtInt(g.collectorSpansPerCpuSec)}): ${fmt2(g.cpuEfficiencyOverCollector)}; `
      + `peak RSS Collector / sidecar at the largest series level: ${fmt2(g.rssCollectorOverSpanmeter)}`);
  }
  return out;
}
