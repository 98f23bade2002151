// The page's three running totals, read from the exporters' typed families (the catalog): per
// operation (service, span name, kind) from the span-metrics calls and latency histogram, per
// edge (client, server, connection type) from the service-graph request counters and
// histograms, per SLO from its good and total counters. Labels are read by role, never by
// name, so either naming scheme (tempo or otel) gives the same totals.
import type { SeriesTableView } from '../core/index.js';
import type { ServiceGraphsCatalog, SlosCatalog, SpanMetricsCatalog } from '../exporters/catalog.js';
import type { HistogramFamily } from '../exporters/families.js';
import type { GraphEdge } from './json.js';
import { OVERFLOW_KEY, Tracker, type KeyInfo } from './tracker.js';
import { readNative } from '../core/native.js';
import { addNativeToGrid, pageBounds, pageGrid } from './quantile.js';

export interface OpInfo extends KeyInfo {
  service: string;
  spanName: string;
  spanKind: string;
}

export interface EdgeInfo extends KeyInfo {
  client: string;
  server: string;
  connectionType: GraphEdge['connection_type'];
  /** From the virtual_node label, when enabled: which side is the virtual node. */
  virtualNode: '' | 'client' | 'server';
}

export interface EventInfo extends KeyInfo {
  service: string;
  spanName: string;
  /** The event's name ("exception" for exceptions). */
  eventName: string;
  /** Its exception.type, when that is an event dimension; '' otherwise. */
  exceptionType: string;
}

export interface SloInfo extends KeyInfo {
  /** The SLO's index in the configuration. */
  index: number;
}

const CONNECTION_TYPES = new Set(['', 'virtual_node', 'messaging_system', 'database', 'parent_child']);

/**
 * A histogram's bucket counts into out[at … at + B], not cumulative; the last (+Inf) is the count
 * less the others. With native histograms, on the page's grid (quantile.ts pageGrid).
 */
function readBuckets(view: SeriesTableView, slot: number, h: HistogramFamily, out: Float64Array, at: number): void {
  const grid = pageGrid(h);
  if (grid && h.native) {
    out.fill(0, at, at + grid.bounds.length + 1);
    addNativeToGrid(grid, readNative(view, slot, h.native.block, h.native.schema), out, at);
    return;
  }
  const B = h.bounds.length;
  let finite = 0;
  for (let b = 0; b < B; b++) {
    const c = view.value(slot, h.buckets + b);
    out[at + b] = c;
    finite += c;
  }
  out[at + B] = view.value(slot, h.count) - finite;
}

/**
 * Per operation: [calls, errors, latency bucket 0 … B−1, +Inf bucket] (width 2 + B + 1), the
 * buckets not cumulative. A series counts errors when its status_code is STATUS_CODE_ERROR.
 * With self time (processor.span_metrics.self_time), at SELF = 3 + B: [self-time observations,
 * spans counted apart (unknown), self-time bucket 0 … S−1 (its classic bounds), +Inf bucket].
 */
export function operationTotals(sm: SpanMetricsCatalog, maxOperations: number): Tracker<OpInfo> {
  const { calls, latency, labels, selfTime } = sm;
  const B = pageBounds(latency).length;
  const self = 3 + B;
  const overflowInfo: OpInfo = { overflow: true, service: '', spanName: '', spanKind: '' };
  return new Tracker<OpInfo>(
    self + (selfTime ? 2 + selfTime.histogram.bounds.length + 1 : 0),
    maxOperations,
    calls.table,
    (view, slot) => {
      if (view.overflow(slot)) return { key: OVERFLOW_KEY, info: overflowInfo, flag: 0 };
      const service = labels.service(view, slot);
      const spanName = labels.spanName(view, slot);
      const spanKind = labels.spanKind(view, slot);
      const error = labels.statusCode(view, slot) === 'STATUS_CODE_ERROR' ? 1 : 0;
      return { key: `${service}\u0000${spanName}\u0000${spanKind}`, info: { overflow: false, service, spanName, spanKind }, flag: error };
    },
    (view, slot, error, out) => {
      const n = view.value(slot, calls.value);
      out[0] = n;
      out[1] = error ? n : 0;
      readBuckets(view, slot, latency, out, 2);
      if (selfTime) {
        out[self] = view.value(slot, selfTime.histogram.count);
        out[self + 1] = view.value(slot, selfTime.unknown.value);
        readBuckets(view, slot, selfTime.histogram, out, self + 2);
      }
    },
    overflowInfo,
  );
}

/**
 * Per edge: [requests, failed, server buckets (B + 1), client buckets (B + 1)] (width
 * 2 + 2 (B + 1)); the server histogram's buckets start at 2, the client's at 3 + B.
 */
export function edgeTotals(sg: ServiceGraphsCatalog, maxEdges: number): Tracker<EdgeInfo> {
  const { request, failed, server, client, labels } = sg;
  const B = pageBounds(server).length;
  const overflowInfo: EdgeInfo = { overflow: true, client: '', server: '', connectionType: '', virtualNode: '' };
  return new Tracker<EdgeInfo>(
    2 + 2 * (B + 1),
    maxEdges,
    request.table,
    (view, slot) => {
      if (view.overflow(slot)) return { key: OVERFLOW_KEY, info: overflowInfo, flag: 0 };
      const c = labels.client(view, slot);
      const s = labels.server(view, slot);
      const t = labels.connectionType(view, slot);
      const v = labels.virtualNode(view, slot);
      const connectionType = (CONNECTION_TYPES.has(t) ? t : '') as EdgeInfo['connectionType'];
      const virtualNode = v === 'client' || v === 'server' ? v : '';
      return { key: `${c}\u0000${s}\u0000${connectionType}`, info: { overflow: false, client: c, server: s, connectionType, virtualNode }, flag: 0 };
    },
    (view, slot, _flag, out) => {
      out[0] = view.value(slot, request.value);
      out[1] = view.value(slot, failed.value);
      readBuckets(view, slot, server, out, 2);
      readBuckets(view, slot, client, out, 3 + B);
    },
    overflowInfo,
  );
}

/** The event attribute that holds an exception's type (semantic conventions). */
export const EXCEPTION_TYPE = 'exception.type';

/** Per span event kind (service, span name, event name, exception type): [events]. */
export function eventTotals(sm: SpanMetricsCatalog, maxKeys: number): Tracker<EventInfo> | undefined {
  const { events, eventLabels, labels } = sm;
  if (!events || !eventLabels) return undefined;
  const type = eventLabels.dimensions.find((d) => d.attribute === EXCEPTION_TYPE)?.read;
  const overflowInfo: EventInfo = { overflow: true, service: '', spanName: '', eventName: '', exceptionType: '' };
  return new Tracker<EventInfo>(
    1,
    maxKeys,
    events.table,
    (view, slot) => {
      if (view.overflow(slot)) return { key: OVERFLOW_KEY, info: overflowInfo, flag: 0 };
      const service = labels.service(view, slot);
      const spanName = labels.spanName(view, slot);
      const eventName = eventLabels.name(view, slot);
      const exceptionType = type ? type(view, slot) : '';
      return {
        key: `${service}\u0000${spanName}\u0000${eventName}\u0000${exceptionType}`,
        info: { overflow: false, service, spanName, eventName, exceptionType },
        flag: 0,
      };
    },
    (view, slot, _flag, out) => {
      out[0] = view.value(slot, events.value);
    },
    overflowInfo,
  );
}

/** Per SLO: [good, total]. */
export function sloTotals(slos: SlosCatalog): Tracker<SloInfo> {
  const { good, total } = slos;
  return new Tracker<SloInfo>(
    2,
    slos.slos.length,
    good.table,
    (view, slot) => {
      const index = slos.index(view, slot);
      return { key: String(index), info: { overflow: false, index }, flag: 0 };
    },
    (view, slot, _flag, out) => {
      out[0] = view.value(slot, good.value);
      out[1] = view.value(slot, total.value);
    },
    { overflow: true, index: -1 },
  );
}

/** Good and total per SLO (by index) since the core started: the values of its series. */
export function sloCounts(slos: SlosCatalog): { good: number; total: number }[] {
  const view = slos.good.table();
  const out: { good: number; total: number }[] = [];
  for (let slot = 0; view && slot < view.used; slot++) {
    out[slos.index(view, slot)] = { good: view.value(slot, slos.good.value), total: view.value(slot, slos.total.value) };
  }
  return out;
}
