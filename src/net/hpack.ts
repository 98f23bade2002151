// HPACK (RFC 7541): the header compression of HTTP/2, for the built-in h2c gRPC transport.
// The decoder keeps a connection's dynamic table; the encoder is stateless (our answers are few,
// short literals: "literal without indexing", RFC 7541 6.2.2, so no table to keep in sync).
// Header octets map to strings as latin1 (one char per octet, as node:http2 does).
import { huffmanDecode } from './huffman.js';
import { Buffer } from 'node:buffer'; // not the global: an accessor, called through an IC at each use (net/shapes.ts)

/** A malformed header block (RFC 7541 decoding error): answer a connection error COMPRESSION_ERROR. */
export class HpackError extends Error {
  constructor(message: string) { super(`HPACK: ${message}`); this.name = 'HpackError'; }
}

/**
 * The block decoded well but its header list is over `maxHeaderListSize` (RFC 7540 6.5.2: the sum
 * of name + value + 32 per field). Not an HpackError: the block was processed whole, so the
 * dynamic table stays in sync and only the stream needs an answer (RFC 7540 10.5.1); fields
 * after the limit were not passed to onField.
 */
export class HeaderListTooLargeError extends Error {
  constructor(readonly size: number, readonly limit: number) {
    super(`header list of ${size}+ octets is over the limit of ${limit}`);
    this.name = 'HeaderListTooLargeError';
  }
}

/** RFC 7541 Appendix A: the static table, index 1..61 (index 0 unused). */
export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''],
  ['cache-control', ''], ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''],
  ['content-length', ''], ['content-location', ''], ['content-range', ''], ['content-type', ''],
  ['cookie', ''], ['date', ''], ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''],
  ['if-match', ''], ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''],
  ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''],
  ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''],
  ['retry-after', ''], ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''],
  ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length - 1; // 61
const ENTRY_OVERHEAD = 32; // RFC 7541 4.1
const MAX_INT = 0x7fffffff;
const MAX_INT_CONTINUATIONS = 5; // 5 x 7 bits covers 2^31 above any prefix
/** String literals of this many octets and up (to MEMO_MAX_OCTETS) are remembered (HpackDecoder.str); shorter ones decode about as fast as they compare. */
const MEMO_MIN_OCTETS = 16;
const MEMO_MAX_OCTETS = 1024;

export class HpackDecoder {
  // Dynamic table: a ring of decoded strings, newest at `top`; dynamic index 1 is the newest.
  private names: string[] = [];
  private values: string[] = [];
  private cap = 0;
  private top = -1;
  private count = 0;
  private size = 0;
  private maxSize: number; // the encoder's current maximum (its last size update)
  private limit: number; // the maximum we advertise (SETTINGS_HEADER_TABLE_SIZE, once acknowledged)
  private updateDue = false; // the limit fell below maxSize: the next block must start with an update
  private p = 0; // read position in the current block
  private scratch = Buffer.allocUnsafe(256);
  // The last long string literal decoded, as its octets (Huffman flag first) and its string: a
  // client that does not index a field sends the same literal on every request (nghttp2, so
  // node:http2 and grpc-js, never indexes :path), decoded once per connection rather than per request.
  private memoOctets = Buffer.allocUnsafe(64);
  private memoLength = -1; // octets of memoOctets in use (-1: none)
  private memoString = '';

  constructor(maxTableSize = 4096, private maxHeaderListSize = 65536) {
    this.maxSize = this.limit = maxTableSize;
    this.grow(maxTableSize);
  }

  /** Our SETTINGS_HEADER_TABLE_SIZE, once the peer has acknowledged it (RFC 7541 4.2). */
  setMaxTableSize(n: number): void {
    this.limit = n;
    this.grow(n);
    if (n < this.maxSize) this.updateDue = true;
  }

  /** Current dynamic table: octets (RFC 7541 4.1) and entries. */
  get tableSize(): number { return this.size; }
  get tableLength(): number { return this.count; }
  /** The dynamic table's entries, newest first (tests and diagnostics). */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let d = 1; d <= this.count; d++) { const at = this.at(STATIC_COUNT + d); out.push([this.names[at]!, this.values[at]!]); }
    return out;
  }

  /**
   * Decodes one complete header block; calls onField per field, in order. onField must not throw:
   * the rest of the block would go unread and the table out of step with the peer's encoder.
   */
  decode(block: Uint8Array, onField: (name: string, value: string) => void): void {
    const buf = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const end = buf.length;
    let listSize = 0, fields = 0;
    this.p = 0;
    if (this.updateDue && (end === 0 || (buf[0]! & 0xe0) !== 0x20)) {
      throw new HpackError('the block does not start with the dynamic table size update the reduced limit requires');
    }
    while (this.p < end) {
      const b = buf[this.p]!;
      let name: string, value: string;
      if (b & 0x80) { // 6.1 indexed field
        const index = this.int(buf, 7);
        if (index === 0) throw new HpackError('indexed field with index 0');
        if (index <= STATIC_COUNT) { name = STATIC_TABLE[index]![0]; value = STATIC_TABLE[index]![1]; } else {
          const at = this.at(index);
          name = this.names[at]!; value = this.values[at]!;
        }
      } else if (b & 0x40) { // 6.2.1 literal with incremental indexing
        const index = this.int(buf, 6);
        name = index === 0 ? this.str(buf) : this.nameAt(index);
        value = this.str(buf);
        this.add(name, value);
      } else if (b & 0x20) { // 6.3 dynamic table size update
        if (fields > 0) throw new HpackError('dynamic table size update after a field');
        const n = this.int(buf, 5);
        if (n > this.limit) throw new HpackError(`dynamic table size update to ${n}, over the limit of ${this.limit}`);
        this.maxSize = n;
        this.evict(0);
        this.updateDue = false;
        continue;
      } else { // 6.2.2 without indexing (0000), 6.2.3 never indexed (0001)
        const index = this.int(buf, 4);
        name = index === 0 ? this.str(buf) : this.nameAt(index);
        value = this.str(buf);
      }
      fields++;
      if (listSize <= this.maxHeaderListSize) {
        listSize += name.length + value.length + ENTRY_OVERHEAD;
        if (listSize <= this.maxHeaderListSize) onField(name, value);
      }
    }
    if (listSize > this.maxHeaderListSize) throw new HeaderListTooLargeError(listSize, this.maxHeaderListSize);
  }

  // 5.1: an integer with an N-bit prefix, at this.p.
  private int(buf: Buffer, prefix: number): number {
    const mask = (1 << prefix) - 1;
    let v = buf[this.p++]! & mask;
    if (v < mask) return v;
    for (let i = 0, shift = 1; ; i++, shift *= 128) {
      if (i === MAX_INT_CONTINUATIONS) throw new HpackError('integer with too many continuation octets');
      if (this.p >= buf.length) throw new HpackError('integer cut short by the end of the block');
      const c = buf[this.p++]!;
      v += (c & 0x7f) * shift;
      if (v > MAX_INT) throw new HpackError('integer over 2^31 - 1');
      if ((c & 0x80) === 0) return v;
    }
  }

  // 5.2: a string literal, raw or Huffman-coded, at this.p.
  private str(buf: Buffer): string {
    if (this.p >= buf.length) throw new HpackError('string literal cut short by the end of the block');
    const huffman = buf[this.p]! & 0x80;
    const len = this.int(buf, 7);
    const start = this.p, end = start + len;
    if (end > buf.length) throw new HpackError('string literal longer than the rest of the block');
    this.p = end;
    if (len === 0) return '';
    const memo = len >= MEMO_MIN_OCTETS;
    if (memo && this.memoLength === len + 1 && this.memoOctets[0] === huffman && buf.compare(this.memoOctets, 1, len + 1, start, end) === 0) return this.memoString;
    let s: string;
    if (!huffman) s = buf.toString('latin1', start, end);
    else {
      const room = Math.floor((len * 8) / 5);
      if (this.scratch.length < room) this.scratch = Buffer.allocUnsafe(Math.max(room, this.scratch.length * 2));
      const n = huffmanDecode(buf, start, end, this.scratch);
      if (n < 0) throw new HpackError('Huffman-coded string with EOS or invalid padding');
      s = this.scratch.toString('latin1', 0, n);
    }
    if (memo && len <= MEMO_MAX_OCTETS) {
      if (this.memoOctets.length < len + 1) this.memoOctets = Buffer.allocUnsafe(2 * len);
      this.memoLength = len + 1;
      this.memoOctets[0] = huffman;
      buf.copy(this.memoOctets, 1, start, end);
      this.memoString = s;
    }
    return s;
  }

  private nameAt(index: number): string {
    return index <= STATIC_COUNT ? STATIC_TABLE[index]![0] : this.names[this.at(index)]!;
  }

  // Ring position of dynamic-table entry `index` (62 = newest).
  private at(index: number): number {
    const d = index - STATIC_COUNT;
    if (d > this.count) throw new HpackError(`index ${index} beyond the ${STATIC_COUNT + this.count} entries of the tables`);
    return (this.top - d + 1 + this.cap) % this.cap;
  }

  // 4.4: evict oldest entries until `room` more octets fit, then insert.
  private add(name: string, value: string): void {
    const s = name.length + value.length + ENTRY_OVERHEAD;
    if (s > this.maxSize) { this.evict(this.maxSize + 1); return; } // empties the table, not an error
    this.evict(s);
    this.top = (this.top + 1) % this.cap;
    this.names[this.top] = name;
    this.values[this.top] = value;
    this.count++;
    this.size += s;
  }

  private evict(room: number): void {
    while (this.count > 0 && this.size + room > this.maxSize) {
      const old = (this.top - this.count + 1 + this.cap) % this.cap;
      this.size -= this.names[old]!.length + this.values[old]!.length + ENTRY_OVERHEAD;
      this.names[old] = this.values[old] = '';
      this.count--;
    }
  }

  // The ring holds at most floor(maxSize / 32) entries (each costs at least 32 octets).
  private grow(maxSize: number): void {
    const cap = Math.floor(maxSize / ENTRY_OVERHEAD) + 1;
    if (cap <= this.cap) return;
    const names: string[] = new Array<string>(cap).fill(''), values: string[] = new Array<string>(cap).fill('');
    for (let i = this.count; i >= 1; i--) {
      const at = (this.top - i + 1 + this.cap) % this.cap;
      names[this.count - i] = this.names[at]!;
      values[this.count - i] = this.values[at]!;
    }
    this.names = names; this.values = values; this.cap = cap; this.top = this.count - 1;
  }
}

// The static table's first index per name, and per exact name + value (encodeFields).
const STATIC_NAME = new Map<string, number>();
const STATIC_PAIR = new Map<string, number>();
for (let i = STATIC_COUNT; i >= 1; i--) {
  STATIC_NAME.set(STATIC_TABLE[i]![0], i);
  STATIC_PAIR.set(`${STATIC_TABLE[i]![0]}\n${STATIC_TABLE[i]![1]}`, i);
}

/**
 * One header block for our answers: a field of the static table whole is indexed (e.g. ":status"
 * "200" is 0x88); any other is a literal without indexing (RFC 7541 6.2.2), with the static
 * table's name index where there is one, raw strings (no Huffman), names lowercased. Stateless.
 * Values are latin1 octets: a char over U+00FF is a programming error (percent-encode first).
 */
export function encodeFields(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  let bound = 0;
  for (const [name, value] of fields) bound += name.length + value.length + 12;
  const out = Buffer.allocUnsafe(bound);
  let p = 0;
  for (const [rawName, value] of fields) {
    const name = rawName.toLowerCase();
    const whole = STATIC_PAIR.get(`${name}\n${value}`);
    if (whole !== undefined) { p = writeInt(out, p, 0x80, 7, whole); continue; }
    const index = STATIC_NAME.get(name);
    if (index !== undefined) p = writeInt(out, p, 0x00, 4, index); else {
      out[p++] = 0x00;
      p = writeString(out, p, name);
    }
    p = writeString(out, p, value);
  }
  return out.subarray(0, p);
}

function writeString(out: Buffer, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) throw new RangeError(`HPACK: header text ${JSON.stringify(s)} has a char over U+00FF`);
  }
  p = writeInt(out, p, 0x00, 7, s.length);
  return p + out.write(s, p, 'latin1');
}

// RFC 7541 5.1: `v` with an N-bit prefix after the pattern bits `first`.
function writeInt(out: Buffer, p: number, first: number, prefix: number, v: number): number {
  const mask = (1 << prefix) - 1;
  if (v < mask) { out[p++] = first | v; return p; }
  out[p++] = first | mask;
  v -= mask;
  while (v >= 128) { out[p++] = (v % 128) | 0x80; v = Math.floor(v / 128); }
  out[p++] = v;
  return p;
}
