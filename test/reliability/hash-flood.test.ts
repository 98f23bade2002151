// Hash flooding of the core's label-value table (issue 21 item 5). Before the fix the table's
// hash was an unkeyed multiply-xorshift: anyone could compute, offline, span names that all hash
// alike, and each one planted made every later lookup of that hash walk all of them (140k names
// made one 100k-span request take 31 s). Now label values go through SipHash-1-3 under a key each
// instance draws at start. Time is never asserted: the core counts the index slots its lookups
// look at (intern_probes / intern_lookups), and a flood shows there as hundreds per lookup.
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { Core } from '../../src/core/index.js';
import { STRING_ENTRY_SIZE, STRING_LEN, STRING_PTR } from '../../src/core/layout.js';
import type { CoreExports } from '../../src/core/wasm.js';
import { testPrng } from '../support/prng.js';
import { namedSpansRequest } from './helpers.js';

const M64 = (1n << 64n) - 1n;
const K1 = 0x9e3779b97f4a7c15n;
const K2 = 0xbf58476d1ce4e5b9n;

/** The label-value hash before the fix: hashBytes of assembly/hash.ts at commit 339036b, ported. */
function oldHash(b: Uint8Array): number {
  let h = (K1 ^ ((BigInt(b.length) * K2) & M64)) & M64;
  let p = 0;
  const word = (at: number, n: number) => { let w = 0n; for (let i = n - 1; i >= 0; i--) w = (w << 8n) | BigInt(b[at + i]!); return w; };
  for (; b.length - p >= 8; p += 8) {
    h = ((h ^ word(p, 8)) * K1) & M64;
    h ^= h >> 32n;
  }
  const tail = word(p, b.length - p); // the old code assembled the 0–7 tail bytes little-endian too
  h = ((h ^ tail ^ 0xffn) * K1) & M64;
  h ^= h >> 31n;
  h = (h * K2) & M64;
  h ^= h >> 29n;
  return Number((h & 0xffffffffn) ^ (h >> 32n));
}

/** K1⁻¹ mod 2⁶⁴ (Newton's iteration; K1 is odd). */
function inverse(k: bigint): bigint {
  let x = k;
  for (let i = 0; i < 6; i++) x = (x * (2n - ((k * x) & M64))) & M64;
  return x;
}

/**
 * `count` 16-byte ASCII names with one old hash: the old round f(x) = g(x·K1), g(y) = y ^ y>>>32,
 * is invertible (g is an involution), so for any first block the second block that reaches a
 * fixed state is f⁻¹(state) ^ f(h0 ^ w1); about 1 in 256 of those is ASCII.
 */
function collidingNames(count: number, seed: number): Uint8Array[] {
  const rng = testPrng(seed);
  const kInv = inverse(K1);
  const g = (y: bigint) => y ^ (y >> 32n);
  const f = (x: bigint) => g((x * K1) & M64);
  const fInv = (z: bigint) => (g(z) * kInv) & M64;
  const h0 = (K1 ^ ((16n * K2) & M64)) & M64;
  const target = fInv(0x0123456789abcdefn);
  const out: Uint8Array[] = [];
  while (out.length < count) {
    const name = new Uint8Array(16);
    let w1 = 0n;
    for (let i = 7; i >= 0; i--) { name[i] = 0x61 + rng.below(26); w1 = (w1 << 8n) | BigInt(name[i]!); }
    let w2 = target ^ f(h0 ^ w1);
    if (w2 & 0x8080808080808080n) continue;
    for (let i = 8; i < 16; i++) { name[i] = Number(w2 & 0xffn); w2 >>= 8n; }
    out.push(name);
  }
  return out;
}

const decoder = new TextDecoder();
const requestOf = (names: readonly Uint8Array[]) => namedSpansRequest('svc', names.map((n) => decoder.decode(n)), 1_700_000_000_000_000_000);

const wasmOf = (core: Core) => (core as unknown as { wasm: CoreExports }).wasm;

/** Probes per lookup while `core` ingests `requests`. */
function probesPerLookup(core: Core, requests: Uint8Array[]): { perLookup: number; lookups: number } {
  const w = wasmOf(core);
  const [p0, l0] = [w.intern_probes(), w.intern_lookups()];
  for (const r of requests) expect(core.ingest(r, 1_700_000_000_000).ok).toBe(true);
  const lookups = w.intern_lookups() - l0;
  return { perLookup: (w.intern_probes() - p0) / lookups, lookups };
}

// Linear probing with the index at most 3/4 full (intern.ts grows it past that): an unsuccessful
// search looks at ½(1 + 1/(1−α)²) = 8.5 slots on average at α = ¾ (Knuth, TAOCP vol. 3, 6.4), a
// successful one at ½(1 + 1/(1−α)) = 2.5. So 8.5 bounds the mean for uniformly spread keys.
const KNUTH_BOUND = 8.5;

describe('hash flooding (issue 21 item 5)', () => {
  it('4096 names with one old hash stay spread: probes per lookup within the uniform bound', async () => {
    const names = collidingNames(4096, 21);
    const hashes = new Set(names.map(oldHash));
    expect(hashes.size).toBe(1); // all 4096 collided under the old hash
    expect(new Set(names.map((n) => decoder.decode(n))).size).toBe(4096);
    const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics });
    // The old hash, by hand: the k-th colliding name walks past the k−1 before it, so the 4096
    // inserts alone cost ≥ 4096·4095/2 ≈ 8.4M probes; over all lookups of the run (each span also
    // looks up its service) that is ≥ 8.4M / (2·4096 + a few) ≈ 1000 per lookup.
    const { perLookup, lookups } = probesPerLookup(core, [0, 1, 2, 3].map((q) => requestOf(names.slice(q * 1024, (q + 1) * 1024))));
    expect(lookups).toBeGreaterThanOrEqual(4096);
    expect(perLookup).toBeLessThan(KNUTH_BOUND);
    expect(core.activeSeries()).toBe(4096 * 19); // 19 series per span-metrics label set (README)
  });

  it('random names: probes per lookup within the uniform bound too (no clustering)', async () => {
    const rng = testPrng(7);
    const names = Array.from({ length: 20_000 }, () => new TextEncoder().encode(`GET /api/v${rng.below(1e9)}/items`));
    const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics });
    const requests = Array.from({ length: 20 }, (_, q) => requestOf(names.slice(q * 1000, (q + 1) * 1000)));
    const { perLookup } = probesPerLookup(core, requests);
    expect(perLookup).toBeLessThan(KNUTH_BOUND);
  });

  it('each instance draws its own key: the same name hashes differently in two cores', async () => {
    const stored = async () => {
      const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics });
      expect(core.ingest(requestOf([new TextEncoder().encode('GET /cart')]), 1_700_000_000_000).ok).toBe(true);
      return storedHashes(wasmOf(core)).get('GET /cart');
    };
    const [a, b] = [await stored(), await stored()];
    expect(a).toBeDefined();
    // Equal only if two 32-bit values drawn from 128-bit keys agree: 1 in 2^32.
    expect(a).not.toBe(b);
  });

  it('the hash is SipHash-1-3 under the key hash_key() sets (reference implementation below)', async () => {
    const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics });
    const w = wasmOf(core);
    w.hash_key(0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c); // key bytes 00 01 … 0f, as in the paper
    const texts = ['', 'a', 'svc', 'GET /cart', 'exactly8', 'fifteen bytes!!', 'sixteen bytes!!!', 'é ünïcödé ✓ 17b', 'x'.repeat(100)];
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    expect(core.ingest(requestOf(texts.filter((t) => t !== '').map((t) => new TextEncoder().encode(t))), 1_700_000_000_000).ok).toBe(true);
    const got = storedHashes(w);
    for (const t of texts.filter((x) => x !== '')) {
      const h = sipHash(1, 3, key, new TextEncoder().encode(t));
      expect([t, got.get(t)]).toEqual([t, Number((h & 0xffffffffn) ^ (h >> 32n))]);
    }
  });
});

/** label value → the hash the label-value index places it by (string_hash), from the string table (layout: src/core/layout.ts). */
function storedHashes(w: CoreExports): Map<string, number> {
  const view = new DataView(w.memory.buffer);
  const base = w.strings() >>> 0;
  const out = new Map<string, number>();
  // ids run 1 … highest; free entries have ptr 0. string_count() counts live ones: walk until found.
  for (let idn = 1, seen = 0; seen < w.string_count(); idn++) {
    const e = base + idn * STRING_ENTRY_SIZE;
    const ptr = view.getUint32(e + STRING_PTR, true);
    if (ptr === 0) continue;
    seen++;
    const len = view.getUint16(e + STRING_LEN, true);
    out.set(decoder.decode(new Uint8Array(w.memory.buffer, ptr, len)), w.string_hash(idn) >>> 0);
  }
  return out;
}

/**
 * SipHash-c-d, written from the paper (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012, §2), checked below against its Appendix A vector for SipHash-2-4.
 */
function sipHash(c: number, d: number, key: Uint8Array, m: Uint8Array): bigint {
  const le = (b: Uint8Array, at: number, n: number) => { let w = 0n; for (let i = n - 1; i >= 0; i--) w = (w << 8n) | BigInt(b[at + i]!); return w; };
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M64;
  const k0 = le(key, 0, 8);
  const k1 = le(key, 8, 8);
  const v = [k0 ^ 0x736f6d6570736575n, k1 ^ 0x646f72616e646f6dn, k0 ^ 0x6c7967656e657261n, k1 ^ 0x7465646279746573n];
  const round = () => {
    v[0] = (v[0]! + v[1]!) & M64; v[1] = rotl(v[1]!, 13n) ^ v[0]; v[0] = rotl(v[0], 32n);
    v[2] = (v[2]! + v[3]!) & M64; v[3] = rotl(v[3]!, 16n) ^ v[2];
    v[0] = (v[0] + v[3]) & M64; v[3] = rotl(v[3], 21n) ^ v[0];
    v[2] = (v[2] + v[1]) & M64; v[1] = rotl(v[1], 17n) ^ v[2]; v[2] = rotl(v[2], 32n);
  };
  const whole = m.length - (m.length % 8);
  const blocks: bigint[] = [];
  for (let i = 0; i < whole; i += 8) blocks.push(le(m, i, 8));
  blocks.push((BigInt(m.length & 0xff) << 56n) | le(m, whole, m.length - whole));
  for (const b of blocks) {
    v[3] = v[3]! ^ b;
    for (let i = 0; i < c; i++) round();
    v[0] = v[0]! ^ b;
  }
  v[2] = v[2]! ^ 0xffn;
  for (let i = 0; i < d; i++) round();
  return v[0]! ^ v[1]! ^ v[2]! ^ v[3]!;
}

it('the reference SipHash gives the paper\'s SipHash-2-4 vector (key 00…0f, message 00…0e)', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  expect(sipHash(2, 4, key, Uint8Array.from({ length: 15 }, (_, i) => i))).toBe(0xa129ca6149be45e5n);
});
