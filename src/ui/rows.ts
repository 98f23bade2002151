// Rows of the page's API beside the RED rates (src/ui/api.ts): the exceptions by operation and
// type from the span-events totals, each operation's latest exemplar, and the worst traces of the
// operations and edges, an operation's self time; with the rounding and ordering every response uses.
import type { SpanMetricsCatalog } from '../exporters/catalog.js';
import type { ExceptionRow, HealthResponse, RedResponse, SelfTimeRates, WorstTraces } from './json.js';
import type { Core, Exemplar, SeriesTableView } from '../core/index.js';
import type { KeyInfo, Tracker } from './tracker.js';
import { EXCEPTION_TYPE, type EventInfo, type OpInfo } from './totals.js';
import { histogramQuantile } from './quantile.js';

/** 6 significant digits: enough for a page, and stable to compare. */
export function r6(x: number): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(6));
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Exception events (named "exception") by operation and type since `snapshot` (all since the
 * core started without one), most first; of `service` only unless null.
 */
export function exceptionRows(
  events: Tracker<EventInfo>, snapshot: Float64Array | undefined, seconds: number, service: string | null, sm: SpanMetricsCatalog,
): RedResponse['exceptions'] {
  const rows: ExceptionRow[] = [];
  const d = new Float64Array(1);
  for (let k = 0; k < events.size; k++) {
    const info = events.infos[k]!;
    if (info.overflow || info.eventName !== 'exception' || (service !== null && info.service !== service)) continue;
    events.delta(k, snapshot, d);
    const count = d[0]!;
    if (!(count > 0)) continue;
    rows.push({ service: info.service, span_name: info.spanName, exception_type: info.exceptionType, count, rate: seconds > 0 ? r6(count / seconds) : null });
  }
  rows.sort((a, b) => b.count - a.count || cmp(a.service, b.service) || cmp(a.span_name, b.span_name) || cmp(a.exception_type, b.exception_type));
  return { typed: (sm.eventLabels?.dimensions ?? []).some((x) => x.attribute === EXCEPTION_TYPE), rows };
}

/** Per operation key, the trace id of the latest exemplar its series kept. */
export function latestTraces(ops: Tracker<OpInfo>, calls: SpanMetricsCatalog['calls']): Map<number, string> {
  const out = new Map<number, string>();
  const view = calls.table();
  if (!view || !calls.exemplar) return out;
  const latest = new Map<number, number>();
  for (let slot = 0; slot < view.used; slot++) {
    if (!view.live(slot)) continue;
    const k = ops.keyOf(slot);
    if (k < 0) continue;
    const e = calls.exemplar(view, slot);
    if (!e || e.traceId === '' || (latest.get(k) ?? -Infinity) >= e.timestampMs) continue;
    latest.set(k, e.timestampMs);
    out.set(k, e.traceId);
  }
  return out;
}

export const NO_WORST: WorstTraces = { slowest_trace_id: null, slowest_seconds: null, failed_trace_id: null };

type Read = ((view: SeriesTableView, slot: number) => Exemplar | undefined) | undefined;

/**
 * Per key of `tracker` (operations or edges), the worst traces of its series: the slowest of the
 * `slowest` readers (the first that has one per series) by value, the latest `failed` by time.
 */
export function worstTraces(tracker: Tracker<KeyInfo>, view: SeriesTableView | undefined, slowest: Read[], failed: Read): Map<number, WorstTraces> {
  const out = new Map<number, WorstTraces>();
  const failedAt = new Map<number, number>();
  if (!view) return out;
  for (let slot = 0; slot < view.used; slot++) {
    if (!view.live(slot)) continue;
    const k = tracker.keyOf(slot);
    if (k < 0) continue;
    let row = out.get(k);
    let s: Exemplar | undefined;
    for (const read of slowest) if (!s) s = read?.(view, slot);
    if (s && (row?.slowest_seconds ?? -Infinity) < s.value) out.set(k, (row = { ...(row ?? NO_WORST), slowest_trace_id: s.traceId, slowest_seconds: r6(s.value) }));
    const f = failed?.(view, slot);
    if (f && (failedAt.get(k) ?? -Infinity) < f.timestampMs) {
      failedAt.set(k, f.timestampMs);
      out.set(k, { ...(row ?? NO_WORST), failed_trace_id: f.traceId });
    }
  }
  return out;
}

/** Self time from an operation's totals (totals.ts operationTotals: from `at`, observed, unknown, buckets). */
export function selfTimeRates(d: Float64Array, at: number, bounds: readonly number[]): SelfTimeRates {
  const observed = d[at]!;
  const unknown = d[at + 1]!;
  const q = (p: number) => {
    const v = histogramQuantile(p, bounds, d, at + 2);
    return v === null ? null : r6(v);
  };
  return { p50: q(0.5), p95: q(0.95), unknown_ratio: observed + unknown > 0 ? r6(unknown / (observed + unknown)) : null };
}

/** The self-time store (processor.span_metrics.self_time) for /api/health, beside the service-graph one; null when off. */
export function selfTimeHealth(core: Core): HealthResponse['self_time'] {
  const on = core.options.selfTime;
  if (!on) return null;
  const { size, dropped, orphans } = core.selfTimeStore();
  return { store_size: size, max_items: on.maxItems, dropped_total: dropped, orphans_total: orphans };
}
