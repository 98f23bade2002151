// Loads the compiled core and gives its raw exports a type. Nothing else touches the instance.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ABI_VERSION } from './layout.js';

export interface CoreExports {
  memory: WebAssembly.Memory;
  abi_version(): number;
  scratch(n: number): number;
  /** The key's watched-attribute slot, or -1. */
  watch_key(ptr: number, len: number): number;
  spanmetrics_configure(bounds: number, boundCount: number, mask: number, slots: number, dims: number, multiplier: number): void;
  spanmetrics_events_configure(slots: number, dims: number): void;
  spanmetrics_dimension_default(d: number, ptr: number, len: number): void;
  spanmetrics_mapping_add(joinPtr: number, joinLen: number, slots: number, count: number): number;
  spanmetrics_target_info_configure(namespaceSlot: number, instanceSlot: number, instanceLabel: number): void;
  spanmetrics_target_info_exclude(ptr: number, len: number): number;
  spanmetrics_target_info_table(): number;
  spanmetrics_split_configure(slots: number, calls: number, hist: number): void;
  spanmetrics_self_time_configure(maxItems: number, waitMs: number): void;
  /** The value index of the self-time block in a span-metrics record, or -1. */
  spanmetrics_self_time_block(): number;
  /** 0 entries in use, 1 spans and children refused with the store full, 2 entries whose parent never came. */
  self_time_counter(which: number): number;
  spanmetrics_calls_table(): number;
  spanmetrics_scope_include(ptr: number, len: number): number;
  slo_add(flags: number, servicePtr: number, serviceLen: number, namePtr: number, nameLen: number, kind: number, thresholdNs: number): number;
  slo_table(): number;
  servicegraphs_configure(
    bounds: number, boundCount: number, opts: number, slots: number, dims: number, peers: number, dbs: number,
    waitMs: number, maxItems: number,
  ): void;
  registry_configure(maxActiveSeries: number, slackMs: number): void;
  native_histograms_configure(processor: number, schema: number, maxBuckets: number, minResetMs: number, classic: number, scale: number): void;
  filter_configure(processor: number, records: number, count: number, bytes: number): void;
  spans_filtered(processor: number): number;
  tracestate_configure(processor: number, on: number): void;
  limits_configure(maxStringLength: number, maxAttributesPerSpan: number, maxSpansPerRequest: number): void;
  /** Optional (no cap without it). */
  cardinality_configure(capPerLabel: number, windowMs: number): void;
  /** Optional (off without it). */
  normalize_configure(mode: number, routeSlot: number): void;
  normalized_name(id: number): number;
  start(): void;
  input_reserve(n: number): number;
  crc32(ptr: number, len: number): number;
  inflate_source(n: number): number;
  inflate(from: number, n: number, dst: number, cap: number): number;
  inflate_end(): number;
  ingest(n: number, nowMs: number): number;
  expire(nowMs: number): number;
  sweep(nowMs: number, staleMs: number): number;
  late_spans(): number;
  active_series(): number;
  series_limited(): number;
  series_removed(): number;
  strings_epoch(): number;
  string_bytes(): number;
  spans_seen(): number;
  fail_offset(): number;
  fail_message(): number;
  fail_field(): number;
  strings(): number;
  string_count(): number;
  string_hash(id: number): number;
  hash_key(w0: number, w1: number, w2: number, w3: number): void;
  intern_probes(): number;
  intern_lookups(): number;
  exemplar(table: number, record: number, generation: number, bucket: number): number;
  worst_exemplar(table: number, record: number, generation: number, which: number): number;
  worst_configure(windowMs: number): void;
  worst_bytes(): number;
  spanmetrics_table(): number;
  spanmetrics_events_table(): number;
  servicegraphs_edges(): number;
  servicegraphs_unpaired(): number;
  servicegraphs_dropped(): number;
  servicegraphs_store_size(): number;
  servicegraphs_expired(side: number): number;
  table_chunks(t: number): number;
  table_chunk_records(t: number): number;
  table_used(t: number): number;
  table_stride(t: number): number;
  table_values_offset(t: number): number;
  table_key_words(t: number): number;
  table_value_count(t: number): number;
  label_cardinality(word: number): number;
  label_values_limited(word: number): number;
  label_example(word: number): number;
  series_demand(): number;
  top_service(i: number): number;
  top_service_count(i: number): number;
  preview_configure(on: number): void;
  preview_entries(): number;
  preview_estimate(i: number): number;
  preview_sampled(): number;
}


export type WasmBuild = 'release' | 'debug';

export function wasmPath(build: WasmBuild): string {
  const file = build === 'release' ? 'spanmeter.wasm' : 'spanmeter.debug.wasm';
  // src/core → project root, from both src/ (vitest) and dist/src/ (built).
  const here = fileURLToPath(new URL('.', import.meta.url));
  const root = here.includes('/dist/src/') ? new URL('../../../', import.meta.url) : new URL('../../', import.meta.url);
  return fileURLToPath(new URL(`build/${file}`, root));
}

/** An AssemblyScript string (UTF-16, byte length at ptr - 4), for abort messages. */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const bytes = new Uint32Array(memory.buffer, ptr - 4, 1)[0]!;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, bytes >>> 1));
}

// --- Embedders without a build/ directory (the single executable, sea/main.mjs) hand the bytes in.
const providedBytes: Partial<Record<WasmBuild, Uint8Array<ArrayBuffer>>> = {};

/** Makes instantiateCore(build) compile these bytes instead of reading build/…wasm from disk. */
export function provideWasm(build: WasmBuild, bytes: Uint8Array<ArrayBuffer>): void {
  providedBytes[build] = bytes;
}
// ---

/** What the core asks of the host while it aggregates. */
export interface CoreImports {
  /** Bit k set: `name` matches the span-name pattern of SLO k (asked once per distinct name). */
  sloMatch?(name: string): number;
  /** Bit k set: `value` matches the filter policies' regular expression k (asked once per distinct string). */
  filterMatch?(value: string): number;
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export async function instantiateCore(build: WasmBuild = 'release', imports: CoreImports = {}): Promise<CoreExports> {
  const module = await WebAssembly.compile(providedBytes[build] ?? readFileSync(wasmPath(build)));
  let memory: WebAssembly.Memory | undefined;
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort(msg: number, file: number, line: number, column: number) {
        const m = memory ? `${readAsString(memory, msg)} in ${readAsString(memory, file)}:${line}:${column}` : 'abort';
        throw new Error(`spanmeter core aborted: ${m}`);
      },
      slo_match(ptr: number, len: number): number {
        if (!imports.sloMatch || !memory) return 0;
        return imports.sloMatch(decoder.decode(new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0)));
      },
      filter_match(ptr: number, len: number): number {
        if (!imports.filterMatch || !memory) return 0;
        return imports.filterMatch(decoder.decode(new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0)));
      },
    },
  });
  const exports = instance.exports as unknown as CoreExports;
  memory = exports.memory;
  if (exports.abi_version() !== ABI_VERSION) {
    throw new Error(`spanmeter core ABI ${exports.abi_version()} does not match host ABI ${ABI_VERSION}: rebuild with npm run build`);
  }
  // A fresh key per instance, so that no one can compute colliding label values (issue 21 item 5).
  const key = crypto.getRandomValues(new Uint32Array(4));
  exports.hash_key(key[0]!, key[1]!, key[2]!, key[3]!);
  return exports;
}
