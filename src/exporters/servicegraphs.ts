// Service graphs in the Prometheus text format 0.0.4, read from the core's edge, unpaired and
// dropped tables (Tempo's metric names and labels).
import type { Core, SeriesTableView } from '../core/index.js';
import { SERVICE_GRAPHS } from '../core/index.js';
import type { ServiceGraphsConfig } from '../config/types.js';
import { dimensionLabelNames, escapeLabelValue, formatSampleValue } from './labels.js';
import { header, braced, histogramLines, LabelCache } from './text.js';

const CONNECTION_TYPES = ['', 'virtual_node', 'messaging_system', 'database'];
const VIRTUAL_NODES = ['', 'client', 'server'];
// Labels a dimension may not take as they are (le: the histograms' buckets carry it).
const EDGE_LABELS = ['client', 'server', 'connection_type', 'virtual_node', 'le'] as const;

const REQUESTS = 'traces_service_graph_request_total';
const FAILED = 'traces_service_graph_request_failed_total';
const SERVER_SECONDS = 'traces_service_graph_request_server_seconds';
const CLIENT_SECONDS = 'traces_service_graph_request_client_seconds';
const MESSAGING_SECONDS = 'traces_service_graph_request_messaging_system_seconds';
const UNPAIRED = 'traces_service_graph_unpaired_spans_total';
const DROPPED = 'traces_service_graph_dropped_spans_total';

export class ServiceGraphsExposition {
  private readonly dimensionNames: string[];
  private readonly le: string[];
  private readonly edgeLabels = new LabelCache();
  private readonly unpairedLabels = new LabelCache();
  private readonly droppedLabels = new LabelCache();

  constructor(private readonly core: Core, private readonly config: ServiceGraphsConfig) {
    const names = config.enable_client_server_prefix
      ? [...config.dimensions.map((d) => `client_${d}`), ...config.dimensions.map((d) => `server_${d}`)]
      : config.dimensions;
    this.dimensionNames = dimensionLabelNames(names, EDGE_LABELS, 'processor.service_graphs.dimensions');
    this.le = config.histogram_buckets.map(formatSampleValue);
  }

  private edgeLabelSet(view: SeriesTableView, slot: number): string {
    const parts: string[] = [];
    const add = (name: string, value: string) => {
      if (value !== '') parts.push(`${name}="${escapeLabelValue(value)}"`);
    };
    add('client', this.core.label(view.key(slot, SERVICE_GRAPHS.KEY_CLIENT)));
    add('server', this.core.label(view.key(slot, SERVICE_GRAPHS.KEY_SERVER)));
    add('connection_type', CONNECTION_TYPES[view.key(slot, SERVICE_GRAPHS.KEY_CONNECTION)] ?? '');
    add('virtual_node', VIRTUAL_NODES[view.key(slot, SERVICE_GRAPHS.KEY_VIRTUAL_NODE)] ?? '');
    this.dimensionNames.forEach((name, d) => add(name, this.core.label(view.key(slot, SERVICE_GRAPHS.KEY_DIMENSIONS + d))));
    return parts.join(',');
  }

  private pairLabelSet(view: SeriesTableView, slot: number): string {
    const parts: string[] = [];
    const client = this.core.label(view.key(slot, SERVICE_GRAPHS.PAIR_CLIENT));
    const server = this.core.label(view.key(slot, SERVICE_GRAPHS.PAIR_SERVER));
    if (client !== '') parts.push(`client="${escapeLabelValue(client)}"`);
    if (server !== '') parts.push(`server="${escapeLabelValue(server)}"`);
    return parts.join(',');
  }

  private counter(name: string, help: string, view: SeriesTableView | undefined, cache: LabelCache): string {
    let out = header(name, 'counter', help);
    if (!view) return out;
    const build = (slot: number) => this.pairLabelSet(view, slot);
    for (let slot = 0; slot < view.used; slot++) {
      if (!view.live(slot)) continue;
      out += `${name}${braced(cache.get(view, slot, build))} ${formatSampleValue(view.value(slot, 0))}\n`;
    }
    return out;
  }

  render(): string {
    const view = this.core.table('edges');
    if (!view) return '';
    const B = this.le.length;
    const messaging = this.config.enable_messaging_system_latency_histogram;
    const build = (slot: number) => this.edgeLabelSet(view, slot);
    let requests = header(REQUESTS, 'counter', 'Requests between two services, from paired client and server spans.');
    let failed = header(FAILED, 'counter', 'Requests between two services where either span had status ERROR.');
    let server = header(SERVER_SECONDS, 'histogram', 'Server span duration of the requests between two services, in seconds.');
    let client = header(CLIENT_SECONDS, 'histogram', 'Client span duration of the requests between two services, in seconds.');
    let queue = messaging
      ? header(MESSAGING_SECONDS, 'histogram', 'Time between the producer span ending and the consumer span starting, in seconds.')
      : '';
    for (let slot = 0; slot < view.used; slot++) {
      if (!view.live(slot)) continue;
      const labels = this.edgeLabels.get(view, slot, build);
      const count = view.value(slot, SERVICE_GRAPHS.V_REQUESTS);
      requests += `${REQUESTS}${braced(labels)} ${formatSampleValue(count)}\n`;
      const f = view.value(slot, SERVICE_GRAPHS.V_FAILED);
      // As in Tempo, the failed series exists once a failed request was seen.
      if (f > 0) failed += `${FAILED}${braced(labels)} ${formatSampleValue(f)}\n`;
      server += histogramLines(SERVER_SECONDS, labels, this.le, view, slot, SERVICE_GRAPHS.V_BUCKETS, SERVICE_GRAPHS.V_SERVER_SUM, count);
      client += histogramLines(CLIENT_SECONDS, labels, this.le, view, slot, SERVICE_GRAPHS.V_BUCKETS + B, SERVICE_GRAPHS.V_CLIENT_SUM, count);
      const queued = view.value(slot, SERVICE_GRAPHS.V_MESSAGING_COUNT);
      if (messaging && queued > 0) {
        queue += histogramLines(MESSAGING_SECONDS, labels, this.le, view, slot, SERVICE_GRAPHS.V_BUCKETS + 2 * B, SERVICE_GRAPHS.V_MESSAGING_SUM, queued);
      }
    }
    return requests + failed + server + client + queue
      + this.counter(UNPAIRED, 'Client or server spans whose other side never arrived within the wait and that made no virtual-node edge.', this.core.table('unpaired'), this.unpairedLabels)
      + this.counter(DROPPED, 'Client or server spans dropped because the edge store was full (max_items).', this.core.table('dropped'), this.droppedLabels);
  }
}
