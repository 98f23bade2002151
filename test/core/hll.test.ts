// The core's HyperLogLog (assembly/hll.ts) on known sets of 10^3 … 10^6 distinct values, hashed
// as the core hashes label values (SipHash-1-3 under a random key, then mix64): the estimate
// is within its stated error. The bound is Flajolet, Fusy, Gandouet and Meunier 2007 (Theorem 1
// and §4): a relative standard error of 1.04 / sqrt(m) for m registers (3.25 % at m = 1024);
// below 5m/2 the estimate is linear counting (Whang et al. 1990), whose error is far smaller.
// Each estimate is held within 3 standard errors (a normal deviate past 3σ has probability
// 0.27 %; the key is fixed, so the run is repeatable), and the root mean square of the relative
// errors over all sets within 1.25 standard errors.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

interface Probe {
  memory: WebAssembly.Memory;
  input(): number;
  registers(): number;
  key(k0: bigint, k1: bigint): void;
  reset(): void;
  add(n: number): void;
  estimate(): number;
  window_estimate(): number;
  advance(): void;
}

let probe: Probe;
const encoder = new TextEncoder();

beforeAll(async () => {
  // assembly/probes/hll.ts is a test entry over assembly/hll.ts, compiled here on its own.
  const out = join(mkdtempSync(join(tmpdir(), 'spanmeter-hll-')), 'hll.wasm');
  execFileSync(process.execPath, ['node_modules/assemblyscript/bin/asc.js', 'assembly/probes/hll.ts', '-o', out, '--runtime', 'stub', '-O3', '--noAssert']);
  const { instance } = await WebAssembly.instantiate(readFileSync(out), { env: { abort: () => { throw new Error('abort'); } } });
  probe = instance.exports as unknown as Probe;
  probe.key(0x0123456789abcdefn, 0x0fedcba987654321n);
});

/** Adds the values `${prefix}${i}` for i in [from, to). */
function addValues(prefix: string, from: number, to: number): void {
  const at = probe.input() >>> 0;
  for (let i = from; i < to; i++) {
    const { written } = encoder.encodeInto(`${prefix}${i}`, new Uint8Array(probe.memory.buffer, at, 256));
    probe.add(written);
  }
}

describe('HyperLogLog', () => {
  it('has the precision Tempo uses: m = 1024 registers', () => {
    // Tempo's NewCardinality: precision 10 (modules/generator/registry/cardinality.go).
    expect(probe.registers()).toBe(1024);
  });

  it('estimates known sets of 10^3 … 10^6 distinct values within 1.04/sqrt(m)', () => {
    const sigma = 1.04 / Math.sqrt(1024);
    const errors: number[] = [];
    for (const n of [1_000, 3_000, 10_000, 100_000, 1_000_000]) {
      for (const prefix of n === 1_000_000 ? ['user-'] : ['user-', 'order/', 'f81d4fae-7dec-11d0-a765-']) {
        probe.reset();
        addValues(prefix, 0, n);
        addValues(prefix, 0, Math.min(n, 1000)); // repeats do not count
        const error = (probe.estimate() - n) / n;
        errors.push(error);
        expect(Math.abs(error), `${prefix}… n=${n}: estimate ${probe.estimate()}`).toBeLessThan(3 * sigma);
      }
    }
    const rms = Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length);
    expect(rms).toBeLessThan(1.25 * sigma);
  });

  it('counts the empty set as 0 and one value as 1 (linear counting: m ln(m / (m - 1)) ≈ 1.0005)', () => {
    probe.reset();
    expect(probe.estimate()).toBe(0);
    addValues('only', 0, 1);
    addValues('only', 0, 1);
    expect(probe.estimate()).toBeCloseTo(1024 * Math.log(1024 / 1023), 9);
  });

  it('forgets a window sketch once it is advanced out of the ring', () => {
    // A ring of 3 (the probe's): values stay for the two advances after the one that follows
    // them, then their sketch becomes the current one again and is cleared.
    const within = (n: number) => Math.abs(probe.window_estimate() - n) / n;
    probe.reset();
    addValues('old-', 0, 5_000);
    probe.advance();
    addValues('recent-', 0, 2_000);
    expect(within(7_000)).toBeLessThan(3 * 1.04 / 32);
    probe.advance();
    expect(within(7_000)).toBeLessThan(3 * 1.04 / 32);
    probe.advance(); // old-* gone
    expect(within(2_000)).toBeLessThan(3 * 1.04 / 32);
    probe.advance(); // recent-* gone
    expect(probe.window_estimate()).toBe(0);
  });
});
