// Span metrics in the Prometheus text format 0.0.4, read straight from the core's series table.
// One label string is built per series and cached until its slot is reused; samples are
// written without an object per series or per sample.
import type { Core } from '../core/index.js';
import { SPAN_METRICS } from '../core/index.js';
import type { SpanMetricsConfig } from '../config/types.js';
import { dimensionLabelNames, escapeLabelValue, formatSampleValue } from './labels.js';

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER',
];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];
export const INTRINSIC_LABELS = ['service', 'span_name', 'span_kind', 'status_code', 'status_message'] as const;

const CALLS = 'traces_spanmetrics_calls_total';
const LATENCY = 'traces_spanmetrics_latency';
const SIZE = 'traces_spanmetrics_size_total';

function enumName(names: string[], v: number): string {
  return names[v] ?? String(v);
}

export class SpanMetricsExposition {
  private readonly dimensionNames: string[];
  private readonly le: string[];
  private labelSets: string[] = [];
  private generations: number[] = [];

  constructor(private readonly core: Core, private readonly config: SpanMetricsConfig) {
    this.dimensionNames = dimensionLabelNames(config.dimensions, INTRINSIC_LABELS, 'processor.span_metrics.dimensions');
    this.le = config.histogram_buckets.map((b) => formatSampleValue(b));
  }

  /** `name="value",...` for the series in `slot`, empty values left out (Prometheus: absent). */
  private labels(slot: number): string {
    const view = this.core.spanMetricsView!;
    const gen = view.generation(slot);
    if (this.generations[slot] === gen) return this.labelSets[slot];
    const on = this.config.intrinsic_dimensions;
    const parts: string[] = [];
    const add = (name: string, value: string) => {
      if (value !== '') parts.push(`${name}="${escapeLabelValue(value)}"`);
    };
    if (on.service) add('service', this.core.label(view.key(slot, SPAN_METRICS.KEY_SERVICE)));
    if (on.span_name) add('span_name', this.core.label(view.key(slot, SPAN_METRICS.KEY_SPAN_NAME)));
    const kindStatus = view.key(slot, SPAN_METRICS.KEY_KIND_STATUS);
    if (on.span_kind) add('span_kind', enumName(SPAN_KINDS, kindStatus & 0xffff));
    if (on.status_code) add('status_code', enumName(STATUS_CODES, kindStatus >>> 16));
    if (on.status_message) add('status_message', this.core.label(view.key(slot, SPAN_METRICS.KEY_STATUS_MESSAGE)));
    this.dimensionNames.forEach((name, d) => add(name, this.core.label(view.key(slot, SPAN_METRICS.KEY_DIMENSIONS + d))));
    const s = parts.join(',');
    this.labelSets[slot] = s;
    this.generations[slot] = gen;
    return s;
  }

  render(): string {
    const view = this.core.spanMetrics();
    if (!view) return '';
    const used = view.used;
    const buckets = this.le.length;
    let calls = `# HELP ${CALLS} Spans counted, by service, span name, kind, status and dimensions.\n# TYPE ${CALLS} counter\n`;
    let latency = `# HELP ${LATENCY} Span duration in seconds.\n# TYPE ${LATENCY} histogram\n`;
    let size = `# HELP ${SIZE} Encoded size of the spans counted, in bytes.\n# TYPE ${SIZE} counter\n`;
    for (let slot = 0; slot < used; slot++) {
      const labels = this.labels(slot);
      const open = labels === '' ? '{' : `{${labels},`;
      const braced = labels === '' ? '' : `{${labels}}`;
      const count = view.value(slot, SPAN_METRICS.V_CALLS);
      calls += `${CALLS}${braced} ${formatSampleValue(count)}\n`;
      size += `${SIZE}${braced} ${formatSampleValue(view.value(slot, SPAN_METRICS.V_SIZE))}\n`;
      let cumulative = 0;
      for (let b = 0; b < buckets; b++) {
        cumulative += view.value(slot, SPAN_METRICS.V_BUCKETS + b);
        latency += `${LATENCY}_bucket${open}le="${this.le[b]}"} ${formatSampleValue(cumulative)}\n`;
      }
      latency += `${LATENCY}_bucket${open}le="+Inf"} ${formatSampleValue(count)}\n`;
      latency += `${LATENCY}_sum${braced} ${formatSampleValue(view.value(slot, SPAN_METRICS.V_SUM))}\n`;
      latency += `${LATENCY}_count${braced} ${formatSampleValue(count)}\n`;
    }
    return calls + latency + size;
  }
}
