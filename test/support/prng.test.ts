// The project's one PRNG (src/workload/prng.ts) and the seeding of randomized tests. The bench
// compares figures across runs, so the stream for its seeds must not change: the words below
// were computed by an independent Python transcription of xoshiro128** (Blackman and Vigna,
// prng.di.unimi.it/xoshiro128starstar.c) seeded as prng.ts describes (a 0x9e3779b9 Weyl sequence
// through MurmurHash3's fmix32), not by prng.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Prng, seedNote, testSeed } from './prng.js';

const words = (rng: Prng, n: number): number[] => Array.from({ length: n }, () => rng.u32());

describe('Prng', () => {
  it("draws the same words as the reference for the bench's and the soak's seeds", () => {
    expect(words(new Prng(0x5eed), 6)).toEqual([0x73a424bc, 0xe8c3b396, 0x355888c8, 0x0cd93c4f, 0x4628e94f, 0x77859982]);
    expect(words(new Prng(0x50a4), 4)).toEqual([0x5375dcf8, 0x3c365ef2, 0xb315d050, 0x5fbee326]);
    expect(words(new Prng(0), 4)).toEqual([0xe308dc58, 0x4392d0e4, 0x03318f97, 0xac593a63]);
  });

  it('derives the rest from those words: below, int, next and u64', () => {
    // 0x73a424bc / 2^32 = 0.4517…, so below(10) = 4 and int(1, 6) = 1 + floor(0.4517… · 6) = 3.
    expect(new Prng(0x5eed).below(10)).toBe(4);
    expect(new Prng(0x5eed).int(1, 6)).toBe(3);
    expect(new Prng(0x5eed).next()).toBe(0x73a424bc / 2 ** 32);
    expect(new Prng(0x5eed).u64()).toBe(0x73a424bce8c3b396n);
    expect(new Prng(0x5eed).seed).toBe(0x5eed);
  });
});

describe('testSeed: TEST_SEED replays a randomized test', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is the test’s own seed when TEST_SEED is unset or empty', () => {
    vi.stubEnv('TEST_SEED', '');
    expect(testSeed(7)).toBe(7);
  });

  it('takes TEST_SEED in decimal or hex, and refuses anything else', () => {
    vi.stubEnv('TEST_SEED', '0x5eed0001');
    expect(testSeed(7)).toBe(0x5eed0001);
    vi.stubEnv('TEST_SEED', '24301');
    expect(testSeed(7)).toBe(24301);
    vi.stubEnv('TEST_SEED', 'abc');
    expect(() => testSeed(7)).toThrow('TEST_SEED must be a non-negative integer, got "abc"');
  });

  it('names a seed in hex, as TEST_SEED takes it', () => {
    expect(seedNote(0x5eed0001)).toBe('seed 0x5eed0001');
  });
});
