// Every metric family a configuration emits, in exposition order: one list shared by /metrics,
// remote write, OTLP push and the embedding API; and the same families typed by processor, for
// the web page, which reads them by role and never by metric or label name (src/ui/api.ts).
import type { Core } from '../core/index.js';
import type { Config, ServiceGraphsConfig, SloConfig, SpanMetricsConfig } from '../config/types.js';
import { serviceGraphsOn } from '../config/types.js';
import type { Family, ServiceGraphsCatalog, SlosCatalog, SpanMetricsCatalog } from './families.js';
import { spanMetricsCatalog } from './spanmetrics.js';
import { serviceGraphsCatalog, type ServiceGraphsMetrics } from './servicegraphs.js';
import { sloCatalog } from './slos.js';

export type { ServiceGraphsCatalog, SlosCatalog, SpanMetricsCatalog } from './families.js';

export interface Catalog {
  /** Every family, in exposition order. */
  families: Family[];
  /** Each processor's families, typed; absent when it is off (no SLO configured: no slos). */
  spanMetrics?: SpanMetricsCatalog;
  serviceGraphs?: ServiceGraphsCatalog;
  slos?: SlosCatalog;
}

export interface CatalogOptions {
  /** Span metrics settings; absent when the processor is off. */
  spanMetrics?: SpanMetricsConfig;
  /** The span-metrics naming scheme; default tempo. */
  naming?: 'tempo' | 'otel';
  /** Service graph settings; absent when the processor is off. */
  serviceGraphs?: ServiceGraphsConfig;
  /** Which service-graph families go out (default: requests and latency, no connection info). */
  serviceGraphsMetrics?: ServiceGraphsMetrics;
  slos?: readonly SloConfig[];
}

export function buildCatalog(core: Core, options: CatalogOptions): Catalog {
  const spanMetrics = options.spanMetrics && spanMetricsCatalog(core, options.spanMetrics, options.naming);
  const serviceGraphs = options.serviceGraphs && serviceGraphsCatalog(core, options.serviceGraphs, options.serviceGraphsMetrics);
  const slos = sloCatalog(core, options.slos ?? []);
  return {
    families: [...(spanMetrics?.families ?? []), ...(serviceGraphs?.families ?? []), ...(slos?.families ?? [])],
    spanMetrics,
    serviceGraphs,
    slos,
  };
}

export function configuredCatalog(core: Core, config: Config): Catalog {
  return buildCatalog(core, {
    spanMetrics: config.processors.includes('span-metrics') ? config.processor.span_metrics : undefined,
    naming: config.naming,
    serviceGraphs: serviceGraphsOn(config.processors) ? config.processor.service_graphs : undefined,
    serviceGraphsMetrics: {
      requests: config.processors.includes('service-graphs'),
      connectionInfo: config.processors.includes('service-graphs-connection-info'),
    },
    slos: config.slos,
  });
}

export function configuredFamilies(core: Core, config: Config): Family[] {
  return configuredCatalog(core, config).families;
}
