// The services' short history for the page's sparklines: per interval between the snapshots
// inside the window (and from the last one to now), each service's request rate, error ratio
// and p95, from the same per-operation totals as the RED tables (src/ui/totals.ts).
import type { ServiceHistory } from './json.js';
import { histogramQuantile } from './quantile.js';
import type { Tracker } from './tracker.js';
import type { OpInfo } from './totals.js';

/** A point in time and the operation totals then. */
export interface TotalsAt {
  t: number;
  ops: Float64Array;
}

/**
 * Per service, one value per interval between consecutive `points` (oldest first). `entry` says
 * which operations a service's figures count: those of `isEntry` kinds (its server and consumer
 * spans), else all of them, as its RED row does.
 */
export function serviceHistory(
  ops: Tracker<OpInfo>, points: readonly TotalsAt[], bounds: readonly number[], entry: ReadonlyMap<string, boolean>,
  isEntry: (kind: string) => boolean, round: (x: number) => number,
): Map<string, ServiceHistory> {
  const out = new Map<string, ServiceHistory>();
  for (const service of entry.keys()) out.set(service, { rate: [], error_ratio: [], p95: [] });
  const w = ops.width;
  const acc = new Map<string, Float64Array>();
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const seconds = (b.t - a.t) / 1000;
    for (const v of acc.values()) v.fill(0);
    for (let k = 0; k < ops.size; k++) {
      const info = ops.infos[k]!;
      const useEntry = entry.get(info.service);
      if (info.overflow || useEntry === undefined || (useEntry && !isEntry(info.spanKind))) continue;
      let v = acc.get(info.service);
      if (!v) acc.set(info.service, (v = new Float64Array(w)));
      const at = k * w;
      for (let j = 0; j < w; j++) {
        const then = at + j < a.ops.length ? a.ops[at + j]! : 0;
        const now = at + j < b.ops.length ? b.ops[at + j]! : 0;
        v[j]! += now - then;
      }
    }
    for (const [service, h] of out) {
      const v = acc.get(service);
      const count = v ? v[0]! : 0;
      h.rate.push(seconds > 0 ? round(count / seconds) : 0);
      h.error_ratio.push(count > 0 ? round(v![1]! / count) : null);
      const p = v ? histogramQuantile(0.95, bounds, v, 2) : null;
      h.p95.push(p === null ? null : round(p));
    }
  }
  return out;
}
