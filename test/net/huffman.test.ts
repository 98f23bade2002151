// The Huffman code derived from Appendix B's lengths (src/net/huffman.ts) against Appendix B's
// own rows, and the 4-bit decoding automaton against the code. (The full table was also checked,
// once, against golang.org/x/net/http2/hpack's huffmanCodes/huffmanCodeLen v0.63.0: 256 symbols,
// no difference; the decoder is checked end to end by RFC 7541 C.4/C.6 in hpack.test.ts and by
// nghttp2's Huffman-coded blocks in hpack-real.test.ts.)
import { describe, expect, it } from 'vitest';
import { EOS, huffmanCodes, huffmanDecode } from '../../src/net/huffman.js';

const { codes, lengths } = huffmanCodes();

describe('RFC 7541 Appendix B', () => {
  it('rows 0-26 ("code as hex", "len") and EOS', () => {
    // Appendix B, symbols 0..26, verbatim: [hex, len]
    const rows: Array<[number, number]> = [
      [0x1ff8, 13], [0x7fffd8, 23], [0xfffffe2, 28], [0xfffffe3, 28], [0xfffffe4, 28], [0xfffffe5, 28],
      [0xfffffe6, 28], [0xfffffe7, 28], [0xfffffe8, 28], [0xffffea, 24], [0x3ffffffc, 30], [0xfffffe9, 28],
      [0xfffffea, 28], [0x3ffffffd, 30], [0xfffffeb, 28], [0xfffffec, 28], [0xfffffed, 28], [0xfffffee, 28],
      [0xfffffef, 28], [0xffffff0, 28], [0xffffff1, 28], [0xffffff2, 28], [0x3ffffffe, 30], [0xffffff3, 28],
      [0xffffff4, 28], [0xffffff5, 28], [0xffffff6, 28],
    ];
    rows.forEach(([code, len], sym) => { expect([codes[sym], lengths[sym]]).toEqual([code, len]); });
    expect([codes[EOS], lengths[EOS]]).toEqual([0x3fffffff, 30]); // "EOS (256) |11111111|...|111111 3fffffff [30]"
    // The strings of RFC 7541 C.4.1: "www.example.com" Huffman-coded is f1e3 c2e5 f23a 6ba0 ab90 f4ff;
    // its first octet f1 = 1111000 ('w', 7 bits) + 1 ...: 'w' (119) is 0x78 of 7 bits.
    expect([codes[119], lengths[119]]).toEqual([0x78, 7]);
  });

  it('is a complete prefix code: Kraft sum exactly 1, no code a prefix of another', () => {
    let kraft = 0;
    for (let s = 0; s <= EOS; s++) kraft += 2 ** -lengths[s]!;
    expect(kraft).toBe(1);
    const bits = codes.map((c, s) => c.toString(2).padStart(lengths[s]!, '0')).sort();
    for (let i = 1; i < bits.length; i++) expect(bits[i]!.startsWith(bits[i - 1]!)).toBe(false);
  });
});

describe('huffmanDecode (4 bits at a time)', () => {
  // Packs symbols with the code above, padding with ones (RFC 7541 5.2).
  function encode(syms: number[]): Uint8Array {
    let s = '';
    for (const sym of syms) s += codes[sym]!.toString(2).padStart(lengths[sym]!, '0');
    while (s.length % 8) s += '1';
    return Uint8Array.from(s.match(/.{8}/g) ?? [], (b) => parseInt(b, 2));
  }
  it('decodes every symbol 0-255, alone and in a run, at every bit offset', () => {
    const out = new Uint8Array(4096);
    for (let sym = 0; sym < 256; sym++) {
      for (let lead = 0; lead < 8; lead++) {
        const syms = [...Array<number>(lead).fill(48), sym, 97, sym]; // '0' (5 bits) shifts the offset
        const data = encode(syms);
        const n = huffmanDecode(data, 0, data.length, out);
        expect([...out.subarray(0, n)]).toEqual(syms);
      }
    }
  });
  it('decodes RFC 7541 C.4.1\'s "www.example.com"', () => {
    const data = Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex');
    const out = new Uint8Array(64);
    expect(Buffer.from(out.subarray(0, huffmanDecode(data, 0, data.length, out))).toString()).toBe('www.example.com');
  });
});
