// The Prometheus protobuf exposition (io.prometheus.client.MetricFamily, length-delimited), the
// format Prometheus scrapes native histograms in. Field numbers are those of
// prometheus/client_model metrics.proto: MetricFamily name 1, help 2, type 3, metric 4; Metric
// label 1, counter 3, histogram 7; LabelPair name 1, value 2; Counter value 1, exemplar 2;
// Histogram sample_count 1, sample_sum 2, bucket 3, sample_count_float 4, schema 5,
// zero_threshold 6, zero_count 7, zero_count_float 8, positive_span 12, positive_delta 13,
// positive_count 14; Bucket cumulative_count 1, upper_bound 2, exemplar 3,
// cumulative_count_float 4; BucketSpan offset 1, length 2; Exemplar label 1, value 2,
// timestamp 3; google.protobuf.Timestamp seconds 1, nanos 2.
import { ProtoWriter } from './protowriter.js';
import type { Exemplar } from '../core/index.js';
import { readNative, sparseBuckets } from '../core/native.js';
import { bucketExemplar, forEachSeries, sampleValue, type CounterFamily, type Family, type HistogramFamily, type Labels } from './families.js';
import { scaled } from './labels.js';

export const PROMETHEUS_PROTOBUF = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

const TYPE_COUNTER = 0;
const TYPE_GAUGE = 1;
const TYPE_SUMMARY = 2;
const TYPE_UNTYPED = 3;
const TYPE_HISTOGRAM = 4;

const utf8 = new TextEncoder();

/** Writers for nested messages, one per depth, reused: a message's length is known once it is written. */
class Nest {
  private readonly writers: ProtoWriter[] = [];
  private depth = 0;

  /** Writes field `field` of `out` as a message holding what `fill` writes. */
  message(out: ProtoWriter, field: number, fill: (w: ProtoWriter) => void): void {
    const w = (this.writers[this.depth] ??= new ProtoWriter(1024));
    w.pos = 0;
    this.depth++;
    try {
      fill(w);
    } finally {
      this.depth--;
    }
    const body = w.finish();
    out.tag(field, 2).varint(body.length).raw(body);
  }
}

function stringField(w: ProtoWriter, field: number, s: string): void {
  const b = utf8.encode(s);
  w.tag(field, 2).varint(b.length).raw(b);
}

/** zigzag of a signed integer (|n| < 2^52), as sint32/sint64 fields carry it. */
function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}

/** Encoded label pairs per label set: TableLabels keeps one array per series while it lives, so this is once per series. */
const encodedLabels = new WeakMap<Labels, Uint8Array>();

function labelPairs(nest: Nest, w: ProtoWriter, labels: Labels): void {
  let bytes = encodedLabels.get(labels);
  if (!bytes) {
    const e = new ProtoWriter(64);
    for (const [name, value] of labels) {
      nest.message(e, 1, (p) => {
        stringField(p, 1, name);
        stringField(p, 2, value);
      });
    }
    bytes = e.take();
    encodedLabels.set(labels, bytes);
  }
  w.raw(bytes);
}

function exemplarField(nest: Nest, w: ProtoWriter, field: number, e: Exemplar | undefined, scale: number): void {
  if (!e) return;
  nest.message(w, field, (m) => {
    labelPairs(nest, m, e.spanId === '' ? [['trace_id', e.traceId]] : [['trace_id', e.traceId], ['span_id', e.spanId]]);
    m.tag(2, 1).double(e.value * scale);
    nest.message(m, 3, (t) => {
      const seconds = Math.floor(e.timestampMs / 1000);
      t.tag(1, 0).varint(seconds);
      const nanos = Math.round((e.timestampMs - seconds * 1000) * 1e6);
      if (nanos > 0) t.tag(2, 0).varint(nanos);
    });
  });
}

/**
 * A count: uint64 `intField`, or in a float histogram (weighted spans count fractions) double
 * `floatField`; one histogram is all one or all the other (Prometheus reads a histogram with
 * sample_count_float > 0 as a float histogram).
 */
function countField(w: ProtoWriter, intField: number, floatField: number, v: number, float = !Number.isInteger(v)): void {
  if (!float) w.tag(intField, 0).varint(v);
  else w.tag(floatField, 1).double(v);
}

function counterMetric(nest: Nest, w: ProtoWriter, f: CounterFamily, labels: Labels, value: number, exemplar: Exemplar | undefined): void {
  nest.message(w, 4, (m) => {
    labelPairs(nest, m, labels);
    nest.message(m, 3, (c) => {
      c.tag(1, 1).double(value);
      exemplarField(nest, c, 2, exemplar, 1);
    });
  });
  void f;
}

function histogramMetric(nest: Nest, w: ProtoWriter, f: HistogramFamily, slot: number, labels: Labels): void {
  const view = f.table()!;
  const scale = f.milliseconds ? 1000 : 1;
  const native = f.native;
  const classic = !native || native.classic;
  nest.message(w, 4, (m) => {
    labelPairs(nest, m, labels);
    const n = native ? readNative(view, slot, native.block, native.schema) : undefined;
    // The native histogram's own count and sum (in the family's unit already) when it has one.
    const count = n ? n.count : view.value(slot, f.count);
    const sum = n ? n.sum : view.value(slot, f.sum) * scale;
    let float = !Number.isInteger(count);
    if (n) float ||= !Number.isInteger(n.zeroCount) || n.counts.some((c) => !Number.isInteger(c));
    if (classic) for (let b = 0; b < f.bounds.length && !float; b++) float = !Number.isInteger(view.value(slot, f.buckets + b));
    nest.message(m, 7, (h) => {
      countField(h, 1, 4, count, float);
      h.tag(2, 1).double(sum);
      if (classic) {
        const slowest = f.slowest?.(view, slot);
        let cumulative = 0;
        for (let b = 0; b < f.bounds.length; b++) {
          cumulative += view.value(slot, f.buckets + b);
          nest.message(h, 3, (bucket) => {
            countField(bucket, 1, 4, cumulative, float);
            bucket.tag(2, 1).double(scaled(f.bounds[b]!, scale));
            exemplarField(nest, bucket, 3, bucketExemplar(f, view, slot, b, slowest), scale);
          });
        }
        // The +Inf bucket is the count; written only to carry its exemplar (as client_golang does).
        const inf = bucketExemplar(f, view, slot, f.bounds.length, slowest);
        if (inf) {
          nest.message(h, 3, (bucket) => {
            countField(bucket, 1, 4, count, float);
            bucket.tag(2, 1).double(Infinity);
            exemplarField(nest, bucket, 3, inf, scale);
          });
        }
      }
      if (n) {
        h.tag(5, 0).varint(zigzag(n.schema));
        h.tag(6, 1).double(n.zeroThreshold);
        countField(h, 7, 8, n.zeroCount, float);
        const { spans, counts } = sparseBuckets(n);
        // An empty native histogram still needs a span to be read as one (client_golang's no-op span).
        if (spans.length === 0) spans.push({ offset: 0, length: 0 });
        for (const s of spans) {
          nest.message(h, 12, (span) => {
            span.tag(1, 0).varint(zigzag(s.offset));
            span.tag(2, 0).varint(s.length);
          });
        }
        if (!float) {
          nest.message(h, 13, (d) => {
            let previous = 0;
            for (const c of counts) {
              d.varint(zigzag(c - previous));
              previous = c;
            }
          });
        } else {
          nest.message(h, 14, (d) => {
            for (const c of counts) d.double(c);
          });
        }
      }
    });
  });
}

function familyHeader(w: ProtoWriter, name: string, help: string, type: number): void {
  stringField(w, 1, name);
  stringField(w, 2, help);
  w.tag(3, 0).varint(type);
}

/** The families as length-delimited MetricFamily messages. */
export function renderFamiliesProto(families: readonly Family[]): Buffer {
  const out = new ProtoWriter(64 * 1024);
  const body = new ProtoWriter(64 * 1024);
  const nest = new Nest();
  for (const f of families) {
    body.pos = 0;
    const view = f.table();
    if (f.type === 'counter') {
      familyHeader(body, `${f.name}_total`, f.help, TYPE_COUNTER);
      if (view) forEachSeries(f, view, (slot) => counterMetric(nest, body, f, f.labels.pairs(view, slot), view.value(slot, f.value), f.exemplar?.(view, slot)));
    } else if (f.type === 'gauge') {
      familyHeader(body, f.name, f.help, TYPE_GAUGE);
      if (view) {
        forEachSeries(f, view, (slot) => nest.message(body, 4, (m) => {
          labelPairs(nest, m, f.labels.pairs(view, slot));
          nest.message(m, 2, (g) => g.tag(1, 1).double(sampleValue(f, view, slot)));
        }));
      }
    } else {
      familyHeader(body, f.name, f.help, TYPE_HISTOGRAM);
      if (view) forEachSeries(f, view, (slot) => histogramMetric(nest, body, f, slot, f.labels.pairs(view, slot)));
    }
    delimited(out, body.finish());
  }
  return Buffer.from(out.finish());
}

function delimited(out: ProtoWriter, message: Uint8Array): void {
  out.varint(message.length).raw(message);
}

// ---------------------------------------------------------------------------------------------
// prom-client's registry (the sidecar's own metrics) in the same format.

/** What prom-client's getMetricsAsJSON() gives per metric. */
export interface PromClientMetric {
  name: string;
  help: string;
  type: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

const PROM_TYPES: Record<string, number> = { counter: TYPE_COUNTER, gauge: TYPE_GAUGE, histogram: TYPE_HISTOGRAM, summary: TYPE_SUMMARY };

/** prom-client metrics as MetricFamily messages: counters, gauges and histograms (summaries and others as untyped samples). */
export function promClientProto(metrics: readonly PromClientMetric[]): Buffer {
  const out = new ProtoWriter(16 * 1024);
  const body = new ProtoWriter(16 * 1024);
  const nest = new Nest();
  const pairs = (labels: Record<string, string | number>, without?: string): Labels =>
    Object.entries(labels).filter(([k]) => k !== without).map(([k, v]) => [k, String(v)] as const);
  for (const metric of metrics) {
    body.pos = 0;
    const type = PROM_TYPES[metric.type] ?? TYPE_UNTYPED;
    if (type === TYPE_HISTOGRAM) {
      familyHeader(body, metric.name, metric.help, TYPE_HISTOGRAM);
      // Group the _bucket, _sum and _count samples by their labels (le left out).
      const series = new Map<string, { labels: Labels; buckets: [number, number][]; sum: number; count: number }>();
      for (const v of metric.values) {
        const labels = pairs(v.labels, 'le');
        const key = JSON.stringify(labels);
        let s = series.get(key);
        if (!s) series.set(key, (s = { labels, buckets: [], sum: 0, count: 0 }));
        if (v.metricName?.endsWith('_bucket')) {
          const le = Number(v.labels.le === '+Inf' ? Infinity : v.labels.le);
          if (le !== Infinity) s.buckets.push([le, v.value]);
        } else if (v.metricName?.endsWith('_sum')) s.sum = v.value;
        else if (v.metricName?.endsWith('_count')) s.count = v.value;
      }
      for (const s of series.values()) {
        nest.message(body, 4, (m) => {
          labelPairs(nest, m, s.labels);
          nest.message(m, 7, (h) => {
            countField(h, 1, 4, s.count);
            h.tag(2, 1).double(s.sum);
            for (const [le, c] of s.buckets) {
              nest.message(h, 3, (b) => {
                countField(b, 1, 4, c);
                b.tag(2, 1).double(le);
              });
            }
          });
        });
      }
    } else if (type === TYPE_COUNTER || type === TYPE_GAUGE) {
      const name = type === TYPE_COUNTER && !metric.name.endsWith('_total') ? `${metric.name}_total` : metric.name;
      familyHeader(body, name, metric.help, type);
      for (const v of metric.values) {
        nest.message(body, 4, (m) => {
          labelPairs(nest, m, pairs(v.labels));
          nest.message(m, type === TYPE_COUNTER ? 3 : 2, (c) => c.tag(1, 1).double(v.value));
        });
      }
    } else {
      // Summaries and the rest: each sample untyped under its own name would need a family each;
      // one untyped family per metric name, its samples' own names in a __name__-free form.
      familyHeader(body, metric.name, metric.help, TYPE_UNTYPED);
      for (const v of metric.values) {
        if (v.metricName !== undefined && v.metricName !== metric.name) continue;
        nest.message(body, 4, (m) => {
          labelPairs(nest, m, pairs(v.labels));
          nest.message(m, 5, (c) => c.tag(1, 1).double(v.value));
        });
      }
    }
    delimited(out, body.finish());
  }
  return Buffer.from(out.finish());
}
