// Sparklines for the services table (runs in the browser): a service's request rate, error
// ratio and p95 per interval of the window, as three rows of one small SVG.
import type { ServiceHistory } from '../json.js';
import { svg } from './dom.js';
import { formatPercent, formatRate, formatSeconds } from './format.js';

const W = 96;
const ROW = 10;

/** Points of a line over `values` in a row (null: a gap), scaled to the row's largest value. */
function line(values: (number | null)[], top: number): string {
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const step = values.length > 1 ? W / (values.length - 1) : 0;
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    const x = values.length > 1 ? i * step : W / 2;
    const y = top + ROW - 1 - (max > 0 ? (v / max) * (ROW - 2) : 0);
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  });
  return d;
}

function last<T>(a: T[]): T | undefined {
  return a[a.length - 1];
}

/** Fills `cell` with the sparklines of `h` (replacing what was there). */
export function renderSpark(cell: HTMLElement, h: ServiceHistory | undefined): void {
  const key = h ? JSON.stringify(h) : '';
  if (cell.dataset.spark === key) return;
  cell.dataset.spark = key;
  if (!h || h.rate.length === 0) {
    cell.replaceChildren();
    return;
  }
  const root = svg('svg', { class: 'spark', viewBox: `0 0 ${W} ${3 * ROW}`, width: W, height: 3 * ROW, role: 'img' });
  const label = `over the window, per interval: rate ${h.rate.map((v) => formatRate(v)).join(', ')}; errors now ${formatPercent(last(h.error_ratio))}; p95 now ${formatSeconds(last(h.p95))}`;
  root.setAttribute('aria-label', label);
  const title = svg('title');
  title.textContent = `rate (top), errors (middle), p95 (bottom) per interval of the window; last: ${formatRate(last(h.rate))}, ${formatPercent(last(h.error_ratio))} errors, p95 ${formatSeconds(last(h.p95))}`;
  root.append(title);
  // Errors: bars (a ratio), so that one failing interval shows even between quiet ones.
  const n = h.error_ratio.length;
  const bw = W / Math.max(n, 1);
  h.error_ratio.forEach((v, i) => {
    if (v === null || v <= 0) return;
    const hgt = Math.max(1.5, v * (ROW - 2));
    root.append(svg('rect', { class: 'spark-err', x: (i * bw).toFixed(1), y: (2 * ROW - 1 - hgt).toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: hgt.toFixed(1) }));
  });
  root.append(svg('path', { class: 'spark-rate', d: line(h.rate, 0) }), svg('path', { class: 'spark-p95', d: line(h.p95, 2 * ROW) }));
  cell.replaceChildren(root);
}
