// The span-metrics families (Tempo's names): calls, latency histogram and size, read from the
// core's span-metrics table.
import type { Core, SeriesTableView } from '../core/index.js';
import { SPAN_METRICS } from '../core/index.js';
import type { SpanMetricsConfig } from '../config/types.js';
import { dimensionLabelNames } from './labels.js';
import { TableLabels, type Family, type Labels } from './families.js';
import { renderFamilies, type TextFormat } from './exposition.js';

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER',
];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
export const INTRINSIC_LABELS = ['service', 'span_name', 'span_kind', 'status_code', 'status_message'] as const;
// Labels a dimension may not take as they are: the intrinsics, and le, which the histogram's buckets carry.
const RESERVED_LABELS = [...INTRINSIC_LABELS, 'le'];

/** An enum value as sent (an int32 on the wire); unknown ones print as their number. */
function enumName(names: string[], v: number): string {
  return names[v | 0] ?? String(v | 0);
}

export function spanMetricsFamilies(core: Core, config: SpanMetricsConfig): Family[] {
  const dimensionNames = dimensionLabelNames(config.dimensions, RESERVED_LABELS, 'processor.span_metrics.dimensions');
  const on = config.intrinsic_dimensions;
  const labels = new TableLabels((view: SeriesTableView, slot: number): Labels => {
    const pairs: [string, string][] = [];
    if (on.service) pairs.push(['service', core.label(view.key(slot, SPAN_METRICS.KEY_SERVICE))]);
    if (on.span_name) pairs.push(['span_name', core.label(view.key(slot, SPAN_METRICS.KEY_SPAN_NAME))]);
    if (on.span_kind) pairs.push(['span_kind', enumName(SPAN_KINDS, view.key(slot, SPAN_METRICS.KEY_SPAN_KIND))]);
    if (on.status_code) pairs.push(['status_code', enumName(STATUS_CODES, view.key(slot, SPAN_METRICS.KEY_STATUS_CODE))]);
    if (on.status_message) pairs.push(['status_message', core.label(view.key(slot, SPAN_METRICS.KEY_STATUS_MESSAGE))]);
    dimensionNames.forEach((name, d) => pairs.push([name, core.label(view.key(slot, SPAN_METRICS.KEY_DIMENSIONS + d))]));
    return pairs;
  });
  const table = () => core.table('spanMetrics');
  return [
    {
      type: 'counter', name: 'traces_spanmetrics_calls', table, labels, value: SPAN_METRICS.V_CALLS,
      help: 'Spans counted, by service, span name, kind, status and dimensions.',
    },
    {
      type: 'histogram', name: 'traces_spanmetrics_latency', table, labels, bounds: config.histogram_buckets,
      buckets: SPAN_METRICS.V_BUCKETS, sum: SPAN_METRICS.V_SUM, count: SPAN_METRICS.V_CALLS,
      help: 'Span duration in seconds.',
    },
    {
      type: 'counter', name: 'traces_spanmetrics_size', table, labels, value: SPAN_METRICS.V_SIZE,
      help: 'Encoded size of the spans counted, in bytes.',
    },
  ];
}

/** The span-metrics families of a core, rendered in a text format. */
export class SpanMetricsExposition {
  readonly families: Family[];

  constructor(core: Core, config: SpanMetricsConfig) {
    this.families = spanMetricsFamilies(core, config);
  }

  render(format: TextFormat = 'text'): string {
    return renderFamilies(this.families, format);
  }
}
