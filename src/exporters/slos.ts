// The SLO families: spanmeter_slo_good_total and spanmeter_slo_total, one series each per
// configured SLO (label slo), read from the core's SLO table.
import type { Core, SeriesTableView } from '../core/index.js';
import { SLO_KEY_INDEX, SLO_V_GOOD, SLO_V_TOTAL } from '../core/layout.js';
import type { SloConfig } from '../config/types.js';
import { TableLabels, type CounterFamily, type Family, type SlosCatalog } from './families.js';

export const SLO_GOOD = 'spanmeter_slo_good';
export const SLO_TOTAL = 'spanmeter_slo';

export function sloFamilies(core: Core, slos: readonly SloConfig[]): Family[] {
  return sloCatalog(core, slos)?.families ?? [];
}

/** The same families, typed, with the SLO a series counts (see SlosCatalog); undefined without SLOs. */
export function sloCatalog(core: Core, slos: readonly SloConfig[]): SlosCatalog | undefined {
  if (slos.length === 0) return undefined;
  const table = () => core.table('slos');
  const index = (view: SeriesTableView, slot: number): number => view.key(slot, SLO_KEY_INDEX);
  const labels = new TableLabels((view, slot) => [['slo', slos[index(view, slot)]!.name]]);
  const good: CounterFamily = {
    type: 'counter', name: SLO_GOOD, table, labels, value: SLO_V_GOOD,
    help: 'Spans an SLO selected that met it (not failed; or within the latency threshold).',
  };
  const total: CounterFamily = {
    type: 'counter', name: SLO_TOTAL, table, labels, value: SLO_V_TOTAL,
    help: 'Spans an SLO selected.',
  };
  return { families: [good, total], good, total, slos, index };
}
