// The JSON the web page's API answers with (/api/graph, /api/red, /api/health, /api/slos): the
// types src/ui/api.ts builds and the browser script (src/ui/web/app.ts) imports.
import type { SloConfig } from '../config/types.js';

/**
 * Rates over the window. While the window is empty (the first request, or less than a second
 * after it): `rate` is null, `total` counts the requests since the core started, and the error
 * ratio and quantiles are over those.
 */
export interface Rates {
  /** Per second. */
  rate: number | null;
  /** Errors / all, 0..1; null without requests in the window. */
  error_ratio: number | null;
  /** Latency quantiles in seconds; null without observations in the window. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Only while the window is empty: requests since the core started. */
  total?: number;
}

/**
 * A latency histogram's first and last finite bucket bounds, seconds: a quantile at or under
 * `first` fell in the first bucket (it says "under first"), one at `last` may be in +Inf (it
 * says "over last"): histogram_quantile cannot tell more.
 */
export interface BucketRange {
  first: number;
  last: number;
}

/** The bucket ranges of the histograms a response's quantiles come from; null when the processor is off. */
export interface Buckets {
  span_metrics: BucketRange | null;
  service_graphs: BucketRange | null;
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

export interface GraphEdge extends Rates, WorstTraces {
  /** Node ids: the client and server labels (see GraphNode.id). */
  source: string;
  target: string;
  connection_type: '' | 'virtual_node' | 'messaging_system' | 'database' | 'parent_child';
  /**
   * The histogram the quantiles come from: the edge's server-side one, its client-side one (the
   * server is not instrumented), or `server_spans`: the server service's own span-metrics
   * histogram (its server and consumer spans, from every caller), used when the edge's median
   * falls in the first service-graph bucket and span metrics have a lower first bucket.
   */
  latency: 'server' | 'client' | 'server_spans';
}

export interface GraphResponse {
  /** When the numbers were computed, ms since the epoch. */
  time: number;
  /** The time the rates cover, seconds; 0 on the first request (nothing to compare with yet). */
  window_seconds: number;
  span_metrics: boolean;
  service_graphs: boolean;
  /** Quantiles of nodes with basis spans/all_spans and of server_spans edges: span_metrics; the others: service_graphs. */
  buckets: Buckets;
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
  /** /api/red only: the same figures per interval between snapshots, oldest first (see RedResponse.history_time). */
  history?: ServiceHistory;
  /**
   * /api/red only: the slowest of the slowest traces (OperationRow.slowest_trace_id) of the
   * operations its figures come from (its server and consumer ones, or all with basis `all`); null without.
   */
  slowest_trace_id?: string | null;
  slowest_seconds?: number | null;
}

/** Per interval: requests per second, error ratio and p95 (null without requests). */
export interface ServiceHistory {
  rate: number[];
  error_ratio: (number | null)[];
  p95: (number | null)[];
}

export interface OperationRow extends Rates, WorstTraces {
  service: string;
  span_name: string;
  span_kind: string;
  /** With processor.span_metrics.self_time only: the operation's self time over the window. */
  self_time?: SelfTimeRates;
  /** The trace id of the latest span the operation's series kept as an exemplar, or null. */
  trace_id: string | null;
}

/** An operation's self time (duration less its children's): quantiles of the spans decided in the window. */
export interface SelfTimeRates {
  /** Seconds; null without observations in the window. */
  p50: number | null;
  p95: number | null;
  /** Spans counted apart (their children could not all be kept) / all decided; null without any. */
  unknown_ratio: number | null;
}

/**
 * The worst traces of an operation or edge (assembly/worst.ts, exemplars.window): the slowest its
 * series kept (the largest of each series' slowest of its latest window; an edge's by server
 * span duration, by client span duration without a server span) and the latest failed one.
 */
export interface WorstTraces {
  slowest_trace_id: string | null;
  /** The slowest's duration, seconds. */
  slowest_seconds: number | null;
  failed_trace_id: string | null;
}

/** Exceptions (span events named "exception") of one operation and type over the window. */
export interface ExceptionRow {
  service: string;
  span_name: string;
  /** The event's exception.type; '' when that is not an event dimension (or the event had none). */
  exception_type: string;
  /** In the window; while the window is empty, since the core started. */
  count: number;
  /** Per second; null while the window is empty. */
  rate: number | null;
}

export interface RedResponse {
  time: number;
  window_seconds: number;
  span_metrics: boolean;
  /** The service asked for, or null: operations of every service. */
  service: string | null;
  /** Self time's bucket range (processor.span_metrics.self_time: operations carry self_time); null when off. */
  self_time: BucketRange | null;
  /** The span-metrics histogram's bucket range (service_graphs: null here). */
  buckets: Buckets;
  services: ServiceRow[];
  /** The end of each interval of the services' history, ms since the epoch; its start is the previous one's end (the first's: window start). */
  history_time: number[];
  operations: OperationRow[];
  /**
   * Exceptions by operation and type, most first (of the service asked for, or all); null when
   * processor.span_metrics.events is off. `typed`: exception.type is an event dimension.
   */
  exceptions: null | { typed: boolean; rows: ExceptionRow[] };
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
    /** Per service and side, the spans that never met their other side, largest share first (src/ui/missing.ts). */
    missing_edges: MissingEdgeRow[];
  };
  /** The self-time store (processor.span_metrics.self_time); null when self time is off. */
  self_time: null | {
    /** Entries in use: spans waiting for their children, their tombstones, parents awaited by a child. */
    store_size: number;
    /** processor.span_metrics.self_time_max_items. */
    max_items: number;
    /** Spans and children refused with the store full (their spans' self time is counted unknown). */
    dropped_total: number;
    /** Entries made by children whose parent never came within wait. */
    orphans_total: number;
  };
  wasm_memory_bytes: number;
  /** Plain sentences, most important first. */
  warnings: string[];
}

/** Why a span made no edge: the unpaired spans' reason label, and store_full for the dropped ones. */
export type MissingReason = 'client_only' | 'server_only' | 'parent_unknown' | 'sampled_out' | 'store_full';

/** One service's side that lost spans, since the core started. */
export interface MissingEdgeRow {
  service: string;
  side: 'client' | 'server';
  /** Spans of that side: paired requests + missing. */
  spans: number;
  /** Spans of that side that made no edge. */
  missing: number;
  /** missing / spans. */
  share: number;
  reasons: Record<MissingReason, number>;
  /** What the page shows, e.g. "payments: 12% of client spans never met their server (…): is the server instrumented? …". */
  sentence: string;
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
