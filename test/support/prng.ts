// Seeded randomness for tests: the project's one PRNG (src/workload/prng.ts, which the bench
// workload uses too). A randomized test asks for testPrng(seed); TEST_SEED=<n> in the environment
// replaces every such seed, so a failure replays with
//   TEST_SEED=0x5eed0001 npx vitest run test/core/differential.test.ts -t 'random requests'
// and a failing test prints the seed it drew from.
import { onTestFailed } from 'vitest';
import { Prng } from '../../src/workload/prng.js';

export { Prng };

/** TEST_SEED from the environment (decimal or 0x… hex) if set, else `seed`. */
export function testSeed(seed: number): number {
  const text = process.env.TEST_SEED?.trim();
  if (!text) return seed;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`TEST_SEED must be a non-negative integer, got ${JSON.stringify(text)}`);
  return n;
}

/** "seed 0x5eed0001": for test names and assertion messages. */
export function seedNote(seed: number): string {
  return `seed 0x${seed.toString(16)}`;
}

/**
 * A Prng for a randomized test, seeded with testSeed(seed). Made inside a test, a failure of that
 * test prints the seed and how to replay it. Made outside one (inputs drawn once at describe or
 * module level), the caller names the seed: put seedNote(rng.seed) in the test or describe name.
 */
export function testPrng(seed: number): Prng {
  const rng = new Prng(testSeed(seed));
  try {
    onTestFailed(({ task }) => {
      const note = `randomized test failed with ${seedNote(rng.seed)}; replay: TEST_SEED=0x${rng.seed.toString(16)} npx vitest run ${task.file.name} -t ${JSON.stringify(task.name)}`;
      console.error(note);
      for (const e of task.result?.errors ?? []) e.message = `${e.message}\n${note}`;
    });
  } catch {
    // Not inside a running test: see above.
  }
  return rng;
}
