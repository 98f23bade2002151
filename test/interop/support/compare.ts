// Compares two Prometheus text expositions series by series: spanmeter's /metrics and the
// Collector's prometheus exporter, scraped after the same requests.
//
// What counts as the Collector's exporter plumbing and not as a difference (each dropped before
// the comparison, on both sides):
//   - `job` and `instance`: the exporter makes them from the resource's service.namespace/name
//     and service.instance.id; spanmeter's /metrics adds none (Prometheus's scrape target gives
//     them, README "Running several instances").
//   - `otel_scope_name`, `otel_scope_version`, `otel_scope_schema_url` (and `otel_scope_*`
//     attributes): the exporter's record of the instrumentation scope, here the connector's own.
//   - a label with an empty value: Prometheus stores `l=""` as no label at all.
// `le` is compared as a number ("+Inf" = infinity). Families not named are not compared
// (target_info, the Collector's own telemetry, spanmeter_* self metrics).
import { parsePrometheusText, validateExposition, type Sample } from '../../support/prom-text.js';
import { normalizeLabels, seriesKey } from '../../support/conformance.js';

/** Labels that are the exporter's, not the processors'. */
export function isPlumbingLabel(name: string): boolean {
  return name.startsWith('otel_scope_');
}

export interface SeriesValue {
  metric: string;
  /** Normalized: no job/instance/otel_scope_*, no empty values, `le` canonical (String(number), +Inf). */
  labels: Record<string, string>;
  value: number;
}

/**
 * Series of the named sample names (e.g. `x_total`, `x_bucket`, `x_sum`, `x_count`), keyed
 * canonically. `sumOver`: labels removed, the series that then coincide added up (the
 * Collector's servicegraph `failed` label, which Tempo's scheme does not have).
 */
export function seriesOf(
  text: string,
  sampleNames: readonly string[],
  side: string,
  opts: { sumOver?: readonly string[] } = {},
): Map<string, SeriesValue> {
  // only the families compared are parsed: the rest (self metrics, target_info) is not
  // compared, and prom-client writes a NaN gauge as `Nan`, which the strict parser refuses
  const want = new Set(sampleNames);
  const families = new Set(sampleNames.map((n) => n.replace(/_(bucket|sum|count)$/, '')));
  const kept = text.split('\n').filter((line) => {
    if (line.startsWith('#')) return families.has(line.split(' ')[2] ?? '');
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    return name !== undefined && want.has(name);
  });
  if (kept.length === 0) return new Map();
  const expo = parsePrometheusText(kept.join('\n') + '\n');
  const problems = validateExposition(expo);
  if (problems.length > 0) throw new Error(`${side}: invalid exposition:\n${problems.slice(0, 10).join('\n')}`);
  const out = new Map<string, SeriesValue>();
  for (const s of expo.samples) {
    if (!want.has(s.name)) continue;
    const labels = normalizeLabels(strip(s));
    for (const l of opts.sumOver ?? []) delete labels[l];
    const key = seriesKey(s.name, labels);
    const prev = out.get(key);
    if (prev && opts.sumOver?.length) {
      prev.value += s.value;
      continue;
    }
    // after dropping job/instance two series may coincide (the Collector keeps one resource per
    // service.instance.id); callers choose resource_metrics_key_attributes so that this cannot
    // happen, and a coincidence is reported rather than summed
    if (prev) throw new Error(`${side}: two series become ${key} once job/instance/otel_scope_* are dropped`);
    out.set(key, { metric: s.name, labels, value: s.value });
  }
  return out;
}

function strip(s: Sample): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.labels)) if (!isPlumbingLabel(k)) out[k] = v;
  return out;
}

export interface Difference {
  key: string;
  metric: string;
  labels: Record<string, string>;
  /** undefined: the series is missing on that side. */
  left?: number;
  right?: number;
}

/** True when the sample is a histogram `_sum` (compared within float rounding; all else exactly). */
const isSum = (metric: string): boolean => metric.endsWith('_sum');

/** Relative tolerance for sums: both peers add float64 durations, in different orders and units. */
export const SUM_TOLERANCE = 1e-9;

export function sameValue(metric: string, a: number, b: number): boolean {
  if (isSum(metric)) return Math.abs(a - b) <= SUM_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b));
  return a === b;
}

/** Every series whose value differs or that one side lacks. */
export function compareSeries(left: Map<string, SeriesValue>, right: Map<string, SeriesValue>): Difference[] {
  const diffs: Difference[] = [];
  for (const [key, l] of left) {
    const r = right.get(key);
    if (!r) diffs.push({ key, metric: l.metric, labels: l.labels, left: l.value });
    else if (!sameValue(l.metric, l.value, r.value)) diffs.push({ key, metric: l.metric, labels: l.labels, left: l.value, right: r.value });
  }
  for (const [key, r] of right) if (!left.has(key)) diffs.push({ key, metric: r.metric, labels: r.labels, right: r.value });
  return diffs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function showDifferences(diffs: readonly Difference[], leftName: string, rightName: string, limit = 40): string {
  const lines = diffs.slice(0, limit).map((d) => `${d.key}: ${leftName}=${d.left ?? 'absent'} ${rightName}=${d.right ?? 'absent'}`);
  if (diffs.length > limit) lines.push(`... and ${diffs.length - limit} more`);
  return lines.join('\n');
}

/** Sum of the values of `metric` series whose labels match all of `match` (after normalization). */
export function total(series: Map<string, SeriesValue>, metric: string, match: Record<string, string | undefined> = {}): number {
  let n = 0;
  for (const s of series.values()) {
    if (s.metric !== metric) continue;
    if (Object.entries(match).every(([k, v]) => (v === undefined ? !s.labels[k] : s.labels[k] === v))) n += s.value;
  }
  return n;
}

/**
 * Polls `scrape` until its text has stopped changing (the same text `stableFor` times in a row,
 * `everyMs` apart) and `ready` accepts it; bounded by `timeoutMs`. Returns the last text.
 */
export async function settle(
  scrape: () => Promise<string>,
  ready: (text: string) => boolean,
  opts: { everyMs?: number; stableFor?: number; timeoutMs?: number; what: string },
): Promise<string> {
  const every = opts.everyMs ?? 500;
  const need = opts.stableFor ?? 2;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last = '';
  let same = 0;
  for (;;) {
    const text = await scrape();
    same = text === last ? same + 1 : 0;
    last = text;
    if (same >= need && ready(text)) return text;
    if (Date.now() > deadline) throw new Error(`${opts.what}: did not settle within ${(opts.timeoutMs ?? 30_000) / 1000} s; last scrape:\n${text.slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * The series that `where` selects, with the labels `drop` removed and the series that then
 * coincide added up (e.g. database edges compared without their server name).
 */
export function regroup(series: Map<string, SeriesValue>, where: (s: SeriesValue) => boolean, drop: readonly string[]): Map<string, SeriesValue> {
  const out = new Map<string, SeriesValue>();
  for (const s of series.values()) {
    if (!where(s)) continue;
    const labels = { ...s.labels };
    for (const l of drop) delete labels[l];
    const key = seriesKey(s.metric, labels);
    const prev = out.get(key);
    if (prev) prev.value += s.value;
    else out.set(key, { metric: s.metric, labels, value: s.value });
  }
  return out;
}
