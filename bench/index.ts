// spanmeter's benchmark (`npm run bench`, DESIGN.md §6). On one generated workload, in one run:
//   (a)  the floor: the core copies each request into WASM memory and walks its wire format,
//        aggregation off (Core with no processors);
//   (b)  spanmeter: copy + walk + span metrics + service graphs (default config);
//   (b1) spanmeter with span metrics only, the like-for-like peer of (c) and (d);
//   (b2) as (b1) plus the span-events metric and four SLOs (BENCH_SLOS), to price them;
//   (b3) as (b) with two filter policies on each processor (BENCH_FILTERS), keeping every span,
//        and a dimension mapping on span metrics (BENCH_MAPPING);
//   (c)  the same design in plain TypeScript (bench/js-core.ts), checking the structure of
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
//        [--no-http] [--no-grpc] [--no-collector]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import zlib from 'node:zlib';
import { Core } from '../src/core/index.js';
import { schemaForFactor } from '../src/core/native.js';
import { RECORD_KEY, SM_KEY_DIMENSIONS, SM_KEY_SERVICE, SM_KEY_SPAN_KIND, SM_KEY_SPAN_NAME, SM_KEY_STATUS_CODE, SM_V_BUCKETS, SM_V_CALLS, SM_V_SIZE, SM_V_SUM } from '../src/core/layout.js';
import { defaultConfig } from '../src/config/defaults.js';
import type { DimensionMappingConfig, SloConfig, SpanMetricsConfig } from '../src/config/types.js';
import type { FilterPolicy } from '../src/config/filters.js';
import { spanMetricsFamilies } from '../src/exporters/spanmetrics.js';
import { renderFamilies } from '../src/exporters/exposition.js';
import { JsSpanMetrics } from './js-core.js';
import { NaiveSpanMetrics, naiveKey } from './naive.js';
import { freePorts, measureLoad, spawnReceiver, startSidecar, type Receiver } from './processes.js';
import { writeBodies, type SenderResult } from './sender.js';
import { grpcEndToEnd, grpcTable, type GrpcResult } from './grpc.js';
import { generateWorkload, seriesBatches, type Workload, type WorkloadStats } from '../src/workload/workload.js';

/** (b2)'s SLOs over the workload's shop: each kind of selector once (exact, pattern, kind, any). */
const BENCH_SLOS: SloConfig[] = [
  { name: 'frontend', service: 'frontend', span_kind: 'server', kind: 'availability', http_5xx_as_error: true },
  { name: 'checkout', service: 'checkout', span_kind: 'server', kind: 'latency', threshold: 500, http_5xx_as_error: false },
  { name: 'get', service: '', span_kind: '', kind: 'latency', threshold: 100, http_5xx_as_error: false, span_name_regex: 'GET .*' },
  { name: 'all', service: '', span_kind: '', kind: 'availability', http_5xx_as_error: false },
].map((s) => ({ description: '', span_name: '', span_name_regex: '', objective: 99, window: 30 * 86_400_000, threshold: 0, ...s } as SloConfig));

/** (b3)'s filter policies: an include on the kind and the service name, an exclude on a route; every workload span passes. */
const BENCH_FILTERS: FilterPolicy[] = [
  { include: { match_type: 'regex', attributes: [{ key: 'kind', value: 'SPAN_KIND_.*' }, { key: 'resource.service.name', value: '.' }] } },
  { exclude: { match_type: 'regex', attributes: [{ key: 'span.http.route', value: '^/internal/' }] } },
];

/** (b3)'s dimension mapping (Tempo's dimension_mappings): method and route of the HTTP server spans, joined. */
const BENCH_MAPPING: DimensionMappingConfig[] = [{ name: 'route', source_labels: ['http.request.method', 'http.route'], join: ' ' }];

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
    durationS: 10, warmupS: 1, connections: 4, seed: 24301, http: true, grpc: true, collector: true, streams: 2, sampleMs: 400,
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
    o.warmupS = 0.3;
    o.sampleMs = 60;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Progress and helpers

class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private width = 0;
  update(msg: string): void {
    const line = `[bench] ${msg}`;
    if (this.tty) {
      process.stderr.write(`\r${line.padEnd(this.width)}`);
      this.width = line.length;
    } else {
      process.stderr.write(`${line}\n`);
    }
  }
  done(): void {
    if (this.tty && this.width > 0) process.stderr.write(`\r${' '.repeat(this.width)}\r`);
    this.width = 0;
  }
}
const progress = new Progress();

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function nowNs(): bigint {
  return process.hrtime.bigint();
}

interface Rate {
  /** Spans per second of wall-clock time. */
  wall: number;
  /** Spans per CPU-second of this process (all its threads): per core, and robust to other load. */
  cpu: number;
}

/** Runs `pass` (returns spans handled) until at least `minMs` passed. */
function sample(pass: () => number, minMs: number): Rate {
  gc();
  let spans = 0;
  const c0 = process.cpuUsage();
  const t0 = nowNs();
  let elapsed = 0;
  do {
    spans += pass();
    elapsed = Number(nowNs() - t0);
  } while (elapsed < minMs * 1e6);
  const c = process.cpuUsage(c0);
  return { wall: (spans * 1e9) / elapsed, cpu: (spans * 1e6) / Math.max(1, c.user + c.system) };
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmt1 = (n: number): string => n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const fmt2 = (n: number): string => n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function machine(): { cpu: string; nproc: number; node: string; platform: string; memoryGiB: number; loadAverage: number[] } {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    /* not Linux */
  }
  const nproc = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return { cpu, nproc, node: process.version, platform: `${os.platform()} ${os.release()}`, memoryGiB: os.totalmem() / 2 ** 30, loadAverage: os.loadavg() };
}

// ---------------------------------------------------------------------------------------------
// In-process stages

interface StageResult {
  key: string;
  label: string;
  /** Median spans per CPU-second. */
  spansPerSec: number;
  /** Median spans per wall-clock second. */
  wallSpansPerSec: number;
  nsPerSpan: number;
  /** (b) spans/s ÷ this stage's spans/s. */
  bOver: number;
  rounds: Rate[];
}

interface Stage {
  key: string;
  label: string;
  pass: () => number;
}

function corePass(core: Core, batches: Uint8Array[], expiring: boolean): () => number {
  let nextExpiry = 0;
  return () => {
    let spans = 0;
    for (let i = 0; i < batches.length; i++) {
      const now = Date.now();
      const r = core.ingest(batches[i]!, now);
      if (!r.ok) throw new Error(`core rejected request ${i}: ${r.reason}`);
      spans += r.spans;
      // As the sidecar does: waiting service-graph entries are checked once a second.
      if (expiring && now >= nextExpiry) {
        core.expire(now);
        nextExpiry = now + 1000;
      }
    }
    return spans;
  };
}

interface SeriesFacts {
  calls: number;
  sum: number;
  size?: number;
  buckets: number[];
}

function coreSeries(core: Core): Map<string, SeriesFacts> {
  const view = core.table('spanMetrics')!;
  // The classic buckets only (native histogram blocks follow them: core.nativeBlock).
  const nb = (core.nativeBlock('spanMetrics') ?? view.valueCount) - SM_V_BUCKETS;
  const out = new Map<string, SeriesFacts>();
  const kindStatus = (slot: number): [number, number] => [view.key(slot, SM_KEY_SPAN_KIND) | 0, view.key(slot, SM_KEY_STATUS_CODE) | 0];
  for (let slot = 0; slot < view.used; slot++) {
    if (!view.live(slot)) continue; // a free slot (its series was removed as stale)
    const [kind, status] = kindStatus(slot);
    const key = naiveKey(core.label(view.key(slot, SM_KEY_SERVICE)), core.label(view.key(slot, SM_KEY_SPAN_NAME)), kind, status);
    // Series that differ only in words past the intrinsics ((b3)'s mapping) add up into one.
    const s = out.get(key) ?? { calls: 0, size: 0, sum: 0, buckets: new Array<number>(nb).fill(0) };
    s.calls += view.value(slot, SM_V_CALLS);
    s.size = (s.size ?? 0) + view.value(slot, SM_V_SIZE);
    s.sum += view.value(slot, SM_V_SUM);
    for (let b = 0; b < nb; b++) s.buckets[b] = s.buckets[b]! + view.value(slot, SM_V_BUCKETS + b);
    out.set(key, s);
  }
  return out;
}

function jsSeries(js: JsSpanMetrics): Map<string, SeriesFacts> {
  const out = new Map<string, SeriesFacts>();
  for (let s = 0; s < js.seriesCount; s++) {
    const buckets: number[] = [];
    for (let b = 0; b < js.bucketCount; b++) buckets.push(js.value(s, 3 + b));
    out.set(naiveKey(js.label(js.key(s, 0)), js.label(js.key(s, 1)), js.key(s, 2), js.key(s, 3)), {
      calls: js.value(s, 0), size: js.value(s, 1), sum: js.value(s, 2), buckets,
    });
  }
  return out;
}

function naiveSeries(n: NaiveSpanMetrics): Map<string, SeriesFacts> {
  return new Map([...n.series].map(([k, v]) => [k, { calls: v.calls, sum: v.sum, buckets: v.buckets }]));
}

/** Differences between two stages' span metrics (after the same passes); empty when they agree. */
function compareSeries(name: string, want: Map<string, SeriesFacts>, got: Map<string, SeriesFacts>): string[] {
  const problems: string[] = [];
  const total = (m: Map<string, SeriesFacts>) => [...m.values()].reduce((n, s) => n + s.calls, 0);
  if (total(want) !== total(got)) problems.push(`${name}: calls total ${total(got)}, core ${total(want)}`);
  if (want.size !== got.size) problems.push(`${name}: ${got.size} series, core ${want.size}`);
  for (const [k, w] of want) {
    const g = got.get(k);
    if (!g) {
      if (problems.length < 8) problems.push(`${name}: missing series {${k}}`);
      continue;
    }
    const bad = g.calls !== w.calls
      || (g.size !== undefined && g.size !== w.size)
      || Math.abs(g.sum - w.sum) > 1e-9 * Math.max(1, Math.abs(w.sum))
      || g.buckets.some((b, i) => b !== w.buckets[i]);
    if (bad && problems.length < 8) problems.push(`${name}: {${k}}: ${JSON.stringify(g)} vs core ${JSON.stringify(w)}`);
  }
  return problems;
}

async function inProcess(o: Options, w: Workload, smConfig: SpanMetricsConfig): Promise<{ stages: StageResult[]; checks: string[]; edgeStore: Record<string, number> }> {
  const cfg = defaultConfig();
  const batches = w.batches;
  const floor = await Core.create({ build: 'release' });
  const full = await Core.create({ spanMetrics: cfg.processor.span_metrics, serviceGraphs: cfg.processor.service_graphs, build: 'release' });
  const smOnly = await Core.create({ spanMetrics: smConfig, build: 'release' });
  const withSlos = await Core.create({
    spanMetrics: { ...smConfig, events: { enabled: true, dimensions: ['exception.type'] } }, slos: BENCH_SLOS, build: 'release',
  });
  const filtered = await Core.create({
    spanMetrics: { ...cfg.processor.span_metrics, filter_policies: BENCH_FILTERS, dimension_mappings: BENCH_MAPPING },
    serviceGraphs: { ...cfg.processor.service_graphs, filter_policies: BENCH_FILTERS }, build: 'release',
  });
  // Native histograms (and classic buckets) on every histogram, with Tempo's defaults.
  const native = await Core.create({
    spanMetrics: cfg.processor.span_metrics, serviceGraphs: cfg.processor.service_graphs, build: 'release',
    nativeHistograms: { mode: 'both', schema: schemaForFactor(1.1), maxBuckets: 100, minResetMs: 15 * 60_000 },
  });
  // Issue 23: span-name normalisation on (ids in path-like names, http.route when present).
  const normalized = await Core.create({
    spanMetrics: { ...cfg.processor.span_metrics, span_name_normalization: 'on' }, serviceGraphs: cfg.processor.service_graphs, build: 'release',
  });
  // The same as (b) without the what-if preview of attribute keys: (b) − (b6) is the preview's cost.
  const noPreview = await Core.create({
    spanMetrics: cfg.processor.span_metrics, serviceGraphs: cfg.processor.service_graphs, build: 'release', preview: false,
  });
  const js = new JsSpanMetrics(smConfig.histogram_buckets);
  const jsLite = new JsSpanMetrics(smConfig.histogram_buckets, { validate: false });
  const naive = new NaiveSpanMetrics(smConfig.histogram_buckets);
  const stages: Stage[] = [
    { key: 'a', label: '(a) floor: copy into WASM + wire walk, no aggregation', pass: corePass(floor, batches, false) },
    { key: 'b', label: '(b) spanmeter: + span metrics + service graphs', pass: corePass(full, batches, true) },
    { key: 'b1', label: '(b1) spanmeter, span metrics only', pass: corePass(smOnly, batches, false) },
    { key: 'b2', label: '(b2) as (b1), + events metric + 4 SLOs', pass: corePass(withSlos, batches, false) },
    { key: 'b3', label: '(b3) as (b), + 2 filter policies per processor + 1 mapping', pass: corePass(filtered, batches, true) },
    { key: 'b4', label: '(b4) as (b), + native histograms (both; factor 1.1, 100 buckets)', pass: corePass(native, batches, true) },
    { key: 'b5', label: '(b5) as (b), + span_name_normalization: on', pass: corePass(normalized, batches, true) },
    { key: 'b6', label: '(b6) as (b), without the what-if preview (one span in 64 re-read)', pass: corePass(noPreview, batches, true) },
    {
      key: 'c', label: '(c) plain TypeScript: JS walker + typed arrays', pass: () => {
        let n = 0;
        for (const b of batches) n += js.ingest(b);
        return n;
      },
    },
    {
      key: 'c0', label: '(c0) as (c), skipping what it does not aggregate', pass: () => {
        let n = 0;
        for (const b of batches) n += jsLite.ingest(b);
        return n;
      },
    },
    {
      key: 'd', label: '(d) naive: protobufjs decode + Map', pass: () => {
        let n = 0;
        for (const b of batches) n += naive.ingest(b);
        return n;
      },
    },
  ];

  // One pass each, then the stages must agree with the core on every series.
  progress.update('checking that the stages agree on span metrics');
  const checks: string[] = [];
  for (const s of stages) {
    const n = s.pass();
    if (n !== w.stats.spans) checks.push(`${s.key}: handled ${n} spans of ${w.stats.spans}`);
  }
  const reference = coreSeries(full);
  checks.push(...compareSeries('(b1)', reference, coreSeries(smOnly)));
  checks.push(...compareSeries('(b2)', reference, coreSeries(withSlos)));
  checks.push(...compareSeries('(b3)', reference, coreSeries(filtered)));
  checks.push(...compareSeries('(b4)', reference, coreSeries(native)));
  if (filtered.spansFiltered('span-metrics') + filtered.spansFiltered('service-graphs') !== 0) checks.push('(b3): a filter policy left out a span');
  {
    // the mapping's word follows the (no) dimensions': it must have labelled some series
    const view = filtered.table('spanMetrics')!;
    let labelled = 0;
    for (let slot = 0; slot < view.used; slot++) if (view.live(slot) && view.key(slot, SM_KEY_DIMENSIONS) !== 0) labelled++;
    if (labelled === 0) checks.push('(b3): the dimension mapping labelled no series');
  }
  const sloTotals = withSlos.sloCounts().map((c) => c.total);
  if (!sloTotals.every((t) => t > 0)) checks.push(`(b2): an SLO selected no span (totals ${sloTotals.join(', ')})`);
  checks.push(...compareSeries('(c)', reference, jsSeries(js)));
  checks.push(...compareSeries('(c0)', reference, jsSeries(jsLite)));
  // Malformed input: a request missing its last byte (its last field cut short) is refused
  // whole by the core and by (c).
  const cut = batches[0]!.subarray(0, batches[0]!.length - 1);
  {
    const before = full.table('spanMetrics')!.used;
    if (full.ingest(cut, Date.now()).ok) checks.push('(b) accepted a truncated request');
    let threw = false;
    try {
      js.ingest(cut);
    } catch {
      threw = true;
    }
    if (!threw) checks.push('(c) accepted a truncated request');
    if (full.table('spanMetrics')!.used !== before) checks.push('(b) changed its series on a refused request');
  }
  checks.push(...compareSeries('(d)', reference, naiveSeries(naive)));
  const refCalls = [...reference.values()].reduce((n, s) => n + s.calls, 0);
  if (refCalls !== w.stats.spans) checks.push(`(b): calls total ${refCalls}, sent ${w.stats.spans}`);
  if (reference.size !== w.stats.series) checks.push(`(b): ${reference.size} series, workload has ${w.stats.series}`);
  const edgeStore = {
    waiting: full.edgeStoreSize(),
    edges: full.table('edges')?.used ?? 0,
    dropped: sumValues(full, 'dropped'),
  };

  // Warm-up: a timed sample of each, thrown away.
  for (const s of stages) {
    progress.update(`warm-up ${s.key}`);
    sample(s.pass, o.sampleMs);
  }
  const rates = new Map<string, Rate[]>(stages.map((s) => [s.key, []]));
  for (let r = 0; r < o.rounds; r++) {
    // Rotate the order so no stage always runs right after the naive one's garbage.
    for (let k = 0; k < stages.length; k++) {
      const s = stages[(k + r) % stages.length]!;
      const so = rates.get(s.key)!;
      progress.update(`round ${r + 1}/${o.rounds}: ${s.key}  ${so.length ? fmtInt(median(so.map((x) => x.cpu))) + ' spans/s so far' : ''}`);
      rates.get(s.key)!.push(sample(s.pass, o.sampleMs));
    }
  }
  const b = median(rates.get('b')!.map((x) => x.cpu));
  return {
    stages: stages.map((s) => {
      const rs = rates.get(s.key)!;
      const rate = median(rs.map((x) => x.cpu));
      return {
        key: s.key, label: s.label, spansPerSec: rate, wallSpansPerSec: median(rs.map((x) => x.wall)), nsPerSpan: 1e9 / rate,
        bOver: b / rate, rounds: rs,
      };
    }),
    checks,
    edgeStore,
  };
}

function sumValues(core: Core, table: 'dropped' | 'unpaired'): number {
  const v = core.table(table);
  let n = 0;
  for (let s = 0; v && s < v.used; s++) if (v.live(s)) n += v.value(s, 0);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Bytes per series and /metrics render

interface SeriesResult {
  series: number;
  core: {
    bytesPerSeries: number;
    /** The same with native histograms on (both; factor 1.1, 100 buckets). */
    nativeBytesPerSeries: number;
    labelBytesPerSeries: number;
    beyondLabelsPerSeries: number;
    recordStride: number;
    indexBytesPerRecord: number;
    staticRecordBytes: number;
    internEntryBytes: number;
    tableCapacity: number;
  };
  js: { bytesPerSeries: number; beyondLabelsPerSeries: number };
  naive: { heapBytesPerSeries: number };
  render: { firstMs: number; warmMs: number; megabytes: number; lines: number };
}

async function seriesAndRender(o: Options, smConfig: SpanMetricsConfig): Promise<SeriesResult> {
  const n = o.series;
  progress.update(`encoding ${fmtInt(n)} spans with distinct names`);
  const batches = seriesBatches(n, o.spansPerBatch);
  // Label bytes: the distinct span names (the service name is one string for all).
  const labelBytes = Array.from({ length: n }, (_, i) => `GET /api/v1/catalog/items/sku-${String(i).padStart(7, '0')}`.length)
    .reduce((a, b) => a + b, 0);

  progress.update(`growing the core to ${fmtInt(n)} series`);
  const core = await Core.create({ spanMetrics: smConfig, build: 'release' });
  // The first request sizes the input and staging buffers; measure from after it.
  let r = core.ingest(batches[0]!, Date.now());
  if (!r.ok) throw new Error(r.reason);
  const used0 = core.table('spanMetrics')!.used;
  const m0 = core.memoryBytes();
  for (let i = 1; i < batches.length; i++) {
    r = core.ingest(batches[i]!, Date.now());
    if (!r.ok) throw new Error(r.reason);
  }
  const view = core.table('spanMetrics')!;
  if (view.used !== n) throw new Error(`core holds ${view.used} series, expected ${n}`);
  const grown = n - used0;
  const bytesPerSeries = (core.memoryBytes() - m0) / grown;
  // The same with native histograms too (generate_native_histograms: both, Tempo's defaults).
  progress.update(`growing a core with native histograms to ${fmtInt(n)} series`);
  const nativeCore = await Core.create({
    spanMetrics: smConfig, build: 'release',
    nativeHistograms: { mode: 'both', schema: schemaForFactor(1.1), maxBuckets: 100, minResetMs: 15 * 60_000 },
  });
  nativeCore.ingest(batches[0]!, Date.now());
  const nativeUsed0 = nativeCore.table('spanMetrics')!.used;
  const nm0 = nativeCore.memoryBytes();
  for (let i = 1; i < batches.length; i++) nativeCore.ingest(batches[i]!, Date.now());
  const nativeBytesPerSeries = (nativeCore.memoryBytes() - nm0) / (n - nativeUsed0);
  const labelPerSeries = labelBytes / n;
  // A record: header, key words padded to 8 bytes, f64 values (assembly/layout.ts RECORD_*).
  const stride = RECORD_KEY + ((view.keyWords * 4 + 7) & ~7) + 8 * view.valueCount;
  const viewStride = (view as unknown as { stride?: number }).stride;
  let capacity = 256;
  while (capacity < n) capacity *= 2;

  progress.update(`growing plain TypeScript (c) and naive (d) to ${fmtInt(n)} series`);
  const js = new JsSpanMetrics(smConfig.histogram_buckets);
  js.ingest(batches[0]!);
  const j0 = js.heldBytes();
  for (let i = 1; i < batches.length; i++) js.ingest(batches[i]!);
  const jsPer = (js.heldBytes() - j0) / grown;
  gc();
  const naive = new NaiveSpanMetrics(smConfig.histogram_buckets);
  naive.ingest(batches[0]!);
  gc();
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 1; i < batches.length; i++) naive.ingest(batches[i]!);
  gc();
  const naivePer = (process.memoryUsage().heapUsed - h0) / grown;
  if (naive.series.size !== n || js.seriesCount !== n) throw new Error('(c)/(d) series count differs from the core');

  progress.update(`/metrics render, ${fmtInt(n)} series`);
  // What GET /metrics does: the families written as bytes (no string to encode afterwards).
  const families = spanMetricsFamilies(core, smConfig);
  let t0 = performance.now();
  let bytes = renderFamilies(families, 'text');
  const firstMs = performance.now() - t0;
  const warm: number[] = [];
  for (let i = 0; i < 3; i++) {
    gc();
    t0 = performance.now();
    bytes = renderFamilies(families, 'text');
    warm.push(performance.now() - t0);
  }
  let lines = 0;
  for (let p = bytes.indexOf(0x0a); p >= 0; p = bytes.indexOf(0x0a, p + 1)) lines++;
  const meta = { lines, mb: bytes.length / 1e6 };
  return {
    series: n,
    core: {
      bytesPerSeries,
      nativeBytesPerSeries,
      labelBytesPerSeries: labelPerSeries,
      beyondLabelsPerSeries: bytesPerSeries - labelPerSeries,
      recordStride: viewStride ?? stride,
      indexBytesPerRecord: 16,
      staticRecordBytes: (viewStride ?? stride) + 16,
      internEntryBytes: 16,
      tableCapacity: capacity,
    },
    js: { bytesPerSeries: jsPer, beyondLabelsPerSeries: jsPer - labelPerSeries },
    naive: { heapBytesPerSeries: naivePer },
    render: { firstMs, warmMs: median(warm), megabytes: meta.mb, lines: meta.lines },
  };
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
      + `an interned label: 16 B entry + 11-21 B of index + its bytes`);
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
    out.push(`Checks passed: (b1), (b2), (b3), (c), (c0) and (d) agree with (b) on every series (calls, buckets, sum; size but for (d)); `
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
        seriesLevels: o.quick ? [o.series] : [10_000, 100_000], collector: o.collector,
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
