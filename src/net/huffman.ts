// HPACK's Huffman code (RFC 7541 Appendix B) and a decoder that reads 4 bits at a time.
//
// The code is canonical: ordered by (length, symbol), each code is the previous one plus one,
// shifted left by the growth in length (this is how Appendix B's codes run; test/net/huffman.test.ts
// checks the codes derived here against Appendix B's rows). So the table below is Appendix B's
// "len" column alone, symbols 0..255 and EOS (256); the codes are derived from it.
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //   0-15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //  16-31
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, //          32-47
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, //               48-63
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, //                 64-79
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, //              80-95
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, //                 96-111
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, //             112-127
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
  30, //                                                              256 (EOS)
];
export const EOS = 256;

/** Appendix B's codes, derived canonically from the lengths: `codes[sym]`, `lengths[sym]` (0..256). */
export function huffmanCodes(): { codes: number[]; lengths: number[] } {
  const order = CODE_LENGTHS.map((_, s) => s).sort((a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b);
  const codes = new Array<number>(CODE_LENGTHS.length).fill(0);
  let code = 0;
  for (let k = 1; k < order.length; k++) {
    const sym = order[k]!;
    code = (code + 1) * 2 ** (CODE_LENGTHS[sym]! - CODE_LENGTHS[order[k - 1]!]!);
    codes[sym] = code;
  }
  return { codes, lengths: CODE_LENGTHS.slice() };
}

// Decoding automaton: one state per internal node of the code tree (256 for 257 leaves), 16
// transitions per state (one per nibble). The shortest code is 5 bits, so a nibble completes at
// most one symbol. Entry: next state (bits 0-7), symbol (8-15), EMIT, FAIL (EOS reached), ACCEPT
// (the next state is on the all-ones path within 7 bits of the root: a valid end, RFC 7541 5.2).
const EMIT = 1 << 16;
const FAIL = 1 << 17;
const ACCEPT = 1 << 18;
const TABLE = buildTable();

function buildTable(): Uint32Array {
  const { codes, lengths } = huffmanCodes();
  // child[node * 2 + bit]: >= 0 an internal node, < 0 the leaf -(symbol + 1).
  const child: number[] = [0, 0];
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    let node = 0;
    for (let i = lengths[sym]! - 1; i >= 0; i--) {
      const bit = Math.floor(codes[sym]! / 2 ** i) & 1;
      if (i === 0) { child[node * 2 + bit] = -(sym + 1); break; }
      if (child[node * 2 + bit] === 0) { child[node * 2 + bit] = nodes++; child.push(0, 0); }
      node = child[node * 2 + bit]!;
    }
  }
  const accepting = new Uint8Array(nodes);
  for (let node = 0, depth = 0; depth <= 7 && node >= 0; depth++) { accepting[node] = 1; node = child[node * 2 + 1]!; }
  const table = new Uint32Array(nodes * 16);
  for (let state = 0; state < nodes; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state, entry = 0;
      for (let i = 3; i >= 0; i--) {
        const next = child[node * 2 + ((nibble >> i) & 1)]!;
        if (next >= 0) { node = next; continue; }
        const sym = -next - 1;
        if (sym === EOS) { entry |= FAIL; break; }
        entry |= EMIT | (sym << 8);
        node = 0;
      }
      table[state * 16 + nibble] = entry | node | (accepting[node] ? ACCEPT : 0);
    }
  }
  return table;
}

/**
 * Decodes the Huffman-coded octets `src[start, end)` into `out` (which must hold at least
 * `floor((end - start) * 8 / 5)` octets). Returns the decoded length, or -1 when the data holds
 * EOS, or ends with padding longer than 7 bits or not all ones (RFC 7541 5.2: decoding errors).
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let state = 0, n = 0, entry = ACCEPT;
  for (let p = start; p < end; p++) {
    const b = src[p]!;
    entry = TABLE[(state << 4) | (b >> 4)]!;
    if (entry & FAIL) return -1;
    if (entry & EMIT) out[n++] = (entry >> 8) & 0xff;
    state = entry & 0xff;
    entry = TABLE[(state << 4) | (b & 15)]!;
    if (entry & FAIL) return -1;
    if (entry & EMIT) out[n++] = (entry >> 8) & 0xff;
    state = entry & 0xff;
  }
  return entry & ACCEPT ? n : -1;
}
