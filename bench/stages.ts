// The bench's in-process stages (bench/index.ts runs them first): each a core (or a peer's
// design) fed the same workload, timed in CPU time round by round, and checked against (b) on
// every span-metrics series. The stage table and its configurations are here.
import { Core } from '../src/core/index.js';
import { schemaForFactor } from '../src/core/native.js';
import { SM_KEY_DIMENSIONS, SM_KEY_SERVICE, SM_KEY_SPAN_KIND, SM_KEY_SPAN_NAME, SM_KEY_STATUS_CODE, SM_V_BUCKETS, SM_V_CALLS, SM_V_SIZE, SM_V_SUM, ST_V_COUNT } from '../src/core/layout.js';
import { defaultConfig, SELF_TIME_MAX_ITEMS } from '../src/config/defaults.js';
import type { DimensionMappingConfig, SloConfig, SpanMetricsConfig } from '../src/config/types.js';
import type { FilterPolicy } from '../src/config/filters.js';
import type { Workload } from '../src/workload/workload.js';
import { JsSpanMetrics } from './js-core.js';
import { NaiveSpanMetrics, naiveKey } from './naive.js';
import { fmtInt, median, progress, sample, type Rate } from './util.js';

/** What the stages take of the bench's options. */
export interface StageOptions {
  /** Timed rounds per stage. */
  rounds: number;
  /** Shortest timed sample of a stage, ms. */
  sampleMs: number;
}

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


export interface StageResult {
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

/**
 * (b7)'s pass: self time keeps every span `wait`, then as a tombstone one more `wait`, so the
 * same requests passed again (as the other stages do) would find their spans still there. Here a
 * virtual clock moves 2 × wait + 2 ms a pass and two expiries open it: the first decides every
 * span of the previous pass (its self time observed, its entry a tombstone), the second frees
 * the tombstones; the requests then come to an empty store. Every span goes the whole way.
 */
function selfTimePass(core: Core, batches: Uint8Array[], waitMs: number): () => number {
  let now = Date.now();
  return () => {
    now += 2 * waitMs + 2;
    core.expire(now - waitMs - 1);
    core.expire(now);
    let spans = 0;
    for (let i = 0; i < batches.length; i++) {
      const r = core.ingest(batches[i]!, now);
      if (!r.ok) throw new Error(`core rejected request ${i}: ${r.reason}`);
      spans += r.spans;
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
  // The classic buckets only (native histogram and self-time blocks follow them: core.nativeBlock, selfTimeBlock).
  const nb = Math.min(core.nativeBlock('spanMetrics') ?? view.valueCount, core.selfTimeBlock() ?? view.valueCount) - SM_V_BUCKETS;
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

export async function inProcess(o: StageOptions, w: Workload, smConfig: SpanMetricsConfig): Promise<{ stages: StageResult[]; checks: string[]; edgeStore: Record<string, number> }> {
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
  // Issue 24's opt-in options all on (the unpaired spans' reason label is always on; the worst
  // traces' slots are not an option: every stage with span metrics or service graphs has them).
  const sgWait = cfg.processor.service_graphs.wait;
  const issue24 = await Core.create({
    spanMetrics: cfg.processor.span_metrics, serviceGraphs: { ...cfg.processor.service_graphs, infer_edges: 'parent_child' }, build: 'release',
    selfTime: { maxItems: SELF_TIME_MAX_ITEMS, waitMs: sgWait },
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
    { key: 'b7', label: '(b7) as (b), + infer_edges: parent_child + self_time', pass: selfTimePass(issue24, batches, sgWait) },
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
  checks.push(...compareSeries('(b7)', reference, coreSeries(issue24)));
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
  // (b7) went the whole way: self times observed, no span refused by a full store.
  const st = issue24.selfTimeStore();
  const observed = sumSelfTime(issue24);
  if (!(observed > 0) || st.dropped !== 0) checks.push(`(b7): ${observed} self times observed, ${st.dropped} spans refused by a full store`);
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

/** Self-time observations over every span-metrics series (layout ST_V_COUNT). */
function sumSelfTime(core: Core): number {
  const view = core.table('spanMetrics')!;
  const block = core.selfTimeBlock()!;
  let n = 0;
  for (let slot = 0; slot < view.used; slot++) if (view.live(slot)) n += view.value(slot, block + ST_V_COUNT);
  return n;
}
