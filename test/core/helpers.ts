// Shared by the core tests: protobuf wire builders, span-metrics series computed
// independently from the protobufjs reference decoder, readers for the core's series table, and
// what accounts for a mismatch. The exposition parser is exposition.ts; the reference decoder as
// the core tests use it and the rules the core enforces beyond protobufjs are rules.ts.
import protobuf from 'protobufjs';
import { Core } from '../../src/core/index.js';
import {
  SM_KEY_DIMENSIONS, SM_KEY_SERVICE, SM_KEY_SPAN_KIND, SM_KEY_SPAN_NAME, SM_KEY_STATUS_CODE,
  SM_V_BUCKETS, SM_V_CALLS, SM_V_SIZE, SM_V_SUM,
} from '../../src/core/layout.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import type { SpanMetricsConfig } from '../../src/config/types.js';
import { spanMetricsKeyWords } from '../../src/core/keywords.js';
import { formatAttributeValue, referenceDecode, type RefSpan, type RefValue } from '../support/reference.js';
import { ExportTraceServiceRequest } from '../../src/otlp/messages.js';

// ---------------------------------------------------------------------------------------------
// Protobuf wire builders for hand-made (and deliberately malformed) inputs.

export type Bytes = number[];

export function varint(v: number | bigint): Bytes {
  let x = BigInt(v);
  if (x < 0n) x = BigInt.asUintN(64, x);
  const out: Bytes = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

export const tag = (field: number, wt: number): Bytes => varint(field * 8 + wt);
const utf8 = new TextEncoder();
const toBytes = (p: Bytes | Uint8Array | string): Bytes => (typeof p === 'string' ? [...utf8.encode(p)] : [...p]);
/** A length-delimited field. */
export const fLen = (field: number, payload: Bytes | Uint8Array | string): Bytes => {
  const b = toBytes(payload);
  return [...tag(field, 2), ...varint(b.length), ...b];
};
export const fVarint = (field: number, v: number | bigint): Bytes => [...tag(field, 0), ...varint(v)];
export const fFixed64 = (field: number, v: bigint): Bytes => {
  const out = [...tag(field, 1)];
  let x = BigInt.asUintN(64, v);
  for (let i = 0; i < 8; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
};
export const fDouble = (field: number, v: number): Bytes => {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, true);
  return [...tag(field, 1), ...new Uint8Array(dv.buffer)];
};

/** KeyValue message body. */
export const keyValue = (key: string, anyValue?: Bytes): Bytes => [...fLen(1, key), ...(anyValue ? fLen(2, anyValue) : [])];
/** AnyValue bodies. */
export const anyString = (s: Bytes | Uint8Array | string): Bytes => fLen(1, s);
export const anyInt = (v: bigint): Bytes => fVarint(3, v);

/** ExportTraceServiceRequest with one ResourceSpans (resource attributes = KeyValue bodies) and one ScopeSpans. */
export function request(spans: Bytes[], resourceAttributes: Bytes[] = [keyValue('service.name', anyString('svc'))]): Uint8Array {
  const resource = resourceAttributes.flatMap((kv) => fLen(1, kv));
  const scopeSpans = spans.flatMap((s) => fLen(2, s));
  return new Uint8Array(fLen(1, [...fLen(1, resource), ...fLen(2, scopeSpans)]));
}

/** protobufjs encoding as a plain Uint8Array (not a Buffer, so protobufjs decodes with its Reader). */
export function encode(req: object): Uint8Array {
  return new Uint8Array(ExportTraceServiceRequest.encode(req).finish());
}

export const Long = protobuf.util.Long as unknown as {
  fromString(s: string, unsigned?: boolean): object;
};
export const u64 = (v: bigint): object => Long.fromString(BigInt.asUintN(64, v).toString(), true);
export const i64 = (v: bigint): object => Long.fromString(BigInt.asIntN(64, v).toString(), false);

export function hex(b: Uint8Array, max = 400): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
  return h.length > max ? `${h.slice(0, max)}… (${b.length} bytes)` : h;
}

// ---------------------------------------------------------------------------------------------
// Configuration used by the tests: the span-metrics settings plus the label name each dimension
// must get (written by hand, so the exporter's sanitizing is checked, not reused).

export interface TestConfig {
  spanMetrics: SpanMetricsConfig;
  dimensionLabels: string[];
}

export function spanMetricsConfig(
  buckets: number[],
  dimensions: string[],
  on: Partial<SpanMetricsConfig['intrinsic_dimensions']> = {},
): SpanMetricsConfig {
  return {
    histogram_buckets: buckets,
    dimensions,
    intrinsic_dimensions: {
      service: true,
      span_name: true,
      span_kind: true,
      status_code: true,
      status_message: false,
      ...on,
    },
    span_multiplier_key: '',
    histogram_unit: 's',
    events: { enabled: false, dimensions: [] },
    namespace: 'traces.span.metrics',
    filter_policies: [],
    enable_tracestate_span_multiplier: false,
  };
}

export async function makeCore(config: SpanMetricsConfig, build: 'release' | 'debug' = 'release'): Promise<{ core: Core; exposition: SpanMetricsExposition }> {
  const core = await Core.create({ spanMetrics: config, build });
  return { core, exposition: new SpanMetricsExposition(core, config) };
}

// ---------------------------------------------------------------------------------------------
// Series: the label set (empty values left out, as Prometheus treats them as absent) → values.

export interface SeriesValues {
  calls: number;
  size: number;
  sum: number;
  /** Count per finite bucket (not cumulative); the +Inf bucket is `calls`. */
  buckets: number[];
}
export type SeriesMap = Map<string, SeriesValues>;

export function labelKey(pairs: [string, string][]): string {
  return JSON.stringify(pairs.filter(([, v]) => v !== '').sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
/** Go's protobuf enum String(): the name, or the number in decimal for an unknown value. */
const enumText = (names: string[], v: number): string => names[v] ?? String(v);

export const MAX_LABEL_BYTES = 2048;
const strictDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** A label value as the design says: at most 2048 bytes of UTF-8, cut on a character boundary. */
export function labelText(s: string): string {
  const b = utf8.encode(s);
  if (b.length <= MAX_LABEL_BYTES) return s;
  let m = MAX_LABEL_BYTES;
  while (m > 0 && (b[m]! & 0xc0) === 0x80) m--;
  return strictDecoder.decode(b.subarray(0, m));
}

export function durationSeconds(start: bigint, end: bigint): number {
  return end > start ? Number(end - start) / 1e9 : 0;
}

export function emptySeries(bucketCount: number): SeriesValues {
  return { calls: 0, size: 0, sum: 0, buckets: new Array(bucketCount).fill(0) };
}

function dimensionValue(span: RefSpan, key: string): RefValue | undefined {
  // The resource's attribute wins over the span's.
  return span.resourceAttributes.has(key) ? span.resourceAttributes.get(key) : span.attributes.get(key);
}

/** The label pairs of one reference span under `cfg`. */
export function expectedLabels(span: RefSpan, cfg: TestConfig): [string, string][] {
  const on = cfg.spanMetrics.intrinsic_dimensions;
  const pairs: [string, string][] = [];
  if (on.service) pairs.push(['service', labelText(span.service ?? '')]);
  if (on.span_name) pairs.push(['span_name', labelText(span.name)]);
  if (on.span_kind) pairs.push(['span_kind', enumText(KIND_NAMES, span.kind)]);
  if (on.status_code) pairs.push(['status_code', enumText(STATUS_NAMES, span.statusCode)]);
  if (on.status_message) pairs.push(['status_message', labelText(span.statusMessage)]);
  cfg.spanMetrics.dimensions.forEach((key, d) => {
    const v = dimensionValue(span, key);
    pairs.push([cfg.dimensionLabels[d]!, v === undefined ? '' : labelText(formatAttributeValue(v))]);
  });
  return pairs;
}

/** Aggregates reference spans into `into`, span by span in input order (so float sums match exactly). */
export function addExpected(into: SeriesMap, spans: RefSpan[], cfg: TestConfig): void {
  const bounds = cfg.spanMetrics.histogram_buckets;
  for (const span of spans) {
    const key = labelKey(expectedLabels(span, cfg));
    let s = into.get(key);
    if (!s) into.set(key, (s = emptySeries(bounds.length)));
    const seconds = durationSeconds(span.start, span.end);
    s.calls += 1;
    s.size += span.size;
    s.sum += seconds;
    const b = bounds.findIndex((le) => seconds <= le);
    if (b >= 0) s.buckets[b]! += 1;
  }
}

export function cloneSeries(m: SeriesMap): SeriesMap {
  const out: SeriesMap = new Map();
  for (const [k, v] of m) out.set(k, { ...v, buckets: [...v.buckets] });
  return out;
}

const fmt = (v: SeriesValues): string => `calls=${v.calls} size=${v.size} sum=${v.sum} buckets=[${v.buckets.join(',')}]`;

/** Human-readable differences between expected and actual series; empty when equal. */
export function diffSeries(expected: SeriesMap, actual: SeriesMap, max = 6): string[] {
  const out: string[] = [];
  for (const [k, e] of expected) {
    const a = actual.get(k);
    if (!a) out.push(`missing ${k} (${fmt(e)})`);
    else if (a.calls !== e.calls || a.size !== e.size || a.sum !== e.sum || a.buckets.join() !== e.buckets.join()) {
      out.push(`differs ${k}: expected ${fmt(e)}, got ${fmt(a)}`);
    }
  }
  for (const [k, a] of actual) if (!expected.has(k)) out.push(`unexpected ${k} (${fmt(a)})`);
  return out.slice(0, max);
}

// ---------------------------------------------------------------------------------------------
// Reading the core.

type View = NonNullable<ReturnType<Core['table']>>;

/** The core's span-metrics table view (the accessor has been renamed once already). */
export function spanMetricsView(core: Core): View {
  const c = core as unknown as { table?: (name: string) => View | undefined; spanMetrics?: () => View | undefined };
  const view = c.table ? c.table('spanMetrics') : c.spanMetrics!();
  if (!view) throw new Error('span metrics are off');
  return view;
}

export interface CoreState {
  series: SeriesMap;
  /** Every live slot's label set and values, duplicates included. */
  entries: [string, SeriesValues][];
  /** Label sets held by more than one slot (would be duplicate series in the exposition). */
  duplicates: string[];
  /** Every key word and value of every slot, for "nothing changed" checks. */
  raw: number[];
}

/**
 * The core's span-metrics table read through its view, labels built from the interned strings.
 * `labelCache` (slot → label key) may be shared between calls on the same core.
 */
export function readCore(core: Core, cfg: TestConfig, labelCache?: string[]): CoreState {
  const view = spanMetricsView(core);
  const on = cfg.spanMetrics.intrinsic_dimensions;
  const dims = cfg.spanMetrics.dimensions.length;
  const words = spanMetricsKeyWords(cfg.spanMetrics);
  const bucketCount = cfg.spanMetrics.histogram_buckets.length;
  const series: SeriesMap = new Map();
  const entries: [string, SeriesValues][] = [];
  const duplicates: string[] = [];
  const raw: number[] = [view.used];
  for (let slot = 0; slot < view.used; slot++) {
    if (view.live && !view.live(slot)) continue;
    raw.push(slot);
    for (let w = 0; w < words.span; w++) raw.push(view.key(slot, w));
    let key = labelCache?.[slot];
    if (key === undefined) {
      const pairs: [string, string][] = [];
      if (on.service) pairs.push(['service', core.label(view.key(slot, SM_KEY_SERVICE))]);
      if (on.span_name) pairs.push(['span_name', core.label(view.key(slot, SM_KEY_SPAN_NAME))]);
      if (on.span_kind) pairs.push(['span_kind', enumText(KIND_NAMES, view.key(slot, SM_KEY_SPAN_KIND) | 0)]);
      if (on.status_code) pairs.push(['status_code', enumText(STATUS_NAMES, view.key(slot, SM_KEY_STATUS_CODE) | 0)]);
      if (on.status_message) pairs.push(['status_message', core.label(view.key(slot, words.statusMessage))]);
      for (let d = 0; d < dims; d++) pairs.push([cfg.dimensionLabels[d]!, core.label(view.key(slot, SM_KEY_DIMENSIONS + d))]);
      key = labelKey(pairs);
      if (labelCache) labelCache[slot] = key;
    }
    const v: SeriesValues = {
      calls: view.value(slot, SM_V_CALLS),
      size: view.value(slot, SM_V_SIZE),
      sum: view.value(slot, SM_V_SUM),
      buckets: [],
    };
    for (let b = 0; b < bucketCount; b++) v.buckets.push(view.value(slot, SM_V_BUCKETS + b));
    raw.push(v.calls, v.size, v.sum, ...v.buckets);
    if (series.has(key)) duplicates.push(key);
    series.set(key, v);
    entries.push([key, v]);
  }
  return { series, entries, duplicates, raw };
}

export function sameRaw(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Naming a mismatch: which known kind of label-value difference, if any, accounts for it. Used
// only to make failure reports readable; the comparisons themselves are exact.

const EXPLANATIONS: [string, (v: string) => string][] = [
  ['a leading U+FEFF is dropped from the label value', (v) => v.replace(/^\uFEFF/, '')],
  ['U+FFFD per invalid byte where TextDecoder writes one per maximal subpart', (v) => v.replace(/\uFFFD+/g, '\uFFFD')],
  ['doubles not written in the shortest round-trip digits', (v) => v.replace(/-?\d+(\.\d+)?/g, (t) => String(parseFloat(t)))],
];

function normalized(entries: Iterable<[string, SeriesValues]>, fns: ((v: string) => string)[]): Map<string, SeriesValues> {
  const out = new Map<string, SeriesValues>();
  for (const [k, v] of entries) {
    const pairs = (JSON.parse(k) as [string, string][]).map(([n, x]): [string, string] => [n, fns.reduce((s, f) => f(s), x)]);
    const key = labelKey(pairs);
    const e = out.get(key);
    if (!e) out.set(key, { ...v, buckets: [...v.buckets] });
    else {
      e.calls += v.calls;
      e.size += v.size;
      e.sum += v.sum;
      e.buckets = e.buckets.map((b, i) => b + v.buckets[i]!);
    }
  }
  return out;
}

function sameModulo(a: Map<string, SeriesValues>, b: Map<string, SeriesValues>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, x] of a) {
    const y = b.get(k);
    if (!y || x.calls !== y.calls || x.size !== y.size || x.buckets.join() !== y.buckets.join()) return false;
    if (Math.abs(x.sum - y.sum) > 1e-9 * Math.max(1, Math.abs(x.sum))) return false;
  }
  return true;
}

/** Which known difference(s) in label values explain `actual` differing from `expected`, or "unexplained". */
export function explainMismatch(expected: SeriesMap, actual: [string, SeriesValues][]): string {
  const subsets: number[][] = [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]];
  for (const subset of subsets) {
    const fns = subset.map((i) => EXPLANATIONS[i]![1]);
    if (sameModulo(normalized(expected, fns), normalized(actual, fns))) return subset.map((i) => EXPLANATIONS[i]![0]).join(' + ');
  }
  return 'unexplained';
}
