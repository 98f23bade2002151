// The web page's script (runs in the browser): polls the JSON API while the page is visible and
// draws the service graph, the RED tables, the sidecar's health and the SLOs.
import type { GraphEdge, GraphNode, GraphResponse, HealthResponse, OperationRow, RedResponse, ServiceRow, SloRow, SlosResponse } from '../json.js';
import { layoutGraph, type Layout, type Placement } from './layout.js';
import {
  errorLevel, formatBudget, formatBytes, formatCount, formatDuration, formatPercent, formatRate, formatSeconds, formatSli, shorten,
} from './format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const NODE_W = 184;
const NODE_H = 50;
const LABEL_H = 28;
const LEVELS = ['none', 'ok', 'low', 'mid', 'high'] as const;

function el<T extends Element = HTMLElement>(selector: string): T {
  const e = document.querySelector(selector);
  if (!e) throw new Error(`missing ${selector}`);
  return e as T;
}

function svg<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

const params = new URLSearchParams(location.search);
const refreshMs = Math.min(Math.max(Number(document.body.dataset.refresh ?? 2000) || 2000, 250), 60_000);

type SortKey = string;
interface Sort {
  key: SortKey;
  desc: boolean;
}

const state = {
  windowS: Number(params.get('window') ?? 60) || 60,
  selected: params.get('service') as string | null,
  paused: false,
  graph: undefined as GraphResponse | undefined,
  red: undefined as RedResponse | undefined,
  health: undefined as HealthResponse | undefined,
  slos: undefined as SlosResponse | undefined,
  topology: '',
  layout: undefined as Layout | undefined,
  columnGap: NODE_W + 84,
  svcSort: { key: 'rate', desc: true } as Sort,
  opSort: { key: 'rate', desc: true } as Sort,
  svcFilter: '',
  opFilter: '',
  timer: undefined as ReturnType<typeof setTimeout> | undefined,
  inFlight: false,
  hover: null as string | null,
};

// ---------------------------------------------------------------------------------------------
// Polling: only while the page is visible and not paused.

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

async function poll(): Promise<void> {
  if (state.inFlight) return;
  state.inFlight = true;
  try {
    const w = `window=${state.windowS}`;
    const svc = state.selected ? `&service=${encodeURIComponent(state.selected)}` : '';
    const [graph, red, health, slos] = await Promise.all([
      getJson<GraphResponse>(`api/graph?${w}`),
      getJson<RedResponse>(`api/red?${w}${svc}`),
      getJson<HealthResponse>(`api/health?${w}`),
      getJson<SlosResponse>(`api/slos?${w}`),
    ]);
    state.graph = graph;
    state.red = red;
    state.health = health;
    state.slos = slos;
    render();
    setStatus(
      'live',
      graph.window_seconds > 0
        ? `live · last ${Math.round(graph.window_seconds)} s · ${new Date(graph.time).toLocaleTimeString()}`
        : 'live · measuring the first interval…',
    );
  } catch (err) {
    setStatus('error', `not reachable: ${(err as Error).message}`);
  } finally {
    state.inFlight = false;
    schedule();
  }
}

function schedule(): void {
  if (state.timer !== undefined) clearTimeout(state.timer);
  state.timer = undefined;
  if (!document.hidden && !state.paused) state.timer = setTimeout(() => void poll(), refreshMs);
}

function setStatus(kind: 'live' | 'error' | 'paused', text: string): void {
  const s = el('#status');
  s.className = `status ${kind}`;
  setText(s, state.paused ? 'paused' : text);
  if (state.paused) s.className = 'status paused';
}

// ---------------------------------------------------------------------------------------------

function render(): void {
  if (state.health) renderHealth(state.health);
  if (state.slos) renderSlos(state.slos);
  if (state.graph) renderGraph(state.graph);
  if (state.red) {
    renderServices(state.red.services);
    renderOperations(state.red.operations);
  }
  el('#clear-service').hidden = state.selected === null;
  setText(el('#ops-title'), state.selected ? `Operations of ${state.selected}` : 'Operations');
}

// ---------------------------------------------------------------------------------------------
// Health

function card(id: string, big: string, sub: string, bad = false): void {
  const c = el(`#${id}`);
  setText(c.querySelector('.big')!, big);
  setText(c.querySelector('.sub')!, sub);
  c.classList.toggle('bad', bad);
}

function renderHealth(h: HealthResponse): void {
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
    card('h-graph', 'off', 'service graphs are not enabled');
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

function renderSlos(r: SlosResponse): void {
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

// ---------------------------------------------------------------------------------------------
// Service graph

interface NodeView {
  g: SVGGElement;
  shape: SVGElement;
  name: SVGTextElement;
  stats: SVGTextElement;
  title: SVGTitleElement;
  type: string;
}
interface EdgeView {
  g: SVGGElement;
  path: SVGPathElement;
  hit: SVGPathElement;
  title: SVGTitleElement;
  label: SVGGElement;
  line1: SVGTSpanElement;
  line2: SVGTSpanElement;
}
const nodeViews = new Map<string, NodeView>();
const edgeViews = new Map<string, EdgeView>();
let layers: { edges: SVGGElement; nodes: SVGGElement; labels: SVGGElement } | undefined;

function edgeId(e: GraphEdge): string {
  return `${e.source}\u0000${e.target}\u0000${e.connection_type}`;
}

function ensureLayers(root: SVGSVGElement) {
  if (layers) return layers;
  const defs = svg('defs');
  for (const lvl of LEVELS) {
    const m = svg('marker', { id: `arrow-${lvl}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse', markerUnits: 'userSpaceOnUse' });
    m.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrow-${lvl}` }));
    defs.append(m);
  }
  layers = { edges: svg('g', { class: 'edges' }), nodes: svg('g', { class: 'nodes' }), labels: svg('g', { class: 'labels' }) };
  root.append(defs, layers.edges, layers.nodes, layers.labels);
  return layers;
}

function nodeShape(type: string): { shape: SVGElement; extra?: SVGElement } {
  const w = NODE_W / 2;
  const h = NODE_H / 2;
  if (type === 'database') {
    const ry = 6;
    const body = svg('path', {
      class: 'shape-main',
      d: `M${-w},${-h + ry} A${w},${ry} 0 0 1 ${w},${-h + ry} L${w},${h - ry} A${w},${ry} 0 0 1 ${-w},${h - ry} Z`,
    });
    const top = svg('path', { class: 'shape-main shape-top', d: `M${-w},${-h + ry} A${w},${ry} 0 0 0 ${w},${-h + ry}`, fill: 'none' });
    return { shape: body, extra: top };
  }
  if (type === 'virtual') return { shape: svg('rect', { class: 'shape-main', x: -w, y: -h, width: NODE_W, height: NODE_H, rx: h }) };
  return { shape: svg('rect', { class: 'shape-main', x: -w, y: -h, width: NODE_W, height: NODE_H, rx: 8 }) };
}

function nodeView(n: GraphNode, parent: SVGGElement): NodeView {
  let v = nodeViews.get(n.id);
  if (v && v.type !== n.type) {
    v.g.remove();
    nodeViews.delete(n.id);
    v = undefined;
  }
  if (v) return v;
  const g = svg('g', { class: `node ${n.type}`, tabindex: 0, role: 'button', 'data-id': n.id });
  const { shape, extra } = nodeShape(n.type);
  const title = svg('title');
  const name = svg('text', { class: 'name', y: -4 });
  const stats = svg('text', { class: 'stats', y: 13 });
  g.append(title, shape, ...(extra ? [extra] : []), name, stats);
  g.addEventListener('click', () => selectService(n.type === 'service' ? n.id : null));
  g.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      selectService(n.type === 'service' ? n.id : null);
    }
  });
  g.addEventListener('mouseenter', () => focusNode(n.id));
  g.addEventListener('mouseleave', () => focusNode(null));
  g.addEventListener('focus', () => focusNode(n.id));
  g.addEventListener('blur', () => focusNode(null));
  parent.append(g);
  v = { g, shape, name, stats, title, type: n.type };
  nodeViews.set(n.id, v);
  return v;
}

function edgeView(id: string, layer: { edges: SVGGElement; labels: SVGGElement }): EdgeView {
  let v = edgeViews.get(id);
  if (v) return v;
  const g = svg('g', { class: 'edge' });
  const title = svg('title');
  const path = svg('path');
  const hit = svg('path', { class: 'hit' });
  g.append(title, path, hit);
  const label = svg('g', { class: 'label' });
  const text = svg('text');
  const line1 = svg('tspan', { x: 0, dy: '-0.2em' });
  const line2 = svg('tspan', { x: 0, dy: '1.2em' });
  text.append(line1, line2);
  label.append(text);
  layer.edges.append(g);
  layer.labels.append(label);
  v = { g, path, hit, title, label, line1, line2 };
  edgeViews.set(id, v);
  return v;
}

function focusNode(id: string | null): void {
  state.hover = id;
  applyFocus();
}

/** Dims everything but the hovered (or selected) node and its edges. */
function applyFocus(): void {
  const root = el<SVGSVGElement>('#graph svg');
  const id = state.hover ?? state.selected;
  const g = state.graph;
  if (!id || !g || !nodeViews.has(id)) {
    root.classList.remove('focused');
    return;
  }
  root.classList.add('focused');
  const near = new Set<string>([id]);
  for (const e of g.edges) {
    const on = e.source === id || e.target === id;
    const v = edgeViews.get(edgeId(e));
    v?.g.classList.toggle('near', on);
    v?.label.classList.toggle('near', on);
    if (on) {
      near.add(e.source);
      near.add(e.target);
    }
  }
  for (const [nid, v] of nodeViews) v.g.classList.toggle('near', near.has(nid));
}

interface Point {
  x: number;
  y: number;
}

function bezier(p0: Point, p1: Point, p2: Point, p3: Point, t: number): Point {
  const u = 1 - t;
  const a = u * u * u;
  const b = 3 * u * u * t;
  const c = 3 * u * t * t;
  const d = t * t * t;
  return { x: a * p0.x + b * p1.x + c * p2.x + d * p3.x, y: a * p0.y + b * p1.y + c * p2.y + d * p3.y };
}

/** The edge's curve, and where its label may go, best first (not on a node in a column it crosses). */
function edgeGeometry(s: Point, t: Point, columnGap: number): { d: string; spots: Point[] } {
  if (t.x > s.x + 1) {
    const p0 = { x: s.x + NODE_W / 2, y: s.y };
    const p3 = { x: t.x - NODE_W / 2 - 6, y: t.y };
    const dx = Math.max(30, (p3.x - p0.x) / 2);
    const p1 = { x: p0.x + dx, y: p0.y };
    const p2 = { x: p3.x - dx, y: p3.y };
    // First choice: the middle of the gap between columns that the edge crosses halfway.
    const span = Math.round((t.x - s.x) / columnGap);
    const gapX = s.x + (Math.floor((span - 1) / 2) + 0.5) * columnGap;
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < 30; i++) {
      const mid = (lo + hi) / 2;
      if (bezier(p0, p1, p2, p3, mid).x < gapX) lo = mid;
      else hi = mid;
    }
    const spots = [lo, 0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78].map((u) => bezier(p0, p1, p2, p3, u));
    return { d: `M${p0.x},${p0.y} C${p1.x},${p1.y} ${p2.x},${p2.y} ${p3.x},${p3.y}`, spots };
  }
  // Backwards or within a column: loop below both nodes.
  const p0 = { x: s.x, y: s.y + NODE_H / 2 };
  const p3 = { x: t.x, y: t.y + NODE_H / 2 + 6 };
  const drop = 70 + Math.abs(s.y - t.y) * 0.15;
  const p1 = { x: s.x + (t.x === s.x ? NODE_W * 0.6 : 0), y: Math.max(s.y, t.y) + drop };
  const p2 = { x: t.x + (t.x === s.x ? NODE_W * 0.6 : 0), y: Math.max(s.y, t.y) + drop };
  const spots = [0.5, 0.4, 0.6].map((u) => bezier(p0, p1, p2, p3, u));
  return { d: `M${p0.x},${p0.y} C${p1.x},${p1.y} ${p2.x},${p2.y} ${p3.x},${p3.y}`, spots };
}

function nodeStats(n: GraphNode): string {
  const parts = [formatRate(n.rate)];
  if (n.error_ratio !== null) parts.push(`${formatPercent(n.error_ratio)} err`);
  if (n.p95 !== null) parts.push(`p95 ${formatSeconds(n.p95)}`);
  return parts.join(' · ');
}

const TYPE_NAMES: Record<string, string> = { service: 'service', database: 'database', virtual: 'uninstrumented peer' };
const CONNECTION_NAMES: Record<string, string> = { '': '', virtual_node: ' (to or from an uninstrumented peer)', messaging_system: ' (messaging)', database: ' (database)' };

function renderGraph(g: GraphResponse): void {
  const root = el<SVGSVGElement>('#graph svg');
  const layer = ensureLayers(root);
  const empty = el('#graph-empty');
  const hint = el('#graph-hint');
  setText(hint, !g.service_graphs ? 'Service graphs are off: enable the service-graphs processor to see the edges.' : '');
  if (g.nodes.length === 0) {
    empty.hidden = false;
    setText(empty, 'No services yet: send traces to the OTLP receiver (or start with --demo).');
  } else {
    empty.hidden = true;
  }

  // Layout, only when the topology changed.
  const ids = g.nodes.map((n) => n.id);
  const pairs = g.edges.map((e) => [e.source, e.target] as const);
  const topology = `${ids.join('\u0001')}\u0002${pairs.map((p) => p.join('\u0001')).join('\u0002')}`;
  if (topology !== state.topology) {
    const previous = state.layout ? new Map<string, Placement>([...state.layout.nodes].map(([id, p]) => [id, { rank: p.rank, order: p.order }])) : undefined;
    const options = { previous, rowGap: NODE_H + 38, marginX: NODE_W / 2 + 12, marginY: NODE_H / 2 + 16 };
    // Room for the edge labels between the columns, unless that makes the graph too wide.
    state.columnGap = NODE_W + 140;
    state.layout = layoutGraph(ids, pairs, { ...options, columnGap: state.columnGap });
    if (state.layout.ranks > 5) {
      state.columnGap = NODE_W + 84;
      state.layout = layoutGraph(ids, pairs, { ...options, columnGap: state.columnGap });
    }
    state.topology = topology;
    const { width, height, nodes } = state.layout;
    // Room below for the loops of edges that go backwards.
    const back = pairs.some(([a, b]) => (nodes.get(b)?.rank ?? 0) <= (nodes.get(a)?.rank ?? 0));
    const h = height + (back ? 80 : 0);
    root.setAttribute('viewBox', `0 0 ${Math.max(width, 1)} ${Math.max(h, 1)}`);
    root.setAttribute('width', String(width));
    root.setAttribute('height', String(h));
    root.style.maxWidth = '100%';
    root.style.height = 'auto';
    root.style.minWidth = `${Math.min(width, Math.max(640, width * 0.7))}px`;
  }
  const layout = state.layout!;
  const columnGap = state.columnGap;

  // Nodes.
  const seenNodes = new Set<string>();
  for (const n of g.nodes) {
    const p = layout.nodes.get(n.id);
    if (!p) continue;
    seenNodes.add(n.id);
    const v = nodeView(n, layer.nodes);
    const lvl = errorLevel(n.error_ratio);
    v.g.setAttribute('class', `node ${n.type} lvl-${lvl}${state.selected === n.id ? ' selected' : ''}`);
    v.g.setAttribute('transform', `translate(${p.x},${p.y})`);
    setText(v.name, shorten(n.name, 24));
    setText(v.stats, nodeStats(n));
    const desc = `${n.name} (${TYPE_NAMES[n.type] ?? n.type}): ${formatRate(n.rate, ' requests/s')}, ${formatPercent(n.error_ratio)} errors, p50 ${formatSeconds(n.p50)}, p95 ${formatSeconds(n.p95)}, p99 ${formatSeconds(n.p99)}`;
    setText(v.title, desc);
    v.g.setAttribute('aria-label', desc);
  }
  for (const [id, v] of nodeViews) {
    if (!seenNodes.has(id)) {
      v.g.remove();
      nodeViews.delete(id);
    }
  }

  // Edges: width by rate (square root, relative to the busiest), colour by error ratio.
  const names = new Map(g.nodes.map((n) => [n.id, n.name]));
  const maxRate = Math.max(0, ...g.edges.map((e) => e.rate ?? 0));
  const seenEdges = new Set<string>();
  const labels: { v: EdgeView; spots: Point[]; rate: number; width: number }[] = [];
  for (const e of g.edges) {
    const s = layout.nodes.get(e.source);
    const t = layout.nodes.get(e.target);
    if (!s || !t) continue;
    const id = edgeId(e);
    seenEdges.add(id);
    const v = edgeView(id, layer);
    const lvl = errorLevel(e.error_ratio);
    v.g.setAttribute('class', `edge lvl-${lvl} conn-${e.connection_type || 'none'}`);
    v.g.dataset.source = e.source;
    v.g.dataset.target = e.target;
    v.label.dataset.source = e.source;
    v.label.dataset.target = e.target;
    const { d, spots } = edgeGeometry(s, t, columnGap);
    v.path.setAttribute('d', d);
    v.hit.setAttribute('d', d);
    const width = maxRate > 0 && e.rate ? 1.25 + 6 * Math.sqrt(e.rate / maxRate) : 1;
    v.path.setAttribute('stroke-width', width.toFixed(2));
    v.path.setAttribute('marker-end', `url(#arrow-${lvl})`);
    const text1 = `${formatRate(e.rate)} · ${formatPercent(e.error_ratio)}`;
    const text2 = e.p50 === null ? '' : `p50 ${formatSeconds(e.p50, true)} · p95 ${formatSeconds(e.p95, true)}`;
    setText(v.title, `${names.get(e.source) ?? e.source} → ${names.get(e.target) ?? e.target}${CONNECTION_NAMES[e.connection_type] ?? ''}: ${formatRate(e.rate, ' requests/s')}, ${formatPercent(e.error_ratio)} errors, p50 ${formatSeconds(e.p50)}, p95 ${formatSeconds(e.p95)}, p99 ${formatSeconds(e.p99)} (${e.latency} spans)`);
    setText(v.line1, text1);
    setText(v.line2, text2);
    v.line1.setAttribute('class', `lvl-${lvl}`);
    const chars = Math.max(text1.length, text2.length);
    labels.push({ v, spots, rate: e.rate ?? 0, width: chars * 5.9 + 8 });
  }
  for (const [id, v] of edgeViews) {
    if (!seenEdges.has(id)) {
      v.g.remove();
      v.label.remove();
      edgeViews.delete(id);
    }
  }

  // Labels: busiest first; one that would cover a node or another label is left out (its
  // numbers stay in the edge's tooltip and show when its node is hovered or selected).
  const boxes: { x0: number; y0: number; x1: number; y1: number }[] = [];
  for (const p of layout.nodes.values()) boxes.push({ x0: p.x - NODE_W / 2, y0: p.y - NODE_H / 2, x1: p.x + NODE_W / 2, y1: p.y + NODE_H / 2 });
  labels.sort((a, b) => b.rate - a.rate);
  for (const l of labels) {
    let placed = false;
    spots: for (const at of l.spots) {
      for (const dy of [0, -10, 10]) {
        const y = at.y + dy;
        const box = { x0: at.x - l.width / 2, y0: y - LABEL_H / 2, x1: at.x + l.width / 2, y1: y + LABEL_H / 2 };
        if (boxes.some((b) => box.x0 < b.x1 && box.x1 > b.x0 && box.y0 < b.y1 && box.y1 > b.y0)) continue;
        boxes.push(box);
        l.v.label.setAttribute('transform', `translate(${at.x.toFixed(1)},${y.toFixed(1)})`);
        placed = true;
        break spots;
      }
    }
    if (!placed) l.v.label.setAttribute('transform', `translate(${l.spots[0]!.x.toFixed(1)},${l.spots[0]!.y.toFixed(1)})`);
    // A crowded label shows only while its edge's node is hovered or selected.
    l.v.label.classList.toggle('crowded', !placed);
  }
  applyFocus();
}

// ---------------------------------------------------------------------------------------------
// Tables: sortable (header buttons), filterable, and navigable with the arrow keys.

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

function cell(tr: HTMLTableRowElement, i: number, text: string, cls: string): void {
  let td = tr.children[i] as HTMLTableCellElement | undefined;
  if (!td) {
    td = document.createElement('td');
    tr.append(td);
  }
  if (td.className !== cls) td.className = cls;
  setText(td, text);
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
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = columns;
    td.className = 'empty';
    td.textContent = emptyText;
    tr.append(td);
    tbody.replaceChildren(tr);
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

function renderServices(all: ServiceRow[]): void {
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
      cell(tr, 0, r.service, 'text name');
      cell(tr, 1, formatRate(r.rate), 'num');
      cell(tr, 2, formatPercent(r.error_ratio), `err lvl-${errorLevel(r.error_ratio)}`);
      cell(tr, 3, formatSeconds(r.p50), 'num');
      cell(tr, 4, formatSeconds(r.p95), 'num');
      cell(tr, 5, formatSeconds(r.p99), 'num');
      cell(tr, 6, String(r.operations), 'num');
    },
    state.red && !state.red.span_metrics ? 'Span metrics are off.' : f ? 'No service matches the filter.' : 'No spans yet.',
    7,
  );
}

const KIND_SHORT: Record<string, string> = {
  SPAN_KIND_SERVER: 'server', SPAN_KIND_CLIENT: 'client', SPAN_KIND_INTERNAL: 'internal',
  SPAN_KIND_PRODUCER: 'producer', SPAN_KIND_CONSUMER: 'consumer', SPAN_KIND_UNSPECIFIED: 'unspecified',
};

function renderOperations(all: OperationRow[]): void {
  const table = el<HTMLTableElement>('#operations');
  const f = state.opFilter.toLowerCase();
  const match = (r: OperationRow) =>
    f === '' || r.span_name.toLowerCase().includes(f) || r.service.toLowerCase().includes(f) || (KIND_SHORT[r.span_kind] ?? r.span_kind).includes(f);
  const rows = sortRows(all.filter(match), state.opSort, (r) => `${r.service}\u0000${r.span_name}\u0000${r.span_kind}`);
  updateSortHeaders(table, state.opSort);
  fillBody(
    table.tBodies[0]!,
    rows.map((r) => `${r.service}\u0000${r.span_name}\u0000${r.span_kind}`),
    (tr, i) => {
      const r = rows[i]!;
      cell(tr, 0, r.service, 'text');
      cell(tr, 1, r.span_name, 'text name');
      cell(tr, 2, KIND_SHORT[r.span_kind] ?? r.span_kind, 'text kind');
      cell(tr, 3, formatRate(r.rate), 'num');
      cell(tr, 4, formatPercent(r.error_ratio), `err lvl-${errorLevel(r.error_ratio)}`);
      cell(tr, 5, formatSeconds(r.p50), 'num');
      cell(tr, 6, formatSeconds(r.p95), 'num');
      cell(tr, 7, formatSeconds(r.p99), 'num');
    },
    f ? 'No operation matches the filter.' : 'No operations yet.',
    8,
  );
}

function wireTable(table: HTMLTableElement, sort: () => Sort, onEnter?: (key: string) => void): void {
  for (const th of table.querySelectorAll<HTMLTableCellElement>('thead th')) {
    th.querySelector('button')!.addEventListener('click', () => {
      const s = sort();
      const key = th.dataset.key!;
      if (s.key === key) s.desc = !s.desc;
      else {
        s.key = key;
        // Text columns start A→Z, numbers largest first.
        s.desc = !th.classList.contains('text');
      }
      render();
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
        if (onEnter) {
          ev.preventDefault();
          onEnter(tr.dataset.key);
        }
        return;
      case 'Escape':
        if (onEnter && state.selected) {
          ev.preventDefault();
          selectService(null);
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
  if (onEnter) {
    tbody.addEventListener('click', (ev) => {
      const tr = (ev.target as HTMLElement).closest('tr');
      if (tr?.dataset.key) onEnter(tr.dataset.key);
    });
  }
}

function selectService(service: string | null): void {
  state.selected = service === state.selected ? null : service;
  const url = new URL(location.href);
  if (state.selected) url.searchParams.set('service', state.selected);
  else url.searchParams.delete('service');
  history.replaceState(null, '', url);
  render();
  void poll();
}

// ---------------------------------------------------------------------------------------------

function start(): void {
  const windowSelect = el<HTMLSelectElement>('#window');
  if (![...windowSelect.options].some((o) => o.value === String(state.windowS))) {
    const o = document.createElement('option');
    o.value = String(state.windowS);
    o.textContent = `${state.windowS} s`;
    windowSelect.append(o);
  }
  windowSelect.value = String(state.windowS);
  windowSelect.addEventListener('change', () => {
    state.windowS = Number(windowSelect.value);
    void poll();
  });
  const pause = el<HTMLButtonElement>('#pause');
  pause.addEventListener('click', () => {
    state.paused = !state.paused;
    pause.setAttribute('aria-pressed', String(state.paused));
    setText(pause, state.paused ? 'Resume' : 'Pause');
    if (state.paused) {
      schedule();
      setStatus('paused', 'paused');
    } else void poll();
  });
  el<HTMLInputElement>('#svc-filter').addEventListener('input', (ev) => {
    state.svcFilter = (ev.target as HTMLInputElement).value;
    render();
  });
  el<HTMLInputElement>('#op-filter').addEventListener('input', (ev) => {
    state.opFilter = (ev.target as HTMLInputElement).value;
    render();
  });
  el('#clear-service').addEventListener('click', () => selectService(null));
  wireTable(el<HTMLTableElement>('#services'), () => state.svcSort, (key) => selectService(key));
  wireTable(el<HTMLTableElement>('#operations'), () => state.opSort);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) schedule();
    else void poll();
  });
  void poll();
}

start();
