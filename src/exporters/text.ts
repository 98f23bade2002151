// Writing samples of the Prometheus text format 0.0.4 from core series tables.
import type { SeriesTableView } from '../core/index.js';
import { formatSampleValue } from './labels.js';

export function header(name: string, type: 'counter' | 'histogram' | 'gauge', help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/** `{labels}` for a sample line, or '' when there are none. */
export function braced(labels: string): string {
  return labels === '' ? '' : `{${labels}}`;
}

/**
 * The _bucket, _sum and _count lines of one histogram series: per-bucket counts start at value
 * `buckets` of the record (not cumulative; the +Inf bucket is the count, which is not stored).
 */
export function histogramLines(
  name: string, labels: string, le: readonly string[], view: SeriesTableView, slot: number,
  buckets: number, sum: number, count: number,
): string {
  const open = labels === '' ? '{' : `{${labels},`;
  let out = '';
  let cumulative = 0;
  for (let b = 0; b < le.length; b++) {
    cumulative += view.value(slot, buckets + b);
    out += `${name}_bucket${open}le="${le[b]}"} ${formatSampleValue(cumulative)}\n`;
  }
  const c = formatSampleValue(count);
  out += `${name}_bucket${open}le="+Inf"} ${c}\n`;
  out += `${name}_sum${braced(labels)} ${formatSampleValue(view.value(slot, sum))}\n`;
  out += `${name}_count${braced(labels)} ${c}\n`;
  return out;
}

/** The labels of a table's overflow series, which takes the label sets past the series limit. */
export const OVERFLOW_LABELS = 'metric_overflow="true"';

/** Label strings per series slot, rebuilt only when the slot's generation changes (it was reused). */
export class LabelCache {
  private strings: string[] = [];
  private generations: number[] = [];

  get(view: SeriesTableView, slot: number, build: (slot: number) => string): string {
    const gen = view.generation(slot);
    if (this.generations[slot] === gen) return this.strings[slot];
    const s = view.overflow(slot) ? OVERFLOW_LABELS : build(slot);
    this.strings[slot] = s;
    this.generations[slot] = gen;
    return s;
  }
}
