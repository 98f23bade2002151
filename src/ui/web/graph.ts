// The web page's service graph (runs in the browser): an SVG of the nodes in columns
// (layout.ts), edges drawn by rate and coloured by error ratio, labels placed where they cover
// nothing; updated in place so that what is drawn does not move while the topology stays.
import type { GraphEdge, GraphNode, GraphResponse } from '../json.js';
import { el, setLink, setText, svg, traceHref } from './dom.js';
import { errorLevel, formatPercent, formatQuantile, formatRate, formatRateOrTotal, formatSeconds, shorten } from './format.js';
import { layoutGraph, type Layout, type Placement } from './layout.js';
import { state } from './state.js';

const NODE_W = 184;
const NODE_H = 50;
const LABEL_H = 28;
/** The smallest the graph is drawn to fit the page's width (at 0.6, names are 7.5 px). */
const MIN_SCALE = 0.6;
const LEVELS = ['none', 'ok', 'low', 'mid', 'high'] as const;

/** The graph's own state: the topology drawn, its layout, and the node under the pointer. */
const view = {
  topology: '',
  layout: undefined as Layout | undefined,
  columnGap: NODE_W + 84,
  hover: null as string | null,
};

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
  failed: SVGAElement;
  slowest: SVGAElement;
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

function nodeView(n: GraphNode, parent: SVGGElement, onSelect: (id: string | null) => void): NodeView {
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
  g.addEventListener('click', () => onSelect(n.type === 'service' ? n.id : null));
  g.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      onSelect(n.type === 'service' ? n.id : null);
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
  // Links (ui.trace_url): the rate and errors to the latest failed trace, the latency to the slowest.
  const failed = svg('a', { class: 'failed' });
  const slowest = svg('a', { class: 'slowest' });
  failed.append(line1);
  slowest.append(line2);
  text.append(failed, slowest);
  label.append(text);
  layer.edges.append(g);
  layer.labels.append(label);
  v = { g, path, hit, title, label, line1, line2, failed, slowest };
  edgeViews.set(id, v);
  return v;
}

function focusNode(id: string | null): void {
  view.hover = id;
  applyFocus();
}

/** Dims everything but the hovered (or selected) node and its edges. */
function applyFocus(): void {
  const root = el<SVGSVGElement>('#graph svg');
  const id = view.hover ?? state.selected;
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

/** The bucket range of the histogram a node's (or edge's) quantiles come from. */
function nodeRange(g: GraphResponse, n: GraphNode) {
  return n.basis === 'spans' || n.basis === 'all_spans' ? g.buckets.span_metrics : g.buckets.service_graphs;
}
function edgeRange(g: GraphResponse, e: GraphEdge) {
  return e.latency === 'server_spans' ? g.buckets.span_metrics : g.buckets.service_graphs;
}

function nodeStats(n: GraphNode, range: ReturnType<typeof nodeRange>): string {
  const parts = [formatRateOrTotal(n)];
  if (n.error_ratio !== null) parts.push(`${formatPercent(n.error_ratio)} err`);
  if (n.p95 !== null) parts.push(`p95 ${formatQuantile(n.p95, range)}`);
  return parts.join(' · ');
}

const LATENCY_NAMES: Record<GraphEdge['latency'], string> = {
  server: 'server spans',
  client: 'client spans',
  server_spans: "the server service's own spans, from every caller: the edge's histogram starts too high",
};

const TYPE_NAMES: Record<string, string> = { service: 'service', database: 'database', virtual: 'uninstrumented peer' };
const CONNECTION_NAMES: Record<string, string> = { '': '', virtual_node: ' (to or from an uninstrumented peer)', messaging_system: ' (messaging)', database: ' (database)', parent_child: ' (inferred from a parent/child link)' };

/** Draws the graph; a click (or Enter) on a service node calls onSelect with its id, on another node with null. */
export function renderGraph(g: GraphResponse, onSelect: (id: string | null) => void): void {
  const root = el<SVGSVGElement>('#graph svg');
  const layer = ensureLayers(root);
  const empty = el('#graph-empty');
  const hint = el('#graph-hint');
  setText(
    hint,
    !g.service_graphs
      ? 'Service graphs are off: add service-graphs to processors (processors: [span-metrics, service-graphs] in the config, or --processors span-metrics,service-graphs) to see the edges.'
      : !g.span_metrics ? 'Span metrics are off: add span-metrics to processors for the services\' own numbers.' : '',
  );
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
  if (topology !== view.topology) {
    const previous = view.layout ? new Map<string, Placement>([...view.layout.nodes].map(([id, p]) => [id, { rank: p.rank, order: p.order }])) : undefined;
    const options = { previous, rowGap: NODE_H + 38, marginX: NODE_W / 2 + 12, marginY: NODE_H / 2 + 16 };
    // Room for the edge labels between the columns, unless that makes the graph too wide.
    view.columnGap = NODE_W + 140;
    view.layout = layoutGraph(ids, pairs, { ...options, columnGap: view.columnGap });
    if (view.layout.ranks > 5) {
      view.columnGap = NODE_W + 84;
      view.layout = layoutGraph(ids, pairs, { ...options, columnGap: view.columnGap });
    }
    view.topology = topology;
    const { width, height, nodes } = view.layout;
    // Room below for the loops of edges that go backwards.
    const back = pairs.some(([a, b]) => (nodes.get(b)?.rank ?? 0) <= (nodes.get(a)?.rank ?? 0));
    const h = height + (back ? 80 : 0);
    root.setAttribute('viewBox', `0 0 ${Math.max(width, 1)} ${Math.max(h, 1)}`);
    root.setAttribute('width', String(width));
    root.setAttribute('height', String(h));
    // Fitted to the width, but never below MIN_SCALE of its size (the text would be unreadable):
    // past that it scrolls, and says so.
    root.style.minWidth = `${Math.round(width * MIN_SCALE)}px`;
  }
  const box = el('#graph');
  const scrolls = box.scrollWidth > box.clientWidth + 1;
  box.classList.toggle('scrolls', scrolls);
  el('#graph-more').hidden = !scrolls;
  const layout = view.layout!;
  const columnGap = view.columnGap;

  // Nodes.
  const seenNodes = new Set<string>();
  for (const n of g.nodes) {
    const p = layout.nodes.get(n.id);
    if (!p) continue;
    seenNodes.add(n.id);
    const v = nodeView(n, layer.nodes, onSelect);
    const lvl = errorLevel(n.error_ratio);
    v.g.setAttribute('class', `node ${n.type} lvl-${lvl}${state.selected === n.id ? ' selected' : ''}`);
    v.g.setAttribute('transform', `translate(${p.x},${p.y})`);
    setText(v.name, shorten(n.name, 24));
    const range = nodeRange(g, n);
    setText(v.stats, nodeStats(n, range));
    const desc = `${n.name} (${TYPE_NAMES[n.type] ?? n.type}): ${formatRateOrTotal(n, ' requests/s')}, ${formatPercent(n.error_ratio)} errors, p50 ${formatQuantile(n.p50, range)}, p95 ${formatQuantile(n.p95, range)}, p99 ${formatQuantile(n.p99, range)}`;
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
  // (While there is no rate yet, the totals since start weigh the edges instead.)
  const weight = (e: GraphEdge) => e.rate ?? e.total ?? 0;
  const maxRate = Math.max(0, ...g.edges.map(weight));
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
    const width = maxRate > 0 && weight(e) > 0 ? 1.25 + 6 * Math.sqrt(weight(e) / maxRate) : 1;
    v.path.setAttribute('stroke-width', width.toFixed(2));
    v.path.setAttribute('marker-end', `url(#arrow-${lvl})`);
    const range = edgeRange(g, e);
    const text1 = `${formatRateOrTotal(e)} · ${formatPercent(e.error_ratio)}`;
    // The latency line is the link to the slowest trace: it stays (with dashes) while the window
    // has no spans but the slowest trace is still held, else the link would have nothing to click.
    const slowest = traceHref(e.slowest_trace_id);
    const text2 = e.p50 === null && slowest === '' ? '' : `p50 ${formatQuantile(e.p50, range, true)} · p95 ${formatQuantile(e.p95, range, true)}`;
    setText(v.title, `${names.get(e.source) ?? e.source} → ${names.get(e.target) ?? e.target}${CONNECTION_NAMES[e.connection_type] ?? ''}: ${formatRateOrTotal(e, ' requests/s')}, ${formatPercent(e.error_ratio)} errors, p50 ${formatQuantile(e.p50, range)}, p95 ${formatQuantile(e.p95, range)}, p99 ${formatQuantile(e.p99, range)} (from ${LATENCY_NAMES[e.latency]})`);
    setText(v.line1, text1);
    setText(v.line2, text2);
    const edgeName = `${names.get(e.source) ?? e.source} → ${names.get(e.target) ?? e.target}`;
    setLink(v.failed, traceHref(e.failed_trace_id), `Open the latest failed trace of ${edgeName}`);
    setLink(v.slowest, slowest, `Open the slowest trace of ${edgeName} (${formatSeconds(e.slowest_seconds)})`);
    v.line1.setAttribute('class', `lvl-${lvl}`);
    // The label's drawn width (shown to be measured), with room for its halo; an estimate
    // where the browser cannot measure (not laid out yet).
    v.label.classList.remove('crowded');
    const measured = v.label.getBBox().width;
    const chars = Math.max(text1.length, text2.length);
    labels.push({ v, spots, rate: e.rate ?? e.total ?? 0, width: (measured > 0 ? measured : chars * 6.2) + 8 });
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
