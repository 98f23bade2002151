// The service-graph families (Tempo's names): requests, failures, latency histograms per edge,
// and the unpaired and dropped span counters, read from the core's service-graph tables.
import type { Core, SeriesTableView } from '../core/index.js';
import {
  CONNECTION_DATABASE, CONNECTION_MESSAGING_SYSTEM, CONNECTION_PARENT_CHILD, CONNECTION_NONE, CONNECTION_VIRTUAL_NODE, EXEMPLAR_HISTOGRAM_STRIDE,
  PAIR_KEY_CLIENT, PAIR_KEY_REASON, PAIR_KEY_SERVER, PAIR_V_COUNT, REASON_CLIENT_ONLY, REASON_NONE, REASON_PARENT_UNKNOWN,
  REASON_SAMPLED_OUT, REASON_SERVER_ONLY, SG_KEY_CLIENT, SG_KEY_CONNECTION, SG_KEY_DIMENSIONS, SG_KEY_SERVER,
  SG_KEY_VIRTUAL_NODE, SG_V_BUCKETS, SG_V_CLIENT_SUM, SG_V_FAILED, SG_V_MESSAGING_COUNT, SG_V_MESSAGING_SUM,
  SG_V_REQUESTS, SG_V_SERVER_SUM, VIRTUAL_CLIENT, VIRTUAL_NONE, VIRTUAL_SERVER,
} from '../core/layout.js';
import type { ServiceGraphsConfig } from '../config/types.js';
import { SERVICE_GRAPHS_OWN_LABELS } from '../config/labelnames.js';
import { dimensionLabelNames } from './labels.js';
import { TableLabels, failedFirst, latestExemplar, nativeFamily, type CounterFamily, type Family, type GaugeFamily, type HistogramFamily, type Labels, type ServiceGraphsCatalog } from './families.js';
import { renderFamilies, type TextFormat } from './exposition.js';

/** connection_type label values by the core's number. */
const CONNECTION_TYPES: Record<number, string> = {
  [CONNECTION_NONE]: '', [CONNECTION_VIRTUAL_NODE]: 'virtual_node', [CONNECTION_MESSAGING_SYSTEM]: 'messaging_system',
  [CONNECTION_DATABASE]: 'database', [CONNECTION_PARENT_CHILD]: 'parent_child',
};
/** reason label values of the unpaired spans by the core's number (the dropped spans have none). */
export const UNPAIRED_REASONS: Record<number, string> = {
  [REASON_NONE]: '', [REASON_CLIENT_ONLY]: 'client_only', [REASON_SERVER_ONLY]: 'server_only',
  [REASON_PARENT_UNKNOWN]: 'parent_unknown', [REASON_SAMPLED_OUT]: 'sampled_out',
};
/** virtual_node label values by the core's number. */
const VIRTUAL_NODES: Record<number, string> = { [VIRTUAL_NONE]: '', [VIRTUAL_CLIENT]: 'client', [VIRTUAL_SERVER]: 'server' };

/**
 * Which families go out, by Tempo's processor names: `service-graphs` gives the requests and
 * latency families, the `service-graphs-connection-info` subprocessor the presence gauge.
 */
export interface ServiceGraphsMetrics {
  requests: boolean;
  connectionInfo: boolean;
}

export function serviceGraphsFamilies(core: Core, config: ServiceGraphsConfig, metrics?: ServiceGraphsMetrics): Family[] {
  return serviceGraphsCatalog(core, config, metrics).families;
}

/** The same families, typed, with the edge labels read by role (see ServiceGraphsCatalog). */
export function serviceGraphsCatalog(
  core: Core, config: ServiceGraphsConfig, metrics: ServiceGraphsMetrics = { requests: true, connectionInfo: false },
): ServiceGraphsCatalog {
  const names = config.enable_client_server_prefix
    ? [...config.dimensions.map((d) => `client_${d}`), ...config.dimensions.map((d) => `server_${d}`)]
    : config.dimensions;
  const dimensionNames = dimensionLabelNames(names, SERVICE_GRAPHS_OWN_LABELS, 'processor.service_graphs.dimensions');
  const B = config.histogram_buckets.length;
  const edge = {
    client: (view, slot) => core.label(view.key(slot, SG_KEY_CLIENT)),
    server: (view, slot) => core.label(view.key(slot, SG_KEY_SERVER)),
    connectionType: (view, slot) => CONNECTION_TYPES[view.key(slot, SG_KEY_CONNECTION)] ?? '',
    virtualNode: (view, slot) => VIRTUAL_NODES[view.key(slot, SG_KEY_VIRTUAL_NODE)] ?? '',
  } satisfies ServiceGraphsCatalog['labels'];
  const edgeLabels = new TableLabels((view: SeriesTableView, slot: number): Labels => [
    ['client', edge.client(view, slot)],
    ['server', edge.server(view, slot)],
    ['connection_type', edge.connectionType(view, slot)],
    ['virtual_node', edge.virtualNode(view, slot)],
    ...dimensionNames.map((name, d): [string, string] => [name, core.label(view.key(slot, SG_KEY_DIMENSIONS + d))]),
  ]);
  const pair = {
    client: (view, slot) => core.label(view.key(slot, PAIR_KEY_CLIENT)),
    server: (view, slot) => core.label(view.key(slot, PAIR_KEY_SERVER)),
    reason: (view, slot) => UNPAIRED_REASONS[view.key(slot, PAIR_KEY_REASON)] ?? '',
  } satisfies ServiceGraphsCatalog['pair'];
  const pairLabels = () => new TableLabels((view: SeriesTableView, slot: number): Labels => [
    ['client', pair.client(view, slot)],
    ['server', pair.server(view, slot)],
    ['reason', pair.reason(view, slot)],
  ]);
  const edges = () => core.table('edges');
  const histogram = (name: string, help: string, index: number, sum: number, count: number, skipZero = false): HistogramFamily => ({
    type: 'histogram', name, help, table: edges, labels: edgeLabels, bounds: config.histogram_buckets,
    buckets: SG_V_BUCKETS + index * B, sum, count, skipZero,
    exemplar: (view, slot, bucket) => core.exemplar('edges', view, slot, index * EXEMPLAR_HISTOGRAM_STRIDE + bucket),
    // The edge's slowest is by server span duration (server histogram), by client span duration
    // without a server span (client histogram: its bucket is EXEMPLAR_HISTOGRAM_STRIDE on).
    slowest: (view, slot) => {
      const x = core.worst('edges', view, slot, 'slowest');
      return x && Math.floor(x.bucket / EXEMPLAR_HISTOGRAM_STRIDE) === index ? { ...x, bucket: x.bucket % EXEMPLAR_HISTOGRAM_STRIDE } : undefined;
    },
    native: nativeFamily(core, 'edges', index),
  });
  const server = histogram('traces_service_graph_request_server_seconds', 'Server span duration of the requests between two services, in seconds.', 0, SG_V_SERVER_SUM, SG_V_REQUESTS);
  const request: CounterFamily = {
    type: 'counter', name: 'traces_service_graph_request', table: edges, labels: edgeLabels, value: SG_V_REQUESTS,
    help: 'Requests between two services, from paired client and server spans.',
    exemplar: (view, slot) => latestExemplar(server, view, slot),
  };
  const failed: CounterFamily = {
    // As in Tempo, the series exists once a failed request was seen.
    type: 'counter', name: 'traces_service_graph_request_failed', table: edges, labels: edgeLabels, value: SG_V_FAILED, skipZero: true,
    help: 'Requests between two services where either span had status ERROR.',
    failed: (view, slot) => core.worst('edges', view, slot, 'failed'),
    exemplar: failedFirst((view, slot) => core.worst('edges', view, slot, 'failed')),
  };
  const client = histogram('traces_service_graph_request_client_seconds', 'Client span duration of the requests between two services, in seconds.', 1, SG_V_CLIENT_SUM, SG_V_REQUESTS);
  const messaging = config.enable_messaging_system_latency_histogram
    ? histogram(
      'traces_service_graph_request_messaging_system_seconds',
      'Time between the producer span ending and the consumer span starting, in seconds.',
      2, SG_V_MESSAGING_SUM, SG_V_MESSAGING_COUNT, true,
    )
    : undefined;
  const unpaired: CounterFamily = {
    type: 'counter', name: 'traces_service_graph_unpaired_spans', table: () => core.table('unpaired'), labels: pairLabels(), value: PAIR_V_COUNT,
    help: 'Client or server spans whose other side never arrived within the wait and that made no virtual-node edge, by reason.',
  };
  const dropped: CounterFamily = {
    type: 'counter', name: 'traces_service_graph_dropped_spans', table: () => core.table('dropped'), labels: pairLabels(), value: PAIR_V_COUNT,
    help: 'Client or server spans dropped because the edge store was full (max_items).',
  };
  // Tempo's: 1 per edge series while it is kept (a series goes when stale_duration passes without a request), never weighted.
  const connectionInfo: GaugeFamily = {
    type: 'gauge', name: 'traces_service_graph_connection_info', table: edges, labels: edgeLabels, value: SG_V_REQUESTS, constant: 1,
    help: 'Edges between two services seen recently: 1 per edge (Tempo\'s service-graphs-connection-info).',
  };
  const families: Family[] = [
    ...(metrics.requests ? [request, failed, server, client, ...(messaging ? [messaging] : [])] : []),
    ...(metrics.connectionInfo ? [connectionInfo] : []),
    unpaired, dropped,
  ];
  return { families, request, failed, server, client, messaging, unpaired, dropped, labels: edge, pair };
}

/** The service-graph families of a core, rendered in a text format. */
export class ServiceGraphsExposition {
  readonly families: Family[];

  constructor(core: Core, config: ServiceGraphsConfig, metrics?: ServiceGraphsMetrics) {
    this.families = serviceGraphsFamilies(core, config, metrics);
  }

  render(format: TextFormat = 'text'): string {
    return renderFamilies(this.families, format).toString('utf8');
  }
}
