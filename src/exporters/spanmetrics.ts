// The span-metrics families (Tempo's names): calls, latency histogram and size, read from the
// core's span-metrics table; and the span-events counter, read from its events table.
import type { Core, SeriesTableView } from '../core/index.js';
import {
  EVENTS_V_COUNT, SM_KEY_DIMENSIONS, SM_KEY_SERVICE, SM_KEY_SPAN_KIND, SM_KEY_SPAN_NAME, SM_KEY_STATUS_CODE,
  SM_KEY_STATUS_MESSAGE, SM_V_BUCKETS, SM_V_CALLS, SM_V_SIZE, SM_V_SUM,
} from '../core/layout.js';
import type { SpanMetricsConfig } from '../config/types.js';
import { SPAN_METRICS_OWN_LABELS, sanitizeLabelName } from '../config/labelnames.js';
import { dimensionLabelNames } from './labels.js';
import { TableLabels, latestExemplar, nativeFamily, type CounterFamily, type Family, type HistogramFamily, type LabelReader, type SpanMetricsCatalog } from './families.js';
import { renderFamilies, type TextFormat } from './exposition.js';

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER',
];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
const EVENT_NAME_LABEL = 'event_name';

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
  const spanLabels = (view: SeriesTableView, slot: number): [string, string][] => {
    const pairs: [string, string][] = [];
    if (on.service) pairs.push([serviceLabel, intrinsic.service(view, slot)]);
    if (on.span_name) pairs.push(['span_name', intrinsic.spanName(view, slot)]);
    if (on.span_kind) pairs.push(['span_kind', intrinsic.spanKind(view, slot)]);
    if (on.status_code) pairs.push(['status_code', intrinsic.statusCode(view, slot)]);
    if (on.status_message) pairs.push(['status_message', core.label(view.key(slot, SM_KEY_STATUS_MESSAGE))]);
    dimensionNames.forEach((name, d) => pairs.push([name, core.label(view.key(slot, SM_KEY_DIMENSIONS + d))]));
    return pairs;
  };
  const labels = new TableLabels(spanLabels);
  const table = () => core.table('spanMetrics');
  const ms = otel && config.histogram_unit === 'ms';
  // naming: otel: the connector's `namespace` + "." + calls / duration / events, as the
  // Collector's Prometheus exporter names them ("." → "_"); an empty namespace, no prefix.
  const ns = config.namespace === '' ? '' : `${sanitizeLabelName(config.namespace)}_`;
  const latency: HistogramFamily = {
    type: 'histogram', table, labels, bounds: config.histogram_buckets, milliseconds: ms,
    buckets: SM_V_BUCKETS, sum: SM_V_SUM, count: SM_V_CALLS,
    exemplar: (view, slot, bucket) => core.exemplar('spanMetrics', view, slot, bucket),
    native: nativeFamily(core, 'spanMetrics'),
    name: !otel ? 'traces_spanmetrics_latency' : ms ? `${ns}duration_milliseconds` : `${ns}duration_seconds`,
    help: `Span duration in ${ms ? 'milliseconds' : 'seconds'}.`,
  };
  const calls: CounterFamily = {
    type: 'counter', name: otel ? `${ns}calls` : 'traces_spanmetrics_calls', table, labels,
    value: SM_V_CALLS, help: 'Spans counted, by service, span name, kind, status and dimensions.',
    exemplar: (view, slot) => latestExemplar(latency, view, slot),
  };
  const size: CounterFamily | undefined = otel ? undefined : {
    type: 'counter', name: 'traces_spanmetrics_size', table, labels, value: SM_V_SIZE,
    help: 'Encoded size of the spans counted, in bytes.',
  };
  let events: CounterFamily | undefined;
  let eventLabels: SpanMetricsCatalog['eventLabels'];
  if (config.events.enabled) {
    // Event labels: the span's, then event_name and the event dimensions (key words in that order).
    const eventNameWord = SM_KEY_DIMENSIONS + dimensionNames.length;
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
  const families: Family[] = [calls, latency, ...(size ? [size] : []), ...(events ? [events] : [])];
  const dimensions = config.dimensions.map((attribute, d) => ({
    attribute, read: ((view, slot) => core.label(view.key(slot, SM_KEY_DIMENSIONS + d))) satisfies LabelReader,
  }));
  return { families, calls, latency, size, events, eventLabels, labels: intrinsic, dimensions };
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
