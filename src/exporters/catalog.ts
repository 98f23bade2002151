// Every metric family a configuration emits, in exposition order: one list shared by /metrics,
// remote write, OTLP push and the embedding API.
import type { Core } from '../core/index.js';
import type { Config } from '../config/types.js';
import type { Family } from './families.js';
import { spanMetricsFamilies } from './spanmetrics.js';
import { serviceGraphsFamilies } from './servicegraphs.js';
import { sloFamilies } from './slos.js';

export function configuredFamilies(core: Core, config: Config): Family[] {
  return [
    ...(config.processors.includes('span-metrics') ? spanMetricsFamilies(core, config.processor.span_metrics, config.naming) : []),
    ...(config.processors.includes('service-graphs') ? serviceGraphsFamilies(core, config.processor.service_graphs) : []),
    ...sloFamilies(core, config.slos),
  ];
}
