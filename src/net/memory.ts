// The memory limiter: the Collector's memory_limiter (internal/memorylimiter) for a Node process.
// Every check_interval it measures the memory the process holds and, above the soft limit
// (limit - spike), makes the OTLP receivers refuse data with a retryable answer until it falls
// below again; above the hard limit it also forces a garbage collection (above the soft limit
// only every 10 s, the Collector's min_gc_interval_when_soft_limited default).
//
// What it measures: the JS heap in use plus the memory outside it that JS objects hold (Buffers,
// ArrayBuffers and the WASM core's linear memory, which V8 counts as `external`), the Node
// counterpart of the Go heap (MemStats.Alloc) the Collector measures. Unlike the resident set it
// falls when garbage is collected, so the limiter lets data in again once memory is free; the
// resident set is shown beside it (process_resident_memory_bytes). The JS heap has a cap of its
// own (--max-old-space-size; V8 ends the process past it), so the limiter also refuses above
// HEAP_SOFT of that cap and forces a GC above HEAP_HARD, whatever limit_mib says.
import { readFileSync, existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { MemoryLimiterConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { performance } from 'node:perf_hooks'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

/**
 * Keeps V8's young generation at its initial size (two 1 MiB semi-spaces). Left to grow, it
 * doubles up to two of 16 MiB under load: 14 to 30 MB more resident for garbage the sidecar does
 * not keep, with no gain in spans per CPU-second (measured: README "Performance"). Call first
 * thing, before the sidecar's modules load (bin/spanmeter.js, sea/main.mjs): the factor is read
 * at each growth, unlike --max-semi-space-size, which only a command line can set.
 */
export function keepHeapSmall(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  // Not --optimize-for-size, although it keeps the old generation's garbage between full GCs at
  // 2 MiB rather than 8 (peak VmHWM at 100,000 series 118.1 -> 116.7 MB): it also trades V8's
  // speed for size, and spans per receiver CPU-second were 2-4 % lower (issue 20: CPU per span
  // is the figure that matters more; the RSS target was out of reach either way).
}

const MIB = 1024 * 1024;

/**
 * How far the old generation may grow past its lowest size before a full GC is forced. V8 itself
 * lets it grow by its live size times a factor of up to 4, and at least 8 MiB (2 MiB when it
 * optimizes for memory). A forced GC of the sidecar's heap costs ~15 ms of CPU, and under load
 * the old generation grows ~2 MiB per CPU-second: 2 MiB cost ~1.3 % of the CPU, 3 MiB ~0.9 %
 * (V8's own GCs, which these replace, ~0.3 %), for 0.5 MB more peak RSS (issue 20).
 */
export const OLD_GENERATION_STEP = 3 * MIB;
/**
 * How often OldGenerationTrim looks. Between looks the old space overshoots the step by what is
 * promoted meanwhile: 2-5 MiB a second at 100,000 series over gRPC (per-call objects), so at 1 s
 * it reached 4-6 MiB past its low and its pages stayed resident. A look is one
 * getHeapSpaceStatistics() call, and the GCs forced are as many (one per step promoted) however
 * often it looks (issue 20: peak RSS 104.5 -> 101.2 MB; 100 ms gave no more).
 */
export const OLD_GENERATION_CHECK_MS = 250;

/** Bytes in use in V8's old space. */
function oldSpaceUsed(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'old_space') return s.space_used_size;
  return 0;
}

/**
 * Keeps the garbage in V8's old generation under OLD_GENERATION_STEP. Under load the old space
 * grows by ~0.6 KB per gRPC call (node:http2's per-stream objects; a bare node:http2 handler does
 * the same), 0.3-1 MB/s, and V8 collects it only once it is 8 to 27 MiB past the live ~9 MiB:
 * resident memory that climbs through a run, with the native memory (malloc) those objects hold.
 * Every OLD_GENERATION_CHECK_MS this forces a full GC once the old space has grown a step past its
 * lowest size since the last one (issue 20: peak RSS over gRPC at 100,000 series; figures in
 * README "Performance").
 */
export class OldGenerationTrim {
  private readonly step: number;
  private readonly interval: number;
  private readonly used: () => number;
  private readonly gc: () => void;
  private timer: NodeJS.Timeout | undefined;
  private low = Infinity;
  /** Full GCs forced since start. */
  forced = 0;

  constructor(options: { stepBytes?: number; intervalMs?: number; oldSpaceUsed?: () => number; gc?: () => void } = {}) {
    this.step = options.stepBytes ?? OLD_GENERATION_STEP;
    this.interval = options.intervalMs ?? OLD_GENERATION_CHECK_MS;
    this.used = options.oldSpaceUsed ?? oldSpaceUsed;
    this.gc = options.gc ?? forceGc;
  }

  /** Checks every interval until stop(); the timer does not keep the process alive. */
  start(): this {
    if (!this.timer && this.interval > 0) {
      // V8's flag and gc()'s context now, at start, rather than under load at the first step.
      if (this.gc === forceGc) exposeGc();
      this.timer = setInterval(() => this.check(), this.interval);
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Forces a full GC when the old space is a step above its low (which follows V8's own GCs down); true when it did. */
  check(): boolean {
    const used = this.used();
    if (used < this.low) this.low = used;
    if (used - this.low < this.step) return false;
    try {
      this.gc();
    } catch {
      return false;
    }
    this.forced++;
    this.low = this.used();
    return true;
  }
}
/** Fractions of V8's heap cap (heap_size_limit) where refusing starts and where a GC is forced. */
const HEAP_SOFT = 0.7;
const HEAP_HARD = 0.85;
/** Above the soft limit (not the hard one) a GC is forced at most this often (the Collector's default). */
const SOFT_GC_INTERVAL_MS = 10_000;
/** cgroup v1's "no limit" (the largest page-aligned int64), as the Collector reads it. */
const V1_UNLIMITED = 9223372036854771712;

/** The memory there is to take a percentage of, and where the figure came from. */
export interface AvailableMemory {
  bytes: number;
  source: 'cgroup v2 memory.max' | 'cgroup v1 memory.limit_in_bytes' | 'machine';
}

function readNumber(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (text === 'max') return Infinity;
    const n = Number(text);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The memory the process may use: its cgroup's limit (v2 memory.max, else v1
 * memory.limit_in_bytes, in the process's own cgroup as /proc/self/cgroup names it, else at the
 * hierarchy's root as a container sees it), or the machine's memory when there is none or it is
 * larger. `root` and `procCgroup` are there for tests.
 */
export function availableMemory(root = '/sys/fs/cgroup', procCgroup = '/proc/self/cgroup', machine = totalmem()): AvailableMemory {
  let lines: string[] = [];
  try {
    lines = readFileSync(procCgroup, 'utf8').split('\n');
  } catch {
    // not Linux, or no procfs: the machine's figure
  }
  const candidates: [string, AvailableMemory['source']][] = [];
  if (existsSync(join(root, 'cgroup.controllers'))) {
    const own = lines.find((l) => l.startsWith('0::'))?.slice(3);
    if (own) candidates.push([join(root, own, 'memory.max'), 'cgroup v2 memory.max']);
    candidates.push([join(root, 'memory.max'), 'cgroup v2 memory.max']);
  } else {
    const own = lines.map((l) => l.split(':')).find((f) => f.length >= 3 && f[1]!.split(',').includes('memory'))?.slice(2).join(':');
    if (own) candidates.push([join(root, 'memory', own, 'memory.limit_in_bytes'), 'cgroup v1 memory.limit_in_bytes']);
    candidates.push([join(root, 'memory', 'memory.limit_in_bytes'), 'cgroup v1 memory.limit_in_bytes']);
  }
  for (const [path, source] of candidates) {
    const n = readNumber(path);
    if (n === undefined) continue;
    if (n === Infinity || n >= V1_UNLIMITED || n >= machine) break;
    return { bytes: n, source };
  }
  return { bytes: machine, source: 'machine' };
}

/** The hard and soft limits in bytes, from the config and the available memory (the Collector's rules). */
export function memoryLimits(config: MemoryLimiterConfig, available: AvailableMemory): { hard: number; soft: number } {
  const hard = config.limit_mib > 0 ? config.limit_mib * MIB : Math.floor((available.bytes * config.limit_percentage) / 100);
  let spike = config.limit_mib > 0 ? config.spike_limit_mib * MIB : Math.floor((available.bytes * config.spike_limit_percentage) / 100);
  if (spike === 0) spike = Math.floor(hard / 5);
  return { hard, soft: hard - spike };
}

/** One measurement. */
export interface MemoryUse {
  /** What the limits apply to: JS heap used + external (Buffers, WASM memory). */
  used: number;
  heapUsed: number;
  /** V8's cap on the JS heap. */
  heapLimit: number;
  rss: number;
}

export function measureMemory(): MemoryUse {
  const m = process.memoryUsage();
  return { used: m.heapUsed + m.external, heapUsed: m.heapUsed, heapLimit: v8.getHeapStatistics().heap_size_limit, rss: m.rss };
}

let exposedGc: (() => void) | undefined;
/** V8's gc(), exposed at run time (as --expose-gc would; a context of its own, made once). */
function exposeGc(): () => void {
  if (!exposedGc) {
    v8.setFlagsFromString('--expose-gc');
    exposedGc = vm.runInNewContext('gc') as () => void;
  }
  return exposedGc;
}

function forceGc(): void {
  exposeGc()();
}

export interface MemoryLimiterOptions {
  /** Bytes; used ≥ soft refuses data. */
  soft: number;
  /** Bytes; used ≥ hard forces a GC at every check. */
  hard: number;
  /** ms between checks; also how old a measurement may be when a request asks (0 = off). */
  checkIntervalMs: number;
  log?: Logger;
  /** For tests: a measurement instead of the process's. */
  measure?: () => MemoryUse;
  /** For tests: instead of V8's gc(). */
  gc?: () => void;
}

export class MemoryLimiter {
  readonly soft: number;
  readonly hard: number;
  private readonly interval: number;
  private readonly log: Logger | undefined;
  private readonly measure: () => MemoryUse;
  private readonly gc: () => void;
  private timer: NodeJS.Timeout | undefined;
  private lastCheck = -Infinity;
  private lastGc = -Infinity;
  private reason: string | undefined;
  /** The last measurement. */
  last: MemoryUse;
  /** Requests refused since start. */
  refused = 0;
  /** Garbage collections forced since start. */
  forcedGcs = 0;

  constructor(options: MemoryLimiterOptions) {
    this.soft = options.soft;
    this.hard = options.hard;
    this.interval = options.checkIntervalMs;
    this.log = options.log;
    this.measure = options.measure ?? measureMemory;
    this.gc = options.gc ?? forceGc;
    this.last = this.measure();
  }

  /** Checks every check interval until stop(); the timer does not keep the process alive. */
  start(): this {
    if (this.interval > 0 && !this.timer) {
      this.timer = setInterval(() => this.check(), this.interval);
      this.timer.unref();
      this.check();
    }
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Why data is refused now, or undefined. */
  get refusing(): string | undefined {
    return this.reason;
  }

  /**
   * The per-request question, cheap: the state of the last check, measured again first when that
   * is older than the check interval (the timer runs late while the event loop is busy, which is
   * when memory climbs). Counts the refusal when it refuses.
   */
  admit(): string | undefined {
    if (this.interval <= 0) return undefined;
    if (performance.now() - this.lastCheck >= this.interval) this.check();
    if (this.reason !== undefined) this.refused++;
    return this.reason;
  }

  /** Measures, forces a GC when over a limit (as the Collector does), and sets the state. */
  check(): void {
    const now = performance.now();
    this.lastCheck = now;
    let m = this.measure();
    let over = this.over(m);
    if (over) {
      const hard = m.used >= this.hard || m.heapUsed >= m.heapLimit * HEAP_HARD;
      if (hard || now - this.lastGc >= SOFT_GC_INTERVAL_MS) {
        try {
          this.gc();
          this.forcedGcs++;
        } catch (err) {
          this.log?.warn({ err }, 'memory limiter: forcing a garbage collection failed');
        }
        this.lastGc = performance.now();
        m = this.measure();
        over = this.over(m);
      }
    }
    this.last = m;
    const was = this.reason;
    this.reason = over;
    const fields = { used_mib: mib(m.used), heap_used_mib: mib(m.heapUsed), rss_mib: mib(m.rss), soft_limit_mib: mib(this.soft), hard_limit_mib: mib(this.hard) };
    if (over && !was) this.log?.warn(fields, `memory limiter: ${over}; refusing OTLP data (429 / UNAVAILABLE, retryable) until it falls`);
    else if (!over && was) this.log?.info(fields, 'memory limiter: memory back under the soft limit; taking data again');
  }

  private over(m: MemoryUse): string | undefined {
    if (m.used >= this.soft) return `memory in use ${mib(m.used)} MiB is above the soft limit of ${mib(this.soft)} MiB (memory_limiter)`;
    if (m.heapUsed >= m.heapLimit * HEAP_SOFT) {
      return `JS heap in use ${mib(m.heapUsed)} MiB is above ${HEAP_SOFT * 100}% of its cap of ${mib(m.heapLimit)} MiB (--max-old-space-size)`;
    }
    return undefined;
  }
}

function mib(bytes: number): number {
  return Math.round((bytes / MIB) * 10) / 10;
}
