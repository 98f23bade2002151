// The Prometheus text format 0.0.4 and OpenMetrics 1.0, written from metric families straight
// out of core memory: one cached label string per series, no object per sample.
import type { Exemplar } from '../core/index.js';
import type { Family } from './families.js';
import { forEachSeries } from './families.js';
import { formatSampleValue } from './labels.js';

export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_TEXT = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type TextFormat = 'text' | 'openmetrics';

/** The format a scraper asks for in `Accept`: OpenMetrics when it lists it, text otherwise. */
export function negotiate(accept: string | undefined): TextFormat {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'text';
}

/** A bound in the family's unit: 0.002 s shows as 2 ms, not 2.0000000000000004. */
export function scaled(bound: number, scale: number): number {
  return scale === 1 ? bound : Number((bound * scale).toPrecision(15));
}

function braced(labels: string): string {
  return labels === '' ? '' : `{${labels}}`;
}

export function renderFamilies(families: readonly Family[], format: TextFormat): string {
  let out = '';
  for (const f of families) out += renderFamily(f, format);
  return out;
}

/** An OpenMetrics exemplar after a sample: ` # {trace_id="…",span_id="…"} value timestamp`. */
function exemplarText(e: Exemplar | undefined, scale: number): string {
  if (!e) return '';
  const span = e.spanId === '' ? '' : `,span_id="${e.spanId}"`;
  return ` # {trace_id="${e.traceId}"${span}} ${formatSampleValue(e.value * scale)} ${e.timestampMs / 1000}`;
}

function renderFamily(f: Family, format: TextFormat): string {
  const om = format === 'openmetrics';
  const counterName = `${f.name}_total`;
  // Text 0.0.4 names a counter family by its sample name; OpenMetrics by the name without _total.
  const headerName = f.type === 'counter' && !om ? counterName : f.name;
  let out = `# HELP ${headerName} ${f.help}\n# TYPE ${headerName} ${f.type}\n`;
  const view = f.table();
  if (!view) return out;
  if (f.type === 'counter') {
    forEachSeries(f, view, (slot) => {
      const exemplar = om ? exemplarText(f.exemplar?.(view, slot), 1) : '';
      out += `${counterName}${braced(f.labels.text(view, slot))} ${formatSampleValue(view.value(slot, f.value))}${exemplar}\n`;
    });
    return out;
  }
  const scale = f.milliseconds ? 1000 : 1;
  const le = f.bounds.map((b) => formatSampleValue(scaled(b, scale)));
  forEachSeries(f, view, (slot) => {
    const labels = f.labels.text(view, slot);
    const open = labels === '' ? '{' : `{${labels},`;
    let cumulative = 0;
    for (let b = 0; b < le.length; b++) {
      cumulative += view.value(slot, f.buckets + b);
      const exemplar = om ? exemplarText(f.exemplar?.(view, slot, b), scale) : '';
      out += `${f.name}_bucket${open}le="${le[b]}"} ${formatSampleValue(cumulative)}${exemplar}\n`;
    }
    const count = formatSampleValue(view.value(slot, f.count));
    const exemplar = om ? exemplarText(f.exemplar?.(view, slot, le.length), scale) : '';
    out += `${f.name}_bucket${open}le="+Inf"} ${count}${exemplar}\n`;
    out += `${f.name}_sum${braced(labels)} ${formatSampleValue(view.value(slot, f.sum) * scale)}\n`;
    out += `${f.name}_count${braced(labels)} ${count}\n`;
  });
  return out;
}
