// Helpers for the service-graph tests: hand-written spans encoded as OTLP protobuf, an
// in-process Core (debug build), and the exposition as a sorted list of sample lines.
import protobuf from 'protobufjs';
import { expect } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import type { ServiceGraphsConfig, SpanMetricsConfig } from '../../src/config/types.js';
import { ServiceGraphsExposition } from '../../src/exporters/servicegraphs.js';
import { ExportTraceServiceRequest } from '../../src/otlp/messages.js';
import { parsePrometheusText, validateExposition } from '../support/prom-text.js';

const Long = protobuf.util.Long as unknown as {
  fromString(s: string, unsigned: boolean): unknown;
};

export type Kind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
const KIND: Record<Kind, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

export type AttrValue = string | number | boolean;
export type Attrs = Record<string, AttrValue>;

export interface SpanSpec {
  /** Trace number (becomes a 16-byte id). */
  trace: number;
  /** Span number (becomes an 8-byte id, never all zeros). */
  id: number;
  /** Parent span number; absent = root span (no parent_span_id). */
  parent?: number;
  kind: Kind;
  /** service.name of the span's resource; null = a resource without service.name. */
  service: string | null;
  /** Start, in ms after T0 (exact to the ns: fractional ms allowed). */
  startMs?: number;
  /** Duration in ms (exact to the ns). */
  durMs: number;
  error?: boolean;
  name?: string;
  attrs?: Attrs;
  /** Resource attributes besides service.name. */
  resource?: Attrs;
  /** Span events, in order. */
  events?: { name: string; attrs?: Attrs }[];
  /** W3C tracestate. */
  traceState?: string;
}

/** 2023-11-14T22:13:20Z in ns; timestamps near 1.7e18 as real exporters send them. */
export const T0_NS = 1_700_000_000_000_000_000n;

export function traceId(n: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x5eed0000 + (Math.floor(n / 2 ** 32) >>> 0));
  v.setUint32(12, n >>> 0);
  v.setUint32(4, 0xabcdef01);
  return b;
}

export function spanId(n: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x1000_0000 + (Math.floor(n / 2 ** 32) >>> 0));
  v.setUint32(4, n >>> 0);
  return b;
}

function anyValue(v: AttrValue): Record<string, unknown> {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Number.isInteger(v)) return { intValue: Long.fromString(String(v), false) };
  return { doubleValue: v };
}

function keyValues(a: Attrs | undefined): Record<string, unknown>[] {
  return Object.entries(a ?? {}).map(([key, value]) => ({ key, value: anyValue(value) }));
}

function ns(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}

function u64(v: bigint): unknown {
  return Long.fromString(v.toString(), true);
}

export function spanMessage(s: SpanSpec): Record<string, unknown> {
  const start = T0_NS + ns(s.startMs ?? 0);
  const end = start + ns(s.durMs);
  return {
    traceId: traceId(s.trace),
    spanId: spanId(s.id),
    ...(s.parent !== undefined ? { parentSpanId: spanId(s.parent) } : {}),
    ...(s.traceState !== undefined ? { traceState: s.traceState } : {}),
    name: s.name ?? `${s.kind} ${s.id}`,
    kind: KIND[s.kind],
    startTimeUnixNano: u64(start),
    endTimeUnixNano: u64(end),
    attributes: keyValues(s.attrs),
    events: (s.events ?? []).map((e) => ({ name: e.name, timeUnixNano: u64(start), attributes: keyValues(e.attrs) })),
    ...(s.error ? { status: { code: 2, message: 'boom' } } : {}),
  };
}

/**
 * One ExportTraceServiceRequest holding the spans in the given order: each span gets its own
 * ResourceSpans (so the core processes them in exactly this order).
 */
export function request(spans: SpanSpec[]): Uint8Array {
  const resourceSpans = spans.map((s) => ({
    resource: {
      attributes: [
        ...(s.service !== null ? keyValues({ 'service.name': s.service }) : []),
        ...keyValues(s.resource),
      ],
    },
    scopeSpans: [{ scope: { name: 'spanmeter-test' }, spans: [spanMessage(s)] }],
  }));
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({ resourceSpans })).finish();
}

/** Many spans of one resource in one ResourceSpans (for floods). */
export function requestOneResource(service: string, spans: Omit<SpanSpec, 'service' | 'resource'>[]): Uint8Array {
  return ExportTraceServiceRequest.encode(
    ExportTraceServiceRequest.fromObject({
      resourceSpans: [
        {
          resource: { attributes: keyValues({ 'service.name': service }) },
          scopeSpans: [{ scope: { name: 'spanmeter-test' }, spans: spans.map((s) => spanMessage({ ...s, service })) }],
        },
      ],
    }),
  ).finish();
}

export function sgConfig(over: Partial<ServiceGraphsConfig> = {}): ServiceGraphsConfig {
  return { ...defaultConfig().processor.service_graphs, ...over };
}

/** Small buckets so expected lines stay short: le 0.1, 1, +Inf. */
export const SMALL_BUCKETS = [0.1, 1];

export interface Harness {
  core: Core;
  cfg: ServiceGraphsConfig;
  expo: ServiceGraphsExposition;
  /** Ingests one request of spans at time nowMs (default 0); asserts it was accepted. */
  send(spans: SpanSpec[], nowMs?: number): void;
  /** The exposition's sample lines (no comments), sorted; checks the text is valid first. */
  lines(): string[];
  /** The full text. */
  text(): string;
}

export async function harness(
  over: Partial<ServiceGraphsConfig> = {},
  opts: { spanMetrics?: SpanMetricsConfig; selfTime?: { maxItems: number; waitMs: number } } = {},
): Promise<Harness> {
  const cfg = sgConfig(over);
  const core = await Core.create({ serviceGraphs: cfg, spanMetrics: opts.spanMetrics, selfTime: opts.selfTime, build: 'debug' });
  const expo = new ServiceGraphsExposition(core, cfg);
  const h: Harness = {
    core,
    cfg,
    expo,
    send(spans, nowMs = 0) {
      const r = core.ingest(request(spans), nowMs);
      expect(r).toEqual({ ok: true, spans: spans.length });
    },
    text: () => expo.render(),
    lines() {
      const text = expo.render();
      const problems = validateExposition(parsePrometheusText(text));
      expect(problems, text).toEqual([]);
      return sampleLines(text);
    },
  };
  return h;
}

export function sampleLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .sort();
}

/** `name{labels} value`, labels in the given order (the order spanmeter writes them). */
export function line(name: string, labels: string, value: number | string): string {
  return `${name}${labels === '' ? '' : `{${labels}}`} ${value}`;
}

/**
 * The _bucket/_sum/_count lines of one histogram series holding `obs` (seconds), with bounds
 * `le` (le-inclusive). Sums are added in the given order.
 */
export function histogram(name: string, labels: string, le: number[], obs: number[]): string[] {
  const open = labels === '' ? '{' : `{${labels},`;
  const out = le.map((b) => `${name}_bucket${open}le="${b}"} ${obs.filter((o) => o <= b).length}`);
  out.push(`${name}_bucket${open}le="+Inf"} ${obs.length}`);
  out.push(line(`${name}_sum`, labels, obs.reduce((a, b) => a + b, 0)));
  out.push(line(`${name}_count`, labels, obs.length));
  return out;
}

export const REQ = 'traces_service_graph_request_total';
export const FAILED = 'traces_service_graph_request_failed_total';
export const SERVER = 'traces_service_graph_request_server_seconds';
export const CLIENT = 'traces_service_graph_request_client_seconds';
export const MSG = 'traces_service_graph_request_messaging_system_seconds';
export const UNPAIRED = 'traces_service_graph_unpaired_spans_total';
export const DROPPED = 'traces_service_graph_dropped_spans_total';

/**
 * All lines of one edge: request_total, failed_total (when > 0), server and client histograms,
 * and the messaging histogram when `queue` observations are given (non-empty).
 */
export function edgeLines(
  labels: string,
  e: { server: number[]; client: number[]; failed?: number; queue?: number[]; le?: number[] },
): string[] {
  const le = e.le ?? SMALL_BUCKETS;
  const out = [line(REQ, labels, e.server.length)];
  if (e.failed) out.push(line(FAILED, labels, e.failed));
  out.push(...histogram(SERVER, labels, le, e.server), ...histogram(CLIENT, labels, le, e.client));
  if (e.queue && e.queue.length > 0) out.push(...histogram(MSG, labels, le, e.queue));
  return out;
}

export function sorted(lines: string[]): string[] {
  return [...lines].sort();
}

/** Every ordering of `items`. */
export function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  const out: T[][] = [];
  items.forEach((x, i) => {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) out.push([x, ...rest]);
  });
  return out;
}
