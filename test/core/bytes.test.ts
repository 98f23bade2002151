// assembly/bytes.ts bytesEqual (intern's cache hit and string index compare names with it): two
// ranges are equal exactly when every byte is; it must see a difference in any one byte, at
// every length across its shapes (under 4, 4 to 7, 8 to 16, 17 to 32 with no step, past 32 in
// 16-byte steps whose last overlaps the final 16), wherever the ranges sit, and must not look
// past them. Expectations by definition: a copy is equal, a copy with one byte changed is not.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

interface Probe {
  memory: WebAssembly.Memory;
  buffer(): number;
  same(a: number, b: number, n: number): number;
}

let probe: Probe;

beforeAll(async () => {
  // assembly/probes/bytes.ts is a test entry over assembly/bytes.ts, compiled here on its own.
  const out = join(mkdtempSync(join(tmpdir(), 'spanmeter-bytes-')), 'bytes.wasm');
  execFileSync(process.execPath, ['node_modules/assemblyscript/bin/asc.js', 'assembly/probes/bytes.ts', '-o', out,
    '--runtime', 'stub', '-O3', '--noAssert', '--enable', 'simd']);
  const { instance } = await WebAssembly.instantiate(readFileSync(out), { env: { abort: () => { throw new Error('abort'); } } });
  probe = instance.exports as unknown as Probe;
});

const A = 3; // the ranges at offsets apart by an odd amount: never aligned alike
const B = 512 + 8 + 5;

/** Lays out a range of n bytes at A and its copy at B, with different bytes around both. */
function layOut(n: number): Uint8Array {
  const mem = new Uint8Array(probe.memory.buffer, probe.buffer() >>> 0, 1024);
  mem.fill(0xaa, 0, 512);
  mem.fill(0x55, 512, 1024);
  for (let i = 0; i < n; i++) mem[A + i] = mem[B + i] = (i * 37 + 11) & 0xff;
  return mem;
}

describe('bytesEqual', () => {
  it('a range equals its copy at every length from 0 to 100, whatever lies around them', () => {
    for (let n = 0; n <= 100; n++) {
      layOut(n);
      expect(probe.same(A, B, n), `length ${n}`).toBe(1);
    }
  });

  it('sees a change in any one byte of a range, at every length from 1 to 100', () => {
    const missed: string[] = [];
    for (let n = 1; n <= 100; n++) {
      for (let i = 0; i < n; i++) {
        const mem = layOut(n);
        mem[B + i] = mem[B + i]! ^ 0x01; // the lowest bit alone
        if (probe.same(A, B, n) !== 0) missed.push(`length ${n}, byte ${i}`);
        mem[B + i] = mem[B + i]! ^ 0x81; // then the highest alone
        if (probe.same(A, B, n) !== 0) missed.push(`length ${n}, byte ${i} (top bit)`);
      }
    }
    expect(missed).toEqual([]);
  });
});
