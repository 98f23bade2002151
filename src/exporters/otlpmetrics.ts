// OTLP metrics push: every `interval` the metric families become an ExportMetricsServiceRequest
// (split into requests of at most maxDataPointsPerRequest data points) sent through a
// DeliveryQueue over gRPC or HTTP (otlptransport.ts).
//
// - Resource: service.name=spanmeter, service.instance.id=<instance>, plus the external labels
//   as attributes. One scope, `spanmeter` with its version.
// - A counter family is a monotonic Sum named as the family (no `_total`: a Prometheus
//   translation adds it back), a histogram family an explicit-bounds Histogram with bounds and
//   sum in the family's unit (ms under naming: otel). A unit is set only when the name ends with
//   it, so translating back to Prometheus names gives the same names as /metrics.
// - Cumulative: values since the start time, which is the process start (or, for a series that
//   replaced a removed one in its slot, the push before it appeared). Delta: the change since
//   the previous push, start time = the previous push (the process start for the first); a
//   series that did not change is left out of that push.
// - Histogram counts are integers on the wire: with a span multiplier the weighted counts are
//   rounded (cumulatively, so the buckets still add up to the count).
// - A histogram family with native histograms (generate_native_histograms: native or both) is an
//   ExponentialHistogram instead (OTLP carries one form per metric): scale = the schema, the
//   positive buckets dense from their offset (OTLP's bucket index is Prometheus' minus 1), the
//   zero bucket and threshold; counts rounded as above. Delta: the previous push's buckets are
//   brought down to the current scale before they are subtracted; after a reset, the whole.
// - Exemplars the families keep (trace and span of an observation per bucket; a counter's is
//   the latest) are attached once: those recorded since the previous push.
import protobuf from 'protobufjs';
import type LongClass from 'long';
import type { Family, HistogramFamily, Labels } from './families.js';
import { forEachSeries, sampleValue } from './families.js';
import { scaled } from './exposition.js';
import type { Exemplar, SeriesTableView } from '../core/index.js';
import { readNative, type NativeHistogram } from '../core/native.js';
import { ExportMetricsServiceRequest, type PbKeyValue } from '../otlp/messages.js';
import { DeliveryQueue, redactUrl, type DeliveryStats } from './delivery.js';
import { createOtlpSender, type OtlpSender, type OtlpTransportOptions } from './otlptransport.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';

const Long = protobuf.util.Long as unknown as typeof LongClass;

export type Temporality = 'cumulative' | 'delta';

/** AggregationTemporality values. */
export const TEMPORALITY = { delta: 1, cumulative: 2 } as const;

export interface OtlpMetricsBuilderOptions {
  families: readonly Family[];
  temporality: Temporality;
  /** Resource attributes (service.name, service.instance.id, external labels). */
  resource: Readonly<Record<string, string>>;
  /** Instrumentation scope (default name spanmeter, no version). */
  scope?: { name: string; version?: string };
  /** Start time of cumulative series: the process start, epoch ms. */
  startMs: number;
  /** Most data points in one request (default 1000). */
  maxDataPointsPerRequest?: number;
  /** Attach the families' exemplars kept since the previous push (default true). */
  exemplars?: boolean;
}

/** One request message, ready for ExportMetricsServiceRequest.encode. */
export interface BuiltMetricsRequest {
  message: Record<string, unknown>;
  dataPoints: number;
}

/** The nanosecond timestamp of an epoch-ms time, exactly (as a Long: ns do not fit a double). */
export function msToNanos(ms: number): LongClass {
  return Long.fromNumber(Math.round(ms), true).multiply(1_000_000);
}

/** A unit only when the name carries it (see the file comment). */
function unitOf(f: Family): string {
  if (f.name.endsWith('_milliseconds')) return 'ms';
  if (f.name.endsWith('_seconds')) return 's';
  if (f.name.endsWith('_bytes')) return 'By';
  return '';
}

const HEX = /^[0-9a-fA-F]*$/;

function hexBytes(hex: string | undefined): Uint8Array | undefined {
  if (!hex || hex.length % 2 !== 0 || !HEX.test(hex)) return undefined;
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function otlpExemplar(e: Exemplar, scale: number): Record<string, unknown> | undefined {
  const traceId = hexBytes(e.traceId);
  if (!traceId) return undefined;
  const spanId = hexBytes(e.spanId);
  return { timeUnixNano: msToNanos(e.timestampMs), asDouble: e.value * scale, traceId, ...(spanId ? { spanId } : {}) };
}

/**
 * A histogram point's exemplars (a list: OTLP has no one-per-bucket rule): each bucket's own, and
 * the series' slowest of the window unless it is one of them.
 */
function histogramExemplars(f: HistogramFamily, view: SeriesTableView, slot: number): (Exemplar | undefined)[] {
  const out = Array.from({ length: f.bounds.length + 1 }, (_, b) => f.exemplar?.(view, slot, b));
  const slowest = f.slowest?.(view, slot);
  if (slowest && !out.some((e) => e && e.traceId === slowest.traceId && e.timestampMs === slowest.timestampMs)) {
    out.push({ traceId: slowest.traceId, spanId: slowest.spanId, value: slowest.value, timestampMs: slowest.timestampMs });
  }
  return out;
}

interface SlotState {
  generation: number;
  /** Start time of the series' cumulative values, epoch ms. */
  startMs: number;
  /** Delta: the values at the previous push (counter: [value]; histogram: buckets…, count, sum). */
  previous?: Float64Array;
  /** Delta, native histograms: the histogram at the previous push. */
  previousNative?: NativeHistogram;
}

/**
 * `h` minus `before` (an earlier reading of the same histogram): `before`'s buckets are merged
 * down to `h`'s schema first (bucket k becomes ceil(k / 2^d)). A histogram that started again
 * since (reset: a later start, fewer observations or a finer schema) is returned whole.
 */
export function subtractNative(h: NativeHistogram, before: NativeHistogram): NativeHistogram {
  if (before.startMs !== h.startMs || before.count > h.count || before.schema < h.schema) return h;
  const d = before.schema - h.schema;
  const counts = [...h.counts];
  let first = h.firstIndex;
  const at = (k: number): number => {
    // Grow the window down when `before` had a bucket below (only possible with zero counts left).
    while (k < first) {
      counts.unshift(0);
      first--;
    }
    while (k - first >= counts.length) counts.push(0);
    return k - first;
  };
  before.counts.forEach((c, i) => {
    if (c === 0) return;
    const k = Math.ceil((before.firstIndex + i) / 2 ** d);
    counts[at(k)]! -= c;
  });
  return {
    ...h, count: h.count - before.count, sum: h.sum - before.sum, zeroCount: h.zeroCount - before.zeroCount, firstIndex: first, counts,
  };
}

/** Whole counts, rounded cumulatively so that they add up to the rounded total. */
function roundCounts(counts: readonly number[], start = 0): number[] {
  const out: number[] = [];
  let cumulative = start;
  let roundedBefore = Math.round(start);
  for (const c of counts) {
    cumulative += c;
    const rounded = Math.max(roundedBefore, Math.round(cumulative));
    out.push(rounded - roundedBefore);
    roundedBefore = rounded;
  }
  return out;
}

export class OtlpMetricsBuilder {
  private readonly slots: SlotState[][];
  private readonly attributes = new WeakMap<Labels, PbKeyValue[]>();
  private readonly resourceAttributes: PbKeyValue[];
  private readonly maxPoints: number;
  private lastPushMs: number | undefined;

  constructor(private readonly options: OtlpMetricsBuilderOptions) {
    this.slots = options.families.map(() => []);
    this.resourceAttributes = Object.entries(options.resource).map(([key, value]) => ({ key, value: { stringValue: value } }));
    this.maxPoints = options.maxDataPointsPerRequest ?? 1000;
    if (!(this.maxPoints >= 1)) throw new Error(`maxDataPointsPerRequest must be at least 1, got ${this.maxPoints}`);
  }

  private attributesOf(pairs: Labels): PbKeyValue[] {
    let kv = this.attributes.get(pairs);
    if (!kv) {
      kv = pairs.map(([key, value]) => ({ key, value: { stringValue: value } }));
      this.attributes.set(pairs, kv);
    }
    return kv;
  }

  private envelope(metrics: Record<string, unknown>[]): Record<string, unknown> {
    const scope = this.options.scope ?? { name: 'spanmeter' };
    return {
      resourceMetrics: [{
        resource: { attributes: this.resourceAttributes },
        scopeMetrics: [{ scope: { name: scope.name, ...(scope.version ? { version: scope.version } : {}) }, metrics }],
      }],
    };
  }

  /** Reads every family (synchronously: one snapshot) and returns the requests of one push. */
  build(nowMs: number): BuiltMetricsRequest[] {
    const delta = this.options.temporality === 'delta';
    const temporality = TEMPORALITY[this.options.temporality];
    const now = msToNanos(nowMs);
    const intervalStartMs = this.lastPushMs ?? this.options.startMs;
    const deltaStart = msToNanos(intervalStartMs);
    const out: BuiltMetricsRequest[] = [];
    let metrics: Record<string, unknown>[] = [];
    let points = 0;
    let current: Record<string, unknown>[] | undefined; // the data point list being filled
    const withExemplars = this.options.exemplars !== false;
    /** The exemplars kept since the previous push (each goes out once), in the family's unit. */
    const fresh = (found: (Exemplar | undefined)[], scale: number): Record<string, unknown>[] => {
      const out: Record<string, unknown>[] = [];
      for (const e of found) {
        if (!e || (this.lastPushMs !== undefined && e.timestampMs <= this.lastPushMs)) continue;
        const x = otlpExemplar(e, scale);
        if (x) out.push(x);
      }
      return out;
    };

    this.options.families.forEach((f, fi) => {
      const view = f.table();
      if (!view) return;
      const slots = this.slots[fi]!;
      const unit = unitOf(f);
      const scale = f.type === 'histogram' && f.milliseconds ? 1000 : 1;
      const bounds = f.type === 'histogram' ? f.bounds.map((b) => scaled(b, scale)) : [];
      current = undefined;
      const add = (point: Record<string, unknown>): void => {
        if (!current) {
          current = [];
          const data = f.type === 'counter'
            ? { sum: { dataPoints: current, aggregationTemporality: temporality, isMonotonic: true } }
            : f.type === 'gauge'
              ? { gauge: { dataPoints: current } }
              : f.native
                ? { exponentialHistogram: { dataPoints: current, aggregationTemporality: temporality } }
                : { histogram: { dataPoints: current, aggregationTemporality: temporality } };
          metrics.push({ name: f.name, description: f.help, ...(unit ? { unit } : {}), ...data });
        }
        current.push(point);
        if (++points >= this.maxPoints) {
          out.push({ message: this.envelope(metrics), dataPoints: points });
          metrics = [];
          points = 0;
          current = undefined;
        }
      };
      forEachSeries(f, view, (slot) => {
        const gen = view.generation(slot);
        let st = slots[slot];
        if (!st || st.generation !== gen) {
          // a series seen at an earlier push was removed: this one started after that push
          st = { generation: gen, startMs: st ? intervalStartMs : this.options.startMs };
          slots[slot] = st;
        }
        if (f.type === 'histogram' && f.native) {
          const reading = readNative(view, slot, f.native.block, f.native.schema);
          let h = reading;
          if (delta) {
            h = st.previousNative ? subtractNative(reading, st.previousNative) : reading;
            st.previousNative = reading;
            if (h.count === 0) return;
          }
          // A reset (native only) starts the cumulative values again: the start time moves with it.
          const start = delta ? deltaStart : msToNanos(Math.max(st.startMs, reading.startMs - 1));
          const zeroCount = Math.round(h.zeroCount);
          const bucketCounts = roundCounts(h.counts, h.zeroCount);
          const exemplars = withExemplars ? fresh(histogramExemplars(f, view, slot), scale) : [];
          add({
            attributes: this.attributesOf(f.labels.pairs(view, slot)),
            startTimeUnixNano: start,
            timeUnixNano: now,
            count: zeroCount + bucketCounts.reduce((a, b) => a + b, 0),
            sum: h.sum,
            scale: h.schema,
            zeroCount,
            zeroThreshold: h.zeroThreshold,
            ...(h.counts.length > 0 ? { positive: { offset: h.firstIndex - 1, bucketCounts } } : {}),
            ...(exemplars.length > 0 ? { exemplars } : {}),
          });
          return;
        }
        const values = f.type !== 'histogram'
          ? Float64Array.of(sampleValue(f, view, slot))
          : Float64Array.from({ length: f.bounds.length + 2 }, (_, i) =>
            view.value(slot, i < f.bounds.length ? f.buckets + i : i === f.bounds.length ? f.count : f.sum));
        let shown = values;
        if (delta && f.type !== 'gauge') {
          const prev = st.previous;
          shown = prev ? values.map((v, i) => v - prev[i]!) : values;
          st.previous = values;
          if (shown.every((v) => v === 0)) return;
        }
        const common = {
          attributes: this.attributesOf(f.labels.pairs(view, slot)),
          startTimeUnixNano: delta ? deltaStart : msToNanos(st.startMs),
          timeUnixNano: now,
        };
        if (f.type === 'gauge') {
          add({ attributes: common.attributes, timeUnixNano: now, asDouble: shown[0]! });
          return;
        }
        if (f.type === 'counter') {
          const exemplars = withExemplars ? fresh([f.exemplar?.(view, slot)], 1) : [];
          add({ ...common, asDouble: shown[0]!, ...(exemplars.length > 0 ? { exemplars } : {}) });
          return;
        }
        // integer buckets from rounded cumulative counts, so they add up to the count
        const B = f.bounds.length;
        const bucketCounts: number[] = [];
        let cumulative = 0;
        let roundedBefore = 0;
        for (let i = 0; i < B; i++) {
          cumulative += shown[i]!;
          const rounded = Math.max(roundedBefore, Math.round(cumulative));
          bucketCounts.push(rounded - roundedBefore);
          roundedBefore = rounded;
        }
        const count = Math.max(roundedBefore, Math.round(shown[B]!));
        bucketCounts.push(count - roundedBefore);
        const exemplars = withExemplars ? fresh(histogramExemplars(f, view, slot), scale) : [];
        add({
          ...common,
          count,
          sum: shown[B + 1]! * scale,
          bucketCounts,
          explicitBounds: bounds,
          ...(exemplars.length > 0 ? { exemplars } : {}),
        });
      });
    });
    if (points > 0) out.push({ message: this.envelope(metrics), dataPoints: points });
    this.lastPushMs = nowMs;
    return out;
  }
}

export interface OtlpMetricsPusherOptions extends OtlpMetricsBuilderOptions, OtlpTransportOptions {
  /** Most requests waiting or in flight (default 100); past it the oldest is dropped. */
  maxQueuedRequests?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
}

export interface OtlpMetricsStats extends DeliveryStats {
  endpoint: string;
  queueLength: number;
}

/** Pushes the metric families to an OTLP receiver every interval. */
export class OtlpMetricsPusher {
  readonly endpoint: string;
  private readonly builder: OtlpMetricsBuilder;
  private readonly sender: OtlpSender;
  private readonly queue: DeliveryQueue;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: OtlpMetricsPusherOptions) {
    this.endpoint = redactUrl(options.endpoint);
    this.log = options.logger ?? silentLogger;
    this.builder = new OtlpMetricsBuilder(options);
    this.sender = createOtlpSender(options);
    this.queue = new DeliveryQueue({
      name: `${this.sender.target} (${options.protocol})`,
      send: this.sender.send,
      maxQueued: options.maxQueuedRequests ?? 100,
      minBackoffMs: options.minBackoffMs,
      maxBackoffMs: options.maxBackoffMs,
      logger: this.log,
      unit: 'data_points',
    });
  }

  /** Reads the families now and queues the requests; returns the data points queued. */
  push(nowMs: number = Date.now()): number {
    let built: BuiltMetricsRequest[];
    try {
      built = this.builder.build(nowMs);
    } catch (err) {
      this.log.error({ err, to: this.endpoint }, 'otlp metrics: collection failed');
      return 0;
    }
    let points = 0;
    for (const r of built) {
      this.queue.enqueue({ body: ExportMetricsServiceRequest.encode(r.message).finish(), items: r.dataPoints });
      points += r.dataPoints;
    }
    return points;
  }

  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.push(), intervalMs);
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stops the timer, pushes once more, waits for the queue until `deadlineMs`, closes the connection. */
  async stop(deadlineMs: number): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.push();
    try {
      await this.queue.close(deadlineMs);
    } finally {
      this.sender.close();
    }
  }

  stats(): OtlpMetricsStats {
    return { endpoint: this.endpoint, queueLength: this.queue.length, ...this.queue.stats };
  }
}
