// The sidecar's own metrics (`spanmeter_*`), in a prom-client Registry apart from the span metrics.
// Receivers call recordRequest once per request; the CLI adds gauges read from the core at scrape.
// What the receivers count per request (requests, spans) is kept in plain numbers and handed to
// prom-client at scrape time (its collect() callbacks): a labelled prom-client counter update costs
// ~1 µs per request. The duration histogram is counted in plain numbers too (DurationHistogram):
// prom-client's Histogram.labels().observe() cost ~3 µs per request (1.1% of the sidecar's CPU
// under the bench's gRPC+gzip load: an object, closures and a label hash built per call, and its
// buckets keyed by the bound's string).
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Registry,
  type OpenMetricsContentType,
  type PrometheusContentType,
} from 'prom-client';
import type { TextFormat } from './exporters/exposition.js';
import { promClientProto, type PromClientMetric } from './exporters/protoexposition.js';
import type { IngestResult } from './core/result.js';
import { REFUSAL_REASONS, type RefusalReason } from './net/limits.js';

export type Protocol = 'http' | 'grpc';

/**
 * Why spans or requests were turned away; a fixed set so the label stays small.
 * - `malformed`: the bytes are not a valid ExportTraceServiceRequest (core rejection, bad JSON, bad gzip)
 * - `too_large`: over max_request_body_size (before or after decompression)
 * - `unsupported_media_type`: unknown Content-Type or Content-Encoding
 * - `internal`: a bug on our side or a core failure (HTTP 500 / gRPC INTERNAL)
 * - `throttled`: the ingest budget (otlp.max_inflight_*) was full (HTTP 429 / gRPC UNAVAILABLE)
 * - `too_many_spans`: over otlp.max_spans_per_request (HTTP 400 / gRPC INVALID_ARGUMENT)
 * - `compression_ratio`: inflated past otlp.max_decompression_ratio (HTTP 413)
 * - `too_deep`: attribute values nested deeper than 64 levels, in OTLP/JSON or protobuf (HTTP 400
 *   / gRPC INVALID_ARGUMENT)
 * - `unauthenticated`: missing or wrong bearer token (HTTP 401 / gRPC UNAUTHENTICATED)
 * - `unavailable`: the core is being rebuilt after a failure (HTTP 503 / gRPC UNAVAILABLE)
 * - `string_too_long`, `too_many_attributes`: over otlp.max_string_length or
 *   otlp.max_attributes_per_span (HTTP 400 / gRPC INVALID_ARGUMENT)
 * - `memory_limited`: the memory limiter (memory_limiter) refused it, memory being above its soft
 *   limit (HTTP 429 / gRPC UNAVAILABLE, both with a retry delay)
 * - `not_traces`: OTLP metrics or logs, sent to a receiver of traces only (HTTP 404 on /v1/metrics
 *   and /v1/logs, with a Status naming /v1/traces)
 */
export const REJECT_REASONS = [
  'malformed', 'too_large', 'unsupported_media_type', 'internal', 'throttled', 'too_many_spans', 'compression_ratio',
  'unauthenticated', 'unavailable', 'too_deep', 'string_too_long', 'too_many_attributes', 'not_traces',
  'memory_limited',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Why a receiver cut a request, call or connection (spanmeter_ingest_cut_total). */
export const CUT_REASONS = ['stalled', 'write_timeout', 'read_timeout', 'too_many_pings'] as const;
export type CutReason = (typeof CUT_REASONS)[number];

/** What one finished OTLP request did, as the receivers report it. */
export interface RequestRecord {
  protocol: Protocol;
  /** HTTP status code (200, 400, …) or gRPC status name (`OK`, `INVALID_ARGUMENT`, …). */
  code: number | string;
  /** Server-side handling time in seconds (body received → response handed to the transport). */
  seconds?: number;
  /** The core's answer, when the request reached the core. */
  result?: IngestResult;
  /** Why the request was turned away before or at the core; implied `malformed` for a result with ok: false. */
  rejected?: RejectReason;
}

/** One labelled sample of a collected metric. */
export interface Sample {
  labels?: Record<string, string | number>;
  value: number;
}

/** Returns the current value(s) at scrape time. */
export type Collector = () => number | readonly Sample[];

export interface CollectedMetric {
  /** Full metric name, e.g. `spanmeter_active_series`. */
  name: string;
  help: string;
  labelNames?: readonly string[];
  collect: Collector;
}

export interface TelemetryOptions {
  /** Register process_* and nodejs_* (collectDefaultMetrics). Default true. */
  defaultMetrics?: boolean;
}

/** Latency buckets for one request's handling, seconds (100 µs … 5 s). */
const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

const PROTOCOLS = ['http', 'grpc'] as const;
const protocolIndex = (p: Protocol): number => (p === 'http' ? 0 : 1);
const REJECT_INDEX: ReadonlyMap<RejectReason, number> = new Map(REJECT_REASONS.map((r, i) => [r, i]));

function add(counts: Float64Array, i: number, n: number): void {
  counts[i] = counts[i]! + n;
}

/** One {protocol, code} of spanmeter_requests_total, in the order first answered. */
interface CodeCount {
  readonly labels: { protocol: Protocol; code: string };
  n: number;
}

/** prom-client's default gauges named like counters; see the constructor. */
const DUPLICATE_TOTAL_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** One sample of a histogram as prom-client's Histogram.get() gives it (what registries render). */
interface HistogramValue {
  value: number;
  metricName: string;
  exemplar: null | undefined;
  labels: { le?: number | string; protocol: Protocol };
}

/**
 * spanmeter_request_duration_seconds: per protocol, the count of each bucket (not cumulative),
 * the sum and the count, in one Float64Array; read by the registries through get(), which gives
 * the values prom-client's Histogram.get() would give for the same observations, in its order
 * (buckets, +Inf, _sum, _count; http first), so the expositions read the same
 * (test/telemetry/plain-counts.test.ts). A value goes in the first bucket whose bound it does not
 * exceed, as prom-client's findBound; past the last bound, in +Inf only.
 */
class DurationHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['protocol'];
  /** Per protocol: buckets.length counts, then the sum, then the count. */
  private readonly counts: Float64Array;
  private readonly stride: number;

  constructor(readonly name: string, readonly help: string, private readonly buckets: readonly number[], registers: readonly Registry<PrometheusContentType | OpenMetricsContentType>[]) {
    this.stride = buckets.length + 2;
    this.counts = new Float64Array(PROTOCOLS.length * this.stride);
    for (const r of registers) r.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]); // read as prom-client reads its own
  }

  /** Observes `seconds` (finite, >= 0) for protocol index `p`. */
  observe(p: number, seconds: number): void {
    const counts = this.counts;
    const bounds = this.buckets;
    const at = p * this.stride;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    if (i < bounds.length) counts[at + i]!++;
    counts[at + bounds.length]! += seconds;
    counts[at + bounds.length + 1]!++;
  }

  get(): Promise<{ name: string; help: string; type: string; values: HistogramValue[]; aggregator: string }> {
    const { name, buckets, counts } = this;
    const values: HistogramValue[] = [];
    for (let p = 0; p < PROTOCOLS.length; p++) {
      const protocol = PROTOCOLS[p]!;
      const at = p * this.stride;
      const count = counts[at + buckets.length + 1]!;
      let cumulative = 0;
      for (let i = 0; i < buckets.length; i++) {
        cumulative += counts[at + i]!;
        values.push({ value: cumulative, metricName: `${name}_bucket`, exemplar: null, labels: { le: buckets[i]!, protocol } });
      }
      values.push({ value: count, metricName: `${name}_bucket`, exemplar: null, labels: { le: '+Inf', protocol } });
      values.push({ value: counts[at + buckets.length]!, metricName: `${name}_sum`, exemplar: undefined, labels: { protocol } });
      values.push({ value: count, metricName: `${name}_count`, exemplar: undefined, labels: { protocol } });
    }
    return Promise.resolve({ name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}

/** A sample whose value prom-client wrote as `Nan` (it adds no timestamps). */
const NAN_VALUE = / Nan$/gm;

export class Telemetry {
  readonly registry: Registry<PrometheusContentType>;
  /** The same metrics again, for scrapers that ask for OpenMetrics. */
  private readonly openMetrics: Registry<OpenMetricsContentType>;
  // Counted per request in plain numbers, handed to prom-client by the metrics' collect().
  private spansReceived = 0;
  private spansAccepted = 0;
  /** Spans rejected, by REJECT_REASONS index. */
  private readonly spansRejected = new Float64Array(REJECT_REASONS.length);
  /** Requests answered, per protocol by code (String(code)), and in the order first answered. */
  private readonly requestCodes = PROTOCOLS.map(() => new Map<string, CodeCount>());
  private readonly requestOrder: CodeCount[] = [];
  /** Requests rejected, at REJECT_REASONS index * 2 + protocol index. */
  private readonly requestsRejected = new Float64Array(REJECT_REASONS.length * PROTOCOLS.length);
  private readonly duration: DurationHistogram;
  private readonly collectErrors: Counter<'metric'>;
  private readonly throttled: Counter<'protocol'>;
  private readonly httpRefused: Counter<'reason'>;
  private readonly cut: Counter<'protocol' | 'reason'>;
  /** Each metric's name as registered (render() puts back what prom-client's OpenMetrics rendering changes). */
  private readonly names = new WeakMap<object, string>();

  constructor(options: TelemetryOptions = {}) {
    const registry = new Registry<PrometheusContentType>();
    this.registry = registry;
    this.openMetrics = new Registry<OpenMetricsContentType>();
    this.openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const registers = [registry, this.openMetrics];
    const self = this;
    new Counter({
      name: 'spanmeter_spans_received_total',
      help: 'Spans in OTLP requests that reached the core (accepted or rejected).',
      registers,
      collect() {
        this.reset();
        this.inc(self.spansReceived);
      },
    });
    new Counter({
      name: 'spanmeter_spans_accepted_total',
      help: 'Spans aggregated by the core.',
      registers,
      collect() {
        this.reset();
        this.inc(self.spansAccepted);
      },
    });
    // Every reason is visible from the start, at zero.
    new Counter({
      name: 'spanmeter_spans_rejected_total',
      help: 'Spans turned away, by reason. Spans of a request refused before decoding cannot be counted; see spanmeter_requests_rejected_total.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (let r = 0; r < REJECT_REASONS.length; r++) this.inc({ reason: REJECT_REASONS[r]! }, self.spansRejected[r]!);
      },
    });
    new Counter({
      name: 'spanmeter_requests_total',
      help: 'OTLP export requests answered, by protocol and status code (HTTP status or gRPC status name).',
      labelNames: ['protocol', 'code'],
      registers,
      collect() {
        this.reset();
        for (const c of self.requestOrder) this.inc(c.labels, c.n);
      },
    });
    new Counter({
      name: 'spanmeter_requests_rejected_total',
      help: 'OTLP export requests turned away, by protocol and reason.',
      labelNames: ['protocol', 'reason'],
      registers,
      collect() {
        this.reset();
        for (let r = 0; r < REJECT_REASONS.length; r++) {
          for (let p = 0; p < PROTOCOLS.length; p++) this.inc({ protocol: PROTOCOLS[p], reason: REJECT_REASONS[r]! }, self.requestsRejected[r * PROTOCOLS.length + p]!);
        }
      },
    });
    this.duration = new DurationHistogram(
      'spanmeter_request_duration_seconds',
      'Server-side handling time of one OTLP export request once its body arrived (HTTP: decompression, JSON conversion and ingest; gRPC: ingest), seconds.',
      DURATION_BUCKETS,
      registers,
    );
    this.collectErrors = new Counter({
      name: 'spanmeter_telemetry_collect_errors_total',
      help: 'Errors thrown by a collected self metric at scrape time (its previous value is kept).',
      labelNames: ['metric'],
      registers,
    });
    this.throttled = new Counter({
      name: 'spanmeter_requests_throttled_total',
      help: 'OTLP export requests refused because the ingest budget (otlp.max_inflight_bytes / max_inflight_requests) was full (HTTP 429, gRPC UNAVAILABLE), by protocol. Senders retry them.',
      labelNames: ['protocol'],
      registers,
    });
    for (const protocol of ['http', 'grpc'] as const) this.throttled.labels(protocol).inc(0);
    this.httpRefused = new Counter({
      name: 'spanmeter_http_server_refused_total',
      help: 'Clients of the metrics/page server turned away by http_limits, by reason: connections (over max_connections, closed on arrival), in_flight (503), pipelined (too many requests waiting on one connection, closed), write_timeout (response not written in time, closed), read_timeout (headers not read within read_header_timeout: 408, closed).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of REFUSAL_REASONS) this.httpRefused.labels(reason).inc(0);
    this.cut = new Counter({
      name: 'spanmeter_ingest_cut_total',
      help: 'OTLP requests, calls and connections the receivers cut, by protocol and reason: stalled (no body bytes for otlp.stalled_request_timeout while holding ingest budget), write_timeout (not received and answered within otlp.write_timeout), read_timeout (HTTP headers or request not read in time: 408), too_many_pings (gRPC keepalive enforcement: GOAWAY ENHANCE_YOUR_CALM).',
      labelNames: ['protocol', 'reason'],
      registers,
    });
    for (const reason of CUT_REASONS) for (const protocol of ['http', 'grpc'] as const) this.cut.labels(protocol, reason).inc(0);
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: registry });
      collectDefaultMetrics({ register: this.openMetrics });
      // prom-client also registers nodejs_active_{handles,requests,resources}_total: gauges whose
      // `_total` suffix promtool check metrics refuses (only counters end in _total). Each is the
      // sum of the same-named gauge without it (by `type`), which stays.
      for (const r of registers) for (const name of DUPLICATE_TOTAL_GAUGES) r.removeSingleMetric(name);
    }
  }

  /** Records one finished OTLP request: countRequest plus recordIngest. Cheap: nothing per span. */
  recordRequest(r: RequestRecord): void {
    const rejected = r.rejected ?? (r.result && !r.result.ok ? r.result.cause : undefined);
    this.countRequest(r.protocol, r.code, rejected);
    this.recordIngest(r.protocol, r.seconds, r.result, rejected);
  }

  /** Counts one answered request, and its rejection reason if it was turned away. */
  countRequest(protocol: Protocol, code: number | string, rejected?: RejectReason): void {
    const p = protocolIndex(protocol);
    const key = String(code);
    const codes = this.requestCodes[p]!;
    let c = codes.get(key);
    if (c === undefined) {
      c = { labels: { protocol, code: key }, n: 0 };
      codes.set(key, c);
      this.requestOrder.push(c);
    }
    c.n++;
    if (rejected) add(this.requestsRejected, REJECT_INDEX.get(rejected)! * PROTOCOLS.length + p, 1);
  }

  /** Counts spans turned away before they reached the core (e.g. too_many_spans). */
  countRejectedSpans(reason: RejectReason, spans: number): void {
    add(this.spansRejected, REJECT_INDEX.get(reason)!, spans);
  }

  /** Counts one request refused by the ingest budget (besides countRequest). */
  countThrottled(protocol: Protocol): void {
    this.throttled.labels(protocol).inc();
  }

  /** Counts one client the metrics/page server turned away (src/net/limits.ts). */
  countHttpRefused(reason: RefusalReason): void {
    this.httpRefused.labels(reason).inc();
  }

  /** Counts one request, call or connection a receiver cut (a timeout or abuse; see CUT_REASONS). */
  countCut(protocol: Protocol, reason: CutReason): void {
    this.cut.labels(protocol, reason).inc();
  }

  /**
   * Records the handling time and the core's answer for a request (spans received, accepted or
   * rejected; a result with ok: false counts its spans under `reason`, default `malformed`).
   */
  recordIngest(protocol: Protocol, seconds: number | undefined, result?: IngestResult, reason?: RejectReason): void {
    if (seconds !== undefined && seconds >= 0 && seconds < Infinity) this.duration.observe(protocolIndex(protocol), seconds);
    if (!result) return;
    this.spansReceived += result.spans;
    if (result.ok) this.spansAccepted += result.spans;
    else add(this.spansRejected, REJECT_INDEX.get(reason ?? 'malformed')!, result.spans);
  }

  /** Adds a gauge whose value is read at each scrape (active series, WASM memory bytes, store size, …). */
  addGauge(metric: CollectedMetric): void {
    const self = this;
    new Gauge({
      name: metric.name,
      help: metric.help,
      labelNames: metric.labelNames ?? [],
      registers: [this.registry, this.openMetrics],
      collect() {
        const v = self.read(metric);
        if (v === undefined) return;
        this.reset();
        for (const s of v) {
          if (s.labels) this.set(s.labels, s.value);
          else this.set(s.value);
        }
      },
    });
  }

  /**
   * Adds a counter whose running total is read at each scrape from a source that only grows
   * (expired edges, limited series, …). The name should end in `_total`.
   */
  addCounter(metric: CollectedMetric): void {
    const self = this;
    new Counter({
      name: metric.name,
      help: metric.help,
      labelNames: metric.labelNames ?? [],
      registers: [this.registry, this.openMetrics],
      collect() {
        const v = self.read(metric);
        if (v === undefined) return;
        this.reset();
        for (const s of v) {
          const value = Number.isFinite(s.value) && s.value > 0 ? s.value : 0;
          if (s.labels) this.inc(s.labels, value);
          else this.inc(value);
        }
      },
    });
  }

  /** The sidecar's metrics in the Prometheus protobuf exposition (length-delimited MetricFamily messages). */
  async renderProto(): Promise<Buffer> {
    return promClientProto((await this.registry.getMetricsAsJSON()) as unknown as PromClientMetric[]);
  }

  /** The sidecar's metrics in Prometheus text format 0.0.4 or OpenMetrics (without `# EOF`). */
  async render(format: TextFormat = 'text'): Promise<string> {
    // prom-client writes NaN as `Nan` (nodejs_eventloop_lag_* before the first sample); both
    // formats spell it `NaN`, and OpenMetrics parsers take no other spelling.
    if (format === 'text') return (await this.registry.metrics()).replace(NAN_VALUE, ' NaN');
    // prom-client's OpenMetrics rendering renames each counter object (its name without `_total`,
    // which it appends when writing): the counters are the text registry's too, which would then
    // write them without `_total`, so their names are put back.
    const metrics = this.openMetrics.getMetricsAsArray();
    for (const m of metrics) if (!this.names.has(m)) this.names.set(m, m.name);
    try {
      return (await this.openMetrics.metrics()).replace(NAN_VALUE, ' NaN').replace(/# EOF\n?$/, '');
    } finally {
      for (const m of metrics) m.name = this.names.get(m)!;
    }
  }

  /** Stops the default metrics' timers and forgets every metric. */
  clear(): void {
    this.registry.clear();
    this.openMetrics.clear();
  }

  private read(metric: CollectedMetric): readonly Sample[] | undefined {
    try {
      const v = metric.collect();
      return typeof v === 'number' ? [{ value: v }] : v;
    } catch {
      this.collectErrors.labels(metric.name).inc();
      return undefined;
    }
  }
}

let shared: Telemetry | undefined;

/** The process-wide Telemetry (with process_* and nodejs_*), created on first use. */
export function defaultTelemetry(): Telemetry {
  shared ??= new Telemetry();
  return shared;
}
