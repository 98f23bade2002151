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
// The walk, its validation and its staging records: js-otlp.ts (JsOtlpWalk, which this extends).
import { grow32, JsOtlpWalk } from './js-otlp.js';

export { MalformedRequest } from './js-otlp.js';

const decoder = new TextDecoder();

export interface JsSpanMetricsOptions {
  /** Check the structure of everything, as the core does (default true). */
  validate?: boolean;
}

export class JsSpanMetrics extends JsOtlpWalk {
  readonly bucketCount: number;
  /** f64 values per series: calls, size, sum, then one per finite bucket. */
  readonly stride: number;
  private readonly bounds: Float64Array;

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

  constructor(bounds: readonly number[], options: JsSpanMetricsOptions = {}) {
    super(options.validate ?? true);
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
