// The cost of self time (processor.span_metrics.self_time) per span, on the bench's stage (b):
// span metrics + service graphs with the default config, self time off and on, alternating round
// by round, timed in CPU time (`node --expose-gc dist/bench/selftime.js [--rounds N] [--json]`; and with issue 24's infer_edges too).
//
// Self time keeps every span `wait` and its tombstone one more, so passing the same requests again
// (as bench/index.ts's stages do) would find every span already there. Here each pass sends the
// requests of the next of SEEDS workloads (different trace and span ids) on a virtual clock that
// moves STEP_MS per pass, and expires once per pass on both cores: a span is decided 4 passes
// after it came and freed 8 passes after, before its workload comes round again (every SEEDS).
import { Core } from '../src/core/index.js';
import { defaultConfig } from '../src/config/defaults.js';
import { generateWorkload } from '../src/workload/workload.js';

const SEEDS = 12;
const BATCHES = 16;
const SPANS_PER_BATCH = 512;
const STEP_MS = 2500;
const WAIT_MS = 10_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const roundsAt = argv.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : 7;
  const json = argv.includes('--json');
  // For instruction counts (valgrind --tool=callgrind): warm up and make `--passes N` passes of one
  // core only (`--only on|off`); the difference between N and 0 passes, over the spans, is per span.
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  const passes = argv.includes('--passes') ? Number(argv[argv.indexOf('--passes') + 1]) : 0;
  const cfg = defaultConfig();
  const workloads = Array.from({ length: SEEDS }, (_, k) =>
    generateWorkload({ seed: 24301 + k, batches: BATCHES, spansPerBatch: SPANS_PER_BATCH }).batches);
  const base = { spanMetrics: cfg.processor.span_metrics, serviceGraphs: { ...cfg.processor.service_graphs, wait: WAIT_MS }, build: 'release' as const };
  const off = await Core.create(base);
  const on = await Core.create({ ...base, selfTime: { maxItems: 100_000, waitMs: WAIT_MS } });
  // Issue 24's options all on: infer_edges parent_child too (the unpaired reasons are always counted).
  const all = await Core.create({
    ...base, serviceGraphs: { ...base.serviceGraphs, infer_edges: 'parent_child' }, selfTime: { maxItems: 100_000, waitMs: WAIT_MS },
  });
  const clocks = new Map<Core, { now: number; next: number }>([off, on, all].map((c) => [c, { now: Date.now(), next: 0 }]));
  /** One pass: the next workload's requests, then one expiry; returns the spans. */
  const pass = (core: Core): number => {
    const c = clocks.get(core)!;
    c.now += STEP_MS;
    core.expire(c.now);
    let spans = 0;
    for (const b of workloads[c.next]!) {
      const r = core.ingest(b, c.now);
      if (!r.ok) throw new Error(r.reason);
      spans += r.spans;
    }
    c.next = (c.next + 1) % SEEDS;
    return spans;
  };
  /** CPU ns per span over passes of at least 400 ms. */
  const sample = (core: Core): number => {
    globalThis.gc?.();
    let spans = 0;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    do spans += pass(core);
    while (process.hrtime.bigint() - t0 < 400_000_000n);
    const c = process.cpuUsage(c0);
    return ((c.user + c.system) * 1000) / spans;
  };
  // Warm-up: two rounds of workloads each, so the store is at its steady size.
  for (let k = 0; k < 2 * SEEDS; k++) {
    if (only === undefined || only === 'off') pass(off);
    if (only === undefined || only === 'on') pass(on);
    if (only === undefined || only === 'all') pass(all);
  }
  if (only !== undefined) {
    let spans = 0;
    const core = only === 'on' ? on : only === 'all' ? all : off;
    for (let k = 0; k < passes; k++) spans += pass(core);
    console.log(JSON.stringify({ only, passes, spans }));
    return;
  }
  const ns: Record<'off' | 'on' | 'all', number[]> = { off: [], on: [], all: [] };
  const cores: ['off' | 'on' | 'all', Core][] = [['off', off], ['on', on], ['all', all]];
  for (let r = 0; r < rounds; r++) {
    // Rotate the order round by round.
    for (let k = 0; k < cores.length; k++) {
      const [key, core] = cores[(k + r) % cores.length]!;
      ns[key].push(sample(core));
    }
  }
  const block = on.selfTimeBlock()!;
  const view = on.table('spanMetrics')!;
  let observed = 0;
  let unknown = 0;
  let late = 0;
  for (let s = 0; s < view.used; s++) {
    if (!view.live(s)) continue;
    observed += view.value(s, block);
    unknown += view.value(s, block + 2);
    late += view.value(s, block + 3);
  }
  const result = {
    offNsPerSpan: median(ns.off), onNsPerSpan: median(ns.on), costNsPerSpan: median(ns.on) - median(ns.off), allNsPerSpan: median(ns.all),
    rounds: ns, store: on.selfTimeStore(), observed, unknown, lateChildren: late,
  };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`(b) self time off  ${result.offNsPerSpan.toFixed(1)} ns/span`);
    console.log(`(b) self time on   ${result.onNsPerSpan.toFixed(1)} ns/span  (+${result.costNsPerSpan.toFixed(1)})`);
    console.log(`(b) + infer_edges: parent_child + self time  ${result.allNsPerSpan.toFixed(1)} ns/span  (+${(result.allNsPerSpan - result.offNsPerSpan).toFixed(1)})`);
    console.log(`store ${JSON.stringify(result.store)}, observed ${observed}, unknown ${unknown}, late children ${late}`);
  }
}

await main();
