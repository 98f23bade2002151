// The JSON behind the web page: the service graph, RED tables and the sidecar's health, as rates
// over a sliding window.
//
// The core keeps cumulative counters and histograms per series. While someone looks (an API
// request came in the last `idleMs`), each request first scans the tables (at most every
// `minScanMs`): every series' increase since the previous scan is added to running totals per
// key (an operation: service, span name, kind; an edge: client, server, connection type), which
// only grow, so series that go stale or are replaced do not look like counter resets
// (src/ui/tracker.ts; what each total holds: src/ui/totals.ts). Every
// `snapshotIntervalMs` a copy of those totals is kept, for `retentionMs`. A rate is the increase
// since the oldest snapshot inside the window divided by the time since it; a quantile is
// interpolated in the increase of the buckets (Prometheus' histogram_quantile). Nobody looking:
// no scan, no timer; after `idleMs` the state is dropped. SLOs are the exception: their good and
// total counts are the core's, since it started; only their burn rate is over the window.
//
// Everything is read through the exporters' typed families (UiOptions.catalog), by role: no
// metric or label name is matched here. The JSON's types are in src/ui/json.ts; the HTTP routes
// in src/ui/routes.ts; the health response and the sidecar's own counters in src/ui/health.ts.
import type { Core } from '../core/index.js';
import type { Catalog, ServiceGraphsCatalog, SlosCatalog, SpanMetricsCatalog } from '../exporters/catalog.js';
import type {
  BucketRange, Buckets, GraphEdge, GraphNode, GraphResponse, HealthResponse, NodeType, OperationRow, Rates, RedResponse,
  ServiceRow, SloRow, SlosResponse, WorstTraces,
} from './json.js';
import { serviceHistory, type TotalsAt } from './history.js';
import { cmp, exceptionRows, latestTraces, NO_WORST, r6, selfTimeRates, worstTraces } from './rows.js';
import { histogramQuantile, pageBounds } from './quantile.js';
import type { Tracker } from './tracker.js';
import {
  edgeTotals, eventTotals, operationTotals, sloCounts, sloTotals, type EdgeInfo, type EventInfo, type OpInfo, type SloInfo,
} from './totals.js';
import { EMPTY_SELF, healthResponse, type SelfCounters } from './health.js';

export { telemetryCounters, type SelfCounters } from './health.js';

export interface UiOptions {
  core: Core;
  /** The metric families the sidecar exposes, typed by processor (src/exporters/catalog.ts). */
  catalog: Catalog;
  /** registry.max_active_series (0 = unlimited). */
  maxActiveSeries?: number;
  /** processor.service_graphs.max_items, when service graphs are on. */
  maxItems?: number;
  /**
   * The sidecar's own counters: `spans_received`, `spans_accepted`, `spans_rejected:REASON`,
   * `requests_rejected:REASON` (see telemetryCounters).
   */
  selfCounters?: () => SelfCounters | Promise<SelfCounters>;
  /** The clock, ms since the epoch (tests drive it). */
  now?: () => number;
  /** How often the totals are kept for the window; default 5000 ms. */
  snapshotIntervalMs?: number;
  /** How long snapshots are kept: the longest window; default 300000 ms (5 minutes). */
  retentionMs?: number;
  /** The window when a request names none; default 60000 ms. */
  defaultWindowMs?: number;
  /** Requests closer together than this share one scan; default 250 ms. */
  minScanMs?: number;
  /** With no request for this long the state is dropped; default 600000 ms. */
  idleMs?: number;
  /** At most this many operations (service, span name, kind) are told apart; the rest count as overflow. Default 2000. */
  maxOperations?: number;
  /** At most this many edges; default 1000. */
  maxEdges?: number;
  /** ui.trace_url: a trace view's URL with {trace_id} in it; '' = no links to traces. */
  traceUrl?: string;
}

export interface WindowQuery {
  /** Window length in ms (clamped to 1 s … retention). */
  windowMs?: number;
}

const ENTRY_KINDS = new Set(['SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER']);

// ---------------------------------------------------------------------------------------------

interface Snapshot {
  t: number;
  ops?: Float64Array;
  edges?: Float64Array;
  slos?: Float64Array;
  events?: Float64Array;
  self: SelfCounters;
}

interface State {
  ops?: Tracker<OpInfo>;
  edges?: Tracker<EdgeInfo>;
  slos?: Tracker<SloInfo>;
  events?: Tracker<EventInfo>;
  snapshots: Snapshot[];
  lastScan: number;
  self: SelfCounters;
}

/** The window a response covers: the snapshot it compares with and the seconds since. */
interface Window {
  now: number;
  /** Undefined: the window is empty, and figures are since the core started. */
  snapshot: Snapshot | undefined;
  seconds: number;
  /** The snapshots from `snapshot` on, oldest first. */
  inside: Snapshot[];
}

function range(bounds: readonly number[] | undefined): BucketRange | null {
  return bounds && bounds.length > 0 ? { first: bounds[0]!, last: bounds[bounds.length - 1]! } : null;
}

// ---------------------------------------------------------------------------------------------

/**
 * Each service row's slowest trace: the slowest of its operations' (`worst`, by operation key)
 * among those its figures come from (entry kinds, or every kind with basis `all`). No new scan:
 * the operations' worst traces are read once per /api/red already.
 */
function serviceWorst(ops: Tracker<OpInfo>, services: Map<string, ServiceRow>, worst: Map<number, WorstTraces>): void {
  for (const row of services.values()) {
    row.slowest_trace_id = null;
    row.slowest_seconds = null;
  }
  for (let k = 0; k < ops.size; k++) {
    const info = ops.infos[k]!;
    const row = services.get(info.service);
    const wk = worst.get(k);
    if (info.overflow || !row || !wk || wk.slowest_seconds === null) continue;
    if (row.basis === 'entry' && !ENTRY_KINDS.has(info.spanKind)) continue;
    const current = row.slowest_seconds ?? null;
    if (current === null || current < wk.slowest_seconds) {
      row.slowest_trace_id = wk.slowest_trace_id;
      row.slowest_seconds = wk.slowest_seconds;
    }
  }
}

export class UiApi {
  private state: State | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly interval: number;
  private readonly retention: number;
  private readonly defaultWindow: number;
  private readonly minScan: number;
  private readonly idle: number;
  /** The typed families of each processor that is on (the catalog's). */
  private readonly sm?: SpanMetricsCatalog;
  private readonly sg?: ServiceGraphsCatalog;
  private readonly slo?: SlosCatalog;
  /** Indices of the span-metrics dimensions some series had a value for (see unusedDimensions). */
  private readonly carried = new Set<number>();

  constructor(private readonly options: UiOptions) {
    this.now = options.now ?? Date.now;
    this.interval = options.snapshotIntervalMs ?? 5000;
    this.retention = options.retentionMs ?? 300_000;
    this.defaultWindow = options.defaultWindowMs ?? 60_000;
    this.minScan = options.minScanMs ?? 250;
    this.idle = options.idleMs ?? 600_000;
    this.sm = options.catalog.spanMetrics;
    this.sg = options.catalog.serviceGraphs;
    this.slo = options.catalog.slos;
  }

  get spanMetrics(): boolean {
    return this.sm !== undefined;
  }

  get serviceGraphs(): boolean {
    return this.sg !== undefined;
  }

  /** Drops the totals and snapshots (done by itself after idleMs without a request). */
  release(): void {
    this.state = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  async graph(query: WindowQuery = {}): Promise<GraphResponse> {
    const w = await this.window(query);
    const ops = this.state!.ops;
    const edges = this.state!.edges;
    const bounds = this.sg ? pageBounds(this.sg.server) : [];
    const B = bounds.length;
    const smBounds = this.sm ? pageBounds(this.sm.latency) : [];
    // Span metrics tell more about a short edge when their first bucket is lower.
    const finer = B > 0 && smBounds.length > 0 && smBounds[0]! < bounds[0]!;

    // Services with span metrics, and their RED numbers.
    const services = ops ? this.serviceRows(ops, w) : new Map<string, ServiceRow>();
    const known = new Set(services.keys());
    interface EdgeAcc {
      info: EdgeInfo;
      d: Float64Array;
      k: number;
    }
    const edgeList: EdgeAcc[] = [];
    let overflow: Float64Array | undefined;
    if (edges) {
      for (let k = 0; k < edges.size; k++) {
        const d = new Float64Array(edges.width);
        edges.delta(k, w.snapshot?.edges, d);
        if (edges.liveSlots[k] === 0 && !(d[0]! > 0)) continue;
        const info = edges.infos[k]!;
        if (info.overflow) {
          overflow = d;
          continue;
        }
        edgeList.push({ info, d, k });
        // Both ends of a paired edge are instrumented, and the client of a database call.
        if (info.connectionType === '' || info.connectionType === 'messaging_system' || info.connectionType === 'parent_child') {
          known.add(info.client);
          known.add(info.server);
        } else if (info.connectionType === 'database') {
          known.add(info.client);
        }
      }
    }
    // What each end of an edge is. A virtual node named like a service or a database (Tempo
    // calls every unknown caller "user", a common service name) gets an id of its own.
    const databases = new Set<string>();
    for (const { info } of edgeList) if (info.connectionType === 'database' && !known.has(info.server)) databases.add(info.server);
    const end = (name: string, type: NodeType): { id: string; name: string; type: NodeType } =>
      type === 'virtual' && (known.has(name) || databases.has(name)) ? { id: `virtual:${name}`, name, type } : { id: name, name, type };
    const types = new Map<string, { name: string; type: NodeType }>();
    const incoming = new Map<string, Float64Array>();
    const outgoing = new Map<string, Float64Array>();
    const width = 2 + 2 * (B + 1);
    const add = (map: Map<string, Float64Array>, id: string, d: Float64Array) => {
      let acc = map.get(id);
      if (!acc) map.set(id, (acc = new Float64Array(width)));
      for (let i = 0; i < width; i++) acc[i]! += d[i]!;
    };
    const outEdges: GraphEdge[] = [];
    const worst = edges ? worstTraces(edges, this.sg!.request.table(), [this.sg!.server.slowest, this.sg!.client.slowest], this.sg!.failed.failed) : new Map<number, WorstTraces>();
    for (const { info, d, k } of edgeList) {
      let clientType: NodeType = 'service';
      let serverType: NodeType = databases.has(info.server) ? 'database' : 'service';
      if (info.connectionType === 'virtual_node') {
        const side = info.virtualNode !== ''
          ? info.virtualNode
          : known.has(info.server) ? 'client' : known.has(info.client) ? 'server' : 'client';
        if (side === 'client') clientType = 'virtual';
        else serverType = 'virtual';
      }
      const client = end(info.client, clientType);
      const server = end(info.server, serverType);
      for (const e of [client, server]) if (!types.has(e.id)) types.set(e.id, e);
      add(incoming, server.id, d);
      add(outgoing, client.id, d);
      // Latency: the server span's, except where there is none (a virtual server); when its
      // median is in the first bucket, the server service's own spans where their buckets are finer.
      let latency: GraphEdge['latency'] = serverType === 'virtual' ? 'client' : 'server';
      const rates = this.rates(w, d[0]!, d[1]!, bounds, d, latency === 'server' ? 2 : 3 + B);
      const own = services.get(info.server);
      if (latency === 'server' && finer && rates.p50 !== null && rates.p50 <= bounds[0]! && own && own.p50 !== null) {
        latency = 'server_spans';
        rates.p50 = own.p50;
        rates.p95 = own.p95;
        rates.p99 = own.p99;
      }
      outEdges.push({ source: client.id, target: server.id, connection_type: info.connectionType, ...rates, latency, ...(worst.get(k) ?? NO_WORST) });
    }
    outEdges.sort((a, b) => cmp(a.source, b.source) || cmp(a.target, b.target) || cmp(a.connection_type, b.connection_type));

    // Nodes: services by what their spans say; the others by the edges into them (out of them,
    // for a virtual client).
    const nodes = new Map<string, GraphNode>();
    for (const [id, row] of services) {
      const { service: _s, basis, operations: _o, ...rates } = row;
      nodes.set(id, { id, name: id, type: 'service', ...rates, basis: basis === 'entry' ? 'spans' : 'all_spans' });
    }
    for (const [id, { name, type }] of types) {
      if (nodes.has(id)) continue;
      const into = incoming.get(id);
      const acc = into ?? outgoing.get(id)!;
      const from = into && type === 'virtual' ? 3 + B : 2;
      nodes.set(id, { id, name, type, ...this.rates(w, acc[0]!, acc[1]!, bounds, acc, from), basis: into ? 'edges_in' : 'edges_out' });
    }
    return {
      time: w.now,
      window_seconds: r6(w.seconds),
      span_metrics: this.spanMetrics,
      service_graphs: this.serviceGraphs,
      buckets: this.buckets(),
      nodes: [...nodes.values()].sort((a, b) => cmp(a.id, b.id)),
      edges: outEdges,
      overflow: overflow ? this.rates(w, overflow[0]!, overflow[1]!, bounds, overflow, 2) : null,
    };
  }

  async red(query: WindowQuery & { service?: string } = {}): Promise<RedResponse> {
    const w = await this.window(query);
    const ops = this.state!.ops;
    const service = query.service === undefined || query.service === '' ? null : query.service;
    const operations: OperationRow[] = [];
    let overflow: Float64Array | undefined;
    const services = ops ? this.serviceRows(ops, w) : new Map<string, ServiceRow>();
    const traces = ops ? latestTraces(ops, this.sm!.calls) : new Map<number, string>();
    const worst = ops ? worstTraces(ops, this.sm!.calls.table(), [this.sm!.latency.slowest], this.sm!.calls.failed) : new Map<number, WorstTraces>();
    const selfBounds = this.sm?.selfTime?.histogram.bounds;
    if (ops) {
      const bounds = pageBounds(this.sm!.latency);
      const d = new Float64Array(ops.width);
      for (let k = 0; k < ops.size; k++) {
        const info = ops.infos[k]!;
        if (info.overflow) {
          const o = new Float64Array(ops.width);
          ops.delta(k, w.snapshot?.ops, o);
          if (ops.liveSlots[k] === 0 && !(o[0]! > 0)) continue;
          overflow = o;
          continue;
        }
        if (service !== null && info.service !== service) continue;
        ops.delta(k, w.snapshot?.ops, d);
        if (ops.liveSlots[k] === 0 && !(d[0]! > 0)) continue;
        operations.push({
          service: info.service,
          span_name: info.spanName,
          span_kind: info.spanKind,
          ...this.rates(w, d[0]!, d[1]!, bounds, d, 2),
          trace_id: traces.get(k) ?? null, ...(worst.get(k) ?? NO_WORST),
          ...(selfBounds ? { self_time: selfTimeRates(d, 3 + bounds.length, selfBounds) } : {}),
        });
      }
    }
    if (ops) serviceWorst(ops, services, worst);
    let historyTime: number[] = [];
    if (ops && w.snapshot) {
      const points: TotalsAt[] = w.inside.map((x) => ({ t: x.t, ops: x.ops! }));
      if (points[points.length - 1]!.t < w.now) points.push({ t: w.now, ops: ops.totals });
      const entry = new Map([...services.values()].map((r) => [r.service, r.basis === 'entry']));
      const history = serviceHistory(ops, points, pageBounds(this.sm!.latency), entry, (kind) => ENTRY_KINDS.has(kind), r6);
      for (const [service, h] of history) services.get(service)!.history = h;
      historyTime = points.slice(1).map((p) => p.t);
    }
    operations.sort((a, b) => cmp(a.service, b.service) || cmp(a.span_name, b.span_name) || cmp(a.span_kind, b.span_kind));
    return {
      time: w.now,
      window_seconds: r6(w.seconds),
      span_metrics: this.spanMetrics,
      service,
      self_time: selfBounds ? range(selfBounds) : null,
      buckets: { span_metrics: range(this.sm && pageBounds(this.sm.latency)), service_graphs: null },
      services: [...services.values()].sort((a, b) => cmp(a.service, b.service)),
      history_time: historyTime,
      operations,
      exceptions: this.state!.events ? exceptionRows(this.state!.events, w.snapshot?.events, w.seconds, service, this.sm!) : null,
      overflow: overflow ? this.rates(w, overflow[0]!, overflow[1]!, pageBounds(this.sm!.latency), overflow, 2) : null,
    };
  }

  async health(query: WindowQuery = {}): Promise<HealthResponse> {
    const w = await this.window(query);
    return healthResponse({
      core: this.options.core, now: w.now, seconds: w.seconds, self: this.state!.self, then: w.snapshot?.self ?? EMPTY_SELF,
      maxActiveSeries: this.options.maxActiveSeries, serviceGraphs: this.sg, maxItems: this.options.maxItems,
      unusedDimensions: () => this.unusedDimensions(),
    });
  }

  async slos(query: WindowQuery = {}): Promise<SlosResponse> {
    const w = await this.window(query);
    const { core } = this.options;
    const counts = this.slo ? sloCounts(this.slo) : [];
    // Good and total over the window, by SLO index.
    const recent = new Map<number, Float64Array>();
    const tracker = this.state!.slos;
    if (tracker && w.seconds > 0) {
      for (let k = 0; k < tracker.size; k++) {
        const d = new Float64Array(tracker.width);
        tracker.delta(k, w.snapshot?.slos, d);
        recent.set(tracker.infos[k]!.index, d);
      }
    }
    const slos = (this.slo?.slos ?? []).map((slo, i): SloRow => {
      const { good, total } = counts[i] ?? { good: 0, total: 0 };
      const budget = (100 - slo.objective) / 100;
      const d = recent.get(i);
      const windowTotal = d ? d[1]! : 0;
      const { name, description, service, span_name, span_name_regex, span_kind, kind, objective } = slo;
      return {
        name, description, service, span_name, span_name_regex, span_kind, kind, objective,
        window_seconds: slo.window / 1000,
        threshold_seconds: slo.kind === 'latency' ? r6(slo.threshold / 1000) : null,
        good,
        total,
        sli: total > 0 ? good / total : null,
        error_budget: r6(budget),
        budget_remaining: total > 0 ? r6(1 - (total - good) / total / budget) : null,
        basis: 'since_start',
        burn_rate: windowTotal > 0 ? r6((windowTotal - d![0]!) / windowTotal / budget) : null,
      };
    });
    return { time: w.now, window_seconds: r6(w.seconds), since: core.createdAt, slos };
  }

  // -------------------------------------------------------------------------------------------

  /** Per-service RED rows from the operation totals. */
  private serviceRows(ops: Tracker<OpInfo>, w: Window): Map<string, ServiceRow> {
    interface Acc {
      entry: Float64Array;
      all: Float64Array;
      hasEntry: boolean;
      operations: number;
    }
    const acc = new Map<string, Acc>();
    const d = new Float64Array(ops.width);
    for (let k = 0; k < ops.size; k++) {
      const info = ops.infos[k]!;
      if (info.overflow) continue;
      ops.delta(k, w.snapshot?.ops, d);
      if (ops.liveSlots[k] === 0 && !(d[0]! > 0)) continue;
      let a = acc.get(info.service);
      if (!a) acc.set(info.service, (a = { entry: new Float64Array(ops.width), all: new Float64Array(ops.width), hasEntry: false, operations: 0 }));
      a.operations++;
      for (let i = 0; i < ops.width; i++) a.all[i]! += d[i]!;
      if (ENTRY_KINDS.has(info.spanKind)) {
        a.hasEntry = true;
        for (let i = 0; i < ops.width; i++) a.entry[i]! += d[i]!;
      }
    }
    const bounds = pageBounds(this.sm!.latency);
    const out = new Map<string, ServiceRow>();
    for (const [service, a] of acc) {
      const v = a.hasEntry ? a.entry : a.all;
      out.set(service, { service, ...this.rates(w, v[0]!, v[1]!, bounds, v, 2), basis: a.hasEntry ? 'entry' : 'all', operations: a.operations });
    }
    return out;
  }

  private rates(w: Window, count: number, errors: number, bounds: readonly number[], buckets: Float64Array, from: number): Rates {
    const q = (p: number) => {
      const v = histogramQuantile(p, bounds, buckets, from);
      return v === null ? null : r6(v);
    };
    return {
      rate: w.seconds > 0 ? r6(count / w.seconds) : null,
      error_ratio: count > 0 ? r6(errors / count) : null,
      p50: q(0.5),
      p95: q(0.95),
      p99: q(0.99),
      ...(w.snapshot ? {} : { total: count }),
    };
  }

  private buckets(): Buckets {
    return { span_metrics: range(this.sm && pageBounds(this.sm.latency)), service_graphs: range(this.sg && pageBounds(this.sg.server)) };
  }

  /**
   * The configured span-metrics dimensions that no series has a value for, once there are
   * series: no span carried them. A dimension seen once is not looked for again. (The sidecar
   * also logs them once, a minute after start: src/cli.ts.)
   */
  unusedDimensions(): string[] {
    const dims = this.sm?.dimensions ?? [];
    const view = this.sm?.calls.table();
    if (!view || dims.length === 0 || this.carried.size === dims.length) return [];
    let series = 0;
    for (let slot = 0; slot < view.used && this.carried.size < dims.length; slot++) {
      if (!view.live(slot) || view.overflow(slot)) continue;
      series++;
      dims.forEach((d, i) => {
        if (!this.carried.has(i) && d.read(view, slot) !== '') this.carried.add(i);
      });
    }
    if (series === 0 && this.carried.size === 0) return [];
    return dims.filter((_, i) => !this.carried.has(i)).map((d) => d.attribute);
  }

  /** ui.trace_url, '' without. */
  get traceUrl(): string {
    return this.options.traceUrl ?? '';
  }

  /** Scans if due, keeps a snapshot if due, and picks the snapshot the window starts at. */
  private async window(query: WindowQuery): Promise<Window> {
    this.touch();
    const self = this.options.selfCounters ? await this.options.selfCounters() : EMPTY_SELF;
    const now = this.now();
    let s = this.state;
    if (!s) {
      // The first scan counts every series from 0: the figures since the core started, shown
      // until the window has a second (the rates are differences of later scans from this one).
      s = this.state = {
        ops: this.makeOps(), edges: this.makeEdges(), slos: this.makeSlos(), events: this.sm && eventTotals(this.sm, this.options.maxOperations ?? 2000),
        snapshots: [], lastScan: -Infinity, self,
      };
      s.ops?.scan(false);
      s.edges?.scan(false);
      s.slos?.scan(false);
      s.events?.scan(false);
      s.lastScan = now;
    } else if (now - s.lastScan >= this.minScan) {
      s.ops?.scan(false);
      s.edges?.scan(false);
      s.slos?.scan(false);
      s.events?.scan(false);
      s.lastScan = now;
    }
    s.self = self;
    const last = s.snapshots[s.snapshots.length - 1];
    if (!last || now - last.t >= this.interval) {
      s.snapshots.push({ t: now, ops: s.ops?.copy(), edges: s.edges?.copy(), slos: s.slos?.copy(), events: s.events?.copy(), self });
    }
    while (s.snapshots.length > 1 && s.snapshots[0]!.t < now - this.retention) s.snapshots.shift();
    const windowMs = Math.min(Math.max(query.windowMs ?? this.defaultWindow, 1000), this.retention);
    const found = s.snapshots.find((x) => x.t >= now - windowMs);
    // Rates over less than a second say little: until then the window counts as empty.
    const snapshot = found && now - found.t >= 1000 ? found : undefined;
    const seconds = snapshot ? (now - snapshot.t) / 1000 : 0;
    return { now, snapshot, seconds, inside: snapshot ? s.snapshots.filter((x) => x.t >= snapshot.t) : [] };
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.release(), this.idle);
    this.idleTimer.unref();
  }

  private makeOps(): Tracker<OpInfo> | undefined {
    return this.sm && operationTotals(this.sm, this.options.maxOperations ?? 2000);
  }

  private makeEdges(): Tracker<EdgeInfo> | undefined {
    return this.sg && edgeTotals(this.sg, this.options.maxEdges ?? 1000);
  }

  private makeSlos(): Tracker<SloInfo> | undefined {
    return this.slo && sloTotals(this.slo);
  }
}
