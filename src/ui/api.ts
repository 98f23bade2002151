// The JSON behind the web page: the service graph, RED tables and the sidecar's health, as rates
// over a sliding window.
//
// The core keeps cumulative counters and histograms per series. While someone looks (an API
// request came in the last `idleMs`), each request first scans the tables (at most every
// `minScanMs`): every series' increase since the previous scan is added to running totals per
// key (an operation: service, span name, kind; an edge: client, server, connection type), which
// only grow, so series that go stale or are replaced do not look like counter resets. Every
// `snapshotIntervalMs` a copy of those totals is kept, for `retentionMs`. A rate is the increase
// since the oldest snapshot inside the window divided by the time since it; a quantile is
// interpolated in the increase of the buckets (Prometheus' histogram_quantile). Nobody looking:
// no scan, no timer; after `idleMs` the state is dropped. SLOs are the exception: their good and
// total counts are the core's, since it started; only their burn rate is over the window.
import { SLOS, type Core, type SeriesTableView } from '../core/index.js';
import type { CounterFamily, Family, HistogramFamily, Labels } from '../exporters/families.js';
import type { SloConfig } from '../config/types.js';
import { histogramQuantile } from './quantile.js';
import type { Registry } from 'prom-client';

/** The sidecar's own counters (`spanmeter_*`) by name; see `telemetryCounters`. */
export type SelfCounters = ReadonlyMap<string, number>;

export interface UiOptions {
  core: Core;
  /** The metric families the sidecar exposes (span metrics and service graphs). */
  families: readonly Family[];
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
}

/** Rates over the window; null while the window is empty (the first request). */
export interface Rates {
  /** Per second. */
  rate: number | null;
  /** Errors / all, 0..1; null without requests in the window. */
  error_ratio: number | null;
  /** Latency quantiles in seconds; null without observations in the window. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export type NodeType = 'service' | 'database' | 'virtual';

export interface GraphNode extends Rates {
  /** Unique: the name, but `virtual:NAME` for a virtual node named like a service or database. */
  id: string;
  /** The service, database or peer name, as in the metrics' labels. */
  name: string;
  type: NodeType;
  /** Where the node's numbers come from: its server and consumer spans, all its spans, or the edges into (out of) it. */
  basis: 'spans' | 'all_spans' | 'edges_in' | 'edges_out';
}

export interface GraphEdge extends Rates {
  /** Node ids: the client and server labels (see GraphNode.id). */
  source: string;
  target: string;
  connection_type: '' | 'virtual_node' | 'messaging_system' | 'database';
  /** The histogram the quantiles come from: server spans, or client spans where the server is not instrumented. */
  latency: 'server' | 'client';
}

export interface GraphResponse {
  /** When the numbers were computed, ms since the epoch. */
  time: number;
  /** The time the rates cover, seconds; 0 on the first request (nothing to compare with yet). */
  window_seconds: number;
  span_metrics: boolean;
  service_graphs: boolean;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Requests on edges past the series limit (metric_overflow) or past maxEdges; null when none. */
  overflow: Rates | null;
}

export interface ServiceRow extends Rates {
  service: string;
  /** `entry`: its SERVER and CONSUMER spans; `all`: every span (a service without entry spans). */
  basis: 'entry' | 'all';
  operations: number;
}

export interface OperationRow extends Rates {
  service: string;
  span_name: string;
  span_kind: string;
}

export interface RedResponse {
  time: number;
  window_seconds: number;
  span_metrics: boolean;
  /** The service asked for, or null: operations of every service. */
  service: string | null;
  services: ServiceRow[];
  operations: OperationRow[];
  /** Spans in series past the series limit (metric_overflow) or past maxOperations; null when none. */
  overflow: Rates | null;
}

export interface RejectedRow {
  reason: string;
  spans_per_second: number | null;
  spans_total: number;
  requests_per_second: number | null;
  requests_total: number;
}

export interface HealthResponse {
  time: number;
  window_seconds: number;
  spans: {
    received_per_second: number | null;
    accepted_per_second: number | null;
    received_total: number;
    accepted_total: number;
    /** Accepted but left out of the metrics for ending before metrics_ingestion_time_range_slack. */
    dropped_late_total: number;
  };
  rejected: RejectedRow[];
  series: {
    active: number;
    /** 0: unlimited. */
    limit: number;
    /** New label sets folded into metric_overflow="true" so far. */
    limited_total: number;
    removed_total: number;
  };
  service_graphs: null | {
    store_size: number;
    max_items: number | null;
    unpaired_total: number;
    dropped_total: number;
  };
  wasm_memory_bytes: number;
  /** Plain sentences, most important first. */
  warnings: string[];
}

/** An SLO as configured (the spans it selects: "" = any), with its figures. */
export interface SloRow extends Pick<SloConfig, 'name' | 'description' | 'service' | 'span_name' | 'span_name_regex' | 'span_kind' | 'kind' | 'objective'> {
  /** The SLO's own window as configured, seconds (good, total and budget_remaining do not cover it: see basis). */
  window_seconds: number;
  /** Latency SLOs: a span at or under this many seconds is good; null for availability. */
  threshold_seconds: number | null;
  /** Spans selected since the core started, and those that were good. */
  good: number;
  total: number;
  /** good / total, not rounded; null without spans. */
  sli: number | null;
  /** The share of spans allowed to be bad: 1 − objective / 100. */
  error_budget: number;
  /** 1 − (bad / total) / error_budget: 1 untouched, 0 spent, below 0 overspent; null without spans. */
  budget_remaining: number | null;
  /** What good, total, sli and budget_remaining count: the spans since the core started (`since`). */
  basis: 'since_start';
  /** Over the response's window: (bad / total) / error_budget (1 spends the budget at the pace the objective allows); null without spans in the window. */
  burn_rate: number | null;
}

export interface SlosResponse {
  time: number;
  /** The window of burn_rate, seconds; 0 on the first request. */
  window_seconds: number;
  /** When the core started counting, ms since the epoch: the SLO counts are since then. */
  since: number;
  /** In the order configured; empty when no SLO is configured. */
  slos: SloRow[];
}

export interface WindowQuery {
  /** Window length in ms (clamped to 1 s … retention). */
  windowMs?: number;
}

const ENTRY_KINDS = new Set(['SPAN_KIND_SERVER', 'SPAN_KIND_CONSUMER']);
const CONNECTION_TYPES = new Set(['', 'virtual_node', 'messaging_system', 'database']);

/** 6 significant digits: enough for a page, and stable to compare. */
function r6(x: number): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(6));
}

function labelOf(pairs: Labels, ...names: string[]): string {
  for (const [n, v] of pairs) if (names.includes(n)) return v;
  return '';
}

// ---------------------------------------------------------------------------------------------
// Running totals per key

interface KeyInfo {
  /** Folded: past the series limit (metric_overflow) or past the key cap. */
  overflow: boolean;
}

interface OpInfo extends KeyInfo {
  service: string;
  spanName: string;
  spanKind: string;
}

interface EdgeInfo extends KeyInfo {
  client: string;
  server: string;
  connectionType: GraphEdge['connection_type'];
  /** From the virtual_node label, when enabled: which side is the virtual node. */
  virtualNode: '' | 'client' | 'server';
}

interface SloInfo extends KeyInfo {
  /** The SLO's index in the configuration. */
  index: number;
}

interface Described<I> {
  key: string;
  info: I;
  /** A per-slot flag handed to `read` (span metrics: the series counts errors). */
  flag: number;
}

/** One table's series folded into per-key totals that only grow. */
class Tracker<I extends KeyInfo> {
  private slotGen = new Uint32Array(0);
  private slotSeen = new Uint8Array(0);
  private slotFlag = new Uint8Array(0);
  private slotKey = new Int32Array(0);
  private base = new Float64Array(0);
  private readonly cur: Float64Array;
  private readonly keys = new Map<string, number>();
  readonly infos: I[] = [];
  /** width values per key. */
  totals = new Float64Array(0);
  /** Live series per key at the last scan. */
  liveSlots = new Uint32Array(0);

  constructor(
    readonly width: number,
    private readonly maxKeys: number,
    private readonly table: () => SeriesTableView | undefined,
    private readonly describe: (view: SeriesTableView, slot: number) => Described<I>,
    private readonly read: (view: SeriesTableView, slot: number, flag: number, out: Float64Array) => void,
    private readonly overflowInfo: I,
  ) {
    this.cur = new Float64Array(width);
  }

  get size(): number {
    return this.infos.length;
  }

  /** Adds every series' increase since the last scan; the first scan only takes the baseline. */
  scan(first: boolean): void {
    const view = this.table();
    if (!view) return;
    const used = view.used;
    this.growSlots(used);
    this.liveSlots.fill(0);
    const w = this.width;
    const cur = this.cur;
    const base = this.base;
    for (let slot = 0; slot < used; slot++) {
      if (!view.live(slot)) {
        this.slotSeen[slot] = 0;
        continue;
      }
      const gen = view.generation(slot);
      // A series not seen before (or a new one in a reused slot) counts from zero, unless it was
      // there when we started looking.
      const fresh = this.slotSeen[slot] === 0 || this.slotGen[slot] !== gen;
      if (fresh) {
        const d = this.describe(view, slot);
        this.slotKey[slot] = this.keyIndex(d.key, d.info);
        this.slotFlag[slot] = d.flag;
        this.slotGen[slot] = gen;
        this.slotSeen[slot] = 1;
      }
      this.read(view, slot, this.slotFlag[slot]!, cur);
      const k = this.slotKey[slot]!;
      this.liveSlots[k]!++;
      const at = k * w;
      const b = slot * w;
      const count = !(fresh && first);
      for (let i = 0; i < w; i++) {
        const v = cur[i]!;
        if (count) {
          const inc = fresh ? v : v - base[b + i]!;
          if (inc > 0) this.totals[at + i]! += inc;
        }
        base[b + i] = v;
      }
    }
  }

  /** A copy of the totals. */
  copy(): Float64Array {
    return this.totals.slice(0, this.infos.length * this.width);
  }

  /** The increase of key k since `snapshot` (keys newer than it started from 0) into out. */
  delta(k: number, snapshot: Float64Array | undefined, out: Float64Array, add = false): void {
    const w = this.width;
    const at = k * w;
    for (let i = 0; i < w; i++) {
      const then = snapshot && at + i < snapshot.length ? snapshot[at + i]! : 0;
      const d = this.totals[at + i]! - then;
      out[i] = (add ? out[i]! : 0) + d;
    }
  }

  private keyIndex(key: string, info: I): number {
    let k = this.keys.get(key);
    if (k !== undefined) return k;
    if (this.infos.length >= this.maxKeys && !info.overflow) {
      // Past the cap: counted with the overflow series.
      key = '\u0000overflow';
      info = this.overflowInfo;
      k = this.keys.get(key);
      if (k !== undefined) return k;
    }
    k = this.infos.length;
    this.keys.set(key, k);
    this.infos.push(info);
    const need = (k + 1) * this.width;
    if (this.totals.length < need) {
      const t = new Float64Array(Math.max(need, this.totals.length * 2));
      t.set(this.totals);
      this.totals = t;
      const l = new Uint32Array(t.length / this.width);
      l.set(this.liveSlots);
      this.liveSlots = l;
    }
    return k;
  }

  private growSlots(used: number): void {
    if (this.slotGen.length >= used) return;
    const n = Math.max(used, this.slotGen.length * 2, 64);
    const grow = <T extends Uint32Array | Uint8Array | Int32Array | Float64Array>(a: T, size: number, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a as never);
      return b;
    };
    this.slotGen = grow(this.slotGen, n, (s) => new Uint32Array(s));
    this.slotSeen = grow(this.slotSeen, n, (s) => new Uint8Array(s));
    this.slotFlag = grow(this.slotFlag, n, (s) => new Uint8Array(s));
    this.slotKey = grow(this.slotKey, n, (s) => new Int32Array(s));
    this.base = grow(this.base, n * this.width, (s) => new Float64Array(s));
  }
}

interface Snapshot {
  t: number;
  ops?: Float64Array;
  edges?: Float64Array;
  slos?: Float64Array;
  self: SelfCounters;
}

interface State {
  ops?: Tracker<OpInfo>;
  edges?: Tracker<EdgeInfo>;
  slos?: Tracker<SloInfo>;
  snapshots: Snapshot[];
  lastScan: number;
  self: SelfCounters;
}

/** The window a response covers: the snapshot it compares with and the seconds since. */
interface Window {
  now: number;
  snapshot: Snapshot | undefined;
  seconds: number;
}

const EMPTY_SELF: SelfCounters = new Map();

// ---------------------------------------------------------------------------------------------

export class UiApi {
  private state: State | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly interval: number;
  private readonly retention: number;
  private readonly defaultWindow: number;
  private readonly minScan: number;
  private readonly idle: number;
  /** Span metrics: calls and the latency histogram. */
  private readonly calls?: CounterFamily;
  private readonly latency?: HistogramFamily;
  /** Service graphs: requests, failed requests, server and client histograms. */
  private readonly requests?: CounterFamily;
  private readonly failed?: CounterFamily;
  private readonly serverSeconds?: HistogramFamily;
  private readonly clientSeconds?: HistogramFamily;
  private readonly unpaired?: CounterFamily;
  private readonly dropped?: CounterFamily;

  constructor(private readonly options: UiOptions) {
    this.now = options.now ?? Date.now;
    this.interval = options.snapshotIntervalMs ?? 5000;
    this.retention = options.retentionMs ?? 300_000;
    this.defaultWindow = options.defaultWindowMs ?? 60_000;
    this.minScan = options.minScanMs ?? 250;
    this.idle = options.idleMs ?? 600_000;
    const counter = (test: (name: string) => boolean) =>
      options.families.find((f): f is CounterFamily => f.type === 'counter' && test(f.name));
    this.calls = counter((n) => n === 'traces_spanmetrics_calls' || n === 'traces_span_metrics_calls');
    this.latency = options.families.find(
      (f): f is HistogramFamily => f.type === 'histogram' && this.calls !== undefined && f.table === this.calls.table,
    );
    if (!this.latency) this.calls = undefined;
    this.requests = counter((n) => n === 'traces_service_graph_request');
    this.failed = counter((n) => n === 'traces_service_graph_request_failed');
    const histogram = (name: string) => options.families.find((f): f is HistogramFamily => f.type === 'histogram' && f.name === name);
    this.serverSeconds = histogram('traces_service_graph_request_server_seconds');
    this.clientSeconds = histogram('traces_service_graph_request_client_seconds');
    if (!this.failed || !this.serverSeconds || !this.clientSeconds) this.requests = undefined;
    this.unpaired = counter((n) => n === 'traces_service_graph_unpaired_spans');
    this.dropped = counter((n) => n === 'traces_service_graph_dropped_spans');
  }

  get spanMetrics(): boolean {
    return this.calls !== undefined;
  }

  get serviceGraphs(): boolean {
    return this.requests !== undefined;
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
    const B = this.serverSeconds?.bounds.length ?? 0;
    const bounds = this.serverSeconds?.bounds ?? [];

    // Services with span metrics, and their RED numbers.
    const services = ops ? this.serviceRows(ops, w) : new Map<string, ServiceRow>();
    const known = new Set(services.keys());
    interface EdgeAcc {
      info: EdgeInfo;
      d: Float64Array;
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
        edgeList.push({ info, d });
        // Both ends of a paired edge are instrumented, and the client of a database call.
        if (info.connectionType === '' || info.connectionType === 'messaging_system') {
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
    for (const { info, d } of edgeList) {
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
      // Latency: the server span's, except where there is none (a virtual server).
      const latency = serverType === 'virtual' ? 'client' : 'server';
      outEdges.push({
        source: client.id,
        target: server.id,
        connection_type: info.connectionType,
        ...this.rates(w, d[0]!, d[1]!, bounds, d, latency === 'server' ? 2 : 3 + B),
        latency,
      });
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
    if (ops) {
      const bounds = this.latency!.bounds;
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
        });
      }
    }
    operations.sort((a, b) => cmp(a.service, b.service) || cmp(a.span_name, b.span_name) || cmp(a.span_kind, b.span_kind));
    return {
      time: w.now,
      window_seconds: r6(w.seconds),
      span_metrics: this.spanMetrics,
      service,
      services: [...services.values()].sort((a, b) => cmp(a.service, b.service)),
      operations,
      overflow: overflow ? this.rates(w, overflow[0]!, overflow[1]!, this.latency!.bounds, overflow, 2) : null,
    };
  }

  async health(query: WindowQuery = {}): Promise<HealthResponse> {
    const w = await this.window(query);
    const { core } = this.options;
    const self = this.state!.self;
    const then = w.snapshot?.self ?? EMPTY_SELF;
    const perSecond = (name: string): number | null =>
      w.seconds > 0 ? r6(Math.max(0, (self.get(name) ?? 0) - (then.get(name) ?? 0)) / w.seconds) : null;
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
    const limit = this.options.maxActiveSeries ?? 0;
    const active = core.activeSeries();
    const limited = core.seriesLimited();
    const sum = (f: CounterFamily | undefined): number => {
      const view = f?.table();
      if (!f || !view) return 0;
      let n = 0;
      for (let slot = 0; slot < view.used; slot++) if (view.live(slot)) n += view.value(slot, f.value);
      return n;
    };
    const sg = this.serviceGraphs || this.unpaired !== undefined
      ? {
        store_size: core.edgeStoreSize(),
        max_items: this.options.maxItems ?? null,
        unpaired_total: sum(this.unpaired),
        dropped_total: sum(this.dropped),
      }
      : null;
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
    for (const r of rejected) {
      if ((r.spans_per_second ?? 0) > 0 || (r.requests_per_second ?? 0) > 0) {
        warnings.push(`Rejecting ${r.reason.replace(/_/g, ' ')} requests now (${r.requests_total} requests, ${r.spans_total} spans so far).`);
      }
    }
    if (late > 0) warnings.push(`${late} spans ended before the ingestion slack and were left out.`);
    return {
      time: w.now,
      window_seconds: r6(w.seconds),
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
      wasm_memory_bytes: core.memoryBytes(),
      warnings,
    };
  }

  async slos(query: WindowQuery = {}): Promise<SlosResponse> {
    const w = await this.window(query);
    const { core } = this.options;
    const counts = core.sloCounts();
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
    const slos = (core.options.slos ?? []).map((slo, i): SloRow => {
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
    const bounds = this.latency!.bounds;
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
    };
  }

  /** Scans if due, keeps a snapshot if due, and picks the snapshot the window starts at. */
  private async window(query: WindowQuery): Promise<Window> {
    this.touch();
    const self = this.options.selfCounters ? await this.options.selfCounters() : EMPTY_SELF;
    const now = this.now();
    let s = this.state;
    if (!s) {
      s = this.state = { ops: this.makeOps(), edges: this.makeEdges(), slos: this.makeSlos(), snapshots: [], lastScan: -Infinity, self };
      s.ops?.scan(true);
      s.edges?.scan(true);
      s.slos?.scan(true);
      s.lastScan = now;
    } else if (now - s.lastScan >= this.minScan) {
      s.ops?.scan(false);
      s.edges?.scan(false);
      s.slos?.scan(false);
      s.lastScan = now;
    }
    s.self = self;
    const last = s.snapshots[s.snapshots.length - 1];
    if (!last || now - last.t >= this.interval) {
      s.snapshots.push({ t: now, ops: s.ops?.copy(), edges: s.edges?.copy(), slos: s.slos?.copy(), self });
    }
    while (s.snapshots.length > 1 && s.snapshots[0]!.t < now - this.retention) s.snapshots.shift();
    const windowMs = Math.min(Math.max(query.windowMs ?? this.defaultWindow, 1000), this.retention);
    const found = s.snapshots.find((x) => x.t >= now - windowMs);
    // Rates over less than a second say little: until then the window counts as empty.
    const snapshot = found && now - found.t >= 1000 ? found : undefined;
    const seconds = snapshot ? (now - snapshot.t) / 1000 : 0;
    return { now, snapshot, seconds };
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.release(), this.idle);
    this.idleTimer.unref();
  }

  private makeOps(): Tracker<OpInfo> | undefined {
    const calls = this.calls;
    const latency = this.latency;
    if (!calls || !latency) return undefined;
    const B = latency.bounds.length;
    return new Tracker<OpInfo>(
      2 + B + 1,
      this.options.maxOperations ?? 2000,
      calls.table,
      (view, slot) => {
        const pairs = calls.labels.pairs(view, slot);
        if (view.overflow(slot)) {
          return { key: '\u0000overflow', info: { overflow: true, service: '', spanName: '', spanKind: '' }, flag: 0 };
        }
        const service = labelOf(pairs, 'service', 'service_name');
        const spanName = labelOf(pairs, 'span_name');
        const spanKind = labelOf(pairs, 'span_kind');
        const error = labelOf(pairs, 'status_code') === 'STATUS_CODE_ERROR' ? 1 : 0;
        return { key: `${service}\u0000${spanName}\u0000${spanKind}`, info: { overflow: false, service, spanName, spanKind }, flag: error };
      },
      (view, slot, error, out) => {
        const n = view.value(slot, calls.value);
        out[0] = n;
        out[1] = error ? n : 0;
        let finite = 0;
        for (let b = 0; b < B; b++) {
          const c = view.value(slot, latency.buckets + b);
          out[2 + b] = c;
          finite += c;
        }
        out[2 + B] = view.value(slot, latency.count) - finite;
      },
      { overflow: true, service: '', spanName: '', spanKind: '' },
    );
  }

  private makeSlos(): Tracker<SloInfo> | undefined {
    const { core } = this.options;
    const n = core.options.slos?.length ?? 0;
    if (n === 0) return undefined;
    return new Tracker<SloInfo>(
      2,
      n,
      () => core.table('slos'),
      (view, slot) => {
        const index = view.key(slot, SLOS.KEY_INDEX);
        return { key: String(index), info: { overflow: false, index }, flag: 0 };
      },
      (view, slot, _flag, out) => {
        out[0] = view.value(slot, SLOS.V_GOOD);
        out[1] = view.value(slot, SLOS.V_TOTAL);
      },
      { overflow: true, index: -1 },
    );
  }

  private makeEdges(): Tracker<EdgeInfo> | undefined {
    const requests = this.requests;
    const failed = this.failed;
    const server = this.serverSeconds;
    const client = this.clientSeconds;
    if (!requests || !failed || !server || !client) return undefined;
    const B = server.bounds.length;
    const overflowInfo: EdgeInfo = { overflow: true, client: '', server: '', connectionType: '', virtualNode: '' };
    return new Tracker<EdgeInfo>(
      2 + 2 * (B + 1),
      this.options.maxEdges ?? 1000,
      requests.table,
      (view, slot) => {
        if (view.overflow(slot)) return { key: '\u0000overflow', info: overflowInfo, flag: 0 };
        const pairs = requests.labels.pairs(view, slot);
        const c = labelOf(pairs, 'client');
        const s = labelOf(pairs, 'server');
        const t = labelOf(pairs, 'connection_type');
        const v = labelOf(pairs, 'virtual_node');
        const connectionType = (CONNECTION_TYPES.has(t) ? t : '') as EdgeInfo['connectionType'];
        const virtualNode = v === 'client' || v === 'server' ? v : '';
        return { key: `${c}\u0000${s}\u0000${connectionType}`, info: { overflow: false, client: c, server: s, connectionType, virtualNode }, flag: 0 };
      },
      (view, slot, _flag, out) => {
        out[0] = view.value(slot, requests.value);
        out[1] = view.value(slot, failed.value);
        for (const [h, at] of [[server, 2], [client, 3 + B]] as const) {
          let finite = 0;
          for (let b = 0; b < B; b++) {
            const c = view.value(slot, h.buckets + b);
            out[at + b] = c;
            finite += c;
          }
          out[at + B] = view.value(slot, h.count) - finite;
        }
      },
      overflowInfo,
    );
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
