// The web page's RED tables, services and operations (runs in the browser): sortable (header
// buttons), filterable, and navigable with the arrow keys.
import type { OperationRow, RedResponse, ServiceRow } from '../json.js';
import { el, emptyRow, setLink, setText, traceHref } from './dom.js';
import { errorLevel, formatCount, formatPercent, formatQuantile, formatRate, formatRateOrTotal, formatSeconds } from './format.js';
import { renderSpark } from './spark.js';
import { state, type Sort } from './state.js';

type Row = ServiceRow | OperationRow;

function compare(key: string, desc: boolean) {
  return (a: Row, b: Row): number => {
    const x = (a as unknown as Record<string, unknown>)[key];
    const y = (b as unknown as Record<string, unknown>)[key];
    // Unknown values sort last either way.
    if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
    if (y === null || y === undefined) return -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return desc ? -c : c;
  };
}

function sortRows<T extends Row>(rows: T[], sort: Sort, tiebreak: (r: T) => string): T[] {
  const c = compare(sort.key, sort.desc);
  return [...rows].sort((a, b) => c(a, b) || tiebreak(a).localeCompare(tiebreak(b)));
}

function updateSortHeaders(table: HTMLTableElement, sort: Sort): void {
  for (const th of table.querySelectorAll<HTMLTableCellElement>('thead th')) {
    if (th.dataset.key === sort.key) th.setAttribute('aria-sort', sort.desc ? 'descending' : 'ascending');
    else th.removeAttribute('aria-sort');
  }
}

function cell(tr: HTMLTableRowElement, i: number, text: string | null, cls: string): HTMLTableCellElement {
  let td = tr.children[i] as HTMLTableCellElement | undefined;
  if (!td) {
    td = document.createElement('td');
    tr.append(td);
  }
  if (td.className !== cls) td.className = cls;
  if (text !== null) setText(td, text);
  return td;
}

/** A trace link (ui.trace_url) or, without one, the trace id to copy; nothing without an exemplar. */
function traceCell(td: HTMLTableCellElement, traceId: string | null): void {
  const template = document.body.dataset.traceUrl ?? '';
  const key = `${template}\u0000${traceId ?? ''}`;
  if (td.dataset.trace === key) return;
  td.dataset.trace = key;
  td.replaceChildren();
  if (!traceId) return;
  if (template !== '') {
    const a = document.createElement('a');
    a.href = traceHref(traceId);
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = traceId.slice(0, 8);
    a.title = `Open trace ${traceId} (the latest exemplar of this operation)`;
    td.append(a);
  } else {
    const code = document.createElement('code');
    code.textContent = traceId.slice(0, 8);
    code.title = `Trace ${traceId}, the latest exemplar of this operation (set ui.trace_url to link to your trace view)`;
    td.append(code);
  }
}

/**
 * A cell whose text links to a trace (ui.trace_url; `traceId` null or no template: plain text):
 * the p99 to the operation's (or service's) slowest trace, the error ratio to its latest failed one.
 */
function linkedCell(tr: HTMLTableRowElement, i: number, text: string, cls: string, traceId: string | null, title: string): void {
  const td = cell(tr, i, null, cls);
  const href = traceHref(traceId);
  let a = td.firstElementChild;
  if (href === '') {
    if (a) td.replaceChildren();
    setText(td, text);
    return;
  }
  if (!(a instanceof HTMLAnchorElement)) td.replaceChildren((a = document.createElement('a')));
  setText(a, text);
  setLink(a, href, title);
}

/** Puts rows (keyed) into the tbody in order, reusing row elements so focus stays where it was. */
function fillBody(tbody: HTMLTableSectionElement, keys: string[], fill: (tr: HTMLTableRowElement, i: number) => void, emptyText: string, columns: number): void {
  const active = document.activeElement;
  const activeKey = active instanceof HTMLTableRowElement && active.parentElement === tbody ? active.dataset.key : undefined;
  const existing = new Map<string, HTMLTableRowElement>();
  for (const tr of tbody.querySelectorAll<HTMLTableRowElement>('tr[data-key]')) existing.set(tr.dataset.key!, tr);
  const rows: HTMLTableRowElement[] = [];
  keys.forEach((key, i) => {
    let tr = existing.get(key);
    if (!tr) {
      tr = document.createElement('tr');
      tr.dataset.key = key;
    }
    existing.delete(key);
    fill(tr, i);
    rows.push(tr);
  });
  if (rows.length === 0) {
    tbody.replaceChildren(emptyRow(columns, emptyText));
    return;
  }
  // Only move what is out of place (moving the focused row would blur it).
  rows.forEach((tr, i) => {
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
  });
  while (tbody.children.length > rows.length) tbody.lastElementChild!.remove();
  // Roving tabindex: the focused (or first) row is the one Tab reaches.
  const focusKey = activeKey ?? tbody.dataset.focus ?? rows[0]!.dataset.key;
  let any = false;
  for (const tr of rows) {
    const on = tr.dataset.key === focusKey;
    tr.tabIndex = on ? 0 : -1;
    any ||= on;
  }
  if (!any) rows[0]!.tabIndex = 0;
  if (activeKey && document.activeElement !== active) {
    const again = rows.find((r) => r.dataset.key === activeKey);
    again?.focus({ preventScroll: true });
  }
}

export function renderServices(all: ServiceRow[]): void {
  const table = el<HTMLTableElement>('#services');
  const f = state.svcFilter.toLowerCase();
  const rows = sortRows(all.filter((r) => f === '' || r.service.toLowerCase().includes(f)), state.svcSort, (r) => r.service);
  updateSortHeaders(table, state.svcSort);
  fillBody(
    table.tBodies[0]!,
    rows.map((r) => r.service),
    (tr, i) => {
      const r = rows[i]!;
      tr.classList.toggle('selected', r.service === state.selected);
      tr.setAttribute('aria-selected', String(r.service === state.selected));
      tr.title = r.basis === 'entry' ? 'server and consumer spans' : 'all spans (this service has no server or consumer spans)';
      const b = state.red?.buckets.span_metrics;
      cell(tr, 0, r.service, 'text name');
      cell(tr, 1, formatRateOrTotal(r), 'num');
      cell(tr, 2, formatPercent(r.error_ratio), `err lvl-${errorLevel(r.error_ratio)}`);
      cell(tr, 3, formatQuantile(r.p50, b), 'num');
      cell(tr, 4, formatQuantile(r.p95, b), 'num');
      linkedCell(tr, 5, formatQuantile(r.p99, b), 'num', r.slowest_trace_id ?? null, `Open the slowest trace of ${r.service} (${formatSeconds(r.slowest_seconds)})`);
      cell(tr, 6, String(r.operations), 'num');
      renderSpark(cell(tr, 7, null, 'trend'), r.history);
    },
    state.red && !state.red.span_metrics ? SPAN_METRICS_OFF : f ? 'No service matches the filter.' : 'No spans yet.',
    8,
  );
}

/** What the page says where span metrics would be. */
export const SPAN_METRICS_OFF = 'Span metrics are off: add span-metrics to processors (--processors span-metrics,service-graphs).';

export const KIND_SHORT: Record<string, string> = {
  SPAN_KIND_SERVER: 'server', SPAN_KIND_CLIENT: 'client', SPAN_KIND_INTERNAL: 'internal',
  SPAN_KIND_PRODUCER: 'producer', SPAN_KIND_CONSUMER: 'consumer', SPAN_KIND_UNSPECIFIED: 'unspecified',
};

export function renderOperations(all: OperationRow[]): void {
  const table = el<HTMLTableElement>('#operations');
  const f = state.opFilter.toLowerCase();
  const kind = state.opKind;
  const match = (r: OperationRow) =>
    (kind === '' || r.span_kind === kind) &&
    (f === '' || r.span_name.toLowerCase().includes(f) || r.service.toLowerCase().includes(f) || (KIND_SHORT[r.span_kind] ?? r.span_kind).includes(f));
  const rows = sortRows(all.filter(match), state.opSort, (r) => `${r.service}\u0000${r.span_name}\u0000${r.span_kind}`);
  updateSortHeaders(table, state.opSort);
  // Self time's column only while processor.span_metrics.self_time is on.
  const selfRange = state.red?.self_time ?? null;
  el('#op-self').hidden = !selfRange;
  fillBody(
    table.tBodies[0]!,
    rows.map((r) => `${r.service}\u0000${r.span_name}\u0000${r.span_kind}`),
    (tr, i) => {
      const r = rows[i]!;
      cell(tr, 0, r.service, 'text');
      cell(tr, 1, r.span_name, 'text name');
      cell(tr, 2, KIND_SHORT[r.span_kind] ?? r.span_kind, 'text kind');
      const b = state.red?.buckets.span_metrics;
      cell(tr, 3, formatRateOrTotal(r), 'num');
      linkedCell(tr, 4, formatPercent(r.error_ratio), `err lvl-${errorLevel(r.error_ratio)}`, r.failed_trace_id, `Open the latest failed trace of ${r.span_name}`);
      cell(tr, 5, formatQuantile(r.p50, b), 'num');
      cell(tr, 6, formatQuantile(r.p95, b), 'num');
      linkedCell(tr, 7, formatQuantile(r.p99, b), 'num', r.slowest_trace_id, `Open the slowest trace of ${r.span_name} (${formatSeconds(r.slowest_seconds)})`);
      cell(tr, 8, selfTimeText(r.self_time, selfRange), 'num self').hidden = !selfRange;
      traceCell(cell(tr, 9, null, 'trace'), r.trace_id);
    },
    state.red && !state.red.span_metrics ? SPAN_METRICS_OFF : f || kind ? 'No operation matches the filter.' : 'No operations yet.',
    10,
  );
}

/** Self time's p50 · p95, and the share of spans counted apart when there are any: "2 ms · 9 ms · 4% apart". */
function selfTimeText(s: OperationRow['self_time'], range: RedResponse['self_time']): string {
  if (!s) return '';
  const apart = s.unknown_ratio !== null && s.unknown_ratio > 0 ? ` · ${formatPercent(s.unknown_ratio)} apart` : '';
  return `${formatQuantile(s.p50, range)} · ${formatQuantile(s.p95, range)}${apart}`;
}

/** The exceptions table, or what to set to get it. */
export function renderExceptions(ex: RedResponse['exceptions'], spanMetrics: boolean): void {
  const hint = !spanMetrics
    ? SPAN_METRICS_OFF
    : ex === null
      ? 'Exception counts come from span events: set processor.span_metrics.events to {enabled: true, dimensions: [exception.type]}.'
      : ex.typed ? '' : 'Add exception.type to processor.span_metrics.events.dimensions to tell the types apart.';
  setText(el('#exc-hint'), hint);
  el('#exc-wrap').hidden = ex === null;
  if (ex === null) return;
  const rows = ex.rows;
  fillBody(
    el<HTMLTableElement>('#exceptions').tBodies[0]!,
    rows.map((r) => `${r.service}\u0000${r.span_name}\u0000${r.exception_type}`),
    (tr, i) => {
      const r = rows[i]!;
      cell(tr, 0, r.service, 'text');
      cell(tr, 1, r.span_name, 'text name');
      cell(tr, 2, r.exception_type || '(no type)', 'text exc-type');
      cell(tr, 3, r.rate === null ? '…' : formatRate(r.rate), 'num');
      cell(tr, 4, formatCount(r.count), 'num');
    },
    'No exceptions in the window.',
    5,
  );
}

/**
 * Wires a table's header buttons (sort, then `rerender`) and keys; with `select`, Enter, Space or a
 * click selects a row's key and Escape clears the selection (select(null)).
 */
export function wireTable(table: HTMLTableElement, sort: () => Sort, rerender: () => void, select?: (key: string | null) => void): void {
  for (const th of table.querySelectorAll<HTMLTableCellElement>('thead th[data-key]')) {
    th.querySelector('button')!.addEventListener('click', () => {
      const s = sort();
      const key = th.dataset.key!;
      if (s.key === key) s.desc = !s.desc;
      else {
        s.key = key;
        // Text columns start A→Z, numbers largest first.
        s.desc = !th.classList.contains('text');
      }
      rerender();
    });
  }
  const tbody = table.tBodies[0]!;
  tbody.addEventListener('keydown', (ev) => {
    const tr = (ev.target as HTMLElement).closest('tr');
    if (!tr || !tr.dataset.key) return;
    const rows = [...tbody.querySelectorAll<HTMLTableRowElement>('tr[data-key]')];
    const i = rows.indexOf(tr);
    let next = -1;
    switch (ev.key) {
      case 'ArrowDown': next = Math.min(rows.length - 1, i + 1); break;
      case 'ArrowUp': next = Math.max(0, i - 1); break;
      case 'Home': next = 0; break;
      case 'End': next = rows.length - 1; break;
      case 'PageDown': next = Math.min(rows.length - 1, i + 10); break;
      case 'PageUp': next = Math.max(0, i - 10); break;
      case 'Enter':
      case ' ':
        // On a trace link (a p99) the key follows the link.
        if (select && !(ev.target as HTMLElement).closest('a')) {
          ev.preventDefault();
          select(tr.dataset.key);
        }
        return;
      case 'Escape':
        if (select && state.selected) {
          ev.preventDefault();
          select(null);
        }
        return;
      default:
        return;
    }
    ev.preventDefault();
    const target = rows[next]!;
    for (const r of rows) r.tabIndex = r === target ? 0 : -1;
    tbody.dataset.focus = target.dataset.key;
    target.focus();
  });
  tbody.addEventListener('focusin', (ev) => {
    const tr = (ev.target as HTMLElement).closest('tr');
    if (tr?.dataset.key) tbody.dataset.focus = tr.dataset.key;
  });
  if (select) {
    tbody.addEventListener('click', (ev) => {
      if ((ev.target as HTMLElement).closest('a')) return; // a trace link opens the trace, not the service
      const tr = (ev.target as HTMLElement).closest('tr');
      if (tr?.dataset.key) select(tr.dataset.key);
    });
  }
}
