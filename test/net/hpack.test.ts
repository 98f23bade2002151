// HPACK decoder and encoder against RFC 7541: Appendix C's examples (the byte strings, decoded
// lists, dynamic tables and table sizes below are the RFC's own, section by section), and each
// decoding-error rule of sections 4-6 on blocks built by hand.
import { describe, expect, it } from 'vitest';
import { encodeFields, HeaderListTooLargeError, HpackDecoder, HpackError } from '../../src/net/hpack.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
type Fields = Array<[string, string]>;

function decode(d: HpackDecoder, block: Uint8Array): Fields {
  const out: Fields = [];
  d.decode(block, (n, v) => out.push([n, v]));
  return out;
}

interface Step { block: string; fields: Fields; table: Fields; size: number }
function series(maxTable: number, steps: Step[]): void {
  const d = new HpackDecoder(maxTable);
  for (const s of steps) {
    expect(decode(d, hex(s.block))).toEqual(s.fields);
    expect(d.entries()).toEqual(s.table);
    expect(d.tableSize).toBe(s.size);
  }
}

describe('RFC 7541 Appendix C.2: header field representations', () => {
  it('C.2.1 literal with indexing', () => {
    const d = new HpackDecoder();
    expect(decode(d, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')))
      .toEqual([['custom-key', 'custom-header']]);
    expect(d.entries()).toEqual([['custom-key', 'custom-header']]);
    expect(d.tableSize).toBe(55); // C.2.1: "Table size: 55"
  });
  it('C.2.2 literal without indexing', () => {
    const d = new HpackDecoder();
    expect(decode(d, hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual([[':path', '/sample/path']]);
    expect(d.tableSize).toBe(0);
  });
  it('C.2.3 literal never indexed', () => {
    const d = new HpackDecoder();
    expect(decode(d, hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))).toEqual([['password', 'secret']]);
    expect(d.tableSize).toBe(0);
  });
  it('C.2.4 indexed field', () => {
    const d = new HpackDecoder();
    expect(decode(d, hex('82'))).toEqual([[':method', 'GET']]);
    expect(d.tableSize).toBe(0);
  });
});

const req1: Fields = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const req2: Fields = [...req1, ['cache-control', 'no-cache']];
const req3: Fields = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']];
const reqTables: [Fields, Fields, Fields] = [
  [[':authority', 'www.example.com']],
  [['cache-control', 'no-cache'], [':authority', 'www.example.com']],
  [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']],
];

it('RFC 7541 C.3: requests without Huffman coding (table sizes 57, 110, 164)', () => {
  series(4096, [
    { block: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', fields: req1, table: reqTables[0], size: 57 },
    { block: '8286 84be 5808 6e6f 2d63 6163 6865', fields: req2, table: reqTables[1], size: 110 },
    { block: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65', fields: req3, table: reqTables[2], size: 164 },
  ]);
});

it('RFC 7541 C.4: requests with Huffman coding (same lists and tables as C.3)', () => {
  series(4096, [
    { block: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', fields: req1, table: reqTables[0], size: 57 },
    { block: '8286 84be 5886 a8eb 1064 9cbf', fields: req2, table: reqTables[1], size: 110 },
    { block: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf', fields: req3, table: reqTables[2], size: 164 },
  ]);
});

const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT', date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const loc = 'https://www.example.com', cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const resp1: Fields = [[':status', '302'], ['cache-control', 'private'], ['date', date1], ['location', loc]];
const resp2: Fields = [[':status', '307'], ['cache-control', 'private'], ['date', date1], ['location', loc]];
const resp3: Fields = [[':status', '200'], ['cache-control', 'private'], ['date', date2], ['location', loc], ['content-encoding', 'gzip'], ['set-cookie', cookie]];
const respTables: [Fields, Fields, Fields] = [
  [['location', loc], ['date', date1], ['cache-control', 'private'], [':status', '302']],
  [[':status', '307'], ['location', loc], ['date', date1], ['cache-control', 'private']],
  [['set-cookie', cookie], ['content-encoding', 'gzip'], ['date', date2]],
];

it('RFC 7541 C.5: responses without Huffman coding, table of 256 octets with evictions (222, 222, 215)', () => {
  series(256, [
    { block: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
              2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
              6c65 2e63 6f6d`, fields: resp1, table: respTables[0], size: 222 },
    { block: '4803 3330 37c1 c0bf', fields: resp2, table: respTables[1], size: 222 },
    { block: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
              54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
              5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
              3d31`, fields: resp3, table: respTables[2], size: 215 },
  ]);
});

it('RFC 7541 C.6: responses with Huffman coding (same lists, tables and sizes as C.5)', () => {
  series(256, [
    { block: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
              2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`, fields: resp1, table: respTables[0], size: 222 },
    { block: '4883 640e ffc1 c0bf', fields: resp2, table: respTables[1], size: 222 },
    { block: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
              77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
              9587 3160 65c0 03ed 4ee5 b106 3d50 07`, fields: resp3, table: respTables[2], size: 215 },
  ]);
});

describe('malformed blocks are HpackError (RFC 7541 decoding errors)', () => {
  const bad = (block: string, why: RegExp, d = new HpackDecoder()) =>
    expect(() => decode(d, hex(block))).toThrow(why) as void;
  const isHpack = (block: string) => {
    try { decode(new HpackDecoder(), hex(block)); } catch (e) { return e instanceof HpackError; }
    return false;
  };
  it('index 0 (6.1)', () => { bad('80', /index 0/); expect(isHpack('80')).toBe(true); });
  it('indexes past the tables (2.3.3): 62 with an empty dynamic table, 63 with one entry', () => {
    bad('be', /index 62 beyond the 61/); // 0xbe = indexed 62
    bad('7e 01 61', /index 62 beyond/); // literal with indexing, name index 62
    bad('0f 2f 01 61', /index 62 beyond/); // without indexing, name index 15 + 47 = 62
    const d = new HpackDecoder();
    decode(d, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')); // C.2.1: one entry
    expect(decode(d, hex('be'))).toEqual([['custom-key', 'custom-header']]);
    bad('bf', /index 63 beyond the 62/, d);
  });
  it('integer overflow: over 2^31 - 1, and more than 5 continuation octets (5.1)', () => {
    // 0xff then 7-bit groups: 127 + 0x7f + 0x7f*128 + ... + 0x0f*128^4 = 2^32 + 126 > 2^31 - 1.
    bad('ff ff ff ff ff 0f', /over 2\^31/);
    // 127 + 0 with 6 continuation octets (zero groups keep the value small): too many octets.
    bad('ff 80 80 80 80 80 00', /too many continuation/);
    bad('ff 80', /cut short/); // continuation flag set on the block's last octet
  });
  it('string length past the end of the block (5.2)', () => {
    bad('40 05 61 62', /longer than the rest/); // name of 5 octets, 2 present
    bad('00 01 61', /cut short/); // name "a" then no value at all
  });
  it('Huffman: EOS in the data, padding over 7 bits, padding not ones (5.2)', () => {
    // Name "a" raw; value Huffman. EOS = 30 one bits (Appendix B, code 3fffffff len 30).
    bad('00 01 61 84 ff ff ff fc', /EOS or invalid padding/);
    // 'a' = 00011 (5 bits, Appendix B sym 97): 0x1f = 'a' + 3 one bits; 0x1f 0xff = 'a' + 11 one bits.
    bad('00 01 61 82 1f ff', /EOS or invalid padding/);
    bad('00 01 61 81 ff', /EOS or invalid padding/); // 8 one bits of padding, no symbol
    // '0' = 00000 (sym 48): 0x00 = '0' + 000 padding, not the EOS prefix.
    bad('00 01 61 81 00', /EOS or invalid padding/);
    // and the valid 'a' + 3 one bits decodes:
    expect(decode(new HpackDecoder(), hex('00 01 61 81 1f'))).toEqual([['a', 'a']]);
  });
  it('dynamic table size update: above our limit, after a field (4.2, 6.3)', () => {
    bad('3f e2 1f', /update to 4097, over the limit of 4096/); // 31 + 0x62 + 0x1f*128 = 4097
    expect(decode(new HpackDecoder(), hex('3f e1 1f 82'))).toEqual([[':method', 'GET']]); // 4096 is allowed
    bad('82 20', /after a field/);
  });
  it('a reduced limit requires an update at the next block start, then holds', () => {
    const d = new HpackDecoder();
    decode(d, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')); // C.2.1, 55 octets
    d.setMaxTableSize(40);
    bad('82', /does not start with the dynamic table size update/, d);
    bad('3f 0a', /update to 41, over the limit of 40/, d);
    expect(decode(d, hex('3f 09 82'))).toEqual([[':method', 'GET']]); // update to 40 evicts the 55-octet entry
    expect(d.tableLength).toBe(0);
    expect(decode(d, hex('82'))).toEqual([[':method', 'GET']]); // no further update needed
  });
});

it('an entry larger than the table empties it, without error (RFC 7541 4.4)', () => {
  const d = new HpackDecoder(60);
  decode(d, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')); // 55 octets
  expect(d.tableLength).toBe(1);
  // custom-key: 10 + 30 + 32 = 72 > 60
  decode(d, hex('400a 6375 7374 6f6d 2d6b 6579 1e' + '61'.repeat(30)));
  expect(d.tableLength).toBe(0);
  expect(d.tableSize).toBe(0);
  expect(() => decode(d, hex('be'))).toThrow(/index 62 beyond/);
});

it('a header list over maxHeaderListSize is HeaderListTooLargeError, with the table kept in sync', () => {
  // limit 100: [:method GET] = 7 + 3 + 32 = 42, C.2.1's field = 10 + 13 + 32 = 55 (97 in all), then 42 more.
  const d = new HpackDecoder(4096, 100);
  const seen: Fields = [];
  let err: unknown;
  try { d.decode(hex('82 400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572 82 be'), (n, v) => seen.push([n, v])); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(HeaderListTooLargeError);
  expect(err).not.toBeInstanceOf(HpackError);
  expect(seen).toEqual([[':method', 'GET'], ['custom-key', 'custom-header']]);
  // the literal with indexing was added: the next block can index it (62)
  expect(decode(d, hex('be'))).toEqual([['custom-key', 'custom-header']]);
});

describe('encodeFields', () => {
  it('writes literals without indexing, static name indexes, static pairs indexed (hand-encoded per RFC 7541 6.1, 6.2.2)', () => {
    const out = encodeFields([[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '0'], ['retry-after', '7'], ['Grpc-Message', 'x'.repeat(200)]]);
    const want = Buffer.concat([
      hex('88'), // :status 200 is static entry 8 (Appendix A)
      hex('0f 10 10'), Buffer.from('application/grpc'), // content-type: name index 31 = 15 + 16 (4-bit prefix), 16 octets
      hex('00 0b'), Buffer.from('grpc-status'), hex('01 30'),
      hex('0f 26 01 37'), // retry-after: name index 53 = 15 + 38
      hex('00 0c'), Buffer.from('grpc-message'), hex('7f 49'), Buffer.from('x'.repeat(200)), // 200 = 127 + 73
    ]);
    expect(out.toString('hex')).toBe(want.toString('hex'));
    expect(decode(new HpackDecoder(), out)).toEqual([[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '0'], ['retry-after', '7'], ['grpc-message', 'x'.repeat(200)]]);
  });
  it('rejects a char over U+00FF', () => {
    expect(() => encodeFields([['grpc-message', 'é ok, € not']])).toThrow(RangeError);
  });
});

it('random and mutated blocks: each decodes or throws HpackError / HeaderListTooLargeError, the table within its maximum (RFC 7541 4.4)', () => {
  let seed = 0x2545f491;
  const rand = (n: number) => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n; };
  const seeds = [
    '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
    '3f e1 1f 400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
  ].map(hex);
  const outcomes = { ok: 0, hpack: 0, list: 0 };
  for (let conn = 0; conn < 300; conn++) {
    const d = new HpackDecoder(rand(2) ? 256 : 4096, rand(2) ? 120 : 4096);
    for (let k = 0; k < 25; k++) {
      let block: Buffer;
      if (rand(2)) { // a real block with a few octets flipped, cut or inserted
        block = Buffer.from(seeds[rand(seeds.length)]!);
        for (let m = rand(4); m >= 0; m--) block[rand(block.length)] = rand(256);
        if (rand(4) === 0) block = block.subarray(0, rand(block.length + 1));
      } else { // random octets, biased to small indexes and short lengths
        block = Buffer.from(Array.from({ length: rand(40) }, () => (rand(3) ? rand(256) : rand(8) | (rand(2) ? 0x80 : 0x40))));
      }
      try {
        d.decode(block, (n, v) => { if (typeof n !== 'string' || typeof v !== 'string') throw new TypeError('not strings'); });
        outcomes.ok++;
      } catch (e) {
        if (e instanceof HeaderListTooLargeError) outcomes.list++;
        else if (e instanceof HpackError) outcomes.hpack++;
        else throw e; // anything else is a defect: a crash on bad input
      }
      expect(d.tableSize).toBeLessThanOrEqual(4096);
      expect(d.entries().reduce((a, [n, v]) => a + n.length + v.length + 32, 0)).toBe(d.tableSize);
    }
  }
  // every outcome happened (the generator reaches all three)
  expect(outcomes.ok).toBeGreaterThan(100);
  expect(outcomes.hpack).toBeGreaterThan(100);
  expect(outcomes.list).toBeGreaterThan(0);
});

it('a raised limit: the table keeps its entries and takes an update up to the new limit (RFC 7541 4.2)', () => {
  const d = new HpackDecoder(64);
  decode(d, hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')); // C.2.1: 55 octets
  d.setMaxTableSize(200);
  expect(d.entries()).toEqual([['custom-key', 'custom-header']]);
  // update to 200 (31 + 0x29 + 1 * 128), then 'a: b' thrice with incremental indexing (new name, 1 + 1 + 32 = 34 octets each)
  expect(decode(d, hex('3f a9 01 4001 6101 62 4001 6101 62 4001 6101 62 be c1'))).toEqual([['a', 'b'], ['a', 'b'], ['a', 'b'], ['a', 'b'], ['custom-key', 'custom-header']]);
  expect(d.tableSize).toBe(55 + 3 * 34); // 157 <= 200: nothing evicted
  expect(d.tableLength).toBe(4);
  expect(() => decode(d, hex('3f aa 01'))).toThrow(/update to 201, over the limit of 200/);
});

it('a long literal sent again (the decoder remembers the last one) decodes as the first time; one octet or the Huffman flag changed, as itself', () => {
  // RFC 7541 C.6.1 and C.6.3: the Huffman-coded dates, 22 octets each, one octet apart. Here each
  // as a literal without indexing (6.2.2) of the static name "date" (index 33: 0f 12), so that the
  // same octets come again as the same literal rather than as an index.
  const h1 = 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff';
  const h2 = 'd07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff';
  const d = new HpackDecoder();
  const huffmanDate = (octets: string): Buffer => hex(`0f12 96 ${octets}`); // 0x80 | 22
  expect(decode(d, huffmanDate(h1))).toEqual([['date', date1]]);
  expect(decode(d, huffmanDate(h1))).toEqual([['date', date1]]);
  expect(decode(d, huffmanDate(h2))).toEqual([['date', date2]]);
  // The same 22 octets as a raw literal (0x16): the octets themselves, latin1.
  expect(decode(d, hex(`0f12 16 ${h1}`))).toEqual([['date', hex(h1).toString('latin1')]]);
  expect(decode(d, huffmanDate(h1))).toEqual([['date', date1]]);
  expect(d.tableLength).toBe(0);
});
