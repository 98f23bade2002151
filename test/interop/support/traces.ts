// OTLP requests for the differential tests against the real Collector: a small builder of
// ExportTraceServiceRequest messages (canonical protobuf via test/support/otlp-input.ts), the
// bench workload under a seed, and edge traces shaped to hit the places where span metrics and
// service graphs can differ between spanmeter, Tempo and the Collector.
//
// Every edge request is built from plain numbers so that the expectations written beside the
// tests can be computed by hand.
import { createHash } from 'node:crypto';
import { generateWorkload } from '../../../src/workload/workload.js';
import { Long, encodeRequest, type Msg } from '../../support/otlp-input.js';

// ---------------------------------------------------------------------------------------------
// Building blocks

export const KIND = { UNSPECIFIED: 0, INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;
export const STATUS = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export type AnyValue =
  | { stringValue: string }
  | { intValue: InstanceType<typeof Long> }
  | { boolValue: boolean }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KV[] } }
  | { bytesValue: Uint8Array };
export interface KV {
  key: string;
  value: AnyValue;
}

export const str = (key: string, v: string): KV => ({ key, value: { stringValue: v } });
export const int = (key: string, v: number | bigint): KV => ({ key, value: { intValue: Long.fromString(String(v), false) } });
export const dbl = (key: string, v: number): KV => ({ key, value: { doubleValue: v } });
export const bool = (key: string, v: boolean): KV => ({ key, value: { boolValue: v } });
export const arr = (key: string, values: AnyValue[]): KV => ({ key, value: { arrayValue: { values } } });
export const kvlist = (key: string, values: KV[]): KV => ({ key, value: { kvlistValue: { values } } });
export const bytes = (key: string, v: Uint8Array): KV => ({ key, value: { bytesValue: v } });

/** 16 bytes of trace id / 8 of span id derived from a name (stable across runs, distinct per name). */
export function traceId(name: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`trace:${name}`).digest().subarray(0, 16));
}
export function spanId(name: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`span:${name}`).digest().subarray(0, 8));
}

/** Nanoseconds since the epoch as protobufjs fixed64. */
function nanos(ns: bigint): InstanceType<typeof Long> {
  return Long.fromString(ns.toString(), true);
}

/** Start of every edge span: a fixed recent instant, so the requests are the same on every run. */
export const T0_NS = 1_760_000_000_000_000_000n;
export const MS = 1_000_000n;

export interface SpanSpec {
  name: string;
  kind?: number;
  status?: { code: number; message?: string };
  /** Start offset from T0_NS and duration, in nanoseconds (a negative duration: end before start). */
  startNs?: bigint;
  durationNs: bigint;
  trace: string;
  id: string;
  parent?: string;
  attributes?: KV[];
  traceState?: string;
  /** Span events, at the span's start. */
  events?: { name: string; attributes?: KV[] }[];
}

export interface ResourceSpec {
  /** Resource attributes; no service.name here means none is sent. */
  attributes: KV[];
  spans: SpanSpec[];
}

function spanMsg(s: SpanSpec): Msg {
  const start = T0_NS + (s.startNs ?? 0n);
  const m: Msg = {
    traceId: traceId(s.trace),
    spanId: spanId(s.id),
    name: s.name,
    kind: s.kind ?? KIND.SERVER,
    startTimeUnixNano: nanos(start),
    endTimeUnixNano: nanos(start + s.durationNs),
    attributes: s.attributes ?? [],
  };
  if (s.parent !== undefined) m.parentSpanId = spanId(s.parent);
  if (s.traceState !== undefined) m.traceState = s.traceState;
  if (s.events !== undefined) m.events = s.events.map((e) => ({ timeUnixNano: nanos(start), name: e.name, attributes: e.attributes ?? [] }));
  if (s.status !== undefined) m.status = { code: s.status.code, ...(s.status.message ? { message: s.status.message } : {}) };
  return m;
}

/** One ExportTraceServiceRequest in protobuf: each resource with one scope holding its spans. */
export function request(resources: ResourceSpec[]): Uint8Array {
  return encodeRequest({
    resourceSpans: resources.map((r) => ({
      resource: { attributes: r.attributes },
      scopeSpans: [{ scope: { name: 'spanmeter-interop', version: '1.0.0' }, spans: r.spans.map(spanMsg) }],
    })),
  });
}

export const service = (name: string, ...more: KV[]): KV[] => [str('service.name', name), ...more];

// ---------------------------------------------------------------------------------------------
// The bench workload

export interface WorkloadRequests {
  requests: Uint8Array[];
  spans: number;
}

/** The bench workload (src/workload/workload.ts) under `seed`: `batches` requests of `spansPerBatch` spans. */
export function workloadRequests(seed: number, batches = 20, spansPerBatch = 200): WorkloadRequests {
  const w = generateWorkload({ seed, batches, spansPerBatch });
  return { requests: w.batches, spans: w.stats.spans };
}

// ---------------------------------------------------------------------------------------------
// Span-metrics edges

/** The histogram bounds both peers are given, in milliseconds (the Collector connector's defaults). */
export const BOUNDS_MS = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000];

/** Dimensions both peers are configured with for the span-metrics edges and the workload. */
export const SPAN_DIMENSIONS = [
  'http.request.method',
  'http.response.status_code',
  'db.system.name',
  'messaging.system',
  'k8s.namespace.name',
  'edge.int',
  'edge.bool',
  'edge.double',
  'edge.str',
  'edge.array',
  'edge.kvlist',
  'edge.bytes',
  'deployment.environment',
];

export interface SpanMetricsEdges {
  requests: Uint8Array[];
  /** Spans sent under a resource with a string service.name (the ones the Collector counts). */
  spansWithService: number;
  /** Spans sent under a resource without service.name. */
  spansWithoutService: number;
}

/**
 * Edge traces for span metrics. Services (each groups one kind of edge, so a test can tell the
 * agreeing ones from the documented differences):
 *   edge-durations   SERVER spans exactly on each bucket bound, 1 ns above it, 0, end before
 *                    start, and past the last bound
 *   edge-events      span events: two on one span; an event dimension the span also has
 *   edge-status      every kind x every status code, an error with a message
 *   edge-dims        dimensions of type string, int, bool and doubles that print alike
 *   edge-dims-format doubles with an exponent, arrays, key-value lists, bytes as dimensions
 *   edge-precedence  a dimension on both the resource and the span, with different values
 *   edge-sampled     spans carrying a sampling ratio (tracestate th, X-SampleRatio attribute)
 *   edge-odd-enums   span kind 9 and status code 5 (not in the enums)
 *   edge-limits      a span name and a dimension value longer than 2048 bytes
 *   ""               service.name present but empty
 *   (none)           a resource without service.name
 *   edge-int-service a resource whose service.name is an int
 *   edge-db, edge-messaging  database CLIENT and PRODUCER/CONSUMER spans, split across requests
 */
export function spanMetricsEdges(): SpanMetricsEdges {
  const durations: SpanSpec[] = [];
  BOUNDS_MS.forEach((b, i) => {
    const on = BigInt(b) * MS;
    durations.push({ name: 'on-bound', durationNs: on, trace: `dur-${i}`, id: `dur-on-${i}` });
    durations.push({ name: 'above-bound', durationNs: on + 1n, trace: `dur-${i}`, id: `dur-above-${i}` });
  });
  durations.push({ name: 'zero', durationNs: 0n, trace: 'dur-z', id: 'dur-z' });
  durations.push({ name: 'negative', durationNs: -5n * MS, trace: 'dur-n', id: 'dur-n' });
  durations.push({ name: 'past-last', durationNs: 3_600_000n * MS, trace: 'dur-p', id: 'dur-p' });
  durations.push({ name: 'sub-ms', durationNs: 1234n, trace: 'dur-s', id: 'dur-s' });

  const status: SpanSpec[] = [];
  for (const [kn, k] of Object.entries(KIND)) {
    for (const [sn, s] of Object.entries(STATUS)) {
      status.push({ name: `op-${kn}`, kind: k, status: { code: s, message: s === STATUS.ERROR ? 'boom' : '' }, durationNs: 3n * MS, trace: `st-${kn}-${sn}`, id: `st-${kn}-${sn}` });
    }
  }

  const dims: SpanSpec[] = [
    { name: 'dim-str', durationNs: 1n * MS, trace: 'd1', id: 'd1', attributes: [str('edge.str', 'a b/c"d\\e')] },
    { name: 'dim-int', durationNs: 1n * MS, trace: 'd2', id: 'd2', attributes: [int('edge.int', 42)] },
    { name: 'dim-int-neg', durationNs: 1n * MS, trace: 'd3', id: 'd3', attributes: [int('edge.int', -7)] },
    { name: 'dim-int-big', durationNs: 1n * MS, trace: 'd4', id: 'd4', attributes: [int('edge.int', 9_007_199_254_740_993n)] },
    { name: 'dim-bool', durationNs: 1n * MS, trace: 'd5', id: 'd5', attributes: [bool('edge.bool', true)] },
    { name: 'dim-bool-false', durationNs: 1n * MS, trace: 'd6', id: 'd6', attributes: [bool('edge.bool', false)] },
    { name: 'dim-double', durationNs: 1n * MS, trace: 'd7', id: 'd7', attributes: [dbl('edge.double', 1.5)] },
    { name: 'dim-double-int', durationNs: 1n * MS, trace: 'd8', id: 'd8', attributes: [dbl('edge.double', 3)] },
    { name: 'dim-double-frac', durationNs: 1n * MS, trace: 'd9', id: 'd9', attributes: [dbl('edge.double', 0.1)] },
    { name: 'dim-many', durationNs: 1n * MS, trace: 'd10', id: 'd10', attributes: [str('http.request.method', 'GET'), int('http.response.status_code', 503), bool('edge.bool', true)] },
    { name: 'dim-empty-str', durationNs: 1n * MS, trace: 'd11', id: 'd11', attributes: [str('edge.str', '')] },
  ];
  const dimsFormat: SpanSpec[] = [
    { name: 'fmt-double-tiny', durationNs: 1n * MS, trace: 'f1', id: 'f1', attributes: [dbl('edge.double', 1e-7)] },
    { name: 'fmt-double-huge', durationNs: 1n * MS, trace: 'f2', id: 'f2', attributes: [dbl('edge.double', 1e21)] },
    { name: 'fmt-array', durationNs: 1n * MS, trace: 'f3', id: 'f3', attributes: [arr('edge.array', [{ stringValue: 'a' }, { stringValue: 'b' }])] },
    { name: 'fmt-array-mixed', durationNs: 1n * MS, trace: 'f4', id: 'f4', attributes: [arr('edge.array', [{ intValue: Long.fromNumber(1) }, { boolValue: true }, { doubleValue: 2.5 }])] },
    { name: 'fmt-kvlist', durationNs: 1n * MS, trace: 'f5', id: 'f5', attributes: [kvlist('edge.kvlist', [str('k', 'v'), int('n', 1)])] },
    { name: 'fmt-bytes', durationNs: 1n * MS, trace: 'f6', id: 'f6', attributes: [bytes('edge.bytes', new Uint8Array([1, 2, 3]))] },
  ];

  const sampled: SpanSpec[] = [
    // OTel probability sampling, tracestate th:8 = 50 % (adjusted count 2), th:c = 25 % (4)
    { name: 'th-50', durationNs: 2n * MS, trace: 's1', id: 's1', traceState: 'ot=th:8' },
    { name: 'th-25', durationNs: 2n * MS, trace: 's2', id: 's2', traceState: 'ot=th:c' },
    // Tempo's span_multiplier_key attribute (its default key), ratio 0.25
    { name: 'attr-25', durationNs: 2n * MS, trace: 's3', id: 's3', attributes: [dbl('X-SampleRatio', 0.25)] },
  ];

  const odd: SpanSpec[] = [
    { name: 'kind-9', kind: 9, durationNs: 1n * MS, trace: 'o1', id: 'o1' },
    { name: 'status-5', status: { code: 5 }, durationNs: 1n * MS, trace: 'o2', id: 'o2' },
  ];

  // database and messaging spans; the PRODUCER and its CONSUMER go in different requests
  const db: SpanSpec[] = [
    { name: 'SELECT shop.orders', kind: KIND.CLIENT, durationNs: 7n * MS, trace: 'db1', id: 'db1', attributes: [str('db.system.name', 'postgresql'), str('db.namespace', 'shop')] },
    { name: 'SELECT shop.orders', kind: KIND.CLIENT, status: { code: STATUS.ERROR }, durationNs: 70n * MS, trace: 'db2', id: 'db2', attributes: [str('db.system.name', 'postgresql'), str('db.namespace', 'shop')] },
  ];
  const producer: SpanSpec[] = [
    { name: 'orders publish', kind: KIND.PRODUCER, durationNs: 1n * MS, trace: 'm1', id: 'm1-p', attributes: [str('messaging.system', 'kafka')] },
  ];
  const consumer: SpanSpec[] = [
    { name: 'orders process', kind: KIND.CONSUMER, startNs: 5n * MS, durationNs: 9n * MS, trace: 'm1', id: 'm1-c', parent: 'm1-p', attributes: [str('messaging.system', 'kafka')] },
  ];

  // span events: exception + retry on one span; an exception event whose type the span also has
  const events: SpanSpec[] = [
    {
      name: 'ev-two', durationNs: 1n * MS, trace: 'ev1', id: 'ev1',
      events: [{ name: 'exception', attributes: [str('exception.type', 'IOError')] }, { name: 'retry' }],
    },
    {
      name: 'ev-shadowed', durationNs: 1n * MS, trace: 'ev2', id: 'ev2', attributes: [str('exception.type', 'SpanLevel')],
      events: [{ name: 'exception', attributes: [str('exception.type', 'Timeout')] }],
    },
  ];

  const first = request([
    { attributes: service('edge-durations', str('k8s.namespace.name', 'edge')), spans: durations },
    { attributes: service('edge-events'), spans: events },
    { attributes: service('edge-status'), spans: status },
    { attributes: service('edge-dims'), spans: dims },
    { attributes: service('edge-dims-format'), spans: dimsFormat },
    { attributes: service('edge-precedence', str('deployment.environment', 'from-resource')), spans: [{ name: 'both', durationNs: 1n * MS, trace: 'p1', id: 'p1', attributes: [str('deployment.environment', 'from-span')] }] },
    { attributes: service('edge-sampled'), spans: sampled },
    { attributes: service('edge-db'), spans: db },
    { attributes: service('edge-messaging'), spans: producer },
  ]);
  // values past Tempo's 2048-byte label value limit: a span name and a 2-byte-character dimension
  const limits: SpanSpec[] = [{ name: 'n'.repeat(3000), durationNs: 1n * MS, trace: 'l1', id: 'l1', attributes: [str('edge.str', 'é'.repeat(1500))] }];

  const second = request([
    { attributes: service('edge-messaging'), spans: consumer },
    { attributes: service('edge-limits'), spans: limits },
    { attributes: service('edge-odd-enums'), spans: odd },
    { attributes: [str('service.name', '')], spans: [{ name: 'empty-service', durationNs: 1n * MS, trace: 'e1', id: 'e1' }] },
    { attributes: [str('host.name', 'nameless')], spans: [{ name: 'no-service', durationNs: 1n * MS, trace: 'e2', id: 'e2' }, { name: 'no-service', durationNs: 2n * MS, trace: 'e3', id: 'e3' }] },
    { attributes: [int('service.name', 5)], spans: [{ name: 'int-service', durationNs: 1n * MS, trace: 'e4', id: 'e4' }] },
  ]);
  const withService =
    durations.length + events.length + limits.length + status.length + dims.length + dimsFormat.length + 1 + sampled.length + db.length + producer.length + consumer.length + odd.length + 1 + 1;
  return { requests: [first, second], spansWithService: withService, spansWithoutService: 2 };
}

/** One request with a span whose name is not valid UTF-8 ("BAD", 0xff, "NAME"), service edge-limits. */
export function invalidUtf8Request(): Uint8Array {
  const body = request([{ attributes: service('edge-limits'), spans: [{ name: 'BADXNAME', durationNs: 1n * MS, trace: 'u1', id: 'u1' }] }]);
  const at = Buffer.from(body).indexOf('BADXNAME');
  body[at + 3] = 0xff;
  return body;
}

// ---------------------------------------------------------------------------------------------
// Service-graph edges

export interface ServiceGraphEdges {
  /** Sent first. */
  first: Uint8Array;
  /** Sent after `first` (the other halves of split pairs), within the store's wait. */
  second: Uint8Array;
}

const ns = (name: string): KV => str('k8s.namespace.name', name);

/**
 * Edge traces for service graphs (hand-computed outcomes beside each; "both" = Tempo's semantics
 * as spanmeter implements them and the Collector's servicegraph connector agree):
 *   g1  sg-a CLIENT -> sg-b SERVER, one request, ok                 both: a->b 1
 *   g2  same pair split: the client in `first`, the server in `second` both: a->b 1
 *   g3  client ERROR, server ok                                     both: a->b failed 1
 *   g4  client ok, server ERROR (split)                             both: a->b failed 1
 *   g5  lone root SERVER in sg-b                                    both: user->b virtual_node 1
 *   g6  lone CLIENT in sg-a with peer.service=ext-api               both: a->ext-api virtual_node 1
 *   g7  lone CLIENT in sg-a without any peer attribute              Collector: a->unknown
 *                                                                   virtual_node; spanmeter: unpaired
 *   g8  lone non-root SERVER in sg-c (its parent never arrives)     both: no edge
 *   g9  sg-a CLIENT with db.name=orders-db only                     both: a->orders-db database
 *   g10 sg-a CLIENT with db.name=orders-db and peer.service=pg-main Collector: a->orders-db;
 *                                                                   spanmeter: a->pg-main (database)
 *   g11 CLIENT with db.system=postgresql only                       both: a->postgresql database
 *   g12 sg-a PRODUCER -> sg-c CONSUMER (split)                      both: a->c messaging_system 1
 *   g13 sg-b CLIENT -> sg-c SERVER with latencies on bucket bounds  both: b->c, buckets as hand-placed
 *   g14 a resource without service.name: CLIENT -> SERVER in sg-c   both: no edge from it
 * Resources carry k8s.namespace.name (ns-a, ns-b, ns-c), configured as a dimension.
 */
export function serviceGraphEdges(): ServiceGraphEdges {
  const A: SpanSpec[] = [];
  const B: SpanSpec[] = [];
  const C: SpanSpec[] = [];
  const A2: SpanSpec[] = [];
  const B2: SpanSpec[] = [];
  const C2: SpanSpec[] = [];
  const client = (t: string, extra: Partial<SpanSpec> = {}): SpanSpec => ({ name: `call ${t}`, kind: KIND.CLIENT, durationNs: 20n * MS, trace: t, id: `${t}-c`, parent: `${t}-root`, ...extra });
  const server = (t: string, extra: Partial<SpanSpec> = {}): SpanSpec => ({ name: `handle ${t}`, kind: KIND.SERVER, startNs: 2n * MS, durationNs: 10n * MS, trace: t, id: `${t}-s`, parent: `${t}-c`, ...extra });
  A.push(client('g1'));
  B.push(server('g1'));
  A.push(client('g2'));
  B2.push(server('g2'));
  A.push(client('g3', { status: { code: STATUS.ERROR, message: 'refused' } }));
  B.push(server('g3'));
  A.push(client('g4'));
  B2.push(server('g4', { status: { code: STATUS.ERROR } }));
  B.push({ name: 'GET /', kind: KIND.SERVER, durationNs: 30n * MS, trace: 'g5', id: 'g5-s' });
  A.push(client('g6', { attributes: [str('peer.service', 'ext-api')] }));
  A.push(client('g7'));
  C.push(server('g8'));
  A.push(client('g9', { attributes: [str('db.name', 'orders-db')] }));
  A.push(client('g10', { attributes: [str('db.name', 'orders-db'), str('peer.service', 'pg-main')] }));
  A.push(client('g11', { attributes: [str('db.system', 'postgresql')] }));
  A.push({ name: 'orders publish', kind: KIND.PRODUCER, durationNs: 1n * MS, trace: 'g12', id: 'g12-p', parent: 'g12-root' });
  C2.push({ name: 'orders process', kind: KIND.CONSUMER, startNs: 5n * MS, durationNs: 9n * MS, trace: 'g12', id: 'g12-c', parent: 'g12-p' });
  // latency bounds 0.1, 0.2, 0.4 … s: client exactly 0.1 s (le 0.1), server 0.1 s + 1 ns (le 0.2)
  B.push({ name: 'call c', kind: KIND.CLIENT, durationNs: 100n * MS, trace: 'g13', id: 'g13-c', parent: 'g13-root' });
  C.push({ name: 'handle c', kind: KIND.SERVER, durationNs: 100n * MS + 1n, trace: 'g13', id: 'g13-s', parent: 'g13-c' });
  const nameless: ResourceSpec = {
    attributes: [ns('ns-x')],
    spans: [{ name: 'call c', kind: KIND.CLIENT, durationNs: 1n * MS, trace: 'g14', id: 'g14-c', parent: 'g14-root' }],
  };
  C.push({ name: 'handle c', kind: KIND.SERVER, durationNs: 1n * MS, trace: 'g14', id: 'g14-s', parent: 'g14-c' });
  return {
    first: request([
      { attributes: service('sg-a', ns('ns-a')), spans: A },
      { attributes: service('sg-b', ns('ns-b')), spans: B },
      { attributes: service('sg-c', ns('ns-c')), spans: C },
      nameless,
    ]),
    second: request([
      { attributes: service('sg-a', ns('ns-a')), spans: A2 },
      { attributes: service('sg-b', ns('ns-b')), spans: B2 },
      { attributes: service('sg-c', ns('ns-c')), spans: C2 },
    ]),
  };
}
