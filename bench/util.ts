// The bench's timing and printing helpers (bench/index.ts, bench/stages.ts, bench/render.ts):
// progress on stderr, CPU-time samples of a pass, medians, number formats, the machine.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';


export class Progress {
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
export const progress = new Progress();

v8.setFlagsFromString('--expose-gc');
export const gc = vm.runInNewContext('gc') as () => void;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function nowNs(): bigint {
  return process.hrtime.bigint();
}

export interface Rate {
  /** Spans per second of wall-clock time. */
  wall: number;
  /** Spans per CPU-second of this process (all its threads): per core, and robust to other load. */
  cpu: number;
}

/** Runs `pass` (returns spans handled) until at least `minMs` passed. */
export function sample(pass: () => number, minMs: number): Rate {
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

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmt1 = (n: number): string => n.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
export const fmt2 = (n: number): string => n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function machine(): { cpu: string; nproc: number; node: string; platform: string; memoryGiB: number; loadAverage: number[] } {
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
