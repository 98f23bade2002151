// The sidecar's health as the page shows it (/api/health): spans received and accepted, requests
// and spans refused by reason, series against their limit, the service-graph and self-time stores,
// and the warnings that go with them. Rates are over the window UiApi picks (src/ui/api.ts), from
// the sidecar's own counters (`spanmeter_*`), read here from its prom-client registry.
import type { Core } from '../core/index.js';
import type { ServiceGraphsCatalog } from '../exporters/catalog.js';
import type { CounterFamily } from '../exporters/families.js';
import type { HealthResponse, RejectedRow } from './json.js';
import { missingEdges } from './missing.js';
import { r6, selfTimeHealth } from './rows.js';
import { unusedDimensionWarning } from './semconv.js';
import type { Registry } from 'prom-client';

/** The sidecar's own counters (`spanmeter_*`) by name; see `telemetryCounters`. */
export type SelfCounters = ReadonlyMap<string, number>;

export const EMPTY_SELF: SelfCounters = new Map();

export interface HealthInputs {
  core: Core;
  /** The window's end (ms since the epoch) and length (0: empty, no rates). */
  now: number;
  seconds: number;
  /** The sidecar's own counters now and at the window's start. */
  self: SelfCounters;
  then: SelfCounters;
  /** registry.max_active_series (0 or undefined = unlimited). */
  maxActiveSeries: number | undefined;
  /** The service-graph families, when service graphs are on, and processor.service_graphs.max_items. */
  serviceGraphs: ServiceGraphsCatalog | undefined;
  maxItems: number | undefined;
  /** The configured dimensions no span carried (UiApi.unusedDimensions). */
  unusedDimensions: () => string[];
}

/** The /api/health response. */
export function healthResponse(h: HealthInputs): HealthResponse {
  const { core, self, then } = h;
  const perSecond = (name: string): number | null =>
    h.seconds > 0 ? r6(Math.max(0, (self.get(name) ?? 0) - (then.get(name) ?? 0)) / h.seconds) : null;
  const reasons = new Set<string>();
  for (const name of self.keys()) {
    const m = /^(?:spans|requests)_rejected:(.+)$/.exec(name);
    if (m) reasons.add(m[1]!);
  }
  const rejected: RejectedRow[] = [...reasons].sort().map((reason) => ({
    reason,
    spans_per_second: perSecond(`spans_rejected:${reason}`),
    spans_total: self.get(`spans_rejected:${reason}`) ?? 0,
    requests_per_second: perSecond(`requests_rejected:${reason}`),
    requests_total: self.get(`requests_rejected:${reason}`) ?? 0,
  }));
  const limit = h.maxActiveSeries ?? 0;
  const active = core.activeSeries();
  const limited = core.seriesLimited();
  const sum = (f: CounterFamily | undefined): number => {
    const view = f?.table();
    if (!f || !view) return 0;
    let n = 0;
    for (let slot = 0; slot < view.used; slot++) if (view.live(slot)) n += view.value(slot, f.value);
    return n;
  };
  const sg = h.serviceGraphs
    ? {
      store_size: core.edgeStoreSize(),
      max_items: h.maxItems ?? null,
      unpaired_total: sum(h.serviceGraphs.unpaired),
      dropped_total: sum(h.serviceGraphs.dropped),
      missing_edges: missingEdges(h.serviceGraphs),
    }
    : null;
  const st = selfTimeHealth(core);
  const late = core.lateSpans();

  const warnings: string[] = [];
  if (limited > 0) {
    warnings.push(`Series limit reached (${limit}): ${limited} new label sets were counted in the metric_overflow="true" series.`);
  } else if (limit > 0 && active >= 0.9 * limit) {
    warnings.push(`Active series at ${Math.round((100 * active) / limit)}% of the limit (${active} of ${limit}).`);
  }
  if (sg && sg.dropped_total > 0) {
    warnings.push(`Service-graph store full: ${sg.dropped_total} spans were dropped (max_items ${sg.max_items ?? '?'}).`);
  }
  if (st && st.dropped_total > 0) {
    warnings.push(`Self-time store full: ${st.dropped_total} spans were counted apart as unknown (self_time_max_items ${st.max_items}).`);
  }
  for (const r of rejected) {
    if ((r.spans_per_second ?? 0) > 0 || (r.requests_per_second ?? 0) > 0) {
      warnings.push(`Rejecting ${r.reason.replace(/_/g, ' ')} requests now (${r.requests_total} requests, ${r.spans_total} spans so far).`);
    }
  }
  if (late > 0) warnings.push(`${late} spans ended before the ingestion slack and were left out.`);
  const accepted = self.get('spans_accepted') ?? 0;
  for (const attribute of h.unusedDimensions()) warnings.push(unusedDimensionWarning(attribute, accepted));
  return {
    time: h.now,
    window_seconds: r6(h.seconds),
    spans: {
      received_per_second: perSecond('spans_received'),
      accepted_per_second: perSecond('spans_accepted'),
      received_total: self.get('spans_received') ?? 0,
      accepted_total: self.get('spans_accepted') ?? 0,
      dropped_late_total: late,
    },
    rejected,
    series: { active, limit, limited_total: limited, removed_total: core.seriesRemoved() },
    service_graphs: sg,
    self_time: st,
    wasm_memory_bytes: core.memoryBytes(),
    warnings,
  };
}

/** Reads the sidecar's own counters from its prom-client registry, for UiOptions.selfCounters. */
export function telemetryCounters(registry: Pick<Registry, 'getSingleMetric'>): () => Promise<SelfCounters> {
  const read = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return async () => {
    const out = new Map<string, number>();
    const add = (key: string, v: number) => out.set(key, (out.get(key) ?? 0) + v);
    for (const v of await read('spanmeter_spans_received_total')) add('spans_received', v.value);
    for (const v of await read('spanmeter_spans_accepted_total')) add('spans_accepted', v.value);
    for (const v of await read('spanmeter_spans_rejected_total')) add(`spans_rejected:${String(v.labels.reason)}`, v.value);
    for (const v of await read('spanmeter_requests_rejected_total')) add(`requests_rejected:${String(v.labels.reason)}`, v.value);
    return out;
  };
}
