// Decoding tables for inflate.ts: canonical Huffman codes (RFC 1951 §3.2.2) from code lengths.
//
// A table is indexed by the next `root` bits of the stream (the code's first bit lowest, as
// deflate packs codes). A code of `root` bits or fewer fills every entry its bits start; a
// longer one is found through a subtable that the entry of its first `root` bits points to. Each
// u32 entry holds:
//   bits 0-7   the bits to take: the code's (after the root bits, in a subtable) plus the extra bits
//   bits 8-11  the code's bits alone (the extra bits sit above them); for F_SUB: the subtable's
//              index bits
//   bits 12-15 F_LIT, F_SUB, F_EOB, F_BAD, or none for a length or distance
//   bits 16-31 the literal byte, the length or distance base (RFC 1951 §3.2.5), the code-length
//              symbol, or the subtable's first entry
// The bits to take stay below 32, so i64.shr_u (which takes its count mod 64) can take the entry
// itself as the count.

/** A literal byte. */
export const F_LIT: u32 = 0x1000;
/** A pointer to a subtable. */
export const F_SUB: u32 = 0x2000;
/** End of block (symbol 256). */
export const F_EOB: u32 = 0x4000;
/** No valid symbol: 286-287, distances 30-31, or bits an incomplete code does not use. */
export const F_BAD: u32 = 0x8000;

/** A table's kind: where its symbols' entries start in `symbols`. */
export const K_LIT: u32 = 0;
export const K_DIST: u32 = 288;
export const K_CL: u32 = 320;

/** Index bits of the literal/length table; 11 covers most codes of request bodies in one lookup. */
export const LIT_BITS: u32 = 11;
export const DIST_BITS: u32 = 10;
/** Code-length codes are at most 7 bits: no subtables. */
export const CL_BITS: u32 = 7;
/**
 * Entries of the literal/length and distance tables with their subtables. A subtable of 2^k
 * entries holds at least k + 1 codes (a complete subtree k deep), and k is at most 15 minus the
 * root bits: so at most 288 / 5 subtables of 16 entries after the 2,048 literal/length entries,
 * 30 / 6 of 32 after the 1,024 distance entries. A set needing more is refused, never overrun.
 */
export const LIT_SIZE: u32 = 3072;
export const DIST_SIZE: u32 = 1536;
/** A block's distance table follows its literal/length table at this offset (one address for both in the decode loop). */
export const DIST_OFFSET: usize = <usize>LIT_SIZE * 4;

// One allocation at the first inflate, so that a core without gzip senders keeps its layout.
export let litTable: usize = 0;
export let distTable: usize = 0;
export let clTable: usize = 0;
/** The fixed codes' tables (RFC 1951 §3.2.6), built once; the distance table at DIST_OFFSET too. */
export let fixedLit: usize = 0;
/** Code lengths of the block being read: literal/length then distance, 320 bytes and 16 for a repeat's last store. */
export let lens: usize = 0;
/** The order code-length code lengths come in (RFC 1951 §3.2.7), 19 bytes. */
export let clOrder: usize = 0;
/**
 * Codes of each length (u32[16]; then four more such counts, of every second symbol of each
 * half of the symbols, so that a length's count is not incremented right after its last
 * increment: a store and a load of the same address in a chain), the symbols' entries (for their
 * codes' whole bits) sorted by code length (u32[320]: the sort looks each up while it waits on its
 * chain, so that the table fill stores them as they are), bit reversal of a byte.
 */
let counts: usize = 0;
/** Codes of each length among the first half of the symbols (u32[16]). */
let firsts: usize = 0;
let sorted: usize = 0;
let rev8: usize = 0;
/** Where the next symbol of each code length goes in `sorted`: of the first half, then of the second (u16[16] each). */
let offs: usize = 0;
/**
 * Each symbol's entry but for its code's bits (u32[339]: 288 literal/length symbols at K_LIT,
 * 32 distances at K_DIST, 19 code-length symbols at K_CL), so that a table build looks it up
 * rather than branching on the kind and the symbol's range.
 */
let symbols: usize = 0;

export function initTables(): void {
  if (litTable != 0) return;
  const bytes = (2 * (LIT_SIZE + DIST_SIZE) + (1 << CL_BITS) + 16 * 6 + 340) * 4 + 336 + 32 + 320 * 4 + 256 + 64;
  let p = heap.alloc(bytes);
  litTable = p;
  p += LIT_SIZE * 4;
  distTable = p;
  p += DIST_SIZE * 4;
  clTable = p;
  p += (1 << CL_BITS) * 4;
  fixedLit = p;
  p += (LIT_SIZE + DIST_SIZE) * 4;
  counts = p;
  p += 16 * 5 * 4;
  firsts = p;
  p += 16 * 4;
  lens = p;
  p += 336;
  clOrder = p;
  p += 32;
  sorted = p;
  p += 320 * 4;
  rev8 = p;
  p += 256;
  symbols = p;
  p += 340 * 4;
  offs = p;
  // 16 17 18 0 8 7 9 6 | 10 5 11 4 12 3 13 2 | 14 1 15, a byte each, little-endian.
  store<u64>(clOrder, 0x0609070800121110);
  store<u64>(clOrder, 0x020d030c040b050a, 8);
  store<u32>(clOrder, 0x000f010e, 16);
  for (let b: u32 = 0; b < 256; b++) {
    let r: u32 = 0;
    for (let k: u32 = 0; k < 8; k++) r |= ((b >>> k) & 1) << (7 - k);
    store<u8>(rev8 + b, <u8>r);
  }
  // An entry's value (RFC 1951 §3.2.5) in bits 16-31, its extra bits in bits 0-7.
  for (let sym: u32 = 0; sym < 256; sym++) store<u32>(symbols + ((K_LIT + sym) << 2), (sym << 16) | F_LIT);
  store<u32>(symbols + ((K_LIT + 256) << 2), F_EOB);
  // Lengths 3-10 one each, then four codes per extra bit count 1-5; code 285 is 258 alone.
  let base: u32 = 3;
  for (let i: u32 = 0; i < 28; i++) {
    const extra = i < 8 ? 0 : (i >>> 2) - 1;
    store<u32>(symbols + ((K_LIT + 257 + i) << 2), (base << 16) | extra);
    base += 1 << extra;
  }
  store<u32>(symbols + ((K_LIT + 285) << 2), 258 << 16);
  store<u32>(symbols + ((K_LIT + 286) << 2), F_BAD);
  store<u32>(symbols + ((K_LIT + 287) << 2), F_BAD);
  // Distances 1-4 one each, then two codes per extra bit count 1-13.
  base = 1;
  for (let i: u32 = 0; i < 30; i++) {
    const extra = i < 4 ? 0 : (i >>> 1) - 1;
    store<u32>(symbols + ((K_DIST + i) << 2), (base << 16) | extra);
    base += 1 << extra;
  }
  store<u32>(symbols + ((K_DIST + 30) << 2), F_BAD);
  store<u32>(symbols + ((K_DIST + 31) << 2), F_BAD);
  for (let sym: u32 = 0; sym < 19; sym++) store<u32>(symbols + ((K_CL + sym) << 2), sym << 16);
  // Fixed codes: literal/length 0-143 8 bits, 144-255 9, 256-279 7, 280-287 8; distances 5 bits.
  memory.fill(lens, 8, 144);
  memory.fill(lens + 144, 9, 112);
  memory.fill(lens + 256, 7, 24);
  memory.fill(lens + 280, 8, 8);
  buildTable(lens, 288, fixedLit, LIT_BITS, K_LIT, 1 << LIT_BITS);
  memory.fill(lens, 5, 32);
  buildTable(lens, 32, fixedLit + DIST_OFFSET, DIST_BITS, K_DIST, 1 << DIST_BITS);
}

/** The entry of symbol `sym`, for a code of `bits` bits; `kindSymbols` is where its table's kind starts in `symbols`. */
// @ts-ignore: decorator
@inline function entryOf(kindSymbols: usize, sym: u32, bits: u32): u32 {
  // The code's bits in bits 8-11 and, with the extra bits already there, in bits 0-7.
  return load<u32>(kindSymbols + (<usize>sym << 2)) + ((bits << 8) | bits);
}

/** The `len`-bit code `code` with its bits reversed (deflate packs a code's first bit lowest); `r8` is `rev8`. */
// @ts-ignore: decorator
@inline function reversed(r8: usize, code: u32, len: u32): u32 {
  return ((<u32>load<u8>(r8 + (code & 0xff)) << 8) | <u32>load<u8>(r8 + (code >>> 8))) >>> (16 - len);
}

/** Every root entry invalid (a 1-bit code of no symbol): an empty distance set, or an incomplete one's unused half. */
// @ts-ignore: decorator
@inline function fillInvalid(table: usize, rootSize: u32): void {
  for (let j: u32 = 0; j < rootSize; j++) store<u32>(table + (j << 2), F_BAD | 0x101);
}

/**
 * Builds the table of `n` code lengths at `at` into `table` (`root` index bits, `size` entries
 * with subtables). False where zlib refuses the set: over-subscribed, or incomplete but for a
 * literal/length or distance set of a single 1-bit code; no codes at all only for distances
 * (any distance code is then invalid). Also false if it would need more than `size` entries.
 */
export function buildTable(at: usize, n: u32, table: usize, root: u32, kind: u32, size: u32): bool {
  // The tables' addresses in locals: a global is loaded again at every use, in every loop.
  const cnt = counts;
  const fst = firsts;
  const srt = sorted;
  const ofs = offs;
  const r8 = rev8;
  const kindSymbols = symbols + (<usize>kind << 2);
  const zero = i64x2.splat(0);
  for (let q: usize = 64; q < 320; q += 64) {
    v128.store(cnt + q, zero);
    v128.store(cnt + q, zero, 16);
    v128.store(cnt + q, zero, 32);
    v128.store(cnt + q, zero, 48);
  }
  // The first half of the symbols counted in the first two parts, the second in the other two,
  // so that the sort below can place both halves at once.
  const h = n >> 1;
  let i: u32 = 0;
  for (; i + 2 <= h; i += 2) {
    const p0 = cnt + 64 + (<usize>load<u8>(at + i) << 2);
    store<u32>(p0, load<u32>(p0) + 1);
    const p1 = cnt + 128 + (<usize>load<u8>(at + i, 1) << 2);
    store<u32>(p1, load<u32>(p1) + 1);
    const p2 = cnt + 192 + (<usize>load<u8>(at + h + i) << 2);
    store<u32>(p2, load<u32>(p2) + 1);
    const p3 = cnt + 256 + (<usize>load<u8>(at + h + i, 1) << 2);
    store<u32>(p3, load<u32>(p3) + 1);
  }
  if (i < h) {
    const p0 = cnt + 64 + (<usize>load<u8>(at + i) << 2);
    store<u32>(p0, load<u32>(p0) + 1);
    const p2 = cnt + 192 + (<usize>load<u8>(at + h + i) << 2);
    store<u32>(p2, load<u32>(p2) + 1);
  }
  if (n & 1) {
    const p3 = cnt + 256 + (<usize>load<u8>(at + n - 1) << 2);
    store<u32>(p3, load<u32>(p3) + 1);
  }
  // All the counts at `cnt`, the first half's at `fst`.
  for (let q: usize = 0; q < 64; q += 16) {
    const a = i32x4.add(v128.load(cnt + q, 64), v128.load(cnt + q, 128));
    v128.store(fst + q, a);
    v128.store(cnt + q, i32x4.add(a, i32x4.add(v128.load(cnt + q, 192), v128.load(cnt + q, 256))));
  }
  let maxLen: u32 = 15;
  while (maxLen > 0 && load<u32>(cnt + (maxLen << 2)) == 0) maxLen--;
  const rootSize: u32 = 1 << root;
  if (maxLen == 0) {
    if (kind != K_DIST) return false;
    fillInvalid(table, rootSize);
    return true;
  }
  let left: i32 = 1;
  for (let len: u32 = 1; len <= 15; len++) {
    left = (left << 1) - <i32>load<u32>(cnt + (len << 2));
    if (left < 0) return false;
  }
  if (left > 0) {
    if (kind == K_CL || maxLen != 1) return false;
    fillInvalid(table, rootSize);
  }
  // Symbols sorted by code length, then by value: the order of their canonical codes. The two
  // halves are placed side by side (the second's symbols of a length after the first's): two
  // chains of increments of a length's next place (a store, then a load of the same address
  // for the next symbol of that length) instead of one.
  let offset: u32 = 0;
  for (let len: u32 = 1; len <= 15; len++) {
    store<u16>(ofs + (len << 1), <u16>offset);
    store<u16>(ofs + (len << 1), <u16>(offset + load<u32>(fst + (len << 2))), 32);
    offset += load<u32>(cnt + (len << 2));
  }
  // Unused symbols (length 0) go after the used ones, which is no branch to mispredict.
  store<u16>(ofs, <u16>offset);
  store<u16>(ofs, <u16>(offset + load<u32>(fst)), 32);
  for (let sym: u32 = 0; sym < h; sym++) {
    const len = <u32>load<u8>(at + sym);
    const o = ofs + (len << 1);
    const k = <u32>load<u16>(o);
    store<u32>(srt + (k << 2), entryOf(kindSymbols, sym, len));
    store<u16>(o, <u16>(k + 1));
    const len2 = <u32>load<u8>(at + h + sym);
    const o2 = ofs + 32 + (len2 << 1);
    const k2 = <u32>load<u16>(o2);
    store<u32>(srt + (k2 << 2), entryOf(kindSymbols, h + sym, len2));
    store<u16>(o2, <u16>(k2 + 1));
  }
  if (n & 1) {
    const len2 = <u32>load<u8>(at + n - 1);
    store<u32>(srt + (<usize>load<u16>(ofs + 32 + (len2 << 1)) << 2), entryOf(kindSymbols, n - 1, len2));
  }
  // Codes up to the root bits: the entries of codes of length `len` depend on an index's low
  // `len` bits only, so the table is built at 2^len entries and doubled by copying, one length
  // after the other, instead of storing each entry 2^(root - len) times.
  let code: u32 = 0;
  i = 0;
  for (let len: u32 = 1; len <= root; len++) {
    if (len > 1) {
      const half = <usize>1 << (len + 1);
      memory.copy(table + half, table, half);
    }
    const c = len <= maxLen ? load<u32>(cnt + (len << 2)) : 0;
    for (let k: u32 = 0; k < c; k++) {
      const e = load<u32>(srt + (i << 2));
      i++;
      const rev = reversed(r8, code, len);
      code++;
      store<u32>(table + (rev << 2), e);
    }
    code <<= 1;
  }
  // Longer codes: through subtables.
  let next: u32 = rootSize;
  let prefix: u32 = 0xffffffff;
  let subBase: u32 = 0;
  let subBits: u32 = 0;
  for (let len: u32 = root + 1; len <= maxLen; len++) {
    const c = load<u32>(cnt + (len << 2));
    for (let k: u32 = 0; k < c; k++) {
      const full = load<u32>(srt + (i << 2));
      i++;
      const rev = reversed(r8, code, len);
      code++;
      if ((rev & (rootSize - 1)) != prefix) {
        // A new subtable: as many index bits as the longest code starting with these root bits.
        // The codes left of this length and the longer ones fill it in order (the code is complete).
        prefix = rev & (rootSize - 1);
        subBits = len - root;
        let cur = len;
        let free = (1 << subBits) - <i32>(c - k);
        while (free > 0 && cur < maxLen) {
          cur++;
          subBits++;
          free = (free << 1) - <i32>load<u32>(cnt + (cur << 2));
        }
        if (next + (1 << subBits) > size) return false;
        subBase = next;
        next += 1 << subBits;
        store<u32>(table + (prefix << 2), (subBase << 16) | F_SUB | (subBits << 8) | root);
      }
      const e = full - ((root << 8) | root); // the entry for the code's bits after the root bits
      for (let j = rev >>> root; j < <u32>1 << subBits; j += 1 << (len - root)) store<u32>(table + ((subBase + j) << 2), e);
    }
    code <<= 1;
  }
  return true;
}

