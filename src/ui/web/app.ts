// The web page's script (runs in the browser): polls the JSON API while the page is visible and
// draws the service graph (graph.ts), the RED tables (tables.ts), the sidecar's health and the
// SLOs (cards.ts).
import type { GraphResponse, HealthResponse, RedResponse, SlosResponse } from '../json.js';
import { renderHealth, renderSlos } from './cards.js';
import { startCardinality } from './cardinality.js';
import { el, setText } from './dom.js';
import { renderGraph } from './graph.js';
import { state } from './state.js';
import { renderExceptions, renderOperations, renderServices, wireTable } from './tables.js';

const refreshMs = Math.min(Math.max(Number(document.body.dataset.refresh ?? 2000) || 2000, 250), 60_000);

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
        : 'live · totals since start; rates from the next update',
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
  if (state.graph) renderGraph(state.graph, selectService);
  if (state.red) {
    renderServices(state.red.services);
    renderOperations(state.red.operations);
    renderExceptions(state.red.exceptions, state.red.span_metrics);
  }
  el('#clear-service').hidden = state.selected === null;
  setText(el('#ops-title'), state.selected ? `Operations of ${state.selected}` : 'Operations');
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
  const kind = el<HTMLSelectElement>('#op-kind');
  if ([...kind.options].some((o) => o.value === state.opKind)) kind.value = state.opKind;
  else state.opKind = '';
  kind.addEventListener('change', () => {
    state.opKind = kind.value;
    const url = new URL(location.href);
    if (state.opKind) url.searchParams.set('kind', state.opKind);
    else url.searchParams.delete('kind');
    history.replaceState(null, '', url);
    render();
  });
  el('#clear-service').addEventListener('click', () => selectService(null));
  wireTable(el<HTMLTableElement>('#services'), () => state.svcSort, render, selectService);
  wireTable(el<HTMLTableElement>('#operations'), () => state.opSort, render);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) schedule();
    else void poll();
  });
  void poll();
  startCardinality();
}

start();
