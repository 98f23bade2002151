// CRC-32 (ISO-HDLC: the gzip trailer's, RFC 1952 §8; reflected polynomial 0xEDB88320, initial
// value and final xor 0xFFFFFFFF) over bytes already in WASM memory: the host inflates a gzip
// member's raw deflate data into the core's input buffer and checks the trailer with this,
// instead of zlib computing it (src/otlp/gzip.ts). Table lookups cost about four instructions a
// byte, no fewer than zlib's own braided tables (WebAssembly SIMD has no carry-less multiply for
// the usual folding); so long inputs are first shortened with a sparse multiple of the polynomial
// (the idea of Russell's "Chorba" CRC, arXiv 2412.16398):
//
//   y^300 = y^155 + y^117 + y^89 + 1  (mod P), y = x^64,
//
// found by a search over x^(64 i) mod P for the lowest degree with five terms. A 64-bit word of
// the message that has at least 300 words after it may be replaced by itself xored into the
// words 145, 183, 211 and 300 places later without changing the message mod P, so the CRC. The
// words are read in order and each reduced word r[j] = w[j] ^ r[j-145] ^ r[j-183] ^ r[j-211] ^
// r[j-300] (a plain xor of five words: no tables, no dependency chain between neighbours); only
// the last 300 words and the bytes after the last whole word go through the tables. The initial
// value 0xFFFFFFFF is the message's first four bytes complemented, entered as r[-300].

const POLY: u32 = 0xedb88320;
/** Words the sparse multiple reaches back (its degree in y) and its three inner terms' distances. */
const REACH: usize = 300;
const D1: usize = 145;
const D2: usize = 183;
const D3: usize = 211;
/** Reduced words kept after the REACH words of history before the history moves back (a copy of 2,400 bytes per 32 KiB). */
const BLOCK: usize = 4096;
/** Shorter inputs go through the tables alone. */
const SPARSE_MIN: usize = 4096;

// Allocated at the first call, so that a core that never checks gzip (an embedder, a sidecar
// without gzip senders) keeps the same memory and heap layout.
/** Slicing-by-8 tables: T[k][b] is the CRC register after byte b followed by k zero bytes. */
let TABLES: usize = 0;
/** The reduced words: REACH of history then a block. */
let HISTORY: usize = 0;
/** The last REACH words, reduced, for the tables. */
let TAIL: usize = 0;
/** A third of the tail, in bytes. */
const THIRD: usize = REACH * 8 / 3;
/** PAST[k][b]: the register b << 8k advanced over THIRD zero bytes. */
let PAST: usize = 0;

function init(): void {
  TABLES = heap.alloc(8 * 256 * 4);
  HISTORY = heap.alloc((REACH + BLOCK) * 8);
  TAIL = heap.alloc(REACH * 8);
  PAST = heap.alloc(4 * 256 * 4);
  for (let b: u32 = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    store<u32>(TABLES + (<usize>b << 2), c);
  }
  for (let b: usize = 0; b < 256; b++) {
    let c = load<u32>(TABLES + (b << 2));
    for (let k: usize = 1; k < 8; k++) {
      c = (c >>> 8) ^ load<u32>(TABLES + (<usize>(c & 0xff) << 2));
      store<u32>(TABLES + (k << 10) + (b << 2), c);
    }
  }
  // Each register bit past THIRD zero bytes (a word of zeros at a time), then every byte value of
  // each of the four bytes as the xor of its bits'.
  const bit = heap.alloc(32 * 4);
  for (let i: usize = 0; i < 32; i++) {
    let c: u32 = 1 << <u32>i;
    for (let n: usize = 0; n < THIRD; n += 8) {
      c = load<u32>(at(c), 7 << 10) ^ load<u32>(at(c >>> 8), 6 << 10) ^ load<u32>(at(c >>> 16), 5 << 10) ^ load<u32>(at(c >>> 24), 4 << 10);
    }
    store<u32>(bit + (i << 2), c);
  }
  for (let k: usize = 0; k < 4; k++) {
    store<u32>(PAST + (k << 10), 0);
    for (let b: usize = 1; b < 256; b++) {
      const low = <usize>ctz(<u32>b);
      store<u32>(PAST + (k << 10) + (b << 2), load<u32>(PAST + (k << 10) + ((b & (b - 1)) << 2)) ^ load<u32>(bit + ((k * 8 + low) << 2)));
    }
  }
  heap.free(bit);
}

/** The 16 bytes from the middle of `lo` then `hi` (two aligned v128 in a row): the words an 8-byte-aligned load there would read. */
// @ts-ignore: decorator
@inline function pair(lo: v128, hi: v128): v128 {
  return i8x16.shuffle(lo, hi, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
}

// @ts-ignore: decorator
@inline function at(i: u32): usize {
  return TABLES + (<usize>(i & 0xff) << 2);
}

/** The CRC register `crc` advanced over the 8 bytes at `ptr`. */
// @ts-ignore: decorator
@inline function wordCrc(crc: u32, ptr: usize): u32 {
  const lo = crc ^ load<u32>(ptr);
  const hi = load<u32>(ptr, 4);
  return load<u32>(at(lo), 7 << 10) ^ load<u32>(at(lo >>> 8), 6 << 10) ^ load<u32>(at(lo >>> 16), 5 << 10) ^ load<u32>(at(lo >>> 24), 4 << 10) ^
    load<u32>(at(hi), 3 << 10) ^ load<u32>(at(hi >>> 8), 2 << 10) ^ load<u32>(at(hi >>> 16), 1 << 10) ^ load<u32>(at(hi >>> 24));
}

/** The CRC register `crc` advanced over THIRD zero bytes (a linear map of its four bytes). */
// @ts-ignore: decorator
@inline function pastThird(crc: u32): u32 {
  return load<u32>(PAST + (<usize>(crc & 0xff) << 2)) ^ load<u32>(PAST + (<usize>((crc >>> 8) & 0xff) << 2), 1 << 10) ^
    load<u32>(PAST + (<usize>((crc >>> 16) & 0xff) << 2), 2 << 10) ^ load<u32>(PAST + (<usize>(crc >>> 24) << 2), 3 << 10);
}

/** The CRC register `crc` (no initial or final xor) advanced over `len` bytes at `ptr`. */
function tableCrc(crc: u32, ptr: usize, len: usize): u32 {
  const end = ptr + len;
  const words = ptr + (len & ~(<usize>7));
  while (ptr < words) {
    crc = wordCrc(crc, ptr);
    ptr += 8;
  }
  while (ptr < end) {
    crc = (crc >>> 8) ^ load<u32>(at(crc ^ <u32>load<u8>(ptr)));
    ptr++;
  }
  return crc;
}

/** CRC-32 of the `len` bytes at `ptr`, as zlib's crc32(0, ptr, len) computes it. */
export function crc32(ptr: usize, len: usize): u32 {
  if (TABLES == 0) init();
  if (len < SPARSE_MIN) return ~tableCrc(0xffffffff, ptr, len);
  const words = ptr + (len & ~(<usize>7));
  const head = words - REACH * 8; // words before this are pushed into later ones
  memory.fill(HISTORY, 0, REACH * 8);
  store<u64>(HISTORY, 0xffffffff); // r[-300]: the initial value, the first four bytes complemented
  // r[j] goes to q + 8 * REACH; the four earlier words it needs are at fixed offsets from q.
  let q = HISTORY;
  let p = ptr;
  while (p < words) {
    const stop = min(p + (HISTORY + BLOCK * 8 - q), words);
    // Head words: reduced and kept for the words after them, 32 at a time as sixteen v128
    // (WebAssembly SIMD; r[j] needs nothing nearer than r[j-145]), one loop check per 256 bytes.
    // The core's crc32 per 221 KB bench body (callgrind, /work/p32u/crc/cgcore.sh): u64 sixteen
    // a pass 317,996; v128 eight a pass 180,993, sixteen 173,909, thirty-two 170,715.
    // D1, D2 and D3 are odd: their word pairs straddle the 16-byte places the pairs were stored
    // at, so each is put together from two aligned loads (the lower one the step before's upper
    // one, kept in h1-h3): a straddling load cost ~9% more time per body (issue 20, p36i).
    const headStop = min(stop, head);
    let h1 = v128.load(q, (REACH - D1) * 8 - 8);
    let h2 = v128.load(q, (REACH - D2) * 8 - 8);
    let h3 = v128.load(q, (REACH - D3) * 8 - 8);
    while (p + 256 <= headStop) {
      const x0 = v128.load(q, (REACH - D1) * 8 + 8), y0 = v128.load(q, (REACH - D2) * 8 + 8), z0 = v128.load(q, (REACH - D3) * 8 + 8);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 0), pair(h1, x0)), v128.xor(v128.xor(pair(h2, y0), pair(h3, z0)), v128.load(q, 0))), REACH * 8 + 0);
      const x1 = v128.load(q, (REACH - D1) * 8 + 24), y1 = v128.load(q, (REACH - D2) * 8 + 24), z1 = v128.load(q, (REACH - D3) * 8 + 24);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 16), pair(x0, x1)), v128.xor(v128.xor(pair(y0, y1), pair(z0, z1)), v128.load(q, 16))), REACH * 8 + 16);
      const x2 = v128.load(q, (REACH - D1) * 8 + 40), y2 = v128.load(q, (REACH - D2) * 8 + 40), z2 = v128.load(q, (REACH - D3) * 8 + 40);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 32), pair(x1, x2)), v128.xor(v128.xor(pair(y1, y2), pair(z1, z2)), v128.load(q, 32))), REACH * 8 + 32);
      const x3 = v128.load(q, (REACH - D1) * 8 + 56), y3 = v128.load(q, (REACH - D2) * 8 + 56), z3 = v128.load(q, (REACH - D3) * 8 + 56);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 48), pair(x2, x3)), v128.xor(v128.xor(pair(y2, y3), pair(z2, z3)), v128.load(q, 48))), REACH * 8 + 48);
      const x4 = v128.load(q, (REACH - D1) * 8 + 72), y4 = v128.load(q, (REACH - D2) * 8 + 72), z4 = v128.load(q, (REACH - D3) * 8 + 72);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 64), pair(x3, x4)), v128.xor(v128.xor(pair(y3, y4), pair(z3, z4)), v128.load(q, 64))), REACH * 8 + 64);
      const x5 = v128.load(q, (REACH - D1) * 8 + 88), y5 = v128.load(q, (REACH - D2) * 8 + 88), z5 = v128.load(q, (REACH - D3) * 8 + 88);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 80), pair(x4, x5)), v128.xor(v128.xor(pair(y4, y5), pair(z4, z5)), v128.load(q, 80))), REACH * 8 + 80);
      const x6 = v128.load(q, (REACH - D1) * 8 + 104), y6 = v128.load(q, (REACH - D2) * 8 + 104), z6 = v128.load(q, (REACH - D3) * 8 + 104);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 96), pair(x5, x6)), v128.xor(v128.xor(pair(y5, y6), pair(z5, z6)), v128.load(q, 96))), REACH * 8 + 96);
      const x7 = v128.load(q, (REACH - D1) * 8 + 120), y7 = v128.load(q, (REACH - D2) * 8 + 120), z7 = v128.load(q, (REACH - D3) * 8 + 120);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 112), pair(x6, x7)), v128.xor(v128.xor(pair(y6, y7), pair(z6, z7)), v128.load(q, 112))), REACH * 8 + 112);
      const x8 = v128.load(q, (REACH - D1) * 8 + 136), y8 = v128.load(q, (REACH - D2) * 8 + 136), z8 = v128.load(q, (REACH - D3) * 8 + 136);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 128), pair(x7, x8)), v128.xor(v128.xor(pair(y7, y8), pair(z7, z8)), v128.load(q, 128))), REACH * 8 + 128);
      const x9 = v128.load(q, (REACH - D1) * 8 + 152), y9 = v128.load(q, (REACH - D2) * 8 + 152), z9 = v128.load(q, (REACH - D3) * 8 + 152);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 144), pair(x8, x9)), v128.xor(v128.xor(pair(y8, y9), pair(z8, z9)), v128.load(q, 144))), REACH * 8 + 144);
      const x10 = v128.load(q, (REACH - D1) * 8 + 168), y10 = v128.load(q, (REACH - D2) * 8 + 168), z10 = v128.load(q, (REACH - D3) * 8 + 168);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 160), pair(x9, x10)), v128.xor(v128.xor(pair(y9, y10), pair(z9, z10)), v128.load(q, 160))), REACH * 8 + 160);
      const x11 = v128.load(q, (REACH - D1) * 8 + 184), y11 = v128.load(q, (REACH - D2) * 8 + 184), z11 = v128.load(q, (REACH - D3) * 8 + 184);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 176), pair(x10, x11)), v128.xor(v128.xor(pair(y10, y11), pair(z10, z11)), v128.load(q, 176))), REACH * 8 + 176);
      const x12 = v128.load(q, (REACH - D1) * 8 + 200), y12 = v128.load(q, (REACH - D2) * 8 + 200), z12 = v128.load(q, (REACH - D3) * 8 + 200);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 192), pair(x11, x12)), v128.xor(v128.xor(pair(y11, y12), pair(z11, z12)), v128.load(q, 192))), REACH * 8 + 192);
      const x13 = v128.load(q, (REACH - D1) * 8 + 216), y13 = v128.load(q, (REACH - D2) * 8 + 216), z13 = v128.load(q, (REACH - D3) * 8 + 216);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 208), pair(x12, x13)), v128.xor(v128.xor(pair(y12, y13), pair(z12, z13)), v128.load(q, 208))), REACH * 8 + 208);
      const x14 = v128.load(q, (REACH - D1) * 8 + 232), y14 = v128.load(q, (REACH - D2) * 8 + 232), z14 = v128.load(q, (REACH - D3) * 8 + 232);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 224), pair(x13, x14)), v128.xor(v128.xor(pair(y13, y14), pair(z13, z14)), v128.load(q, 224))), REACH * 8 + 224);
      const x15 = v128.load(q, (REACH - D1) * 8 + 248), y15 = v128.load(q, (REACH - D2) * 8 + 248), z15 = v128.load(q, (REACH - D3) * 8 + 248);
      v128.store(q, v128.xor(v128.xor(v128.load(p, 240), pair(x14, x15)), v128.xor(v128.xor(pair(y14, y15), pair(z14, z15)), v128.load(q, 240))), REACH * 8 + 240);
      h1 = x15;
      h2 = y15;
      h3 = z15;
      p += 256;
      q += 256;
    }
    while (p < headStop) {
      store<u64>(q, load<u64>(p, 0) ^ load<u64>(q, (REACH - D1) * 8 + 0) ^ load<u64>(q, (REACH - D2) * 8 + 0) ^ load<u64>(q, (REACH - D3) * 8 + 0) ^ load<u64>(q, 0), REACH * 8);
      p += 8;
      q += 8;
    }
    // The last REACH words: what the head pushed into them goes to TAIL; nothing is pushed on.
    while (p < stop) {
      store<u64>(TAIL + (p - head), load<u64>(p, 0) ^ load<u64>(q, (REACH - D1) * 8 + 0) ^ load<u64>(q, (REACH - D2) * 8 + 0) ^ load<u64>(q, (REACH - D3) * 8 + 0) ^ load<u64>(q, 0));
      store<u64>(q, 0, REACH * 8);
      p += 8;
      q += 8;
    }
    if (q == HISTORY + BLOCK * 8) {
      memory.copy(HISTORY, q, REACH * 8);
      q = HISTORY;
    }
  }
  // The head is now zero words: the register is still 0 where the tail starts. The tail's thirds
  // go through the tables at once (three chains of lookups instead of one), each third's register
  // then moved past the next third and xored into its register (CRC registers are linear).
  let c0: u32 = 0;
  let c1: u32 = 0;
  let c2: u32 = 0;
  for (let t = TAIL; t < TAIL + THIRD; t += 8) {
    c0 = wordCrc(c0, t);
    c1 = wordCrc(c1, t + THIRD);
    c2 = wordCrc(c2, t + 2 * THIRD);
  }
  const crc = pastThird(pastThird(c0) ^ c1) ^ c2;
  return ~tableCrc(crc, p, len & 7);
}
