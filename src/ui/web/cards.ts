// The web page's health cards and SLO table (runs in the browser).
import type { HealthResponse, SloRow, SlosResponse } from '../json.js';
import { el, setText } from './dom.js';
import { formatBudget, formatBytes, formatCount, formatDuration, formatRate, formatSeconds, formatSli } from './format.js';

// ---------------------------------------------------------------------------------------------
// Health

function card(id: string, big: string, sub: string, bad = false): void {
  const c = el(`#${id}`);
  setText(c.querySelector('.big')!, big);
  setText(c.querySelector('.sub')!, sub);
  c.classList.toggle('bad', bad);
}

export function renderHealth(h: HealthResponse): void {
  card('h-spans', formatRate(h.spans.received_per_second, ' spans/s'), `${formatCount(h.spans.accepted_total)} accepted since start`);
  // Spans turned away now; since start, the requests by reason (some are refused before their spans are counted).
  const rejectedNow = h.rejected.reduce((n, r) => n + (r.spans_per_second ?? 0) + (r.requests_per_second ?? 0), 0);
  const spansNow = h.rejected.reduce((n, r) => n + (r.spans_per_second ?? 0), 0);
  const reasons = h.rejected.filter((r) => r.spans_total > 0 || r.requests_total > 0).map((r) => `${r.reason.replace(/_/g, ' ')} ${formatCount(r.requests_total)}`);
  card(
    'h-rejected',
    formatRate(h.window_seconds > 0 ? spansNow : null, ' spans/s'),
    reasons.length > 0 ? `requests since start: ${reasons.join(', ')}` : 'none since start',
    rejectedNow > 0,
  );
  const { active, limit, limited_total } = h.series;
  const share = limit > 0 ? active / limit : 0;
  card(
    'h-series',
    limit > 0 ? `${formatCount(active)} / ${formatCount(limit)}` : formatCount(active),
    limited_total > 0 ? `${formatCount(limited_total)} label sets in metric_overflow` : limit > 0 ? `${Math.round(share * 100)}% of the limit` : `no limit · WASM ${formatBytes(h.wasm_memory_bytes)}`,
    limited_total > 0,
  );
  const bar = el('#h-series .bar');
  (bar.firstElementChild as HTMLElement).style.width = `${Math.min(100, share * 100)}%`;
  bar.classList.toggle('warn', share >= 0.8 && limited_total === 0);
  bar.classList.toggle('full', limited_total > 0);
  bar.hidden = limit === 0;
  const sg = h.service_graphs;
  if (sg) {
    card(
      'h-graph',
      sg.max_items !== null ? `${formatCount(sg.store_size)} / ${formatCount(sg.max_items)}` : formatCount(sg.store_size),
      `waiting spans · ${formatCount(sg.unpaired_total)} unpaired · ${formatCount(sg.dropped_total)} dropped`,
      sg.dropped_total > 0,
    );
  } else {
    card('h-graph', 'off', 'add service-graphs to processors to turn service graphs on');
  }
  // The self-time store (processor.span_metrics.self_time), beside the edge store; no card when off.
  const st = h.self_time;
  el('#h-self').hidden = st === null;
  if (st) {
    card(
      'h-self',
      `${formatCount(st.store_size)} / ${formatCount(st.max_items)}`,
      `waiting spans · ${formatCount(st.orphans_total)} orphaned · ${formatCount(st.dropped_total)} dropped`,
      st.dropped_total > 0,
    );
  }
  const box = el('#warnings');
  const key = h.warnings.join('\n');
  if (box.dataset.key !== key) {
    box.dataset.key = key;
    box.replaceChildren();
    if (h.warnings.length > 0) {
      const ul = document.createElement('ul');
      for (const w of h.warnings) {
        const li = document.createElement('li');
        li.textContent = w;
        ul.append(li);
      }
      box.append(ul);
    }
    box.hidden = h.warnings.length === 0;
  }
  renderMissingEdges(sg?.missing_edges ?? []);
}

/** Why edges are missing: one sentence per service and side (src/ui/missing.ts writes them). */
function renderMissingEdges(rows: readonly { sentence: string }[]): void {
  const box = el('#missing-edges');
  const key = rows.map((r) => r.sentence).join('\n');
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.querySelector('ul')!.replaceChildren(...rows.map((r) => {
    const li = document.createElement('li');
    li.textContent = r.sentence;
    return li;
  }));
  box.hidden = rows.length === 0;
}

// ---------------------------------------------------------------------------------------------
// SLOs: one row each, in the order configured; the section stays hidden without any.

interface SloView {
  tr: HTMLTableRowElement;
  sli: HTMLTableCellElement;
  budget: HTMLTableCellElement;
  pct: HTMLSpanElement;
  flag: HTMLSpanElement;
  bar: HTMLDivElement;
  burn: HTMLTableCellElement;
  spans: HTMLTableCellElement;
}
let sloViews: SloView[] = [];
let sloKey = '';

function sloSelector(s: SloRow): string {
  const name = s.span_name !== '' ? s.span_name : s.span_name_regex !== '' ? `/${s.span_name_regex}/` : 'any span';
  const kind = s.span_kind.toLowerCase().replace(/^span_kind_/, '');
  return [s.service || 'any service', name, ...(kind ? [`${kind} spans`] : [])].join(' · ');
}

function sloTarget(s: SloRow): string {
  return s.kind === 'latency' ? `${s.objective}% ≤ ${formatSeconds(s.threshold_seconds, true)}` : `${s.objective}% availability`;
}

function td(tr: HTMLTableRowElement, cls: string, ...lines: [string, string][]): HTMLTableCellElement {
  const c = document.createElement('td');
  c.className = cls;
  lines.forEach(([text, lineCls], i) => {
    const span = document.createElement('span');
    span.className = lineCls;
    span.textContent = text;
    // A space between the parts, so that they are not read (or copied) as one word.
    if (i > 0) c.append(' ');
    c.append(span);
  });
  tr.append(c);
  return c;
}

export function renderSlos(r: SlosResponse): void {
  const section = el('#slos');
  section.hidden = r.slos.length === 0;
  if (r.slos.length === 0) return;
  const since = new Date(r.since);
  const sinceText = since.toDateString() === new Date(r.time).toDateString() ? since.toLocaleTimeString() : since.toLocaleString();
  setText(
    el('#slos-hint'),
    `Counted since spanmeter started (${sinceText}), not over each SLO's own window; burn rate ${r.window_seconds > 0 ? `over the last ${Math.round(r.window_seconds)} s` : 'once the first interval is measured'}.`,
  );
  // Rows are built when the SLOs change (a restart with another config) and updated in place.
  const key = JSON.stringify(r.slos.map((s) => [s.name, s.description, sloSelector(s), sloTarget(s), s.window_seconds]));
  const tbody = el<HTMLTableElement>('#slo-table').tBodies[0]!;
  if (key !== sloKey) {
    sloKey = key;
    sloViews = r.slos.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.key = s.name;
      const selector = sloSelector(s);
      td(tr, 'text name', [s.name, 'slo-name'], [s.description || selector, 'line']).title = `Spans: ${selector}`;
      td(tr, 'text', [sloTarget(s), 'target'], [`${formatDuration(s.window_seconds)} window`, 'line']);
      const sli = td(tr, 'num sli');
      const budget = td(tr, 'budget', ['', 'pct'], ['', 'flag']);
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.setAttribute('aria-hidden', 'true');
      bar.append(document.createElement('span'));
      budget.append(bar);
      const burn = td(tr, 'num burn');
      const spans = td(tr, 'num spans');
      return { tr, sli, budget, pct: budget.querySelector('.pct')!, flag: budget.querySelector('.flag')!, bar, burn, spans };
    });
    tbody.replaceChildren(...sloViews.map((v) => v.tr));
  }
  r.slos.forEach((s, i) => {
    const v = sloViews[i]!;
    const remaining = s.budget_remaining;
    const over = remaining !== null && remaining < 0;
    setText(v.sli, formatSli(s.sli, s.objective));
    v.sli.classList.toggle('miss', s.sli !== null && s.sli < s.objective / 100);
    setText(v.pct, formatBudget(remaining));
    setText(v.flag, remaining === null ? 'no spans yet' : over ? 'overspent' : 'left');
    v.budget.classList.toggle('over', over);
    (v.bar.firstElementChild as HTMLElement).style.width = `${remaining === null ? 0 : Math.min(100, Math.max(0, remaining * 100))}%`;
    v.bar.classList.toggle('warn', remaining !== null && !over && remaining < 0.25);
    v.bar.classList.toggle('over', over);
    setText(v.burn, s.burn_rate === null ? '–' : formatRate(s.burn_rate, '×'));
    setText(v.spans, `${formatCount(s.total - s.good)} / ${formatCount(s.total)}`);
  });
}
