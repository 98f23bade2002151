// Why edges are missing, per service: the spans of each side that never met their other side,
// by reason (traces_service_graph_unpaired_spans_total{reason}, and the dropped spans as
// store_full), against all spans of that side (paired requests + unpaired + dropped), since the
// core started, with the sentence the page shows. Read through the catalog's typed families.
import type { ServiceGraphsCatalog } from '../exporters/catalog.js';
import type { CounterFamily, LabelReader } from '../exporters/families.js';
import type { MissingEdgeRow, MissingReason } from './json.js';

export const MISSING_REASONS: readonly MissingReason[] = ['client_only', 'server_only', 'parent_unknown', 'sampled_out', 'store_full'];

/** At most this many rows, the largest shares first. */
const MAX_ROWS = 20;

interface Acc {
  service: string;
  side: 'client' | 'server';
  paired: number;
  reasons: Record<MissingReason, number>;
}

function each(f: CounterFamily, visit: (value: number, slot: number, view: NonNullable<ReturnType<CounterFamily['table']>>) => void): void {
  const view = f.table();
  if (!view) return;
  for (let slot = 0; slot < view.used; slot++) {
    if (!view.live(slot) || view.overflow(slot)) continue;
    visit(view.value(slot, f.value), slot, view);
  }
}

function percent(share: number): string {
  const p = share * 100;
  return p < 10 ? `${Math.round(p * 10) / 10}%` : `${Math.round(p)}%`;
}

const CLIENT_QUESTIONS = 'is the server instrumented? is it sampled differently? does it reach another instance?';
const CALLER_QUESTIONS = 'is the caller instrumented? is it sampled differently? does it send to another instance?';

/** The page's sentence for one row. */
export function missingSentence(r: Omit<MissingEdgeRow, 'sentence'>): string {
  const counts = MISSING_REASONS.filter((x) => r.reasons[x] > 0).map((x) => `${r.reasons[x]} ${x}`);
  const head = `${r.service}: ${percent(r.share)} of ${r.side} spans never met their ${r.side === 'client' ? 'server' : 'client'} (${counts.join(', ')})`;
  const top = MISSING_REASONS.reduce((a, b) => (r.reasons[b] > r.reasons[a] ? b : a));
  switch (top) {
    case 'store_full':
      return `${head}: the edge store was full; raise processor.service_graphs.max_items.`;
    case 'server_only':
      return `${head}: their parent spans came but are not client spans; processor.service_graphs.infer_edges: parent_child makes these edges.`;
    case 'parent_unknown':
      return `${head}: their parent spans never came: ${CALLER_QUESTIONS}`;
    case 'sampled_out':
      return `${head}: they were sampled (tracestate ot=th:); the other side likely was not.`;
    default:
      return `${head}: ${CLIENT_QUESTIONS}`;
  }
}

export function missingEdges(sg: ServiceGraphsCatalog): MissingEdgeRow[] {
  const acc = new Map<string, Acc>();
  const row = (service: string, side: 'client' | 'server'): Acc => {
    const k = `${side}\u0000${service}`;
    let a = acc.get(k);
    if (!a) {
      a = { service, side, paired: 0, reasons: { client_only: 0, server_only: 0, parent_unknown: 0, sampled_out: 0, store_full: 0 } };
      acc.set(k, a);
    }
    return a;
  };
  each(sg.request, (v, slot, view) => {
    row(sg.labels.client(view, slot), 'client').paired += v;
    row(sg.labels.server(view, slot), 'server').paired += v;
  });
  const count = (f: CounterFamily, reason: LabelReader | null) =>
    each(f, (v, slot, view) => {
      const client = sg.pair.client(view, slot);
      const side = client !== '' ? 'client' : 'server';
      const r = (reason ? reason(view, slot) : 'store_full') as MissingReason;
      if (!MISSING_REASONS.includes(r)) return;
      row(side === 'client' ? client : sg.pair.server(view, slot), side).reasons[r] += v;
    });
  count(sg.unpaired, sg.pair.reason);
  count(sg.dropped, null);
  const rows: MissingEdgeRow[] = [];
  for (const a of acc.values()) {
    const missing = MISSING_REASONS.reduce((n, r) => n + a.reasons[r], 0);
    if (missing <= 0) continue;
    const spans = a.paired + missing;
    const r = { service: a.service, side: a.side, spans, missing, share: missing / spans, reasons: a.reasons };
    rows.push({ ...r, sentence: missingSentence(r) });
  }
  rows.sort((x, y) => y.share - x.share || y.missing - x.missing || (x.service < y.service ? -1 : x.service > y.service ? 1 : 0));
  return rows.slice(0, MAX_ROWS);
}
