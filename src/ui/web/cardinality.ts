// The page's cardinality section (runs in the browser): GET api/cardinality every 10 s while the
// page is visible: what the series limit and the per-label caps hold back and the fix, the
// attribute keys spans carry with their distinct values and verdicts, and the span names that
// span_name_normalization would merge (src/ui/cardinality.ts builds the JSON).
import type { CardinalityResponse } from '../cardinality.js';
import { el, emptyRow, setText } from './dom.js';

const EVERY_MS = 10_000;

function rows(tbody: HTMLTableSectionElement, cells: string[][], empty: string, columns: number): void {
  const out = cells.map((r) => {
    const tr = document.createElement('tr');
    r.forEach((text, i) => {
      const td = document.createElement('td');
      td.className = i === 0 || /[^\d.,]/.test(text) ? 'text' : 'num';
      td.textContent = text;
      tr.append(td);
    });
    return tr;
  });
  if (out.length === 0) out.push(emptyRow(columns, empty));
  tbody.replaceChildren(...out);
}

export function renderCardinality(r: CardinalityResponse): void {
  const l = r.limits;
  const held = l.fixes.length > 0;
  const summary = held
    ? `Series held back: ${l.active_series} active of ${l.max_active_series || 'no limit'}, the traffic would make about ${l.series_demand_estimate}.`
    : `${l.active_series} active series${l.max_active_series ? ` of ${l.max_active_series}` : ''}; nothing held back.`;
  setText(el('#card-summary'), summary);
  const fixes = el('#card-fixes');
  fixes.replaceChildren(...l.fixes.map((f) => {
    const li = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = f;
    li.append('Fix: ', code);
    return li;
  }));
  fixes.hidden = l.fixes.length === 0;
  rows(el<HTMLTableElement>('#card-labels').tBodies[0]!, l.labels.map((x) => [x.label, x.attribute, String(x.estimate), String(x.limited), x.example ?? '']),
    'Label estimates start with registry.max_cardinality_per_label, or once the series reach half their limit.', 5);
  rows(el<HTMLTableElement>('#card-keys').tBodies[0]!, r.preview.keys.slice(0, 30).map((k) => [
    k.service, k.key + (k.dimension ? ' (dimension)' : ''), String(k.estimate), String(k.series_if_dimension), k.verdict, k.examples.join(', '),
  ]), 'No attributes sampled yet.', 6);
  setText(el('#card-keys-hint'), `Sampled ${r.preview.sampled_spans} spans (${r.preview.sampling}).`);
  const n = r.span_names;
  setText(el('#card-names-hint'), `span_name_normalization: ${n.span_name_normalization}. ${n.label_sets} label sets now, ${n.label_sets_after} with names normalised.`);
  rows(el<HTMLTableElement>('#card-names').tBodies[0]!, n.merges.slice(0, 20).map((m) => [m.name, String(m.names), m.examples.join(', ')]),
    'No span names would merge.', 3);
}

export function startCardinality(): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    timer = undefined;
    if (!document.hidden) {
      try {
        const res = await fetch('api/cardinality', { headers: { Accept: 'application/json' }, cache: 'no-store' });
        if (res.ok) renderCardinality((await res.json()) as CardinalityResponse);
      } catch {
        // the status line of the other requests says when the sidecar is unreachable
      }
    }
    timer = setTimeout(() => void tick(), EVERY_MS);
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && timer !== undefined) {
      clearTimeout(timer);
      void tick();
    }
  });
  void tick();
}
