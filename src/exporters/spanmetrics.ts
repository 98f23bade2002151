// Span metrics in the Prometheus text format 0.0.4, read straight from the core's series table.
// One label string is built per series and cached until its slot is reused; samples are
// written without an object per series or per sample.
import type { Core, SeriesTableView } from '../core/index.js';
import { SPAN_METRICS } from '../core/index.js';
import type { SpanMetricsConfig } from '../config/types.js';
import { dimensionLabelNames, escapeLabelValue, formatSampleValue } from './labels.js';
import { header, braced, histogramLines, LabelCache } from './text.js';

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER',
];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
export const INTRINSIC_LABELS = ['service', 'span_name', 'span_kind', 'status_code', 'status_message'] as const;
// Labels a dimension may not take as they are: the intrinsics, and le, which the histogram's buckets carry.
const RESERVED_LABELS = [...INTRINSIC_LABELS, 'le'];

const CALLS = 'traces_spanmetrics_calls_total';
const LATENCY = 'traces_spanmetrics_latency';
const SIZE = 'traces_spanmetrics_size_total';

function enumName(names: string[], v: number): string {
  return names[v] ?? String(v);
}

export class SpanMetricsExposition {
  private readonly dimensionNames: string[];
  private readonly le: string[];
  private readonly cache = new LabelCache();

  constructor(private readonly core: Core, private readonly config: SpanMetricsConfig) {
    this.dimensionNames = dimensionLabelNames(config.dimensions, RESERVED_LABELS, 'processor.span_metrics.dimensions');
    this.le = config.histogram_buckets.map(formatSampleValue);
  }

  /** `name="value",...` for the series in `slot`, empty values left out (Prometheus: absent). */
  private labels(view: SeriesTableView, slot: number): string {
    const on = this.config.intrinsic_dimensions;
    const core = this.core;
    const parts: string[] = [];
    const add = (name: string, value: string) => {
      if (value !== '') parts.push(`${name}="${escapeLabelValue(value)}"`);
    };
    if (on.service) add('service', core.label(view.key(slot, SPAN_METRICS.KEY_SERVICE)));
    if (on.span_name) add('span_name', core.label(view.key(slot, SPAN_METRICS.KEY_SPAN_NAME)));
    // Enum values as sent (an int32 on the wire); unknown ones print as their number.
    if (on.span_kind) add('span_kind', enumName(SPAN_KINDS, view.key(slot, SPAN_METRICS.KEY_SPAN_KIND) | 0));
    if (on.status_code) add('status_code', enumName(STATUS_CODES, view.key(slot, SPAN_METRICS.KEY_STATUS_CODE) | 0));
    if (on.status_message) add('status_message', core.label(view.key(slot, SPAN_METRICS.KEY_STATUS_MESSAGE)));
    this.dimensionNames.forEach((name, d) => add(name, core.label(view.key(slot, SPAN_METRICS.KEY_DIMENSIONS + d))));
    return parts.join(',');
  }

  render(): string {
    const view = this.core.table('spanMetrics');
    if (!view) return '';
    const build = (slot: number) => this.labels(view, slot);
    let calls = header(CALLS, 'counter', 'Spans counted, by service, span name, kind, status and dimensions.');
    let latency = header(LATENCY, 'histogram', 'Span duration in seconds.');
    let size = header(SIZE, 'counter', 'Encoded size of the spans counted, in bytes.');
    for (let slot = 0; slot < view.used; slot++) {
      if (!view.live(slot)) continue;
      const labels = this.cache.get(view, slot, build);
      const count = view.value(slot, SPAN_METRICS.V_CALLS);
      calls += `${CALLS}${braced(labels)} ${formatSampleValue(count)}\n`;
      size += `${SIZE}${braced(labels)} ${formatSampleValue(view.value(slot, SPAN_METRICS.V_SIZE))}\n`;
      latency += histogramLines(LATENCY, labels, this.le, view, slot, SPAN_METRICS.V_BUCKETS, SPAN_METRICS.V_SUM, count);
    }
    return calls + latency + size;
  }
}
