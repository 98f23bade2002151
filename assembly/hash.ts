// Hashing of byte ranges and of interned-id tuples, keyed per instance so that nobody can compute
// colliding label values offline (hash flooding, issue 21 item 5).
//
// Label values (whatever a sender chooses) go through
// SipHash-1-3 (Aumasson and Bernstein; the keyed hash Rust's HashMap and Python's str use for
// this reason) under a 128-bit key the host draws from its CSPRNG and hands in with hash_key()
// before the first ingest (until then the key is zero: public, so floodable). An unkeyed
// or seed-only multiply-xorshift hash is not enough: multiplication carries a flip of the top
// bit unchanged, which gives collisions whatever the seed. Edge-store keys (trace id + span id,
// 24 bytes, one lookup per client or server span) use Multilinear hashing (Lemire and Kaser,
// "Strongly universal string hashing is fast", 2014): (m0 + Σ m[i+1]·w[i] mod 2^64) >> 32 over
// the six u32 words, with the m drawn from the key: strongly universal, so two chosen keys
// collide with probability 2^-32 over the draw; a third of SipHash's cost there, and the store
// holds at most max_items. Tuples of interned ids (series keys) are words the core itself
// assigns, so they keep the cheaper multiply-xorshift, seeded too.

const M1: u64 = 0x9e3779b97f4a7c15;
const M2: u64 = 0xbf58476d1ce4e5b9;

let KEY0: u64 = 0;
// SipHash's initial state: the key xored with "somepseudorandomlygeneratedbytes".
let V0: u64 = 0x736f6d6570736575;
let V1: u64 = 0x646f72616e646f6d;
let V2: u64 = 0x6c7967656e657261;
let V3: u64 = 0x7465646279746573;

/** Multilinear's m0 … m6 for hashEdgeKey. */
const ML: usize = memory.data(7 * 8);
/** previewHash's seed, drawn from the key after Multilinear's words. */
let SEED: u64 = 0;

/** Sets the 128-bit key (k0, k1: SipHash's two little-endian key halves). Stored hashes go stale. */
export function setHashKey(k0: u64, k1: u64): void {
  // Multilinear's words: SplitMix64 (Steele, Lea and Flood 2014) from the key.
  let s = k0 ^ rotl<u64>(k1, 32);
  for (let i = 0; i < 7; i++) {
    s += 0x9e3779b97f4a7c15;
    let z = s;
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111eb;
    store<u64>(ML + (<usize>i << 3), z ^ (z >>> 31));
  }
  s += 0x9e3779b97f4a7c15;
  let z = s;
  z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >>> 27)) * 0x94d049bb133111eb;
  SEED = z ^ (z >>> 31);
  KEY0 = k0;
  V0 = k0 ^ 0x736f6d6570736575;
  V1 = k1 ^ 0x646f72616e646f6d;
  V2 = k0 ^ 0x6c7967656e657261;
  V3 = k1 ^ 0x7465646279746573;
}

// Until hash_key: the zero key (so that Multilinear's words are set at all).
setHashKey(0, 0);

// @ts-ignore: decorator
@inline function finish(h: u64): u32 {
  h ^= h >>> 31;
  h *= M2;
  h ^= h >>> 29;
  return <u32>h ^ <u32>(h >>> 32);
}

/** SipHash-1-3 of [p, p+n) under the instance's key, folded to 32 bits. */
export function hashBytes(p: usize, n: usize): u32 {
  let v0 = V0, v1 = V1, v2 = V2, v3 = V3;
  // The last block: the 0–7 bytes past the whole words, little-endian, and n in the top byte.
  let end = p + (n & ~(<usize>7));
  let t = n & 7;
  let last: u64 = <u64>n << 56;
  if (t >= 4) {
    last |= <u64>load<u32>(end);
    if (t > 4) last |= <u64>load<u8>(end + 4) << 32;
    if (t > 5) last |= <u64>load<u8>(end + 5) << 40;
    if (t > 6) last |= <u64>load<u8>(end + 6) << 48;
  } else {
    if (t > 0) last |= <u64>load<u8>(end);
    if (t > 1) last |= <u64>load<u8>(end + 1) << 8;
    if (t > 2) last |= <u64>load<u8>(end + 2) << 16;
  }
  // Compression: one SipRound per block, the last one included.
  while (true) {
    let m: u64 = p < end ? load<u64>(p) : last;
    v3 ^= m;
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
    v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
    v0 ^= m;
    if (p >= end) break;
    p += 8;
  }
  // Finalization: three SipRounds.
  v2 ^= 0xff;
  for (let r = 0; r < 3; r++) {
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
    v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  }
  let h = v0 ^ v1 ^ v2 ^ v3;
  return <u32>h ^ <u32>(h >>> 32);
}

/**
 * [p, p+n) folded into `h` by multiply-xorshift: 16 bytes a step, then the last 32 (the first
 * 16 of them overlapping the steps', the last 16 the first's); under 17 bytes, the first and last 8, overlapping halves under 8, or, under 4,
 * the first, middle and last byte (all of them). Names of up to 32 bytes take no loop.
 */
// @ts-ignore: decorator
@inline function foldBytes(h: u64, p: usize, n: usize): u64 {
  if (n > 16) {
    let end = p + n - 16;
    // The loop only past 32 bytes: V8 checks the stack on entering a loop, even one that does no step.
    if (n > 32) {
      while (p + 16 < end) {
        h = (h ^ load<u64>(p)) * M1;
        h ^= h >>> 32;
        h = (h ^ load<u64>(p, 8)) * M1;
        h ^= h >>> 32;
        p += 16;
      }
    }
    h = (h ^ load<u64>(p)) * M1;
    h ^= h >>> 32;
    h = (h ^ load<u64>(p, 8)) * M1;
    h ^= h >>> 32;
    h = (h ^ load<u64>(end)) * M1;
    h ^= h >>> 32;
    h = (h ^ load<u64>(end, 8)) * M1;
  } else if (n >= 8) {
    h = (h ^ load<u64>(p)) * M1;
    h ^= h >>> 32;
    h = (h ^ load<u64>(p + n - 8)) * M1;
  } else if (n >= 4) {
    h = (h ^ (<u64>load<u32>(p) | (<u64>load<u32>(p + n - 4) << 32))) * M1;
  } else if (n > 0) {
    h = (h ^ (<u64>load<u8>(p) | (<u64>load<u8>(p + (n >> 1)) << 8) | (<u64>load<u8>(p + n - 1) << 16))) * M1;
  }
  return h;
}

/**
 * An unkeyed multiply hash of [p, p+n), for intern.ts's direct-mapped cache only: a slot holds
 * one id, so colliding names evict each other and can never make a lookup walk a chain.
 */
// @ts-ignore: decorator
@inline export function quickHash(p: usize, n: usize): u32 {
  return <u32>(foldBytes(<u64>n * M2, p, n) >>> 32);
}

/**
 * A seeded 64-bit hash of [p, p+n) for the what-if preview (preview.ts): its sketches and its
 * set-associative table of a fixed size, where values that collide only blur an estimate or evict
 * each other, and nothing walks a chain. quickHash's fold from the key's seed, then MurmurHash3's
 * 64-bit finalizer, whose every output bit depends on every input bit (what a HyperLogLog needs
 * of the bits it reads). About a fifth of SipHash's instructions on the preview's keys and values.
 */
export function previewHash(p: usize, n: usize): u64 {
  let h = foldBytes(SEED ^ (<u64>n * M2), p, n);
  h ^= h >>> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >>> 33;
  h *= 0xc4ceb9fe1a85ec53;
  return h ^ (h >>> 33);
}

/** Multilinear hash of the 24-byte edge-store key at `p` (six u32 words). */
export function hashEdgeKey(p: usize): u32 {
  return edgeKeyHash(edgeTraceSum(p), p + 16);
}

/**
 * hashEdgeKey in two steps, so that the keys of one trace id (a span's own and its parent's:
 * servicegraphs.ts, selftime.ts prepare) share the first: m0 and the trace id's four terms (`trace` 0: an absent trace id, zeros), ...
 */
// @ts-ignore: decorator
@inline export function edgeTraceSum(trace: usize): u64 {
  let h = load<u64>(ML);
  if (trace != 0) {
    h += load<u64>(ML, 8) * <u64>load<u32>(trace);
    h += load<u64>(ML, 16) * <u64>load<u32>(trace, 4);
    h += load<u64>(ML, 24) * <u64>load<u32>(trace, 8);
    h += load<u64>(ML, 32) * <u64>load<u32>(trace, 12);
  }
  return h;
}

/** ... then the span id's two terms (`id` 0: an absent span id, zeros): the hash of (that trace id, that span id). */
// @ts-ignore: decorator
@inline export function edgeKeyHash(traceSum: u64, id: usize): u32 {
  let h = traceSum;
  if (id != 0) {
    h += load<u64>(ML, 40) * <u64>load<u32>(id);
    h += load<u64>(ML, 48) * <u64>load<u32>(id, 4);
  }
  return <u32>(h >>> 32);
}

/** Hash of `n` u32 words at `p` (a series key). */
export function hashWords(p: usize, n: i32): u32 {
  let h = wordsStart(n);
  for (let i = 0; i < n; i++) h = wordsStep(h, load<u32>(p + (<usize>i << 2)));
  return wordsFinish(h);
}

// hashWords in steps, for a caller that reads the words for something else in the same pass.
// @ts-ignore: decorator
@inline export function wordsStart(n: i32): u64 {
  return M1 ^ KEY0 ^ <u64>n;
}
// @ts-ignore: decorator
@inline export function wordsStep(h: u64, word: u32): u64 {
  h = (h ^ <u64>word) * M1;
  return h ^ (h >>> 29);
}
// @ts-ignore: decorator
@inline export function wordsFinish(h: u64): u32 {
  return finish(h);
}
