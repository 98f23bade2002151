// Metric families as the exporters see them: where each one's series live in a core table,
// which of a record's values it shows, and how its label sets are made. Every output (the
// text formats, remote write, OTLP) reads the core through these, so names and labels are
// decided in one place per processor.
import type { Core, Exemplar, SeriesTableView, WorstExemplar } from '../core/index.js';
import type { SloConfig } from '../config/types.js';
import { escapeLabelValue } from './labels.js';

export type Labels = ReadonlyArray<readonly [name: string, value: string]>;

/** The labels of a table's overflow series, which takes the label sets past the series limit. */
export const OVERFLOW_LABELS: Labels = [['metric_overflow', 'true']];

/**
 * Label sets of one table's series, built once per series and kept until its slot is reused
 * (the record's generation changes). Empty values are left out: Prometheus reads them as absent.
 */
export class TableLabels {
  private pairsBySlot: Labels[] = [];
  private bytesBySlot: Buffer[] = [];
  private generations: number[] = [];

  constructor(private readonly build: (view: SeriesTableView, slot: number) => Labels) {}

  private fill(view: SeriesTableView, slot: number): void {
    const gen = view.generation(slot);
    if (this.generations[slot] === gen) return;
    const pairs = view.overflow(slot) ? OVERFLOW_LABELS : this.build(view, slot).filter(([, v]) => v !== '');
    this.pairsBySlot[slot] = pairs;
    this.bytesBySlot[slot] = Buffer.from(pairs.map(([n, v]) => `${n}="${escapeLabelValue(v)}"`).join(','), 'utf8');
    this.generations[slot] = gen;
  }

  pairs(view: SeriesTableView, slot: number): Labels {
    this.fill(view, slot);
    return this.pairsBySlot[slot]!;
  }

  /** `name="value",...`, escaped for the text formats, as UTF-8 bytes. */
  bytes(view: SeriesTableView, slot: number): Buffer {
    this.fill(view, slot);
    return this.bytesBySlot[slot]!;
  }
}

interface FamilyBase {
  /** The family name; a counter's samples add `_total`. */
  name: string;
  help: string;
  /** The table, positioned for reading (undefined when its processor is off). */
  table(): SeriesTableView | undefined;
  labels: TableLabels;
}

export interface CounterFamily extends FamilyBase {
  type: 'counter';
  /** Index of the value in the record. */
  value: number;
  /** A series exists only once its value is above 0 (Tempo's failed-requests counter). */
  skipZero?: boolean;
  /** The trace of a recent increment (its value is the increment), if kept. */
  exemplar?(view: SeriesTableView, slot: number): Exemplar | undefined;
  /** The series' latest failed observation (assembly/worst.ts; its value in seconds), if kept. */
  failed?(view: SeriesTableView, slot: number): Exemplar | undefined;
}

export interface HistogramFamily extends FamilyBase {
  type: 'histogram';
  /** Upper bounds in seconds, as the core holds them; +Inf is implied. */
  bounds: readonly number[];
  /** Shown in milliseconds: bounds and sum times 1000 (the Collector's default unit). */
  milliseconds?: boolean;
  /** Index of the first per-bucket count (not cumulative; the +Inf bucket is the count). */
  buckets: number;
  sum: number;
  count: number;
  /** A series exists only once it has observations (the messaging-system histogram). */
  skipZero?: boolean;
  /** The trace of a recent observation in `bucket` (bounds.length: +Inf), if kept. */
  exemplar?(view: SeriesTableView, slot: number, bucket: number): Exemplar | undefined;
  /** The series' slowest observation of the window and its bucket (assembly/worst.ts), if kept. */
  slowest?(view: SeriesTableView, slot: number): WorstExemplar | undefined;
  /** The native histogram kept beside the buckets (generate_native_histograms), if any. */
  native?: NativeFamily;
}

/** Where a histogram family's native histograms are, and whether its classic buckets go out too. */
export interface NativeFamily {
  /** Value index of the native histogram block in a record (core/native.ts readNative). */
  block: number;
  /** The configured schema (the block says how far it was reduced). */
  schema: number;
  /** generate_native_histograms: both (else native only: the buckets are not shown). */
  classic: boolean;
}

/** The native histogram of a span-metrics series, or of an edge's histogram `h` (0 server, 1 client, 2 messaging). */
export function nativeFamily(core: Core, table: 'spanMetrics' | 'edges', h = 0): NativeFamily | undefined {
  const block = core.nativeBlock(table, h);
  const options = core.options.nativeHistograms;
  return block === undefined || !options ? undefined : { block, schema: options.schema, classic: options.mode === 'both' };
}

/** A gauge (Tempo's traces_target_info): its samples are named as the family. */
export interface GaugeFamily extends FamilyBase {
  type: 'gauge';
  /** Index of the value in the record. */
  value: number;
  /** A presence gauge: this value for every series, whatever the record holds (traces_service_graph_connection_info). */
  constant?: number;
}

/** The sample value of a counter or gauge series. */
export function sampleValue(f: CounterFamily | GaugeFamily, view: SeriesTableView, slot: number): number {
  return f.type === 'gauge' && f.constant !== undefined ? f.constant : view.value(slot, f.value);
}

export type Family = CounterFamily | HistogramFamily | GaugeFamily;

/**
 * Calls `visit` for each live series of the family, with its slot, from slot `from` on; stops
 * after a visit that answers true. Returns the slot to go on from (view.used when done).
 */
export function forEachSeries(family: Family, view: SeriesTableView, visit: (slot: number) => boolean | void, from = 0): number {
  const skipAt = family.type === 'gauge' || !family.skipZero ? -1 : family.type === 'counter' ? family.value : family.count;
  for (let slot = from; slot < view.used; slot++) {
    if (!view.live(slot)) continue;
    if (skipAt >= 0 && !(view.value(slot, skipAt) > 0)) continue;
    if (visit(slot) === true) return slot + 1;
  }
  return view.used;
}

/**
 * The exemplar a one-per-bucket format (OpenMetrics, the Prometheus protobuf, remote write) shows
 * on `bucket`: the series' slowest observation of the window when it fell in this bucket (the
 * slowest wins over the bucket's own), else the bucket's own (its latest). A loop over the
 * buckets of a series passes `slowest`, read once.
 */
export function bucketExemplar(
  f: HistogramFamily, view: SeriesTableView, slot: number, bucket: number, slowest = f.slowest?.(view, slot),
): Exemplar | undefined {
  if (slowest && slowest.bucket === bucket) return { traceId: slowest.traceId, spanId: slowest.spanId, value: slowest.value, timestampMs: slowest.timestampMs };
  return f.exemplar?.(view, slot, bucket);
}

/** A counter's exemplar: the series' latest failed observation (`failed`) as an increment of 1, else `otherwise`. */
export function failedFirst(
  failed: (view: SeriesTableView, slot: number) => Exemplar | undefined,
  otherwise?: (view: SeriesTableView, slot: number) => Exemplar | undefined,
): (view: SeriesTableView, slot: number) => Exemplar | undefined {
  return (view, slot) => {
    const f = failed(view, slot);
    if (f) return { traceId: f.traceId, spanId: f.spanId, value: 1, timestampMs: f.timestampMs };
    return otherwise?.(view, slot);
  };
}

/** The most recent of the exemplars kept for a histogram's buckets, as the exemplar of an increment of 1. */
export function latestExemplar(histogram: HistogramFamily, view: SeriesTableView, slot: number): Exemplar | undefined {
  let latest: Exemplar | undefined;
  for (let b = 0; b <= histogram.bounds.length; b++) {
    const e = histogram.exemplar?.(view, slot, b);
    if (e && (!latest || e.timestampMs > latest.timestampMs)) latest = e;
  }
  return latest && { ...latest, value: 1 };
}

// ---------------------------------------------------------------------------------------------
// Typed families: what a processor's families mean, for readers that are not exporters (the
// web page). They hold the same family objects the exporters render, and read each label the
// page needs by its role from the series' key, so no reader matches a metric or label name:
// those change with the naming scheme (tempo or otel) and the configuration.

/** One label of a table's series by its role; '' when the configuration leaves the label out. */
export type LabelReader = (view: SeriesTableView, slot: number) => string;

/** The span-metrics families (either naming scheme). */
export interface SpanMetricsCatalog {
  /** In exposition order. */
  families: Family[];
  /**
   * The calls per latency label set (the histogram's count). The exported counter, unless
   * calls_dimensions or histogram_dimensions give it labels of its own (then `families` holds that one).
   */
  calls: CounterFamily;
  /** Same table and labels as calls; its count is the calls value. */
  latency: HistogramFamily;
  /** Absent with `naming: otel`. */
  size?: CounterFamily;
  /** With processor.span_metrics.self_time: the self-time histogram and its two counters, on the latency series. */
  selfTime?: { histogram: HistogramFamily; unknown: CounterFamily; late: CounterFamily };
  /** With processor.span_metrics.events.enabled. */
  events?: CounterFamily;
  /** With processor.span_metrics.enable_target_info: traces_target_info. */
  targetInfo?: GaugeFamily;
  /** The labels of an events series besides the span's (which `labels` reads there too): event name and dimensions. */
  eventLabels?: { name: LabelReader; dimensions: readonly { attribute: string; read: LabelReader }[] };
  /** The intrinsic labels of a calls (and latency) series. */
  labels: { service: LabelReader; spanName: LabelReader; spanKind: LabelReader; statusCode: LabelReader };
  /** The configured dimensions, in order: the attribute, and its value in a series ('' where the span had none). */
  dimensions: readonly { attribute: string; read: LabelReader }[];
}

/** The service-graph families. */
export interface ServiceGraphsCatalog {
  families: Family[];
  request: CounterFamily;
  failed: CounterFamily;
  /** Same table and labels as request; the bounds are the same for both. */
  server: HistogramFamily;
  client: HistogramFamily;
  messaging?: HistogramFamily;
  unpaired: CounterFamily;
  dropped: CounterFamily;
  /** The labels of an edge series (request, failed and the histograms). */
  labels: { client: LabelReader; server: LabelReader; connectionType: LabelReader; virtualNode: LabelReader };
  /** The labels of an unpaired or dropped series (reason: '' on every dropped one). */
  pair: { client: LabelReader; server: LabelReader; reason: LabelReader };
}

/** The SLO families: one series each per configured SLO. */
export interface SlosCatalog {
  families: Family[];
  good: CounterFamily;
  /** Same table and labels as good. */
  total: CounterFamily;
  /** The SLOs as configured, in order. */
  slos: readonly SloConfig[];
  /** The index in `slos` of the SLO a series counts. */
  index(view: SeriesTableView, slot: number): number;
}
