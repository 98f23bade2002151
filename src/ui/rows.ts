// Rows of the page's API beside the RED rates (src/ui/api.ts): the exceptions by operation and
// type from the span-events totals, and each operation's latest exemplar; with the rounding and
// ordering every response uses.
import type { SpanMetricsCatalog } from '../exporters/catalog.js';
import type { ExceptionRow, RedResponse } from './json.js';
import type { Tracker } from './tracker.js';
import { EXCEPTION_TYPE, type EventInfo, type OpInfo } from './totals.js';

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
