// Shared by the tests of the page's JSON API (api.test.ts, api-lifecycle.test.ts): a Core and a
// UiApi on a clock the test drives, fed hand-built spans at controlled times.
//
// Buckets: span metrics le 0.01, 0.1, 1 (+Inf); service graphs le 0.1, 1 (+Inf).
import { expect } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import type { ServiceGraphsConfig, SloConfig, SpanMetricsConfig } from '../../src/config/types.js';
import { buildCatalog, type Catalog } from '../../src/exporters/catalog.js';
import { Telemetry } from '../../src/telemetry.js';
import { UiApi, telemetryCounters } from '../../src/ui/api.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';

/** A wall-clock time in ms; the core takes it at ingest, the API from its clock. */
export const T = 1_700_000_000_000;

export function smConfig(over: Partial<SpanMetricsConfig> = {}): SpanMetricsConfig {
  return { ...defaultConfig().processor.span_metrics, histogram_buckets: [0.01, 0.1, 1], ...over };
}
export function sgConfig(over: Partial<ServiceGraphsConfig> = {}): ServiceGraphsConfig {
  return { ...defaultConfig().processor.service_graphs, histogram_buckets: [0.1, 1], ...over };
}

export interface Setup {
  core: Core;
  api: UiApi;
  clock: { now: number };
  telemetry: Telemetry;
  catalog: Catalog;
}

export interface SetupOptions {
  maxActiveSeries?: number;
  serviceGraphs?: boolean;
  slos?: SloConfig[];
  naming?: 'tempo' | 'otel';
  spanMetrics?: Partial<SpanMetricsConfig>;
}

export async function setup(opts: SetupOptions = {}): Promise<Setup> {
  const sm = smConfig(opts.spanMetrics);
  const sg = sgConfig();
  const registry = { ...defaultConfig().registry, max_active_series: opts.maxActiveSeries ?? 0 };
  const withGraphs = opts.serviceGraphs ?? true;
  const core = await Core.create({ spanMetrics: sm, serviceGraphs: withGraphs ? sg : undefined, registry, slos: opts.slos, build: 'debug' });
  const catalog = buildCatalog(core, { spanMetrics: sm, naming: opts.naming, serviceGraphs: withGraphs ? sg : undefined, slos: opts.slos });
  const clock = { now: T };
  const telemetry = new Telemetry({ defaultMetrics: false });
  const api = new UiApi({
    core,
    catalog,
    maxActiveSeries: registry.max_active_series,
    maxItems: withGraphs ? sg.max_items : undefined,
    selfCounters: telemetryCounters(telemetry.registry),
    now: () => clock.now,
    minScanMs: 0,
  });
  return { core, api, clock, telemetry, catalog };
}

export function ingest(core: Core, spans: SpanSpec[], nowMs: number): void {
  expect(core.ingest(request(spans), nowMs)).toEqual({ ok: true, spans: spans.length });
}

