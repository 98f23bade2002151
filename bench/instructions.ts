// `npm run bench:instructions`: instructions per span of (b) (span metrics + service graphs),
// (b1) (span metrics only), (a) (the floor: no processors) and (b7) ((b) + infer_edges
// parent_child + self time), counted by valgrind's callgrind: repeatable to a few instructions
// whatever else the machine runs, so it judges a hot-path change where wall-clock runs cannot
// (README "Performance"). The bench's workload (seed 24301, 64 requests of 512 spans) is written
// once; each stage's core then takes it N and M times (6 and 10 by default) in a node run under
// callgrind, with V8's randomness and the core's hash key fixed, and
//   instructions per span = (Ir(M passes) - Ir(N passes)) / ((M - N) × spans per pass),
// which leaves out node's start, the module loads and the core's creation. A tool, not a test.
//
//   node dist/bench/instructions.js [--stage a|b|b1|b7] [--passes 6,10] [--seed 24301] [--batches 64]
//        [--spans-per-batch 512] [--jobs N] [--keep DIR] [--json]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Core, type CoreOptions } from '../src/core/index.js';
import { defaultConfig, SELF_TIME_MAX_ITEMS } from '../src/config/defaults.js';
import { generateWorkload } from '../src/workload/workload.js';

const SELF = fileURLToPath(import.meta.url);
/**
 * V8 made deterministic: one thread, fixed seeds, a garbage-collection schedule that does not
 * follow the clock (the memory reducer and heap growing otherwise go by wall time, which valgrind
 * and the machine's load stretch: one run in several counted 6% more), no Liftoff tier.
 */
const NODE_FLAGS = ['--single-threaded', '--random-seed=1', '--hash-seed=1', '--predictable', '--predictable-gc-schedule', '--no-liftoff'];

const STAGES = {
  a: '(a)  the floor: no processors (copy in and walk)',
  b: '(b)  span metrics + service graphs',
  b1: '(b1) span metrics only',
  b7: '(b7) as (b), + parent_child + self time',
} as const;
type Stage = keyof typeof STAGES;

/** The core of a stage, configured as bench/stages.ts configures (a), (b), (b1) and (b7). */
function stageOptions(stage: Stage): CoreOptions {
  const cfg = defaultConfig();
  const sm = cfg.processor.span_metrics;
  const sg = cfg.processor.service_graphs;
  if (stage === 'a') return { build: 'release' };
  if (stage === 'b1') return { spanMetrics: sm, build: 'release' };
  if (stage === 'b') return { spanMetrics: sm, serviceGraphs: sg, build: 'release' };
  return {
    spanMetrics: sm, serviceGraphs: { ...sg, infer_edges: 'parent_child' }, build: 'release',
    selfTime: { maxItems: SELF_TIME_MAX_ITEMS, waitMs: sg.wait },
  };
}

/** Batches as written by writeBatches: a u32 length (LE) before each. */
function readBatches(file: string): Uint8Array[] {
  const buf = readFileSync(file);
  const out: Uint8Array[] = [];
  for (let o = 0; o < buf.length;) {
    const n = buf.readUInt32LE(o);
    out.push(new Uint8Array(buf.subarray(o + 4, o + 4 + n)));
    o += 4 + n;
  }
  return out;
}

function writeBatches(file: string, batches: readonly Uint8Array[]): void {
  const parts: Buffer[] = [];
  for (const b of batches) {
    const h = Buffer.alloc(4);
    h.writeUInt32LE(b.byteLength);
    parts.push(h, Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  writeFileSync(file, Buffer.concat(parts));
}

/**
 * The measured process: `passes` passes of the batches through the stage's core, on a virtual
 * clock (10 ms a request, waiting service-graph entries checked each virtual second, as the
 * sidecar does), so that every run takes exactly the same path.
 */
async function child(file: string, passes: number, stage: Stage): Promise<void> {
  // The core's hash key comes from crypto.getRandomValues: fixed here, so the tables collide alike.
  const fixed = <T extends ArrayBufferView | null>(a: T): T => {
    if (a instanceof Uint32Array) for (let i = 0; i < a.length; i++) a[i] = Math.imul(0x9e3779b9, i + 1) >>> 0;
    return a;
  };
  globalThis.crypto.getRandomValues = fixed;
  const batches = readBatches(file);
  const core = await Core.create(stageOptions(stage));
  let t = 1_000_000_000_000;
  let nextExpiry = t;
  const wait = defaultConfig().processor.service_graphs.wait;
  for (let p = 0; p < passes; p++) {
    if (stage === 'b7') {
      // As bench/stages.ts selfTimePass: a pass 2 × wait + 2 ms on, the previous pass's spans
      // decided by the first expiry and their tombstones freed by the second; one time per pass.
      t += 2 * wait + 2;
      core.expire(t - wait - 1);
      core.expire(t);
      for (const b of batches) {
        const r = core.ingest(b, t);
        if (!r.ok) throw new Error(`core rejected a request: ${r.reason}`);
      }
      continue;
    }
    for (const b of batches) {
      const r = core.ingest(b, t);
      if (!r.ok) throw new Error(`core rejected a request: ${r.reason}`);
      if (t >= nextExpiry) {
        core.expire(t);
        nextExpiry = t + 1000;
      }
      t += 10;
    }
  }
  core.expire(Infinity);
}

interface Options {
  stages: Stage[];
  passes: [number, number];
  seed: number;
  batches: number;
  spansPerBatch: number;
  jobs: number;
  keep: string | undefined;
  json: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = {
    stages: ['b', 'b1'], passes: [6, 10], seed: 24301, batches: 64, spansPerBatch: 512,
    jobs: Math.max(1, Math.min(4, os.availableParallelism())), keep: undefined, json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = Number(value());
      if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    if (a === '--stage') {
      const s = value();
      if (!(s in STAGES)) throw new Error(`--stage: one of ${Object.keys(STAGES).join(', ')}, not ${s}`);
      o.stages = [s as Stage];
    } else if (a === '--passes') {
      const [n, m] = value().split(',').map(Number);
      if (!(Number.isSafeInteger(n) && Number.isSafeInteger(m) && n! >= 1 && m! > n!)) throw new Error('--passes N,M with 1 <= N < M');
      o.passes = [n!, m!];
    } else if (a === '--seed') o.seed = int();
    else if (a === '--batches') o.batches = int();
    else if (a === '--spans-per-batch') o.spansPerBatch = int();
    else if (a === '--jobs') o.jobs = int();
    else if (a === '--keep') o.keep = value();
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown option ${a} (see the top of bench/instructions.ts)`);
  }
  return o;
}

/** Instructions executed (Ir) by one callgrind run of `passes` passes. */
function callgrind(out: string, file: string, passes: number, stage: Stage): Promise<number> {
  const args = ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`,
    process.execPath, ...NODE_FLAGS, SELF, '--child', file, String(passes), stage];
  return new Promise((resolve, reject) => {
    const p = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`valgrind ${stage} ${passes} passes exited ${code}:\n${err}`));
        return;
      }
      const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(out, 'utf8'));
      if (!m) reject(new Error(`no instruction total in ${out}`));
      else resolve(Number(m[1]));
    });
  });
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const probe = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    console.log('bench:instructions: skipped, valgrind is not installed (Debian/Ubuntu: apt-get install valgrind).');
    return;
  }
  const dir = o.keep ?? mkdtempSync(join(os.tmpdir(), 'spanmeter-instructions-'));
  if (o.keep) mkdirSync(dir, { recursive: true });
  try {
    const file = join(dir, 'batches.bin');
    const w = generateWorkload({ seed: o.seed, batches: o.batches, spansPerBatch: o.spansPerBatch });
    writeBatches(file, w.batches);
    const spansPerPass = o.batches * o.spansPerBatch;
    const runs = o.stages.flatMap((stage) => o.passes.map((passes) => ({ stage, passes })));
    const ir = new Map<string, number>();
    // Counts do not depend on what else runs: the runs go side by side, `jobs` at a time.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < runs.length) {
        const { stage, passes } = runs[next++]!;
        process.stderr.write(`callgrind: ${stage}, ${passes} passes…\n`);
        ir.set(`${stage}:${passes}`, await callgrind(join(dir, `callgrind.out.${stage}.${passes}`), file, passes, stage));
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.jobs, runs.length) }, worker));
    const [n, m] = o.passes;
    const results = o.stages.map((stage) => {
      const low = ir.get(`${stage}:${n}`)!;
      const high = ir.get(`${stage}:${m}`)!;
      return { stage, label: STAGES[stage], ir: { [n]: low, [m]: high }, perSpan: (high - low) / ((m - n) * spansPerPass) };
    });
    if (o.json) {
      console.log(JSON.stringify({ seed: o.seed, batches: o.batches, spansPerBatch: o.spansPerBatch, passes: o.passes, node: process.version, results }, null, 2));
    } else {
      console.log(`instructions per span (callgrind; Ir(${m} passes) - Ir(${n} passes) over ${m - n} x ${spansPerPass.toLocaleString('en-US')} spans; seed ${o.seed}, node ${process.version})`);
      for (const r of results) console.log(`  ${r.label.padEnd(38)} ${Math.round(r.perSpan).toLocaleString('en-US').padStart(7)}`);
      if (o.keep) console.log(`callgrind files in ${dir} (callgrind_annotate ${join(dir, `callgrind.out.${o.stages[0]}.${m}`)})`);
    }
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await child(argv[1]!, Number(argv[2]), argv[3] as Stage);
} else {
  await main().catch((err: unknown) => {
    console.error(`bench:instructions: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
