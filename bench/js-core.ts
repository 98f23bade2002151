// Stage (c): spanmeter's design in plain TypeScript, as a careful Node developer would write it.
// A protobuf wire walker over the request's Uint8Array (no protobufjs, no objects per span),
// label values interned by a hash of their UTF-8 byte range (no JS string until export), and
// open-addressing tables in typed arrays. Span-metrics semantics as the core's defaults:
// series per (service, span name, kind, status code); calls, size (encoded Span bytes), latency
// sum and le-inclusive bucket counts (the +Inf bucket is the count). Each request is walked in
// full before anything is aggregated, so a malformed request changes nothing. With `validate`
// (the default) it also checks, as the core does, the structure of what it does not aggregate
// (attributes and their values, events, links, scopes, id lengths, known fields' wire types),
// so that it accepts and rejects the same requests; without, it skips those bytes unread.

export class MalformedRequest extends Error {}

const SERVICE_NAME = new TextEncoder().encode('service.name');
const decoder = new TextDecoder();

function fail(what: string): never {
  throw new MalformedRequest(what);
}

// Message ids for validation, and per message a field spec: 0 = unknown (skipped), else
// (wire type + 1) | (sub-message id << 3), as in the core's schema table.
const M_KEY_VALUE = 1;
const M_ANY_VALUE = 2;
const M_ARRAY_VALUE = 3;
const M_KEY_VALUE_LIST = 4;
const M_SCOPE = 5;
const M_EVENT = 6;
const M_LINK = 7;
const FIELDS = 16;
const SPECS = new Uint8Array(8 * FIELDS);
const spec = (m: number, field: number, wt: number, sub = 0) => {
  SPECS[m * FIELDS + field] = (wt + 1) | (sub << 3);
};
spec(M_ANY_VALUE, 1, 2);
spec(M_ANY_VALUE, 2, 0);
spec(M_ANY_VALUE, 3, 0);
spec(M_ANY_VALUE, 4, 1);
spec(M_ANY_VALUE, 5, 2, M_ARRAY_VALUE);
spec(M_ANY_VALUE, 6, 2, M_KEY_VALUE_LIST);
spec(M_ANY_VALUE, 7, 2);
spec(M_ARRAY_VALUE, 1, 2, M_ANY_VALUE);
spec(M_KEY_VALUE_LIST, 1, 2, M_KEY_VALUE);
spec(M_KEY_VALUE, 1, 2);
spec(M_KEY_VALUE, 2, 2, M_ANY_VALUE);
spec(M_SCOPE, 1, 2);
spec(M_SCOPE, 2, 2);
spec(M_SCOPE, 3, 2, M_KEY_VALUE);
spec(M_SCOPE, 4, 0);
spec(M_EVENT, 1, 1);
spec(M_EVENT, 2, 2);
spec(M_EVENT, 3, 2, M_KEY_VALUE);
spec(M_EVENT, 4, 0);
spec(M_LINK, 1, 2);
spec(M_LINK, 2, 2);
spec(M_LINK, 3, 2);
spec(M_LINK, 4, 2, M_KEY_VALUE);
spec(M_LINK, 5, 0);
spec(M_LINK, 6, 5);
const MAX_DEPTH = 64;

export interface JsSpanMetricsOptions {
  /** Check the structure of everything, as the core does (default true). */
  validate?: boolean;
}

export class JsSpanMetrics {
  readonly bucketCount: number;
  /** f64 values per series: calls, size, sum, then one per finite bucket. */
  readonly stride: number;
  private readonly bounds: Float64Array;

  // The request being walked.
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;

  // Interned byte strings: id → (offset, length, hash) in `arena`; id 0 is "".
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  private strOff = new Int32Array(1024);
  private strLen = new Int32Array(1024);
  private strHash = new Int32Array(1024);
  private strCount = 1;
  private strIndex = new Int32Array(2048);
  private strMask = 2047;
  private readonly labels: string[] = [''];

  // Series: key (service id, span name id, kind, status code), values in `values`.
  private keys = new Int32Array(4 * 256);
  private seriesHash = new Int32Array(256);
  values = new Float64Array(256 * 17);
  private capacity = 256;
  private used = 0;
  private index = new Int32Array(512);
  private indexMask = 511;

  // Staging: one record per resource and per span of the current request.
  private resPos = new Int32Array(64);
  private resLen = new Int32Array(64);
  private resId = new Int32Array(64);
  private resCount = 0;
  private spRes = new Int32Array(1024);
  private spNamePos = new Int32Array(1024);
  private spNameLen = new Int32Array(1024);
  private spKind = new Int32Array(1024);
  private spStatus = new Int32Array(1024);
  private spSize = new Int32Array(1024);
  private spSeconds = new Float64Array(1024);
  private spCount = 0;

  private readonly validating: boolean;

  constructor(bounds: readonly number[], options: JsSpanMetricsOptions = {}) {
    this.validating = options.validate ?? true;
    this.bounds = Float64Array.from(bounds);
    this.bucketCount = bounds.length;
    this.stride = 3 + bounds.length;
    this.values = new Float64Array(this.capacity * this.stride);
  }

  /** Aggregates one ExportTraceServiceRequest; returns its span count. Throws MalformedRequest. */
  ingest(request: Uint8Array): number {
    this.buf = request;
    this.pos = 0;
    this.resCount = 0;
    this.spCount = 0;
    this.walkRequest(request.length);
    this.aggregate();
    return this.spCount;
  }

  get seriesCount(): number {
    return this.used;
  }

  /** Key words: 0 service id, 1 span name id, 2 kind, 3 status code. */
  key(slot: number, word: 0 | 1 | 2 | 3): number {
    return this.keys[slot * 4 + word]!;
  }

  value(slot: number, i: number): number {
    return this.values[slot * this.stride + i]!;
  }

  /** The string an interned id stands for (decoded once, at export). */
  label(id: number): string {
    let s = this.labels[id];
    if (s === undefined) {
      const off = this.strOff[id]!;
      s = decoder.decode(this.arena.subarray(off, off + this.strLen[id]!));
      this.labels[id] = s;
    }
    return s;
  }

  /** Bytes held in typed arrays (tables, arena, staging). */
  heldBytes(): number {
    return this.arena.byteLength + this.strOff.byteLength * 3 + this.strIndex.byteLength + this.keys.byteLength
      + this.seriesHash.byteLength + this.values.byteLength + this.index.byteLength;
  }

  // ------------------------------------------------------------------------------------------
  // Wire walk

  private varint(end: number): number {
    const b = this.buf;
    let p = this.pos;
    if (p >= end) fail('truncated varint');
    let c = b[p++]!;
    if (c < 0x80) {
      this.pos = p;
      return c;
    }
    let v = c & 0x7f;
    let shift = 7;
    for (;;) {
      if (p >= end) fail('truncated varint');
      c = b[p++]!;
      if (shift < 32) v |= (c & 0x7f) << shift;
      if (c < 0x80) break;
      shift += 7;
      if (shift >= 70) fail('varint longer than 10 bytes');
    }
    this.pos = p;
    return v >>> 0;
  }

  /** A length prefix, checked against the enclosing message; returns the end of the field. */
  private lengthEnd(end: number): number {
    const n = this.varint(end);
    const e = this.pos + n;
    if (e > end) fail('length past the end of its message');
    return e;
  }

  private skip(wt: number, end: number): void {
    switch (wt) {
      case 0:
        this.varint(end);
        return;
      case 1:
        if (this.pos + 8 > end) fail('truncated fixed64');
        this.pos += 8;
        return;
      case 2:
        this.pos = this.lengthEnd(end);
        return;
      case 5:
        if (this.pos + 4 > end) fail('truncated fixed32');
        this.pos += 4;
        return;
      default:
        fail(`unsupported wire type ${wt}`);
    }
  }

  /** Checks one message of type `m` spanning [pos, end), field by field. */
  private validate(m: number, end: number, depth: number): void {
    if (depth >= MAX_DEPTH) fail('nested too deep');
    while (this.pos < end) {
      const tag = this.varint(end);
      const field = tag >>> 3;
      const wt = tag & 7;
      if (field === 0) fail('field number 0');
      const sp = field < FIELDS ? SPECS[m * FIELDS + field]! : 0;
      if (sp !== 0 && wt !== (sp & 7) - 1) fail(`wrong wire type ${wt} for field ${field}`);
      const sub = sp >>> 3;
      if (sub !== 0) {
        const e = this.lengthEnd(end);
        this.validate(sub, e, depth + 1);
        this.pos = e;
      } else {
        this.skip(wt, end);
      }
    }
  }

  /** A length-delimited field holding message `m`: validated, or skipped unread. */
  private message(m: number, end: number): void {
    const e = this.lengthEnd(end);
    if (this.validating) this.validate(m, e, 1);
    this.pos = e;
  }

  /** A trace or span id: empty or exactly `want` bytes. */
  private id(end: number, want: number): void {
    const e = this.lengthEnd(end);
    if (e !== this.pos && e - this.pos !== want) fail(`id of ${e - this.pos} bytes, want ${want}`);
    this.pos = e;
  }

  private walkRequest(end: number): void {
    while (this.pos < end) {
      const tag = this.varint(end);
      if (tag === ((1 << 3) | 2)) {
        const e = this.lengthEnd(end);
        this.walkResourceSpans(e);
        this.pos = e;
      } else {
        if (this.validating && tag >>> 3 === 1) fail('request: wrong wire type');
        this.skip(tag & 7, end);
      }
    }
  }

  private walkResourceSpans(end: number): void {
    const r = this.resCount++;
    if (r === this.resPos.length) {
      this.resPos = grow32(this.resPos, r * 2);
      this.resLen = grow32(this.resLen, r * 2);
      this.resId = grow32(this.resId, r * 2);
    }
    this.resPos[r] = -1;
    this.resLen[r] = 0;
    this.resId[r] = -1;
    while (this.pos < end) {
      const tag = this.varint(end);
      if (tag === ((1 << 3) | 2)) {
        const e = this.lengthEnd(end);
        this.walkResource(e, r);
        this.pos = e;
      } else if (tag === ((2 << 3) | 2)) {
        const e = this.lengthEnd(end);
        this.walkScopeSpans(e, r);
        this.pos = e;
      } else {
        if (this.validating && tag >>> 3 <= 3 && (tag & 7) !== 2) fail('resource spans: wrong wire type');
        this.skip(tag & 7, end);
      }
    }
  }

  private walkResource(end: number, r: number): void {
    while (this.pos < end) {
      const tag = this.varint(end);
      if (tag === ((1 << 3) | 2)) {
        const e = this.lengthEnd(end);
        this.walkResourceAttribute(e, r);
        this.pos = e;
      } else {
        if (this.validating && (tag >>> 3 === 1 || (tag >>> 3 === 2 && (tag & 7) !== 0))) fail('resource: wrong wire type');
        this.skip(tag & 7, end);
      }
    }
  }

  /** A resource KeyValue: remembers where the first service.name string value sits. */
  private walkResourceAttribute(end: number, r: number): void {
    let keyPos = -1;
    let keyLen = 0;
    let valueEnd = -1;
    let valuePos = -1;
    while (this.pos < end) {
      const tag = this.varint(end);
      if (tag === ((1 << 3) | 2)) {
        const e = this.lengthEnd(end);
        keyPos = this.pos;
        keyLen = e - keyPos;
        this.pos = e;
      } else if (tag === ((2 << 3) | 2)) {
        valueEnd = this.lengthEnd(end);
        valuePos = this.pos;
        if (this.validating) this.validate(M_ANY_VALUE, valueEnd, 3);
        this.pos = valueEnd;
      } else {
        if (this.validating && (tag >>> 3 === 1 || tag >>> 3 === 2)) fail('attribute: wrong wire type');
        this.skip(tag & 7, end);
      }
    }
    if (this.resPos[r]! >= 0 || keyLen !== SERVICE_NAME.length || !this.equals(keyPos, SERVICE_NAME)) return;
    // AnyValue: the string_value (field 1); proto3 keeps the last value on the wire.
    this.resPos[r] = 0;
    if (valuePos < 0) return;
    this.pos = valuePos;
    while (this.pos < valueEnd) {
      const tag = this.varint(valueEnd);
      if (tag === ((1 << 3) | 2)) {
        const e = this.lengthEnd(valueEnd);
        this.resPos[r] = this.pos;
        this.resLen[r] = e - this.pos;
        this.pos = e;
      } else {
        this.skip(tag & 7, valueEnd);
      }
    }
  }

  private equals(p: number, bytes: Uint8Array): boolean {
    const b = this.buf;
    for (let i = 0; i < bytes.length; i++) if (b[p + i] !== bytes[i]) return false;
    return true;
  }

  private walkScopeSpans(end: number, r: number): void {
    while (this.pos < end) {
      const tag = this.varint(end);
      if (tag === ((2 << 3) | 2)) {
        const e = this.lengthEnd(end);
        this.walkSpan(e, r, e - this.pos);
        this.pos = e;
      } else if (tag === ((1 << 3) | 2)) {
        this.message(M_SCOPE, end);
      } else {
        if (this.validating && tag >>> 3 <= 3 && (tag & 7) !== 2) fail('scope spans: wrong wire type');
        this.skip(tag & 7, end);
      }
    }
  }

  private walkSpan(end: number, r: number, size: number): void {
    const i = this.spCount++;
    if (i === this.spRes.length) this.growSpans();
    const b = this.buf;
    let namePos = 0;
    let nameLen = 0;
    let kind = 0;
    let status = 0;
    let startLo = 0;
    let startHi = 0;
    let endLo = 0;
    let endHi = 0;
    while (this.pos < end) {
      const tag = this.varint(end);
      const wt = tag & 7;
      switch (tag >>> 3) {
        case 5: {
          if (wt !== 2) fail('span name: wrong wire type');
          const e = this.lengthEnd(end);
          namePos = this.pos;
          nameLen = e - namePos;
          this.pos = e;
          break;
        }
        case 6:
          if (wt !== 0) fail('span kind: wrong wire type');
          kind = this.varint(end);
          break;
        case 7:
        case 8: {
          if (wt !== 1) fail('span time: wrong wire type');
          const p = this.pos;
          if (p + 8 > end) fail('truncated fixed64');
          const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
          const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
          if (tag >>> 3 === 7) {
            startLo = lo;
            startHi = hi;
          } else {
            endLo = lo;
            endHi = hi;
          }
          this.pos = p + 8;
          break;
        }
        case 15: {
          if (wt !== 2) fail('span status: wrong wire type');
          const e = this.lengthEnd(end);
          status = this.walkStatus(e);
          this.pos = e;
          break;
        }
        case 1:
        case 2:
        case 4:
          if (wt !== 2) fail('span id: wrong wire type');
          if (this.validating) this.id(end, tag >>> 3 === 1 ? 16 : 8);
          else this.skip(wt, end);
          break;
        case 9:
          if (wt !== 2) fail('span attributes: wrong wire type');
          this.message(M_KEY_VALUE, end);
          break;
        case 11:
        case 13:
          if (wt !== 2) fail('span events/links: wrong wire type');
          this.message(tag >>> 3 === 11 ? M_EVENT : M_LINK, end);
          break;
        case 3:
        case 10:
        case 12:
        case 14:
        case 16:
          if (this.validating && wt !== (tag >>> 3 === 3 ? 2 : tag >>> 3 === 16 ? 5 : 0)) fail('span: wrong wire type');
          this.skip(wt, end);
          break;
        default:
          this.skip(wt, end);
      }
    }
    this.spRes[i] = r;
    this.spNamePos[i] = namePos;
    this.spNameLen[i] = nameLen;
    this.spKind[i] = kind;
    this.spStatus[i] = status;
    this.spSize[i] = size;
    // end - start exactly in two 32-bit halves (exact below 2^53 ns), then seconds; negative → 0.
    const after = endHi > startHi || (endHi === startHi && endLo > startLo);
    this.spSeconds[i] = after ? ((endHi - startHi) * 4294967296 + (endLo - startLo)) / 1e9 : 0;
  }

  private walkStatus(end: number): number {
    let code = 0;
    while (this.pos < end) {
      const tag = this.varint(end);
      if (tag === ((3 << 3) | 0)) code = this.varint(end);
      else if (this.validating && (tag >>> 3 === 3 || (tag >>> 3 === 2 && (tag & 7) !== 2))) fail('status: wrong wire type');
      else this.skip(tag & 7, end);
    }
    return code;
  }

  private growSpans(): void {
    const n = this.spRes.length * 2;
    this.spRes = grow32(this.spRes, n);
    this.spNamePos = grow32(this.spNamePos, n);
    this.spNameLen = grow32(this.spNameLen, n);
    this.spKind = grow32(this.spKind, n);
    this.spStatus = grow32(this.spStatus, n);
    this.spSize = grow32(this.spSize, n);
    const s = new Float64Array(n);
    s.set(this.spSeconds);
    this.spSeconds = s;
  }

  // ------------------------------------------------------------------------------------------
  // Aggregation

  private aggregate(): void {
    const bounds = this.bounds;
    const nb = this.bucketCount;
    const stride = this.stride;
    for (let i = 0; i < this.spCount; i++) {
      const r = this.spRes[i]!;
      let service = this.resId[r]!;
      if (service < 0) {
        service = this.resPos[r]! > 0 ? this.intern(this.resPos[r]!, this.resLen[r]!) : 0;
        this.resId[r] = service;
      }
      const name = this.intern(this.spNamePos[i]!, this.spNameLen[i]!);
      const slot = this.upsert(service, name, this.spKind[i]!, this.spStatus[i]!);
      const v = this.values;
      const o = slot * stride;
      const seconds = this.spSeconds[i]!;
      v[o] = v[o]! + 1;
      v[o + 1] = v[o + 1]! + this.spSize[i]!;
      v[o + 2] = v[o + 2]! + seconds;
      let k = 0;
      while (k < nb && bounds[k]! < seconds) k++;
      if (k < nb) v[o + 3 + k] = v[o + 3 + k]! + 1;
    }
  }

  private hashBytes(p: number, n: number): number {
    const b = this.buf;
    let h = n ^ 0x9747b28c;
    const e4 = p + (n & ~3);
    let i = p;
    for (; i < e4; i += 4) {
      let k = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      h ^= Math.imul(k, 0x1b873593);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    let k = 0;
    switch (n & 3) {
      case 3:
        k ^= b[i + 2]! << 16;
      // falls through
      case 2:
        k ^= b[i + 1]! << 8;
      // falls through
      case 1:
        k ^= b[i]!;
        k = Math.imul(k, 0xcc9e2d51);
        k = (k << 15) | (k >>> 17);
        h ^= Math.imul(k, 0x1b873593);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** The id of the byte string buf[p, p+n). */
  private intern(p: number, n: number): number {
    if (n === 0) return 0;
    const h = this.hashBytes(p, n);
    const b = this.buf;
    const arena = this.arena;
    let i = h & this.strMask;
    for (;;) {
      const id = this.strIndex[i]!;
      if (id === 0) break;
      if (this.strHash[id] === h && this.strLen[id] === n) {
        const off = this.strOff[id]!;
        let k = 0;
        while (k < n && arena[off + k] === b[p + k]) k++;
        if (k === n) return id;
      }
      i = (i + 1) & this.strMask;
    }
    return this.insertString(p, n, h, i);
  }

  private insertString(p: number, n: number, h: number, slot: number): number {
    const id = this.strCount++;
    if (id === this.strOff.length) {
      this.strOff = grow32(this.strOff, id * 2);
      this.strLen = grow32(this.strLen, id * 2);
      this.strHash = grow32(this.strHash, id * 2);
    }
    if (this.arenaUsed + n > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + n));
      a.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = a;
    }
    this.arena.set(this.buf.subarray(p, p + n), this.arenaUsed);
    this.strOff[id] = this.arenaUsed;
    this.strLen[id] = n;
    this.strHash[id] = h;
    this.arenaUsed += n;
    this.strIndex[slot] = id;
    if (this.strCount * 2 > this.strMask + 1) {
      // Rehash at half full.
      const size = (this.strMask + 1) * 2;
      this.strIndex = new Int32Array(size);
      this.strMask = size - 1;
      for (let s = 1; s < this.strCount; s++) {
        let j = this.strHash[s]! & this.strMask;
        while (this.strIndex[j] !== 0) j = (j + 1) & this.strMask;
        this.strIndex[j] = s;
      }
    }
    return id;
  }

  private upsert(service: number, name: number, kind: number, status: number): number {
    let h = Math.imul(service ^ 0x27d4eb2d, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15) ^ name, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ kind, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16) ^ status, 0x27d4eb2f);
    h ^= h >>> 15;
    const keys = this.keys;
    let i = h & this.indexMask;
    for (;;) {
      const ref = this.index[i]!;
      if (ref === 0) break;
      const s = ref - 1;
      const k = s * 4;
      if (this.seriesHash[s] === h && keys[k] === service && keys[k + 1] === name && keys[k + 2] === kind && keys[k + 3] === status) return s;
      i = (i + 1) & this.indexMask;
    }
    if (this.used === this.capacity) {
      this.growSeries();
      i = h & this.indexMask;
      while (this.index[i] !== 0) i = (i + 1) & this.indexMask;
    }
    const s = this.used++;
    const k = s * 4;
    this.keys[k] = service;
    this.keys[k + 1] = name;
    this.keys[k + 2] = kind;
    this.keys[k + 3] = status;
    this.seriesHash[s] = h;
    this.index[i] = s + 1;
    return s;
  }

  private growSeries(): void {
    const cap = this.capacity * 2;
    this.keys = grow32(this.keys, cap * 4);
    this.seriesHash = grow32(this.seriesHash, cap);
    const v = new Float64Array(cap * this.stride);
    v.set(this.values);
    this.values = v;
    this.capacity = cap;
    this.index = new Int32Array(cap * 2);
    this.indexMask = cap * 2 - 1;
    for (let s = 0; s < this.used; s++) {
      let j = this.seriesHash[s]! & this.indexMask;
      while (this.index[j] !== 0) j = (j + 1) & this.indexMask;
      this.index[j] = s + 1;
    }
  }
}

function grow32(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
