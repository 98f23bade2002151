// The benchmark workload: a deterministic stream of OTLP traces from a realistic topology,
// encoded with protobufjs as ExportTraceServiceRequest batches.
//
// Topology (topology.ts): 20 services (HTTP and gRPC servers, Kafka consumers) in tiers, each with
// its own endpoints, database calls, Kafka topics and internal spans (~200 distinct operations).
// Traces (traces.ts): a root request at the edge (frontend or api-gateway) fans out downstream as
// CLIENT/SERVER pairs, database CLIENT spans and PRODUCER/CONSUMER pairs, with log-normal
// latencies, 1% errors and the attributes real instrumentation sets (semantic conventions
// 1.26+; 8–15 per span). Each service runs as 2–3 pods, one OTLP resource per pod.
// Delivery (here): every pod's SDK flushes its finished spans on its own timer; the Collector batches
// what arrives into requests of `spansPerBatch` spans. So the two sides of a pair usually land
// in different requests, as they do in production.
import { ExportTraceServiceRequest } from '../otlp/messages.js';
import { Prng } from './prng.js';
import { int, KIND, nanos, STATUS_ERROR, STATUS_UNSET, str, type SpanObj } from './spans.js';
import { buildInstances, buildTopology, SDK_VERSION, SERVICES, type Instance } from './topology.js';
import { TraceBuilder, type SimSpan } from './traces.js';

export interface WorkloadOptions {
  seed?: number;
  /** Requests to produce. */
  batches: number;
  /** Spans per request (the Collector batch processor's send_batch_size). */
  spansPerBatch: number;
  /** Span attributes per span: undefined = what the instrumentation sets (8–15); else trimmed or padded to this. */
  attributes?: number;
  /** How often each pod's SDK exports, simulated ms. */
  flushIntervalMs?: number;
}

export interface WorkloadStats {
  services: number;
  instances: number;
  /** Distinct span names. */
  operations: number;
  /** Distinct (service, span name, kind, status) label sets: span-metrics series. */
  series: number;
  spans: number;
  traces: number;
  bytes: number;
  bytesPerSpan: number;
  attributesPerSpan: number;
  minAttributes: number;
  maxAttributes: number;
  errorRate: number;
  /** Share of CLIENT→SERVER and PRODUCER→CONSUMER pairs whose two spans are in different requests. */
  pairsSplit: number;
  pairs: number;
  kinds: Record<string, number>;
}

export interface Workload {
  batches: Uint8Array[];
  /** Spans in each batch. */
  spanCounts: number[];
  stats: WorkloadStats;
}


// ---------------------------------------------------------------------------------------------
// Batching and encoding

function encodeBatch(spans: SimSpan[]): Uint8Array {
  // One ResourceSpans per pod present, one ScopeSpans per instrumentation scope, in arrival order.
  const byInstance = new Map<Instance, Map<string, SpanObj[]>>();
  for (const s of spans) {
    let scopes = byInstance.get(s.instance);
    if (!scopes) byInstance.set(s.instance, (scopes = new Map()));
    let list = scopes.get(s.scope);
    if (!list) scopes.set(s.scope, (list = []));
    list.push(s.span);
  }
  const resourceSpans = [...byInstance].map(([inst, scopes]) => ({
    resource: inst.resource,
    scopeSpans: [...scopes].map(([name, list]) => ({
      scope: { name, version: SDK_VERSION[SERVICES[inst.service]!.lang] },
      spans: list,
    })),
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  }));
  return ExportTraceServiceRequest.encode({ resourceSpans } as never).finish();
}

export function generateWorkload(opts: WorkloadOptions): Workload {
  const rng = new Prng(opts.seed ?? 0x5eed);
  const flushMs = opts.flushIntervalMs ?? 500;
  const topo = buildTopology(rng);
  const instances = buildInstances(rng, flushMs);
  const builder = new TraceBuilder(rng, topo, instances, opts.attributes);
  const want = opts.batches * opts.spansPerBatch;

  // Traces start ~150/s (simulated); generate past the cut so the stream has no ragged edge
  // beyond what any snapshot of a live stream has.
  let t = 0;
  let traces = 0;
  while (builder.spans.length < want * 1.1 + 2000) {
    t += rng.logNormal(6, 0.7);
    builder.trace(t);
    traces++;
  }
  // Arrival: the pod's SDK exports at its next timer tick after the span ended.
  for (const s of builder.spans) {
    const p = s.instance.phase;
    s.arrival = Math.ceil((s.endMs - p) / flushMs) * flushMs + p;
  }
  const order = builder.spans.map((s, i) => i);
  const instId = new Map<Instance, number>();
  instances.flat().forEach((inst, i) => instId.set(inst, i));
  order.sort((x, y) => {
    const a = builder.spans[x]!;
    const b = builder.spans[y]!;
    return a.arrival - b.arrival || instId.get(a.instance)! - instId.get(b.instance)! || a.endMs - b.endMs || x - y;
  });
  const stream = order.slice(0, want).map((i) => builder.spans[i]!);

  const batches: Uint8Array[] = [];
  const spanCounts: number[] = [];
  for (let b = 0; b < opts.batches; b++) {
    const slice = stream.slice(b * opts.spansPerBatch, (b + 1) * opts.spansPerBatch);
    for (const s of slice) s.batch = b;
    batches.push(encodeBatch(slice));
    spanCounts.push(slice.length);
  }

  // Statistics.
  const names = new Set<string>();
  const series = new Set<string>();
  const traceIds = new Set<string>();
  const kinds: Record<string, number> = {};
  const KIND_NAMES = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
  let attrs = 0;
  let minA = Infinity;
  let maxA = 0;
  let errors = 0;
  let pairs = 0;
  let split = 0;
  for (const s of stream) {
    const sp = s.span;
    names.add(sp.name);
    series.add(`${s.instance.service}\u0000${sp.name}\u0000${sp.kind}\u0000${sp.status?.code ?? 0}`);
    traceIds.add(Buffer.from(sp.traceId).toString('hex'));
    kinds[KIND_NAMES[sp.kind]!] = (kinds[KIND_NAMES[sp.kind]!] ?? 0) + 1;
    attrs += sp.attributes.length;
    minA = Math.min(minA, sp.attributes.length);
    maxA = Math.max(maxA, sp.attributes.length);
    if (sp.status?.code === STATUS_ERROR) errors++;
    if (s.pairedWith && s.pairedWith.batch >= 0) {
      pairs++;
      if (s.pairedWith.batch !== s.batch) split++;
    }
  }
  const bytes = batches.reduce((n, b) => n + b.length, 0);
  return {
    batches,
    spanCounts,
    stats: {
      services: SERVICES.length,
      instances: instances.flat().length,
      operations: names.size,
      series: series.size,
      spans: stream.length,
      traces: traceIds.size,
      bytes,
      bytesPerSpan: bytes / stream.length,
      attributesPerSpan: attrs / stream.length,
      minAttributes: minA,
      maxAttributes: maxA,
      errorRate: errors / stream.length,
      pairsSplit: pairs > 0 ? split / pairs : 0,
      pairs,
      kinds,
    },
  };
}

/**
 * Requests whose spans all have distinct names (one SERVER series each): `n` spans in
 * requests of `spansPerBatch`, for growing a series table to a known size.
 */
export function seriesBatches(n: number, spansPerBatch: number, seed = 7): Uint8Array[] {
  const rng = new Prng(seed);
  const traceId = rng.bytes(16);
  const resource = {
    attributes: [
      str('service.name', 'catalog-api'),
      str('service.version', '1.4.2'),
      str('host.name', 'catalog-api-7d9f8-x2x4q'),
      str('telemetry.sdk.language', 'go'),
    ],
  };
  const out: Uint8Array[] = [];
  for (let start = 0; start < n; start += spansPerBatch) {
    const spans: SpanObj[] = [];
    for (let i = start; i < Math.min(n, start + spansPerBatch); i++) {
      const t0 = i * 0.01;
      const d = rng.logNormal(20, 1.5);
      spans.push({
        traceId,
        spanId: rng.bytes(8),
        flags: 0x301,
        name: `GET /api/v1/catalog/items/sku-${String(i).padStart(7, '0')}`,
        kind: KIND.SERVER,
        startTimeUnixNano: nanos(t0),
        endTimeUnixNano: nanos(t0 + d),
        attributes: [str('http.request.method', 'GET'), int('http.response.status_code', 200)],
        status: { code: STATUS_UNSET },
      });
    }
    out.push(ExportTraceServiceRequest.encode({
      resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'otelhttp', version: '0.60.0' }, spans }] }],
    } as never).finish());
  }
  return out;
}
