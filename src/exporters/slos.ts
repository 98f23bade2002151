// The SLO families: spanmeter_slo_good_total and spanmeter_slo_total, one series each per
// configured SLO (label slo), read from the core's SLO table.
import type { Core } from '../core/index.js';
import { SLOS } from '../core/index.js';
import type { SloConfig } from '../config/types.js';
import { TableLabels, type Family } from './families.js';

export const SLO_GOOD = 'spanmeter_slo_good';
export const SLO_TOTAL = 'spanmeter_slo';

export function sloFamilies(core: Core, slos: readonly SloConfig[]): Family[] {
  if (slos.length === 0) return [];
  const table = () => core.table('slos');
  const labels = new TableLabels((view, slot) => [['slo', slos[view.key(slot, SLOS.KEY_INDEX)]!.name]]);
  return [
    {
      type: 'counter', name: SLO_GOOD, table, labels, value: SLOS.V_GOOD,
      help: 'Spans an SLO selected that met it (not failed; or within the latency threshold).',
    },
    {
      type: 'counter', name: SLO_TOTAL, table, labels, value: SLOS.V_TOTAL,
      help: 'Spans an SLO selected.',
    },
  ];
}
