// Prometheus remote write 1.0: every collection_interval the metric families are read straight
// out of core memory into snappy-compressed prometheus.WriteRequest bodies of at most
// maxSeriesPerRequest time series each, and POSTed in order through a DeliveryQueue.
//
// - Labels are sorted by name (byte order, as remote write requires; `__name__` comes first
//   unless a label name starts with an upper-case letter), with the external labels and
//   `instance` added to every series (a series' own label of the same name wins, as in
//   Prometheus). Each series' label bytes are encoded once and reused while it lives.
// - Histograms go out as classic series: `_bucket{le}` cumulative with `+Inf` = count, `_sum`,
//   `_count`; counters as `<name>_total`; bounds and sums in the family's unit. A family with
//   native histograms (generate_native_histograms) also sends, or with `native` only sends, one
//   series named as the family carrying a prompb Histogram (sparse spans, count deltas).
// - A series seen for the first time first gets a 0 sample 1 ms before its first real one, so
//   rate()/increase() see its first increase (Tempo does the same). "Seen" is remembered per
//   family per table slot by the slot's generation: bounded by the table, and a removed
//   series (its slot reused) is forgotten.
// - A series that was sent and is gone (removed after stale_duration, or its slot taken by
//   another label set) gets a staleness marker (2 ms before the collection's timestamp), as
//   Prometheus writes for a vanished scrape series: queries stop returning it at once instead
//   of 5 minutes later.
// - With sendExemplars, each exemplar the families keep goes out once, with the sample of its
//   bucket (or counter): what was sent is remembered per slot by timestamp and trace.
import type { Exemplar } from '../core/index.js';
import { readNative, sparseBuckets, type NativeHistogram } from '../core/native.js';
import type { Family, Labels } from './families.js';
import { bucketExemplar, forEachSeries, sampleValue } from './families.js';
import { scaled } from './exposition.js';
import { formatSampleValue } from './labels.js';
import { compress } from './snappy.js';
import { METRIC_TYPE, PROMPB } from './prompb.js';
import { concatBytes, encodeMessageField, encodeStringField, ProtoWriter, varintSize } from './protowriter.js';
import {
  DeliveryQueue,
  fetchErrorOutcome,
  httpOutcome,
  redactUrl,
  withTimeout,
  type DeliveryStats,
  type Outcome,
} from './delivery.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';

export interface WriteRequestBuilderOptions {
  families: readonly Family[];
  /** Added to every series (external labels and instance); a series' own label wins. */
  extraLabels?: Readonly<Record<string, string>>;
  /** Most time series in one WriteRequest (default 2000). */
  maxSeriesPerRequest?: number;
  /**
   * Attach the families' exemplars (send_exemplars): each one once, on the bucket (or counter)
   * it was kept for, its value in the family's unit. Default false.
   */
  sendExemplars?: boolean;
  /** Also send each family's type and help (WriteRequest.metadata) in the first request. Default true. */
  metadata?: boolean;
}

/** One WriteRequest, protobuf-encoded (not yet compressed). */
export interface BuiltRequest {
  body: Uint8Array;
  series: number;
  samples: number;
  exemplars: number;
}

const utf8 = new TextEncoder();

/** A label as a TimeSeries.labels entry: the field-1 tag, the length, the Label message. */
function encodeLabel(name: string, value: string): Uint8Array {
  const w = new ProtoWriter(name.length * 3 + value.length * 3 + 16);
  const nameBytes = utf8.encode(name);
  const valueBytes = utf8.encode(value);
  const inner = 1 + varintSize(nameBytes.length) + nameBytes.length + 1 + varintSize(valueBytes.length) + valueBytes.length;
  w.tag(PROMPB.TIMESERIES_LABELS, 2).varint(inner);
  w.tag(PROMPB.LABEL_NAME, 2).varint(nameBytes.length).raw(nameBytes);
  w.tag(PROMPB.LABEL_VALUE, 2).varint(valueBytes.length).raw(valueBytes);
  return w.take();
}

/** A series' labels, encoded in sorted order around the places `__name__` and `le` go. */
interface EncodedLabels {
  /** Labels sorting before `__name__`. */
  head: Uint8Array;
  /** Between `__name__` and `le`. */
  middle: Uint8Array;
  /** After `le`. */
  tail: Uint8Array;
}

const byName = (a: readonly [string, string], b: readonly [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** Sample bytes: the field-2 tag, length, then value (double) and timestamp (varint). */
function sampleSize(timestampMs: number): number {
  const inner = 1 + 8 + 1 + varintSize(timestampMs);
  return 1 + varintSize(inner) + inner;
}

/** Prometheus's staleness marker, a NaN with payload 2 (little-endian bytes, written as they are: JS may not keep NaN payloads). */
export const STALE_NAN_BYTES = Uint8Array.of(0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f);

function writeSample(w: ProtoWriter, value: number, timestampMs: number, stale = false): void {
  w.tag(PROMPB.TIMESERIES_SAMPLES, 2).varint(1 + 8 + 1 + varintSize(timestampMs));
  w.tag(PROMPB.SAMPLE_VALUE, 1);
  if (stale) w.raw(STALE_NAN_BYTES);
  else w.double(value);
  w.tag(PROMPB.SAMPLE_TIMESTAMP, 0).varint(timestampMs);
}

/** zigzag of a signed integer (|n| < 2^52), as sint32/sint64 fields carry it. */
function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}

/**
 * A TimeSeries.histograms entry (prompb Histogram) for native histogram `h` at `timestampMs`:
 * integer counts as deltas, or (weighted spans counted fractions) float counts; `stale` writes
 * Prometheus' staleness marker as the sum, `empty` the histogram with nothing observed.
 */
function encodeNativeHistogram(h: NativeHistogram, timestampMs: number, form: 'value' | 'empty' | 'stale' = 'value'): Uint8Array {
  const w = new ProtoWriter(256);
  const { spans, counts } = form === 'value' ? sparseBuckets(h) : { spans: [], counts: [] };
  const count = form === 'value' ? h.count : 0;
  const zero = form === 'value' ? h.zeroCount : 0;
  const float = !Number.isInteger(count) || !Number.isInteger(zero) || counts.some((c) => !Number.isInteger(c));
  if (float) w.tag(PROMPB.HISTOGRAM_COUNT_FLOAT, 1).double(count);
  else w.tag(PROMPB.HISTOGRAM_COUNT_INT, 0).varint(count);
  w.tag(PROMPB.HISTOGRAM_SUM, 1);
  if (form === 'stale') w.raw(STALE_NAN_BYTES);
  else w.double(form === 'value' ? h.sum : 0);
  w.tag(PROMPB.HISTOGRAM_SCHEMA, 0).varint(zigzag(h.schema));
  w.tag(PROMPB.HISTOGRAM_ZERO_THRESHOLD, 1).double(h.zeroThreshold);
  if (float) w.tag(PROMPB.HISTOGRAM_ZERO_COUNT_FLOAT, 1).double(zero);
  else w.tag(PROMPB.HISTOGRAM_ZERO_COUNT_INT, 0).varint(zero);
  for (const s of spans) {
    const inner = 1 + varintSize(zigzag(s.offset)) + 1 + varintSize(s.length);
    w.tag(PROMPB.HISTOGRAM_POSITIVE_SPANS, 2).varint(inner);
    w.tag(PROMPB.BUCKET_SPAN_OFFSET, 0).varint(zigzag(s.offset));
    w.tag(PROMPB.BUCKET_SPAN_LENGTH, 0).varint(s.length);
  }
  if (counts.length > 0) {
    if (float) {
      w.tag(PROMPB.HISTOGRAM_POSITIVE_COUNTS, 2).varint(counts.length * 8);
      for (const c of counts) w.double(c);
    } else {
      const deltas: number[] = [];
      let previous = 0;
      for (const c of counts) {
        deltas.push(zigzag(c - previous));
        previous = c;
      }
      w.tag(PROMPB.HISTOGRAM_POSITIVE_DELTAS, 2).varint(deltas.reduce((n, d) => n + varintSize(d), 0));
      for (const d of deltas) w.varint(d);
    }
  }
  w.tag(PROMPB.HISTOGRAM_TIMESTAMP, 0).varint(timestampMs);
  return encodeMessageField(PROMPB.TIMESERIES_HISTOGRAMS, w.take());
}

function encodeExemplar(e: Exemplar, scale: number): Uint8Array {
  const labels = [encodeLabel('trace_id', e.traceId)];
  if (e.spanId) labels.push(encodeLabel('span_id', e.spanId));
  const ts = Math.max(0, Math.round(e.timestampMs));
  const w = new ProtoWriter(64);
  for (const l of labels) w.raw(l); // same field number (1) and shape as TimeSeries.labels
  w.tag(PROMPB.EXEMPLAR_VALUE, 1).double(e.value * scale);
  w.tag(PROMPB.EXEMPLAR_TIMESTAMP, 0).varint(ts);
  return encodeMessageField(PROMPB.TIMESERIES_EXEMPLARS, w.take());
}

/** Per family: what the builder remembers between collections. */
interface FamilyState {
  family: Family;
  /** The encoded `__name__` label of each sample name (`x_total`, `x_bucket`, `x_sum`, `x_count`). */
  names: Map<string, Uint8Array>;
  /** Encoded `le` labels, +Inf last (histograms). */
  le: Uint8Array[];
  /** Generation of each slot's series when it was last sent; a different one is a new series. */
  sent: (number | undefined)[];
  /** The labels each slot's series was last sent with (for its staleness marker when it goes). */
  sentLabels: (EncodedLabels | undefined)[];
  /** The collection in which each slot's series was last seen. */
  seenIn: number[];
  /** Per slot, per bucket (one for a counter): the exemplar last sent, as timestamp and trace id. */
  exemplarsSent: ({ timestampMs: number; traceId: string } | undefined)[][];
}

/** Builds WriteRequests from the metric families; keeps the state that makes first samples 0. */
export class WriteRequestBuilder {
  private readonly states: FamilyState[];
  private readonly extra: [string, string][];
  private readonly maxSeries: number;
  private readonly encodedLabels = new WeakMap<Labels, EncodedLabels>();
  private readonly metadata: Uint8Array | undefined;
  private collections = 0;

  constructor(private readonly options: WriteRequestBuilderOptions) {
    this.maxSeries = options.maxSeriesPerRequest ?? 2000;
    if (!(this.maxSeries >= 1)) throw new Error(`maxSeriesPerRequest must be at least 1, got ${this.maxSeries}`);
    this.extra = Object.entries(options.extraLabels ?? {}).filter(([n, v]) => n !== '__name__' && n !== 'le' && v !== '');
    this.states = options.families.map((family) => {
      const names = new Map<string, Uint8Array>();
      const sampleNames = family.type === 'counter'
        ? [`${family.name}_total`]
        : family.type === 'gauge' ? [family.name] : [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`, family.name];
      for (const n of sampleNames) names.set(n, encodeLabel('__name__', n));
      const le = family.type === 'histogram'
        ? [...family.bounds.map((b) => formatSampleValue(scaled(b, family.milliseconds ? 1000 : 1))), '+Inf'].map((v) => encodeLabel('le', v))
        : [];
      return { family, names, le, sent: [], sentLabels: [], seenIn: [], exemplarsSent: [] };
    });
    this.metadata = options.metadata === false ? undefined : this.encodeMetadata();
  }

  private encodeMetadata(): Uint8Array {
    const parts = this.options.families.map((f) => {
      const w = new ProtoWriter(256);
      w.tag(PROMPB.METADATA_TYPE, 0).varint(
        f.type === 'counter' ? METRIC_TYPE.COUNTER : f.type === 'gauge' ? METRIC_TYPE.GAUGE : METRIC_TYPE.HISTOGRAM,
      );
      w.raw(encodeStringField(PROMPB.METADATA_FAMILY_NAME, f.type === 'counter' ? `${f.name}_total` : f.name));
      if (f.help) w.raw(encodeStringField(PROMPB.METADATA_HELP, f.help));
      return encodeMessageField(PROMPB.WRITE_REQUEST_METADATA, w.take());
    });
    return concatBytes(parts);
  }

  /** The series' labels plus the extra ones it lacks, sorted and encoded once per label set. */
  private labelsOf(pairs: Labels): EncodedLabels {
    const cached = this.encodedLabels.get(pairs);
    if (cached) return cached;
    const all: (readonly [string, string])[] = [...pairs];
    for (const e of this.extra) if (!pairs.some(([n]) => n === e[0])) all.push(e);
    all.sort(byName);
    const head: Uint8Array[] = [];
    const middle: Uint8Array[] = [];
    const tail: Uint8Array[] = [];
    for (const [n, v] of all) (n < '__name__' ? head : n < 'le' ? middle : tail).push(encodeLabel(n, v));
    const encoded = { head: concatBytes(head), middle: concatBytes(middle), tail: concatBytes(tail) };
    this.encodedLabels.set(pairs, encoded);
    return encoded;
  }

  /**
   * Reads every family and returns the WriteRequests of one collection at `nowMs`, in order
   * (empty when there is no series). Synchronous: the values are one consistent snapshot.
   */
  build(nowMs: number): BuiltRequest[] {
    const t = Math.round(nowMs);
    const out: BuiltRequest[] = [];
    const w = new ProtoWriter(256 * 1024);
    let series = 0;
    let samples = 0;
    let exemplars = 0;
    const flush = (): void => {
      if (series === 0) return;
      out.push({ body: w.take(), series, samples, exemplars });
      series = 0;
      samples = 0;
      exemplars = 0;
    };
    const withExemplars = this.options.sendExemplars === true;

    const round = ++this.collections;

    /**
     * One TimeSeries: labels with `name` (and `le`), an optional initial 0, the value (or the
     * staleness marker), an exemplar.
     */
    const writeSeries = (labels: EncodedLabels, name: Uint8Array, le: Uint8Array | undefined, value: number, first: boolean, exemplarBytes?: Uint8Array, stale = false): void => {
      if (series === 0 && out.length === 0 && this.metadata) w.raw(this.metadata);
      const labelBytes = labels.head.length + name.length + labels.middle.length + (le?.length ?? 0) + labels.tail.length;
      const inner = labelBytes + (first ? sampleSize(t - 1) : 0) + sampleSize(stale ? t - 2 : t) + (exemplarBytes?.length ?? 0);
      w.tag(PROMPB.WRITE_REQUEST_TIMESERIES, 2).varint(inner);
      w.raw(labels.head).raw(name).raw(labels.middle);
      if (le) w.raw(le);
      w.raw(labels.tail);
      if (first) writeSample(w, 0, t - 1);
      writeSample(w, value, stale ? t - 2 : t, stale);
      if (exemplarBytes) {
        w.raw(exemplarBytes);
        exemplars++;
      }
      series++;
      samples += first ? 2 : 1;
      if (series >= this.maxSeries) flush();
    };

    /** One TimeSeries of a native histogram: labels with `name`, then the encoded Histogram entries. */
    const writeHistogramSeries = (labels: EncodedLabels, name: Uint8Array, histograms: Uint8Array[]): void => {
      if (series === 0 && out.length === 0 && this.metadata) w.raw(this.metadata);
      const labelBytes = labels.head.length + name.length + labels.middle.length + labels.tail.length;
      w.tag(PROMPB.WRITE_REQUEST_TIMESERIES, 2).varint(labelBytes + histograms.reduce((n, h) => n + h.length, 0));
      w.raw(labels.head).raw(name).raw(labels.middle).raw(labels.tail);
      for (const h of histograms) w.raw(h);
      series++;
      samples += histograms.length;
      if (series >= this.maxSeries) flush();
    };

    /** Staleness markers for every time series of a family's series that is gone. */
    const writeStale = (state: FamilyState, labels: EncodedLabels): void => {
      const f = state.family;
      if (f.type !== 'histogram') {
        writeSeries(labels, state.names.get(f.type === 'counter' ? `${f.name}_total` : f.name)!, undefined, NaN, false, undefined, true);
        return;
      }
      if (f.native) {
        const marker: NativeHistogram = {
          schema: f.native.schema, count: 0, sum: 0, zeroThreshold: 0, zeroCount: 0, firstIndex: 0, counts: [], startMs: 0,
        };
        writeHistogramSeries(labels, state.names.get(f.name)!, [encodeNativeHistogram(marker, t - 2, 'stale')]);
        if (!f.native.classic) return;
      }
      const bucketName = state.names.get(`${f.name}_bucket`)!;
      for (const le of state.le) writeSeries(labels, bucketName, le, NaN, false, undefined, true);
      writeSeries(labels, state.names.get(`${f.name}_sum`)!, undefined, NaN, false, undefined, true);
      writeSeries(labels, state.names.get(`${f.name}_count`)!, undefined, NaN, false, undefined, true);
    };

    for (const state of this.states) {
      const f = state.family;
      const view = f.table();
      if (!view) continue;
      const scale = f.type === 'histogram' && f.milliseconds ? 1000 : 1;
      // Series sent before that are gone (removed, or their slot now holds another generation)
      // get their staleness markers first, at t-2: before any new series' 0 at t-1, so that
      // a label set that comes back in the same collection stays in time order.
      forEachSeries(f, view, (slot) => {
        if (state.sent[slot] === view.generation(slot)) state.seenIn[slot] = round;
      });
      for (let slot = 0; slot < state.sentLabels.length; slot++) {
        const gone = state.sentLabels[slot];
        if (!gone || state.seenIn[slot] === round) continue;
        writeStale(state, gone);
        state.sentLabels[slot] = undefined;
        state.sent[slot] = undefined;
      }
      forEachSeries(f, view, (slot) => {
        const gen = view.generation(slot);
        const first = state.sent[slot] !== gen;
        const labels = this.labelsOf(f.labels.pairs(view, slot));
        if (first && withExemplars) state.exemplarsSent[slot] = [];
        state.sent[slot] = gen;
        state.sentLabels[slot] = labels;
        /** The exemplar of `bucket` (0 for a counter), encoded, if there is one not sent yet. */
        const exemplar = (bucket: number, e: Exemplar | undefined, exScale: number): Uint8Array | undefined => {
          if (!e) return undefined;
          const sent = state.exemplarsSent[slot]!;
          const last = sent[bucket];
          if (last && last.timestampMs === e.timestampMs && last.traceId === e.traceId) return undefined;
          sent[bucket] = { timestampMs: e.timestampMs, traceId: e.traceId };
          return encodeExemplar(e, exScale);
        };
        if (f.type === 'gauge') {
          // No initial 0: that is for counters, whose first increase it shows.
          writeSeries(labels, state.names.get(f.name)!, undefined, sampleValue(f, view, slot), false);
          return;
        }
        if (f.type === 'counter') {
          const ex = withExemplars ? exemplar(0, f.exemplar?.(view, slot), 1) : undefined;
          writeSeries(labels, state.names.get(`${f.name}_total`)!, undefined, view.value(slot, f.value), first, ex);
          return;
        }
        if (f.native) {
          // An empty histogram first for a new series (as the 0 before a counter's first value).
          const h = readNative(view, slot, f.native.block, f.native.schema);
          const entries = first ? [encodeNativeHistogram(h, t - 1, 'empty'), encodeNativeHistogram(h, t)] : [encodeNativeHistogram(h, t)];
          writeHistogramSeries(labels, state.names.get(f.name)!, entries);
          if (!f.native.classic) return;
        }
        const bucketName = state.names.get(`${f.name}_bucket`)!;
        const B = f.bounds.length;
        const slowest = withExemplars ? f.slowest?.(view, slot) : undefined;
        let cumulative = 0;
        for (let b = 0; b < B; b++) {
          cumulative += view.value(slot, f.buckets + b);
          const ex = withExemplars ? exemplar(b, bucketExemplar(f, view, slot, b, slowest), scale) : undefined;
          writeSeries(labels, bucketName, state.le[b], cumulative, first, ex);
        }
        const count = view.value(slot, f.count);
        const ex = withExemplars ? exemplar(B, bucketExemplar(f, view, slot, B, slowest), scale) : undefined;
        writeSeries(labels, bucketName, state.le[B], count, first, ex);
        writeSeries(labels, state.names.get(`${f.name}_sum`)!, undefined, view.value(slot, f.sum) * scale, first);
        writeSeries(labels, state.names.get(`${f.name}_count`)!, undefined, count, first);
      });
    }
    flush();
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// The writer: a timer, the builder, snappy, HTTP and the queue.

export const REMOTE_WRITE_HEADERS = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
} as const;

export interface RemoteWriterOptions extends WriteRequestBuilderOptions {
  /** The receiver, e.g. http://prometheus:9090/api/v1/write. */
  url: string;
  /** Extra request headers (Authorization, X-Scope-OrgID, ...). */
  headers?: Readonly<Record<string, string>>;
  /** Timeout of one request, ms (default 30 s). */
  timeoutMs?: number;
  /** `spanmeter/<version>`. */
  userAgent: string;
  /** Most requests waiting or in flight (default 1000); past it the oldest is dropped. */
  maxQueuedRequests?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
}

/** POSTs one compressed WriteRequest; never throws. */
export function remoteWriteSender(options: Pick<RemoteWriterOptions, 'url' | 'headers' | 'timeoutMs' | 'userAgent'>) {
  const headers = { ...options.headers, ...REMOTE_WRITE_HEADERS, 'User-Agent': options.userAgent };
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async (body: Uint8Array, shutdown: AbortSignal): Promise<Outcome> => {
    const t = withTimeout(shutdown, timeoutMs);
    try {
      const res = await fetch(options.url, { method: 'POST', headers, body: body as Uint8Array<ArrayBuffer>, signal: t.signal });
      const text = res.ok ? '' : (await res.text().catch(() => '')).slice(0, 512).trim();
      if (res.ok) await res.arrayBuffer().catch(() => undefined);
      return httpOutcome(res.status, res.headers.get('retry-after'), text);
    } catch (err) {
      return fetchErrorOutcome(err, t.timedOut());
    } finally {
      t.clear();
    }
  };
}

export interface RemoteWriteStats extends DeliveryStats {
  url: string;
  queueLength: number;
}

/** One remote_write receiver: collects every interval and sends in the background. */
export class RemoteWriter {
  readonly url: string;
  private readonly builder: WriteRequestBuilder;
  private readonly queue: DeliveryQueue;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(options: RemoteWriterOptions) {
    this.url = redactUrl(options.url);
    this.log = options.logger ?? silentLogger;
    this.builder = new WriteRequestBuilder(options);
    this.queue = new DeliveryQueue({
      name: this.url,
      send: remoteWriteSender(options),
      maxQueued: options.maxQueuedRequests ?? 1000,
      minBackoffMs: options.minBackoffMs,
      maxBackoffMs: options.maxBackoffMs,
      logger: this.log,
      unit: 'samples',
    });
  }

  /** Collects now and queues the requests; returns the samples queued. */
  collect(nowMs: number = Date.now()): number {
    let samples = 0;
    let built: BuiltRequest[];
    try {
      built = this.builder.build(nowMs);
    } catch (err) {
      this.log.error({ err, to: this.url }, 'remote write: collection failed');
      return 0;
    }
    for (const r of built) {
      this.queue.enqueue({ body: compress(r.body), items: r.samples });
      samples += r.samples;
    }
    return samples;
  }

  /** Collects every `intervalMs` until stop(). */
  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.collect(), intervalMs);
  }

  /** Resolves when everything queued so far was sent or dropped. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Stops the timer, sends one last collection and waits for the queue until `deadlineMs` (epoch ms). */
  async stop(deadlineMs: number): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.collect();
    await this.queue.close(deadlineMs);
  }

  stats(): RemoteWriteStats {
    return { url: this.url, queueLength: this.queue.length, ...this.queue.stats };
  }
}
