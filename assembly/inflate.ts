// Raw deflate (RFC 1951) from bytes in WASM memory into WASM memory, for gzip request bodies
// (src/otlp/gzip.ts): the host copies a member's compressed bytes to inflate_source() and the
// core inflates them straight into its input buffer. This Node's zlib (Chromium's fork, which
// copies matches in SIMD chunks too) takes ~118 us per bench body, this decoder ~102 (issue 20,
// p34i: fewer cycles per symbol, though not fewer instructions). It reads
// the bits from a 64-bit buffer refilled a word at a time, decodes a literal/length code or a
// distance code with one table lookup (a second for the few codes longer than the table's
// bits), writes runs of literals without leaving the fast loop and copies matches 16 bytes at a
// time (inflatetables.ts builds the tables).
//
// It must never be more lenient than zlib, whose gunzip the host falls back to: every stream it
// does not finish itself is INFLATE_REFUSED and inflated again by zlib, which then gives the
// output or its own error. So whatever zlib rejects (RFC 1951's rules and zlib's: block type 3,
// a stored length not matching its complement, a bad code set, a symbol or distance the code
// cannot have, a distance before the start of the output, input ending early) is refused here,
// and INFLATE_FULL is only answered for output that is certainly valid.
import { INFLATE_FULL, INFLATE_REFUSED } from './layout';
import {
  F_LIT, F_SUB, F_EOB, F_BAD, LIT_BITS, DIST_BITS, CL_BITS, K_LIT, K_DIST, K_CL, LIT_SIZE, DIST_SIZE, DIST_OFFSET,
  initTables, buildTable, lens, clOrder, clTable, litTable, distTable, fixedLit,
} from './inflatetables';

/**
 * Zero bytes kept after the source: the bit buffer loads eight bytes at any position up to the
 * source's end, and those past it must read as zeros (they are never taken as data: a stream
 * that uses a bit past the end is refused).
 */
const SOURCE_SLACK: usize = 16;
/** The fast loop runs while this many source bytes are left (four refills of at most 7 bytes) ... */
const FAST_IN: usize = 32;
/** ... and this many bytes of output room (a 258-byte match copied in 64-byte steps, rounded up). */
const FAST_OUT: usize = 320;

let source: usize = 0;
let sourceCap: usize = 0;
/** Where the deflate data ended in the source after the last complete inflate (the gzip trailer follows). */
let end: usize = 0;

// The decoder's state between blocks.
let bits: u64 = 0;
let count: u32 = 0;
let inPos: usize = 0;
let outPos: usize = 0;

/** Address of a buffer of at least `n` bytes for compressed data; kept and reused, reallocated only to grow. */
export function inflateSource(n: usize): usize {
  if (n > sourceCap) {
    if (source != 0) heap.free(source);
    // Grown to at least 64 KiB at once: gzip bodies of a few KiB to a few hundred come in any order.
    const cap = max(n, <usize>65536 - SOURCE_SLACK);
    source = heap.alloc(cap + SOURCE_SLACK);
    sourceCap = cap;
  }
  return source;
}

/** Where the deflate data ended in the source (the byte after its last), after an inflate that returned a length. */
export function inflateEnd(): usize {
  return end;
}

/**
 * Inflates the raw deflate data from byte `from` of the `n` bytes at inflateSource() into
 * `dst`, writing at most `cap` bytes. Returns the bytes written, -INFLATE_FULL when the output
 * needs more than `cap` bytes (nothing refused so far), or -INFLATE_REFUSED for anything the
 * core leaves to zlib.
 */
export function inflate(from: usize, n: usize, dst: usize, cap: usize): i32 {
  if (n > sourceCap || from > n) return -INFLATE_REFUSED;
  initTables();
  v128.store(source + n, i64x2.splat(0));
  bits = 0;
  count = 0;
  inPos = source + from;
  outPos = dst;
  const inEnd = source + n;
  const outEnd = dst + cap;
  for (;;) {
    refillSlow(inEnd);
    const header = <u32>bits & 7;
    take(3);
    if (overrun(inEnd)) return -INFLATE_REFUSED;
    const type = header >>> 1;
    let r: i32;
    if (type == 0) r = stored(inEnd, outEnd);
    else if (type == 1) r = huffman(fixedLit, dst, inEnd, outEnd);
    else if (type == 2) r = dynamic(inEnd) ? huffman(litTable, dst, inEnd, outEnd) : -INFLATE_REFUSED;
    else r = -INFLATE_REFUSED;
    if (r != 0) return r;
    if (header & 1) break;
  }
  end = inPos - (count >>> 3) - source;
  return <i32>(outPos - dst);
}

// @ts-ignore: decorator
@inline function take(k: u32): void {
  bits >>= <u64>k;
  count -= k;
}

/**
 * Tops the bit buffer up to at least 56 bits. Past the source's end nothing is loaded (the bits
 * there are zeros) but the position still advances, so overrun() sees bits taken past the end.
 */
// @ts-ignore: decorator
@inline function refillSlow(inEnd: usize): void {
  if (inPos <= inEnd) bits |= load<u64>(inPos) << <u64>count;
  inPos += <usize>((63 - count) >>> 3);
  count |= 56;
}

/** Whether more bits were taken than the source holds. */
// @ts-ignore: decorator
@inline function overrun(inEnd: usize): bool {
  return (<i64>inPos - <i64>inEnd) * 8 > <i64>count;
}

/**
 * Reads a dynamic block's code lengths (RFC 1951 §3.2.7) and builds its tables; false for
 * anything zlib refuses (HLIT past 286 or HDIST past 30 symbols, a bad code-length code, a
 * repeat with nothing before it or past the last length, no end-of-block code, a bad code set)
 * or input ending early.
 */
function dynamic(inEnd: usize): bool {
  refillSlow(inEnd);
  const h = <u32>bits;
  take(14);
  const nlen = (h & 31) + 257;
  const ndist = ((h >>> 5) & 31) + 1;
  const ncode = ((h >>> 10) & 15) + 4;
  if (nlen > 286 || ndist > 30) return false;
  v128.store(lens, i64x2.splat(0));
  store<u32>(lens, 0, 16);
  for (let i: u32 = 0; i < ncode; i++) {
    if (count < 3) refillSlow(inEnd);
    store<u8>(lens + <usize>load<u8>(clOrder + i), <u8>bits & 7);
    take(3);
  }
  if (overrun(inEnd) || !buildTable(lens, 19, clTable, CL_BITS, K_CL, 1 << CL_BITS)) return false;
  const all = nlen + ndist;
  const clMask: usize = (1 << CL_BITS) - 1;
  // The bit buffer in locals for the loop (the globals would be stored at every take).
  let b = bits;
  let c = count;
  let ip = inPos;
  const table = clTable; // a local: a global is loaded again at every use
  let i: u32 = 0;
  while (i < all) {
    if (ip <= inEnd) b |= load<u64>(ip) << <u64>c;
    ip += <usize>((63 - c) >>> 3);
    c |= 56;
    // A length (symbol below 16): up to four on one refill (codes of at most 7 bits), each
    // entry looked up before the last is stored, so that the lookups chain through the bit
    // buffer alone, not through the refill too. A repeat code found after the first is looked
    // up again after the next refill.
    let e = load<u32>(table + ((<usize>b & clMask) << 2));
    if (e < (16 << 16)) {
      let k = 0;
      do {
        store<u8>(lens + i, <u8>(e >>> 16));
        i++;
        b >>= <u64>e; // the code's bits are e's low bits (i64.shr_u takes the count mod 64)
        c -= e & 0xff;
        e = load<u32>(table + ((<usize>b & clMask) << 2));
        k++;
      } while (e < (16 << 16) && k < 4 && i < all);
      continue;
    }
    b >>= <u64>e;
    c -= e & 0xff;
    const sym = e >>> 16;
    // 16: the previous length 3-6 times; 17: 3-10 zeros; 18: 11-138 zeros.
    let v: u8 = 0;
    let rep: u32;
    if (sym == 16) {
      if (i == 0) return false;
      v = load<u8>(lens + i - 1);
      rep = 3 + (<u32>b & 3);
      b >>= 2;
      c -= 2;
    } else if (sym == 17) {
      rep = 3 + (<u32>b & 7);
      b >>= 3;
      c -= 3;
    } else {
      rep = 11 + (<u32>b & 127);
      b >>= 7;
      c -= 7;
    }
    if (rep > all - i) return false;
    // Sixteen at a time (lens has room for the last store past the end; later lengths overwrite it).
    const fill = i8x16.splat(v);
    for (let q: u32 = 0; q < rep; q += 16) v128.store(lens + i + q, fill);
    i += rep;
  }
  bits = b;
  count = c;
  inPos = ip;
  if (overrun(inEnd) || load<u8>(lens + 256) == 0) return false;
  return buildTable(lens, nlen, litTable, LIT_BITS, K_LIT, LIT_SIZE) && buildTable(lens + nlen, ndist, distTable, DIST_BITS, K_DIST, DIST_SIZE);
}

/** A stored block (RFC 1951 §3.2.4): 0, or -INFLATE_FULL / -INFLATE_REFUSED. */
function stored(inEnd: usize, outEnd: usize): i32 {
  // Skip to the byte boundary; the bytes still in the buffer are taken again from memory.
  take(count & 7);
  const p = inPos - (count >>> 3);
  if (p + 4 > inEnd) return -INFLATE_REFUSED;
  const len = <usize>load<u16>(p);
  if ((len ^ <usize>load<u16>(p, 2)) != 0xffff) return -INFLATE_REFUSED;
  if (p + 4 + len > inEnd) return -INFLATE_REFUSED;
  if (len > outEnd - outPos) return -INFLATE_FULL;
  memory.copy(outPos, p + 4, len);
  outPos += len;
  inPos = p + 4 + len;
  bits = 0;
  count = 0;
  return 0;
}

/**
 * The symbols of one Huffman block (RFC 1951 §3.2.5) up to its end-of-block code: 0, or
 * -INFLATE_FULL / -INFLATE_REFUSED. `lit` is the block's literal/length table (its distance
 * table at DIST_OFFSET after it); `dst` is the start
 * of the output (no distance reaches before it).
 */
function huffman(lit: usize, dst: usize, inEnd: usize, outEnd: usize): i32 {
  let b = bits;
  let c = count;
  let ip = inPos;
  let op = outPos;
  const litMask: u64 = (1 << LIT_BITS) - 1;
  const distMask: u64 = (1 << DIST_BITS) - 1;
  // Fast loop: every load within the source, every store within the output's room. After a
  // refill all 64 bits of the buffer are the stream's (count says how many are not yet taken),
  // and a symbol takes at most 48 (a 20-bit length and a 28-bit distance): so the next entry is
  // looked up before a match is copied and before the refill, off the lookups' chain.
  const inFast = inEnd - source > FAST_IN ? inEnd - FAST_IN : source;
  const outFast = outEnd - op > FAST_OUT ? outEnd - FAST_OUT : op;
  let e: u32 = 0;
  for (;;) {
    if (ip < inFast && op < outFast) {
      b |= load<u64>(ip) << <u64>c;
      ip += <usize>((~c >>> 3) & 7);
      c |= 56;
    }
    c &= 63;
    e = load<u32>(lit + ((<usize>b & <usize>litMask) << 2));
    while (ip < inFast && op < outFast) {
      if (e & F_LIT) {
        // Up to four literals (at most 11 bits each from the root table) on one refill.
        store<u8>(op, e >>> 16);
        op++;
        b >>= <u64>e; // the count is e's low 6 bits (i64.shr_u takes it mod 64): no mask on the chain
        c -= e;
        e = load<u32>(lit + ((<usize>b & <usize>litMask) << 2));
        if (e & F_LIT) {
          store<u8>(op, e >>> 16);
          op++;
          b >>= <u64>e;
          c -= e;
          e = load<u32>(lit + ((<usize>b & <usize>litMask) << 2));
          if (e & F_LIT) {
            store<u8>(op, e >>> 16);
            op++;
            b >>= <u64>e;
            c -= e;
            e = load<u32>(lit + ((<usize>b & <usize>litMask) << 2));
            if (e & F_LIT) {
              store<u8>(op, e >>> 16);
              op++;
              b >>= <u64>e;
              c -= e;
              e = load<u32>(lit + ((<usize>b & <usize>litMask) << 2));
            }
          }
        }
        b |= load<u64>(ip) << <u64>c;
        ip += <usize>((~c >>> 3) & 7);
        c |= 56;
        continue;
      }
      // A code longer than the root bits, end of block or a bad symbol: the slow step below.
      if (e & (F_SUB | F_EOB | F_BAD)) break;
      // b - (rest << bits) is the bits taken (fewer operations than a mask, and rest is needed anyway).
      let rest = b >> <u64>e;
      const length = <usize>(e >>> 16) + <usize>((b - (rest << <u64>e)) >> <u64>((e >>> 8) & 15));
      b = rest;
      c -= e;
      e = load<u32>(lit + ((<usize>b & <usize>distMask) << 2), DIST_OFFSET);
      if (e & (F_SUB | F_BAD)) {
        if (e & F_BAD) return -INFLATE_REFUSED;
        b >>= <u64>DIST_BITS;
        c -= DIST_BITS;
        e = subEntry(lit + DIST_OFFSET, e, b);
        if (e & F_BAD) return -INFLATE_REFUSED;
      }
      rest = b >> <u64>e;
      const d = <usize>(e >>> 16) + <usize>((b - (rest << <u64>e)) >> <u64>((e >>> 8) & 15));
      b = rest;
      c -= e;
      if (d > op - dst) return -INFLATE_REFUSED;
      e = load<u32>(lit + ((<usize>b & <usize>litMask) << 2));
      op = copyMatch(op, d, length);
      b |= load<u64>(ip) << <u64>c;
      ip += <usize>((~c >>> 3) & 7);
      c |= 56;
    }
    c &= 63;
    // One symbol checked for both ends: near the end of the source or of the room, or what the
    // fast loop leaves (a long code, the end of the block).
    {
      if (ip <= inEnd) b |= load<u64>(ip) << <u64>c;
      ip += <usize>((63 - c) >>> 3);
      c |= 56;
      e = load<u32>(lit + ((<usize>b & <usize>litMask) << 2));
      if (e & F_SUB) {
        b >>= <u64>LIT_BITS;
        c -= LIT_BITS;
        e = subEntry(lit, e, b);
      }
      if (e & F_BAD) return -INFLATE_REFUSED;
      let total = e & 0xff;
      const length = valueOf(e, b, total);
      b >>= <u64>total;
      c -= total;
      if ((<i64>ip - <i64>inEnd) * 8 > <i64>c) return -INFLATE_REFUSED;
      if (e & F_LIT) {
        if (op >= outEnd) return -INFLATE_FULL;
        store<u8>(op, e >>> 16);
        op++;
        continue;
      }
      if (e & F_EOB) {
        bits = b;
        count = c;
        inPos = ip;
        outPos = op;
        return 0;
      }
      e = load<u32>(lit + ((<usize>b & <usize>distMask) << 2), DIST_OFFSET);
      if (e & F_SUB) {
        b >>= <u64>DIST_BITS;
        c -= DIST_BITS;
        e = subEntry(lit + DIST_OFFSET, e, b);
      }
      if (e & F_BAD) return -INFLATE_REFUSED;
      total = e & 0xff;
      const d = valueOf(e, b, total);
      b >>= <u64>total;
      c -= total;
      if ((<i64>ip - <i64>inEnd) * 8 > <i64>c) return -INFLATE_REFUSED;
      if (d > op - dst) return -INFLATE_REFUSED;
      if (length > outEnd - op) return -INFLATE_FULL;
      // Byte by byte: the room may end right after the match.
      const from = op - d;
      for (let i: usize = 0; i < length; i++) store<u8>(op + i, load<u8>(from + i));
      op += length;
    }
  }
  // @ts-ignore: unreachable (the loop only returns)
  return 0;
}
/** The entry a subtable pointer `e` of `table` leads to, for the bits of `b` after the root bits taken. */
// @ts-ignore: decorator
@inline function subEntry(table: usize, e: u32, b: u64): u32 {
  return load<u32>(table + ((<usize>(e >>> 16) + (<usize>b & ((<usize>1 << ((e >>> 8) & 15)) - 1))) << 2));
}

/** A length or distance entry's value: its base plus the extra bits that follow its code in `b` (`total` bits: the code's, then the extra). */
// @ts-ignore: decorator
@inline function valueOf(e: u32, b: u64, total: u32): usize {
  return <usize>(e >>> 16) + <usize>((b & ~(<u64>-1 << <u64>total)) >> <u64>((e >>> 8) & 15));
}

/**
 * Copies `length` bytes from `d` bytes back to `op` and returns the end; may write up to 63
 * bytes past it (the fast loop leaves FAST_OUT bytes of room). A copy reads only bytes already
 * written: with d >= 16 each 16-byte load ends at or before the store of the chunk before it.
 */
// @ts-ignore: decorator
@inline function copyMatch(op: usize, d: usize, length: usize): usize {
  const stop = op + length;
  let from = op - d;
  if (d >= 16) {
    // 64 bytes a step whatever the length: most matches are shorter (the bench's average is
    // 34-39 bytes), and a branch on the length mispredicts often. A longer match (1 in 6 of the
    // bench's, a third of them past 192 bytes) takes a step per 64 bytes: its loop branches a
    // quarter as often as with one chunk a step, and the first 64 bytes need no branch of their
    // own (2% less time per bench body, issue 20, p36i).
    let o = op;
    do {
      v128.store(o, v128.load(from));
      v128.store(o, v128.load(from, 16), 16);
      v128.store(o, v128.load(from, 32), 32);
      v128.store(o, v128.load(from, 48), 48);
      o += 64;
      from += 64;
    } while (o < stop);
  } else if (d == 1) {
    // A run of one byte (distance 1): the byte repeated.
    const v = i8x16.splat(load<u8>(from));
    let o = op;
    do {
      v128.store(o, v);
      o += 16;
    } while (o < stop);
  } else if (d >= 8) {
    let o = op;
    do {
      store<u64>(o, load<u64>(from));
      o += 8;
      from += 8;
    } while (o < stop);
  } else {
    for (let o = op; o < stop; o++) {
      store<u8>(o, load<u8>(from));
      from++;
    }
  }
  return stop;
}
