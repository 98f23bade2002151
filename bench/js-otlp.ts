// Stage (c)'s wire walk, the plain-TypeScript counterpart of assembly/otlp.ts (and otlpfields.ts):
// walks an ExportTraceServiceRequest over its Uint8Array and stages one record per resource and per
// span; with `validate`, also checks the structure of what it does not aggregate. JsSpanMetrics
// (js-core.ts) aggregates the staged records. The code is js-core.ts's, moved: (c) is a measured figure.

export class MalformedRequest extends Error {}

const SERVICE_NAME = new TextEncoder().encode('service.name');

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

/** The request being walked and what the walk staged: the part of JsSpanMetrics that reads bytes. */
export class JsOtlpWalk {
  // The request being walked.
  protected buf: Uint8Array = new Uint8Array(0);
  protected pos = 0;

  // Staging: one record per resource and per span of the current request.
  protected resPos = new Int32Array(64);
  protected resLen = new Int32Array(64);
  protected resId = new Int32Array(64);
  protected resCount = 0;
  protected spRes = new Int32Array(1024);
  protected spNamePos = new Int32Array(1024);
  protected spNameLen = new Int32Array(1024);
  protected spKind = new Int32Array(1024);
  protected spStatus = new Int32Array(1024);
  protected spSize = new Int32Array(1024);
  protected spSeconds = new Float64Array(1024);
  protected spCount = 0;

  protected readonly validating: boolean;

  constructor(validating: boolean) {
    this.validating = validating;
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

  protected walkRequest(end: number): void {
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
}

export function grow32(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
