// The span-metrics families (Tempo's names): calls, latency histogram and size, read from the
// core's span-metrics table; and the span-events counter, read from its events table.
import type { Core, SeriesTableView } from '../core/index.js';
import {
  EVENTS_V_COUNT, SM_KEY_DIMENSIONS, SM_KEY_SERVICE, SM_KEY_SPAN_KIND, SM_KEY_SPAN_NAME, SM_KEY_STATUS_CODE,
  SM_V_BUCKETS, SM_V_CALLS, SM_V_SIZE, SM_V_SUM, ST_V_BUCKETS, ST_V_COUNT, ST_V_LATE, ST_V_SUM, ST_V_UNKNOWN, TI_KEY_ATTRIBUTES, TI_KEY_INSTANCE, TI_KEY_JOB,
  TI_MAX_ATTRIBUTES, TI_V_VALUE,
} from '../core/layout.js';
import { spanMetricsKeyWords } from '../core/keywords.js';
import type { SpanMetricsConfig } from '../config/types.js';
import { SPAN_METRICS_OWN_LABELS, dimensionLabel, sanitizeLabelName } from '../config/labelnames.js';
import { dimensionLabelNames } from './labels.js';
import {
  TableLabels, failedFirst, latestExemplar, nativeFamily, type CounterFamily, type Family, type GaugeFamily, type HistogramFamily, type LabelReader,
  type SpanMetricsCatalog,
} from './families.js';
import { renderFamilies, type TextFormat } from './exposition.js';

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER',
];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const EVENT_NAME_LABEL = 'event_name';
/** The connector's scope labels (connector.go instrumentationScopeNameKey / VersionKey, as its prometheus exporter names them). */
const SCOPE_NAME_LABEL = 'span_instrumentation_scope_name';
const SCOPE_VERSION_LABEL = 'span_instrumentation_scope_version';
/** Tempo's job and instance labels (processor.DimJob, DimInstance), with enable_target_info. */
const JOB_LABEL = 'job';
const INSTANCE_LABEL = 'instance';

/** An enum value as sent (an int32 on the wire); unknown ones print as their number. */
function enumName(names: string[], v: number): string {
  return names[v | 0] ?? String(v | 0);
}

/**
 * The families in Tempo's scheme, or with `naming: otel` in the Collector spanmetrics
 * connector's (what Jaeger's Monitor tab queries): traces_span_metrics_calls_total and
 * traces_span_metrics_duration_milliseconds (or _seconds), label service_name, no size counter.
 */
export function spanMetricsFamilies(core: Core, config: SpanMetricsConfig, naming: 'tempo' | 'otel' = 'tempo'): Family[] {
  return spanMetricsCatalog(core, config, naming).families;
}

/** The same families, typed, with the intrinsic labels read by role (see SpanMetricsCatalog). */
export function spanMetricsCatalog(core: Core, config: SpanMetricsConfig, naming: 'tempo' | 'otel' = 'tempo'): SpanMetricsCatalog {
  const otel = naming === 'otel';
  const serviceLabel = otel ? 'service_name' : 'service';
  // Labels a dimension may not take as they are: the intrinsics, and le, which the histogram's buckets carry.
  const reserved = [serviceLabel, ...SPAN_METRICS_OWN_LABELS];
  // The dimensions' labels, then Tempo's dimension mappings' (key words in that order).
  const dimensionNames = dimensionLabelNames(
    [...config.dimensions, ...(config.dimension_mappings ?? []).map((m) => m.name)], reserved, 'processor.span_metrics.dimensions',
  );
  const on = config.intrinsic_dimensions;
  const off: LabelReader = () => '';
  const intrinsic = {
    service: on.service ? (view, slot) => core.label(view.key(slot, SM_KEY_SERVICE)) : off,
    spanName: on.span_name ? (view, slot) => core.label(view.key(slot, SM_KEY_SPAN_NAME)) : off,
    spanKind: on.span_kind ? (view, slot) => enumName(SPAN_KINDS, view.key(slot, SM_KEY_SPAN_KIND)) : off,
    statusCode: on.status_code ? (view, slot) => enumName(STATUS_CODES, view.key(slot, SM_KEY_STATUS_CODE)) : off,
  } satisfies SpanMetricsCatalog['labels'];
  const words = spanMetricsKeyWords(config);
  const spanLabels = (view: SeriesTableView, slot: number): [string, string][] => {
    const pairs: [string, string][] = [];
    if (on.service) pairs.push([serviceLabel, intrinsic.service(view, slot)]);
    if (on.span_name) pairs.push(['span_name', intrinsic.spanName(view, slot)]);
    if (on.span_kind) pairs.push(['span_kind', intrinsic.spanKind(view, slot)]);
    if (on.status_code) pairs.push(['status_code', intrinsic.statusCode(view, slot)]);
    if (on.status_message) pairs.push(['status_message', core.label(view.key(slot, words.statusMessage))]);
    dimensionNames.forEach((name, d) => pairs.push([name, core.label(view.key(slot, SM_KEY_DIMENSIONS + d))]));
    if (words.job >= 0) {
      // Tempo adds job and instance after the dimensions, so a set one replaces a dimension of that name.
      setLabel(pairs, JOB_LABEL, core.label(view.key(slot, words.job)));
      setLabel(pairs, INSTANCE_LABEL, core.label(view.key(slot, words.job + 1)));
    }
    if (words.scope >= 0) {
      setLabel(pairs, SCOPE_NAME_LABEL, core.label(view.key(slot, words.scope)));
      setLabel(pairs, SCOPE_VERSION_LABEL, core.label(view.key(slot, words.scope + 1)));
    }
    return pairs;
  };
  // The span's key words end here; the histogram's (or the calls table's) dimensions follow.
  const spanWords = words.span;
  const spanLabelNames = [...reserved, ...dimensionNames];
  const histogramDimensionNames = dimensionLabelNames(config.histogram_dimensions ?? [], spanLabelNames, 'processor.span_metrics.histogram_dimensions');
  const callsDimensionNames = dimensionLabelNames(config.calls_dimensions ?? [], spanLabelNames, 'processor.span_metrics.calls_dimensions');
  const withWords = (names: string[]) => (view: SeriesTableView, slot: number): [string, string][] => [
    ...spanLabels(view, slot), ...names.map((name, d): [string, string] => [name, core.label(view.key(slot, spanWords + d))]),
  ];
  // The connector's calls_dimensions and histogram.dimensions: calls and size in a table of their own.
  const split = callsDimensionNames.length + histogramDimensionNames.length > 0;
  const labels = new TableLabels(withWords(histogramDimensionNames));
  const table = () => core.table('spanMetrics');
  const ms = otel && config.histogram_unit === 'ms';
  // naming: otel: the connector's `namespace` + "." + calls / duration / events, as the
  // Collector's Prometheus exporter names them ("." → "_"); an empty namespace, no prefix.
  const ns = config.namespace === '' ? '' : `${sanitizeLabelName(config.namespace)}_`;
  const latency: HistogramFamily = {
    type: 'histogram', table, labels, bounds: config.histogram_buckets, milliseconds: ms,
    buckets: SM_V_BUCKETS, sum: SM_V_SUM, count: SM_V_CALLS,
    exemplar: (view, slot, bucket) => core.exemplar('spanMetrics', view, slot, bucket),
    slowest: (view, slot) => core.worst('spanMetrics', view, slot, 'slowest'),
    native: nativeFamily(core, 'spanMetrics'),
    name: !otel ? 'traces_spanmetrics_latency' : ms ? `${ns}duration_milliseconds` : `${ns}duration_seconds`,
    help: `Span duration in ${ms ? 'milliseconds' : 'seconds'}.`,
  };
  // The calls of the histogram's label sets (its count): what the page reads, and the exported
  // counter unless the dimensions are split.
  const calls: CounterFamily = {
    type: 'counter', name: otel ? `${ns}calls` : 'traces_spanmetrics_calls', table, labels,
    value: SM_V_CALLS, help: 'Spans counted, by service, span name, kind, status and dimensions.',
    failed: (view, slot) => core.worst('spanMetrics', view, slot, 'failed'),
    exemplar: failedFirst((view, slot) => core.worst('spanMetrics', view, slot, 'failed'), (view, slot) => latestExemplar(latency, view, slot)),
  };
  const callsLabels = split ? new TableLabels(withWords(callsDimensionNames)) : labels;
  const callsTable = split ? () => core.table('spanCalls') : table;
  const exportedCalls: CounterFamily = split ? { ...calls, table: callsTable, labels: callsLabels, exemplar: undefined, failed: undefined } : calls;
  const size: CounterFamily | undefined = otel ? undefined : {
    type: 'counter', name: 'traces_spanmetrics_size', table: callsTable, labels: callsLabels, value: SM_V_SIZE,
    help: 'Encoded size of the spans counted, in bytes.',
  };
  const selfTime = selfTimeFamilies(core, latency, otel ? ns : undefined);
  let events: CounterFamily | undefined;
  let eventLabels: SpanMetricsCatalog['eventLabels'];
  if (config.events.enabled) {
    // Event labels: the span's, then event_name and the event dimensions (key words in that order).
    const eventNameWord = spanWords;
    const eventDimensionNames = dimensionLabelNames(
      config.events.dimensions, [...reserved, ...dimensionNames, EVENT_NAME_LABEL], 'processor.span_metrics.events.dimensions',
    );
    events = {
      type: 'counter', name: otel ? `${ns}events` : 'traces_spanmetrics_events', value: EVENTS_V_COUNT,
      table: () => core.table('spanEvents'),
      labels: new TableLabels((view, slot) => [
        ...spanLabels(view, slot),
        [EVENT_NAME_LABEL, core.label(view.key(slot, eventNameWord))],
        ...eventDimensionNames.map((name, d): [string, string] => [name, core.label(view.key(slot, eventNameWord + 1 + d))]),
      ]),
      help: 'Span events counted, by the span labels, event name and event dimensions.',
    };
    eventLabels = {
      name: (view, slot) => core.label(view.key(slot, eventNameWord)),
      dimensions: config.events.dimensions.map((attribute, d) => ({
        attribute, read: ((view, slot) => core.label(view.key(slot, eventNameWord + 1 + d))) satisfies LabelReader,
      })),
    };
  }
  const targetInfo = config.enable_target_info ? targetInfoFamily(core, serviceLabel) : undefined;
  const families: Family[] = [
    exportedCalls, latency, ...(size ? [size] : []), ...(selfTime ? [selfTime.histogram, selfTime.unknown, selfTime.late] : []), ...(events ? [events] : []), ...(targetInfo ? [targetInfo] : [])];
  const dimensions = config.dimensions.map((attribute, d) => ({
    attribute, read: ((view, slot) => core.label(view.key(slot, SM_KEY_DIMENSIONS + d))) satisfies LabelReader,
  }));
  return { families, calls, latency, size, selfTime, events, eventLabels, targetInfo, labels: intrinsic, dimensions };
}

/**
 * Self time (processor.span_metrics.self_time), on the latency histogram's series and buckets:
 * the histogram, the spans whose self time is unknown (their children could not all be kept) and
 * the children that came after their parent's self time was observed. `ns`: naming otel's prefix.
 */
function selfTimeFamilies(core: Core, latency: HistogramFamily, ns: string | undefined): SpanMetricsCatalog['selfTime'] {
  const block = core.selfTimeBlock();
  if (block === undefined) return undefined;
  const ms = latency.milliseconds === true;
  const prefix = ns === undefined ? 'traces_spanmetrics_' : ns;
  const base = { table: latency.table, labels: latency.labels };
  return {
    histogram: {
      ...base, type: 'histogram', bounds: latency.bounds, milliseconds: ms,
      buckets: block + ST_V_BUCKETS, sum: block + ST_V_SUM, count: block + ST_V_COUNT,
      name: `${prefix}self_time_${ms ? 'milliseconds' : 'seconds'}`,
      help: `Span duration minus the time its children (those that came within wait) cover, in ${ms ? 'milliseconds' : 'seconds'}.`,
    },
    unknown: {
      ...base, type: 'counter', value: block + ST_V_UNKNOWN, skipZero: true, name: `${prefix}self_time_unknown`,
      help: 'Spans whose self time was not observed: their children could not all be kept (self-time store full or too many disjoint children).',
    },
    late: {
      ...base, type: 'counter', value: block + ST_V_LATE, skipZero: true, name: `${prefix}self_time_late_children`,
      help: 'Children that came after their parent span\'s self time was observed (that observation was too high).',
    },
  };
}

/** Sets label `name` to a non-empty `value`, in place of one of that name (Tempo's builder: the last Add wins). */
function setLabel(pairs: [string, string][], name: string, value: string): void {
  if (value === '') return;
  const at = pairs.findIndex(([n]) => n === name);
  if (at >= 0) pairs.splice(at, 1);
  pairs.push([name, value]);
}

/**
 * Tempo's traces_target_info: job, instance and the resource's other attributes (the core keeps
 * them sorted by key), each key named as a dimension is, with "__" before one of Tempo's
 * intrinsic labels, job or instance (spanmetrics/config.go targetInfoIntrinsicLabelsSet); of two
 * keys that become one name, the later wins.
 */
function targetInfoFamily(core: Core, serviceLabel: string): GaugeFamily {
  const reserved = [serviceLabel, 'span_name', 'span_kind', 'status_code', 'status_message', JOB_LABEL, INSTANCE_LABEL];
  const labels = new TableLabels((view, slot) => {
    const byName = new Map<string, string>();
    for (let i = 0; i < TI_MAX_ATTRIBUTES; i++) {
      const name = view.key(slot, TI_KEY_ATTRIBUTES + 2 * i);
      if (name === 0) break;
      const label = dimensionLabel(core.label(name), reserved);
      if (label === '__name__') continue;
      byName.delete(label);
      byName.set(label, core.label(view.key(slot, TI_KEY_ATTRIBUTES + 2 * i + 1)));
    }
    return [[JOB_LABEL, core.label(view.key(slot, TI_KEY_JOB))], [INSTANCE_LABEL, core.label(view.key(slot, TI_KEY_INSTANCE))], ...byName];
  });
  return {
    type: 'gauge', name: 'traces_target_info', table: () => core.table('targetInfo'), labels, value: TI_V_VALUE,
    help: 'Resource attributes of each job and instance whose spans were counted (Tempo target_info).',
  };
}

/** The span-metrics families of a core, rendered in a text format. */
export class SpanMetricsExposition {
  readonly families: Family[];

  constructor(core: Core, config: SpanMetricsConfig, naming: 'tempo' | 'otel' = 'tempo') {
    this.families = spanMetricsFamilies(core, config, naming);
  }

  render(format: TextFormat = 'text'): string {
    return renderFamilies(this.families, format).toString('utf8');
  }
}
