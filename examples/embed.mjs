// Embedding spanmeter's WASM core with nothing but the WebAssembly API: no AssemblyScript glue,
// no dependencies. Runs in Node (see node.mjs) and in a browser (see embed.html).
// Every export and layout used here is described in docs/abi.md.
//
//   const meter = await createSpanmeter(wasmBytes);      // build/spanmeter.wasm
//   meter.ingest(otlpProtobufBytes);                      // an ExportTraceServiceRequest
//   for (const s of meter.spanMetrics()) console.log(s.labels, s.calls, s.latency);

/** Tempo's default latency buckets, seconds: 0.002 · 2^k, k = 0..13. */
export const DEFAULT_BUCKETS = [
  0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384,
];

const SPAN_KINDS = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const FAILURES = ['', 'truncated data', 'varint overflows 64 bits', 'invalid wire type',
  'wrong wire type for a known field', 'length runs past the end of its message', 'nesting deeper than 64 levels',
  'wrong id length', 'unmatched group end', 'field number 0'];

// Intrinsic dimensions (spanmetrics_configure mask): service, span_name, span_kind, status_code.
const INTRINSICS = 1 | 2 | 4 | 8;
// Span-metrics record: key words after the 8-byte header, values at table_values_offset.
const KEY_SERVICE = 0, KEY_SPAN_NAME = 1, KEY_SPAN_KIND = 2, KEY_STATUS_CODE = 3, KEY_DIMENSIONS = 4;
const V_CALLS = 0, V_SIZE = 1, V_SUM = 2, V_BUCKETS = 3;

/**
 * Instantiates and configures the core for span metrics.
 * @param {ArrayBuffer | Uint8Array | WebAssembly.Module} wasm  the bytes of build/spanmeter.wasm, or its module
 * @param {{ buckets?: number[], dimensions?: string[], maxActiveSeries?: number }} [options]
 */
export async function createSpanmeter(wasm, options = {}) {
  const buckets = options.buckets ?? DEFAULT_BUCKETS;
  const dimensions = options.dimensions ?? [];
  const utf8 = new TextEncoder();
  const text = new TextDecoder('utf-8', { ignoreBOM: true });
  let x; // the exports, set below; abort needs memory to read its message
  const imports = {
    env: {
      // Called on a trap-worthy bug (never for bad input). The arguments point at
      // AssemblyScript strings (UTF-16, byte length at ptr - 4).
      abort(msg, file, line, column) {
        const str = (p) => (p ? String.fromCharCode(...new Uint16Array(x.memory.buffer, p, new Uint32Array(x.memory.buffer, p - 4, 1)[0] >>> 1)) : '');
        throw new Error(`spanmeter core aborted: ${str(msg)} at ${str(file)}:${line}:${column}`);
      },
      // Only asked for SLOs with a span-name pattern, which this host does not add.
      slo_match: () => 0,
      // Only asked for filter policies with a regular expression, which this host does not set.
      filter_match: () => 0,
    },
  };
  const result = await WebAssembly.instantiate(wasm, imports);
  x = (result.instance ?? result).exports;
  if (x.abi_version() !== 10) throw new Error(`unsupported spanmeter ABI ${x.abi_version()} (this host speaks 10)`);

  // memory.grow detaches every view on x.memory.buffer: so views are made fresh after each call.
  const bytesAt = (ptr, n) => new Uint8Array(x.memory.buffer, ptr, n);
  const data = () => new DataView(x.memory.buffer);

  // 1. Set-up: a random hash key (against hash flooding), watch the attribute keys, configure
  //    span metrics, then start.
  x.hash_key(...crypto.getRandomValues(new Uint32Array(4)));
  const slots = dimensions.map((name) => {
    const key = utf8.encode(name);
    const ptr = x.scratch(key.length);
    bytesAt(ptr, key.length).set(key);
    const slot = x.watch_key(ptr, key.length);
    if (slot < 0) throw new Error(`too many attribute keys (at ${name})`);
    return slot;
  });
  const args = x.scratch(buckets.length * 8 + slots.length * 4); // f64 bounds, then i32 slots
  new Float64Array(x.memory.buffer, args, buckets.length).set(buckets);
  new Int32Array(x.memory.buffer, args + buckets.length * 8, slots.length).set(slots);
  x.spanmetrics_configure(args, buckets.length, INTRINSICS, args + buckets.length * 8, slots.length, -1);
  x.registry_configure(options.maxActiveSeries ?? 0, 0);
  x.start();

  /** The label value of interned string `id` (string table entries are 8 bytes: ptr u32, len u16, references u16). */
  function label(id) {
    const entry = (x.strings() >>> 0) + id * 8;
    const d = data();
    return text.decode(bytesAt(d.getUint32(entry, true), d.getUint16(entry + 4, true)));
  }

  return {
    exports: x,

    /** Aggregates one ExportTraceServiceRequest (protobuf bytes), all or nothing; returns the span count. */
    ingest(request, nowMs = Date.now()) {
      const ptr = x.input_reserve(request.length);
      bytesAt(ptr, request.length).set(request);
      const n = x.ingest(request.length, nowMs);
      if (n < 0) {
        throw Object.assign(new Error(`invalid protobuf: ${FAILURES[-n] ?? `error ${-n}`} at byte ${x.fail_offset() >>> 0}`), { code: -n });
      }
      return n;
    },

    /** Removes series not updated for staleMs (default 15 min) and frees unused label values. */
    sweep(nowMs = Date.now(), staleMs = 15 * 60_000) {
      return x.sweep(nowMs, staleMs);
    },

    /** Every span-metrics series: labels, calls, size in bytes, and the latency histogram (cumulative buckets). */
    spanMetrics() {
      const t = x.spanmetrics_table();
      const chunks = x.table_chunks(t) >>> 0, perChunk = x.table_chunk_records(t) >>> 0, used = x.table_used(t) >>> 0;
      const stride = x.table_stride(t) >>> 0, valuesAt = x.table_values_offset(t) >>> 0;
      const out = [];
      for (let slot = 0; slot < used; slot++) {
        const d = data(); // label() below does not grow memory, but a fresh view costs nothing
        // Records live in chunks: a u32 chunk number, then perChunk records (docs/abi.md).
        const chunk = Math.floor(slot / perChunk);
        const r = d.getUint32(chunks + chunk * 4, true) + 8 + (slot - chunk * perChunk) * stride;
        const flags = d.getUint32(r + 4, true) & 3; // the state word's low bits (the generation above)
        if ((flags & 1) === 0) continue; // a free slot
        const key = (w) => d.getUint32(r + 8 + w * 4, true);
        const value = (i) => d.getFloat64(r + valuesAt + i * 8, true);
        const labels = {};
        if (flags & 2) {
          labels.metric_overflow = 'true'; // label sets past maxActiveSeries
        } else {
          labels.service = label(key(KEY_SERVICE));
          labels.span_name = label(key(KEY_SPAN_NAME));
          labels.span_kind = SPAN_KINDS[key(KEY_SPAN_KIND)] ?? String(key(KEY_SPAN_KIND) | 0);
          labels.status_code = STATUS_CODES[key(KEY_STATUS_CODE)] ?? String(key(KEY_STATUS_CODE) | 0);
          dimensions.forEach((name, i) => (labels[name.replace(/[^a-zA-Z0-9_]/g, '_')] = label(key(KEY_DIMENSIONS + i))));
          for (const k of Object.keys(labels)) if (labels[k] === '') delete labels[k]; // empty = absent
        }
        let cumulative = 0;
        const histogram = buckets.map((le, b) => ({ le, count: (cumulative += value(V_BUCKETS + b)) }));
        histogram.push({ le: Infinity, count: value(V_CALLS) });
        out.push({
          labels,
          calls: value(V_CALLS),
          sizeBytes: value(V_SIZE),
          latency: { buckets: histogram, sum: value(V_SUM), count: value(V_CALLS) },
        });
      }
      return out;
    },
  };
}
