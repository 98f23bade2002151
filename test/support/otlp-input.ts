// Turns a conformance-pack input file into an OTLP ExportTraceServiceRequest:
//   - canonical protobuf (fields in number order, proto3 defaults not written, every message
//     present in the input kept, oneof members written even when they hold a default), and
//   - OTLP/JSON (hex ids, integer enums, 64-bit integers as decimal strings) for JSON runs.
//
// Input formats, chosen by file-name prefix (see the pack README):
//   tempo-*.json    proto3 JSON of tempopb.Trace: base64 ids, enum names, int64 as strings
//   otelcol-*.yaml  OTLP JSON written as YAML: hex ids, integer enums
//   own-*.json      OTLP/JSON: hex ids, integer enums, int64 as strings
//
// The reader is strict: an unknown field, a wrong JSON type, a malformed id or a 64-bit value
// that does not fit is an error naming the path, so nothing in an input is silently dropped.
// 64-bit values are kept exactly (Long), never via a double.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import protobuf from 'protobufjs';
import YAML from 'yaml';
import { ExportTraceServiceRequest } from './otlp-schema.js';

import type LongClass from 'long';

/** protobufjs's Long (the `long` package it depends on), with its full typing. */
export const Long = protobuf.util.Long as unknown as typeof LongClass;
type LongT = LongClass;

/** An unsigned 64-bit value from its decimal text, exactly. */
export function u64(decimal: string): LongT {
  return Long.fromString(decimal, true);
}

export type InputFormat = 'tempo' | 'otelcol' | 'own';

export interface ReadOptions {
  /** How trace/span ids are written. */
  ids: 'hex' | 'base64';
  /** Scalars may arrive as strings (YAML read without type guessing) and are coerced by field type. */
  stringScalars: boolean;
}

/** A message as protobufjs encodes it: field name → value (Uint8Array, Long, number, string, boolean, message, array). */
export type Msg = { [field: string]: unknown };

export interface ConvertedInput {
  /** The decoded request (protobufjs-ready plain object). */
  message: Msg;
  /** Canonical protobuf encoding. */
  protobuf: Uint8Array;
  /** OTLP/JSON encoding. */
  json: string;
}

export function formatOf(fileName: string): InputFormat {
  const name = basename(fileName);
  if (name.startsWith('tempo-') && name.endsWith('.json')) return 'tempo';
  if (name.startsWith('otelcol-') && (name.endsWith('.yaml') || name.endsWith('.yml'))) return 'otelcol';
  if (name.startsWith('own-') && name.endsWith('.json')) return 'own';
  throw new Error(`${name}: unknown input format (expected tempo-*.json, otelcol-*.yaml or own-*.json)`);
}

/** Parses the file text of the given format into a request object. */
export function parseInput(format: InputFormat, text: string): Msg {
  switch (format) {
    case 'tempo':
      return fromJson(ExportTraceServiceRequest, JSON.parse(text), { ids: 'base64', stringScalars: false }, '$');
    case 'own':
      return fromJson(ExportTraceServiceRequest, JSON.parse(text), { ids: 'hex', stringScalars: false }, '$');
    case 'otelcol': {
      // failsafe schema: every scalar is a string, so an all-digit hex id or a long integer is
      // never turned into a lossy number; the reader coerces by field type.
      const doc = YAML.parse(text, { schema: 'failsafe', uniqueKeys: true });
      return fromJson(ExportTraceServiceRequest, doc, { ids: 'hex', stringScalars: true }, '$');
    }
  }
}

export function encodeRequest(message: Msg): Uint8Array {
  return ExportTraceServiceRequest.encode(message).finish();
}

export function requestToOtlpJson(message: Msg): string {
  return JSON.stringify(toJson(ExportTraceServiceRequest, message));
}

export function convertInput(fileName: string, text: string): ConvertedInput {
  const message = parseInput(formatOf(fileName), text);
  return { message, protobuf: encodeRequest(message), json: requestToOtlpJson(message) };
}

export function loadInput(path: string): ConvertedInput {
  try {
    return convertInput(path, readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${basename(path)}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON → message

/** Fields holding trace or span ids (hex in OTLP/JSON, base64 in plain proto3 JSON). */
function isIdField(type: protobuf.Type, field: protobuf.Field): boolean {
  const t = type.fullName;
  return (
    (t === '.opentelemetry.proto.trace.v1.Span' || t === '.opentelemetry.proto.trace.v1.Span.Link') &&
    (field.name === 'traceId' || field.name === 'spanId' || field.name === 'parentSpanId')
  );
}

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export function fromJson(type: protobuf.Type, obj: unknown, opts: ReadOptions, path: string): Msg {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Error(`${path}: expected an object for ${type.name}, got ${typeName(obj)}`);
  }
  const out: Msg = {};
  const seenOneof = new Map<string, string>();
  for (const [key, raw] of Object.entries(obj as Record<string, unknown>)) {
    const field = type.fields[key] ?? type.fields[snakeToCamel(key)];
    const p = `${path}.${key}`;
    if (!field) throw new Error(`${p}: unknown field of ${type.name}`);
    if (out[field.name] !== undefined) throw new Error(`${p}: field given twice`);
    if (raw === null) continue; // proto3 JSON: null = default / absent
    const oneof = field.partOf;
    if (field.repeated) {
      if (!Array.isArray(raw)) throw new Error(`${p}: expected an array, got ${typeName(raw)}`);
      const values = raw.map((el, i) => convertSingle(type, field, el, opts, `${p}[${i}]`));
      if (values.length > 0) out[field.name] = values;
      continue;
    }
    if (opts.stringScalars && raw === '' && field.resolvedType instanceof protobuf.Type) continue;
    const value = convertSingle(type, field, raw, opts, p);
    if (oneof) {
      const other = seenOneof.get(oneof.name);
      if (other) throw new Error(`${p}: oneof ${oneof.name} already set by ${other}`);
      seenOneof.set(oneof.name, key);
      out[field.name] = value; // oneof members have presence: written even when default
    } else if (!isDefault(value)) {
      out[field.name] = value;
    }
  }
  return out;
}

function isDefault(v: unknown): boolean {
  if (v === '' || v === 0 || v === false) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  if (Long.isLong(v)) return (v as LongT).isZero();
  return false; // messages are kept when present
}

function convertSingle(
  type: protobuf.Type,
  field: protobuf.Field,
  raw: unknown,
  opts: ReadOptions,
  p: string,
): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return fromJson(rt, raw, opts, p);
  if (rt instanceof protobuf.Enum) return enumValue(rt, raw, opts, p);
  switch (field.type) {
    case 'string':
      if (typeof raw !== 'string') throw new Error(`${p}: expected a string, got ${typeName(raw)}`);
      return raw;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (opts.stringScalars && (raw === 'true' || raw === 'false')) return raw === 'true';
      throw new Error(`${p}: expected a boolean, got ${JSON.stringify(raw)}`);
    case 'bytes':
      if (typeof raw !== 'string') throw new Error(`${p}: expected a string, got ${typeName(raw)}`);
      return isIdField(type, field) && opts.ids === 'hex' ? hexToBytes(raw, p) : base64ToBytes(raw, p);
    case 'double':
    case 'float':
      return doubleValue(raw, p);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return int32Value(raw, p, -(2 ** 31), 2 ** 31 - 1);
    case 'uint32':
    case 'fixed32':
      return int32Value(raw, p, 0, 2 ** 32 - 1);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return int64Value(raw, p, false);
    case 'uint64':
    case 'fixed64':
      return int64Value(raw, p, true);
    default:
      throw new Error(`${p}: field type ${field.type} not supported by the test reader`);
  }
}

function enumValue(e: protobuf.Enum, raw: unknown, opts: ReadOptions, p: string): number {
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < -(2 ** 31) || raw > 2 ** 31 - 1) {
      throw new Error(`${p}: ${raw} is not an enum number`);
    }
    return raw; // proto3 enums are open: unknown numbers are kept
  }
  if (typeof raw === 'string') {
    if (Object.prototype.hasOwnProperty.call(e.values, raw)) return e.values[raw]!;
    if (opts.stringScalars && /^-?\d+$/.test(raw)) return enumValue(e, Number(raw), opts, p);
    throw new Error(`${p}: ${JSON.stringify(raw)} is not a value of ${e.name}`);
  }
  throw new Error(`${p}: expected an enum name or number, got ${typeName(raw)}`);
}

const DECIMAL = /^-?\d+$/;
const FLOAT_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function doubleValue(raw: unknown, p: string): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string') {
    if (raw === 'NaN') return NaN;
    if (raw === 'Infinity') return Infinity;
    if (raw === '-Infinity') return -Infinity;
    if (FLOAT_TEXT.test(raw)) return Number(raw);
  }
  throw new Error(`${p}: expected a number, got ${JSON.stringify(raw)}`);
}

function int32Value(raw: unknown, p: string, min: number, max: number): number {
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && DECIMAL.test(raw)) n = Number(raw);
  else throw new Error(`${p}: expected an integer, got ${JSON.stringify(raw)}`);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${p}: ${raw} out of range`);
  return n;
}

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function int64Value(raw: unknown, p: string, unsigned: boolean): LongT {
  let b: bigint;
  if (typeof raw === 'string' && DECIMAL.test(raw)) {
    b = BigInt(raw);
  } else if (typeof raw === 'number' && Number.isInteger(raw)) {
    if (!Number.isSafeInteger(raw)) {
      throw new Error(`${p}: ${raw} is beyond 2^53 as a JSON number; write it as a string`);
    }
    b = BigInt(raw);
  } else {
    throw new Error(`${p}: expected a 64-bit integer (string or number), got ${JSON.stringify(raw)}`);
  }
  if (unsigned ? b < 0n || b > U64_MAX : b < I64_MIN || b > I64_MAX) {
    throw new Error(`${p}: ${raw} out of range for ${unsigned ? 'uint64' : 'int64'}`);
  }
  return Long.fromString(b.toString(), unsigned);
}

export function hexToBytes(s: string, p = 'hex'): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error(`${p}: ${JSON.stringify(s)} is not hex`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function base64ToBytes(s: string, p = 'base64'): Uint8Array {
  // standard or URL-safe alphabet, padding optional
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s) || s.replace(/=+$/, '').length % 4 === 1) {
    throw new Error(`${p}: ${JSON.stringify(s)} is not base64`);
  }
  return new Uint8Array(Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

// ---------------------------------------------------------------------------------------------
// message → OTLP/JSON

export function toJson(type: protobuf.Type, msg: Msg): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const v = msg[field.name];
    if (v === undefined || v === null) continue;
    out[field.name] = field.repeated
      ? (v as unknown[]).map((el) => singleToJson(type, field, el))
      : singleToJson(type, field, v);
  }
  return out;
}

function singleToJson(type: protobuf.Type, field: protobuf.Field, v: unknown): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return toJson(rt, v as Msg);
  if (rt instanceof protobuf.Enum) return v as number; // OTLP/JSON: integer enums
  if (v instanceof Uint8Array) {
    return isIdField(type, field) ? bytesToHex(v) : Buffer.from(v).toString('base64');
  }
  if (Long.isLong(v)) return (v as LongT).toString();
  if (typeof v === 'number' && !Number.isFinite(v)) {
    return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  }
  return v;
}
