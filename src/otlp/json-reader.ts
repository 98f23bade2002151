// Reading OTLP/JSON values into protobuf fields (the JSON side of what assembly/wire.ts does for
// protobuf): the path from the root to the value being read, failures that name it, the depth of
// an attribute value, and the scalar fields (strings, integers, doubles, enums, ids) with the forms
// OTLP/JSON allows. The messages themselves are json.ts's Converter, built on this class.
import { OtlpError } from './errors.js';
import { MAX_DEPTH } from '../core/layout.js';
import type { LongLike } from './messages.js';
import type { Json, JsonObject } from './json-parse.js';

/**
 * How deep an attribute value may nest, in protobuf messages counted as the core counts them:
 * the attribute's AnyValue is level 1, each ArrayValue, KeyValueList, KeyValue and AnyValue below
 * it one more, and a message at this level or deeper is refused (31 arrays inside each other
 * pass, 32 do not; 20 key-value lists pass, 21 do not). The same bound as the core's for protobuf
 * (assembly/layout.ts MAX_DEPTH), so that a request is refused in JSON exactly when it is refused
 * in protobuf; it also keeps the converter's recursion short, whatever JSON.parse accepted.
 */
export const MAX_VALUE_NESTING = MAX_DEPTH;

export type Msg = Record<string, unknown>;
type Int64 = number | LongLike;

const HEX = /^[0-9a-fA-F]*$/;
export const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const DECIMAL_INT = /^-?\d+$/;
const DECIMAL_NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

const U32_MAX = 0xffffffff;
const I32_MIN = -0x80000000;
const I32_MAX = 0x7fffffff;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

export function describe(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  return String(v);
}

// String#isWellFormed / toWellFormed (ES2024, in Node 20) are missing from the ES2022 lib.
type WellFormed = { isWellFormed(): boolean; toWellFormed(): string };

/**
 * JSON escapes can spell lone surrogates ("\ud800"), which have no UTF-8 form; protobufjs would
 * write invalid UTF-8 that the core and any strict decoder choke on. They become U+FFFD, as in
 * Go's encoding/json.
 */
function wellFormed(s: string): string {
  return (s as unknown as WellFormed).isWellFormed() ? s : (s as unknown as WellFormed).toWellFormed();
}

function toLong(b: bigint, unsigned: boolean): LongLike {
  const u = BigInt.asUintN(64, b);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned };
}

/** `resourceSpans[0].scopeSpans[0]...` */
function pathText(segs: readonly (string | number)[]): string {
  let where = '';
  for (const seg of segs) where += typeof seg === 'number' ? `[${seg}]` : where === '' ? seg : `.${seg}`;
  return where;
}

/** The path, failures naming it, and the scalar fields; json.ts's Converter adds the messages. */
export class JsonReader {
  // Keys and indices from the root to the value being converted, for error messages.
  protected readonly path: (string | number)[] = [];
  // Protobuf message level inside the attribute value being converted (0 outside one), and the
  // length of the path to that attribute's value.
  protected nesting = 0;
  private valuePath = 0;

  constructor(private readonly base64Ids: boolean) {}

  /** Throws bad_request naming the current path (plus `key`, when a scalar field is at fault). */
  fail(reason: string, key?: string | number): never {
    const where = pathText(key === undefined ? this.path : [...this.path, key]);
    throw new OtlpError('bad_request', `${where === '' ? 'request body' : where}: ${reason}`);
  }

  /** Steps one message deeper into an attribute value; refuses (too_deep) past MAX_VALUE_NESTING. */
  protected deeper(): void {
    if (this.nesting === 0) this.valuePath = this.path.length;
    if (++this.nesting < MAX_VALUE_NESTING) return;
    throw new OtlpError(
      'too_deep',
      `${pathText(this.path.slice(0, this.valuePath))}: attribute value nested more than ${MAX_VALUE_NESTING - 1} levels deep (AnyValue, ArrayValue, KeyValueList and KeyValue messages)`,
    );
  }

  /** A field given both as lowerCamelCase and as its proto name is ambiguous. */
  protected once(prev: unknown, key: string): void {
    if (prev !== undefined) this.fail('field is set twice (under its JSON name and its proto name)', key);
  }

  protected object(v: Json, key?: string | number): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`expected an object, got ${describe(v)}`, key);
    return v;
  }

  /** A repeated message field: converts each element, with its index on the path. */
  protected list(key: string, v: Json, conv: (o: JsonObject) => Msg): Msg[] {
    if (!Array.isArray(v)) this.fail(`expected an array, got ${describe(v)}`, key);
    this.path.push(key);
    const out: Msg[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const e = v[i]!;
      if (typeof e !== 'object' || e === null || Array.isArray(e)) this.fail(`expected an object, got ${describe(e)}`, i);
      this.path.push(i);
      out[i] = conv(e);
      this.path.pop();
    }
    this.path.pop();
    return out;
  }

  protected message(key: string, v: Json, conv: (o: JsonObject) => Msg): Msg {
    const o = this.object(v, key);
    this.path.push(key);
    const m = conv(o);
    this.path.pop();
    return m;
  }

  protected string(key: string, v: Json): string {
    if (typeof v !== 'string') this.fail(`expected a string, got ${describe(v)}`, key);
    return wellFormed(v);
  }

  protected uint32(key: string, v: Json): number {
    const n = typeof v === 'number' ? v : typeof v === 'string' && DECIMAL_INT.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > U32_MAX) this.fail(`expected an unsigned 32-bit integer, got ${describe(v)}`, key);
    return n;
  }

  /** int64 / fixed64: a decimal string or a JSON number, kept exact (see quoteBigIntegerLiterals). */
  protected int64(key: string, v: Json, unsigned: boolean): Int64 {
    const what = unsigned ? 'an unsigned 64-bit integer' : 'a 64-bit integer';
    let b: bigint;
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) this.fail(`expected ${what}, got ${describe(v)}`, key);
      if (Number.isSafeInteger(v) && (!unsigned || v >= 0)) return v; // protobufjs writes these exactly
      b = BigInt(v);
    } else if (typeof v === 'string' && DECIMAL_INT.test(v)) {
      if (v.length < 16) {
        const n = Number(v); // below 2^53: exact
        if (!unsigned || n >= 0) return n;
      }
      b = BigInt(v);
    } else {
      this.fail(`expected ${what} as a decimal string or number, got ${describe(v)}`, key);
    }
    if (unsigned ? b < 0n || b > U64_MAX : b < I64_MIN || b > I64_MAX) this.fail(`${describe(v)} is out of range for ${what}`, key);
    return toLong(b, unsigned);
  }

  protected double(key: string, v: Json): number {
    if (typeof v === 'number') return v;
    if (typeof v === 'string') {
      if (v === 'NaN') return NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (DECIMAL_NUMBER.test(v)) return Number(v);
    }
    this.fail(`expected a number (or "NaN", "Infinity", "-Infinity"), got ${describe(v)}`, key);
  }

  protected enumValue(key: string, v: Json, names: Record<string, number>): number {
    let n: number | undefined;
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= I32_MIN && v <= I32_MAX) n = v; // open enum: unknown numbers pass
    } else if (typeof v === 'string' && Object.hasOwn(names, v)) {
      n = names[v];
    }
    if (n === undefined) this.fail(`expected an integer or one of ${Object.keys(names).join(', ')}, got ${describe(v)}`, key);
    return n;
  }

  /** trace/span ids: `bytes` bytes as hex (OTLP/JSON), or empty. */
  protected id(key: string, v: Json, bytes: number): Uint8Array {
    if (this.base64Ids) {
      const decoded = typeof v === 'string' && BASE64.test(v) ? Buffer.from(v, 'base64') : undefined;
      if (decoded === undefined || decoded.length !== (v === '' ? 0 : bytes))
        this.fail(`expected ${bytes} bytes in base64, got ${describe(v)}`, key);
      return decoded;
    }
    if (typeof v !== 'string' || (v.length !== bytes * 2 && v.length !== 0) || !HEX.test(v)) {
      const looksBase64 = typeof v === 'string' && v.length >= 4 && BASE64.test(v) && Buffer.from(v, 'base64').length === bytes;
      this.fail(`expected ${bytes * 2} hex digits, got ${describe(v)}${looksBase64 ? ' (OTLP/JSON ids are hex, not base64)' : ''}`, key);
    }
    return Buffer.from(v, 'hex');
  }
}
