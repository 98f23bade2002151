// Number formatting and error levels for the web page (runs in the browser; no imports).

const groups = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Three significant digits, without an exponent; thousands grouped from 1000 on. */
function sig3(x: number): string {
  if (x >= 1000) return groups.format(Math.round(x));
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return Number(x.toPrecision(3)).toString();
}

/** Requests per second: "12.3/s"; "…" while unknown. */
export function formatRate(rate: number | null | undefined, unit = '/s'): string {
  if (rate === null || rate === undefined) return '…';
  if (rate === 0) return `0${unit}`;
  if (rate < 0.01) return `<0.01${unit}`;
  return `${sig3(rate)}${unit}`;
}

/** An error ratio as a percentage: "0%", "0.25%", "12.5%", "100%"; "–" without requests. */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined) return '–';
  if (ratio === 0) return '0%';
  const p = ratio * 100;
  if (p < 0.01) return '<0.01%';
  if (p >= 99.95 && p < 100) return '99.9%';
  if (p >= 10) return `${Number(p.toFixed(1))}%`;
  return `${Number(p.toPrecision(2))}%`;
}

/**
 * A latency in seconds: "850µs", "12.5ms", "1.20s"; "–" without observations. Compact drops
 * trailing zeros ("50ms", "1.2s").
 */
export function formatSeconds(s: number | null | undefined, compact = false): string {
  if (s === null || s === undefined) return '–';
  if (s === 0) return '0';
  const [n, unit] = s < 0.001 ? [s * 1e6, 'µs'] : s < 1 ? [s * 1000, 'ms'] : [s, 's'];
  let text = sig3(n);
  if (compact && text.includes('.')) text = text.replace(/\.?0+$/, '');
  return `${text}${unit}`;
}

/**
 * A quantile with what its histogram can tell (`range`: its first and last finite bounds): in
 * the first bucket (at or under its bound) "< 100ms", at the last bound (the rank may be in
 * +Inf, where histogram_quantile answers that bound) "> 12.8s", else as formatSeconds.
 */
export function formatQuantile(s: number | null | undefined, range: { first: number; last: number } | null | undefined, compact = false): string {
  if (s === null || s === undefined) return '–';
  if (range && range.first > 0 && s <= range.first) return `< ${formatSeconds(range.first, compact)}`;
  if (range && s >= range.last) return `> ${formatSeconds(range.last, compact)}`;
  return formatSeconds(s, compact);
}

/** A rate, or while the window is empty the count since start: "12.3/s", "42 total". */
export function formatRateOrTotal(r: { rate: number | null; total?: number }, unit = '/s'): string {
  if (r.rate === null && r.total !== undefined) return `${formatCount(r.total)} total`;
  return formatRate(r.rate, unit);
}

/** A byte count: "4.0 MiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

/** A count: "1,234". */
export function formatCount(n: number): string {
  return groups.format(n);
}

export type ErrorLevel = 'none' | 'ok' | 'low' | 'mid' | 'high';

/**
 * Colour classes by error ratio: none (no requests), ok (no errors), low (< 1%), mid (< 5%),
 * high (5% or more).
 */
export function errorLevel(ratio: number | null | undefined): ErrorLevel {
  if (ratio === null || ratio === undefined) return 'none';
  if (ratio === 0) return 'ok';
  if (ratio < 0.01) return 'low';
  if (ratio < 0.05) return 'mid';
  return 'high';
}

/** Fits a name in `max` characters: a host name loses its last parts, anything else its end. */
export function shorten(s: string, max: number): string {
  if (s.length <= max) return s;
  const parts = s.split('.');
  let out = parts[0]!;
  for (let i = 1; i < parts.length && out.length + 1 + parts[i]!.length <= max - 1; i++) out += `.${parts[i]}`;
  return out.length <= max - 1 ? `${out}…` : `${s.slice(0, max - 1)}…`;
}

/** Decimals of a number as written ("99.9" → 1). */
function decimals(x: number): number {
  const s = String(x);
  const dot = s.indexOf('.');
  return dot < 0 || s.includes('e') ? 0 : s.length - dot - 1;
}

/** Cut (not rounded) to `d` decimals, so a figure is never shown better than it is. */
function floorTo(x: number, d: number): number {
  const f = 10 ** d;
  // The epsilon keeps 0.29 · 100 = 28.999999999999996 at 29.
  return Math.floor(x * f + 1e-7) / f;
}

/**
 * An SLI as a percentage with one decimal more than the objective, cut rather than rounded
 * (99.89% is not shown as 99.9%; "100%" only when no span was bad): "99.7%", "99.95%"; "–"
 * without spans.
 */
export function formatSli(sli: number | null | undefined, objective: number): string {
  if (sli === null || sli === undefined) return '–';
  return `${floorTo(sli * 100, Math.min(decimals(objective) + 1, 6))}%`;
}

/** Error budget left, cut to 0.1%: "100%", "37.5%", "−200%" (overspent), "−1,234%"; "–" without spans. */
export function formatBudget(remaining: number | null | undefined): string {
  if (remaining === null || remaining === undefined) return '–';
  const p = floorTo(remaining * 100, 1);
  const abs = Math.abs(p);
  const text = abs >= 1000 ? groups.format(Math.round(abs)) : String(abs);
  return `${p < 0 ? '−' : ''}${text}%`;
}

/** A duration in seconds in its largest whole unit: "30d", "12h", "90m", "45s". */
export function formatDuration(seconds: number): string {
  for (const [unit, s] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= s && seconds % s === 0) return `${seconds / s}${unit}`;
  }
  return `${seconds}s`;
}
