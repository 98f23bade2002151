// The web page's routes on the metrics server: GET / (for browsers) and /ui → the page,
// /ui/NAME.js (src/ui/web/NAME.ts, from src/ui/assets.ts) and /ui/style.css → its assets, and the JSON API:
// /api/graph, /api/red?service=, /api/health, /api/slos (each takes ?window=, seconds or a duration
// such as 5m), and /api/cardinality (no window: src/ui/cardinality.ts).
import { parseDuration } from '../config/duration.js';
import type { UiApi } from './api.js';
import { PAGE_CSS, pageHtml } from './page.js';

export interface UiAnswer {
  status: number;
  contentType: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

export interface UiRoutesOptions {
  /** How often the page asks the API again, ms; default 2000. */
  refreshMs?: number;
  /** GET /api/cardinality (src/ui/cardinality.ts); absent: 404. */
  cardinality?: () => unknown;
}

const PAGE_HEADERS = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};
const JSON_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

/** Parses ?window=: seconds ("90") or a duration ("5m"); undefined when absent. */
export function parseWindow(text: string | null): number | undefined {
  if (text === null || text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const ms = parseDuration(text);
  if (!(ms > 0)) throw new Error('must be positive');
  return ms;
}

function json(status: number, value: unknown): UiAnswer {
  return { status, contentType: 'application/json; charset=utf-8', body: `${JSON.stringify(value)}\n`, headers: JSON_HEADERS };
}

export function uiRoutes(api: UiApi, options: UiRoutesOptions = {}): (path: string, query: URLSearchParams) => Promise<UiAnswer | undefined> {
  const html = Buffer.from(pageHtml(options.refreshMs ?? 2000, api.traceUrl), 'utf8');
  const css = Buffer.from(PAGE_CSS, 'utf8');
  // The page's scripts (a generated module of strings) load on the first request for one.
  let scripts: Promise<Map<string, Buffer>> | undefined;
  const loadScripts = (): Promise<Map<string, Buffer>> =>
    (scripts ??= import('./assets.js').then(({ SCRIPTS }) => new Map(Object.entries(SCRIPTS).map(([name, text]) => [name, Buffer.from(text, 'utf8')]))));
  return async (path, query) => {
    if (path === '/' || path === '/ui') return { status: 200, contentType: 'text/html; charset=utf-8', body: html, headers: PAGE_HEADERS };
    if (path === '/ui/') return { status: 301, contentType: 'text/plain; charset=utf-8', body: 'moved to /ui\n', headers: { Location: '../ui' } };
    if (path === '/ui/style.css') return { status: 200, contentType: 'text/css; charset=utf-8', body: css, headers: PAGE_HEADERS };
    if (path.startsWith('/ui/')) {
      const script = (await loadScripts()).get(path.slice(4));
      return script && { status: 200, contentType: 'text/javascript; charset=utf-8', body: script, headers: PAGE_HEADERS };
    }
    if (!path.startsWith('/api/')) return undefined;
    let windowMs: number | undefined;
    try {
      windowMs = parseWindow(query.get('window'));
    } catch (err) {
      return json(400, { error: `window: ${(err as Error).message}; give seconds (60) or a duration (5m)` });
    }
    switch (path) {
      case '/api/graph':
        return json(200, await api.graph({ windowMs }));
      case '/api/red':
        return json(200, await api.red({ windowMs, service: query.get('service') ?? undefined }));
      case '/api/health':
        return json(200, await api.health({ windowMs }));
      case '/api/slos':
        return json(200, await api.slos({ windowMs }));
      case '/api/cardinality':
        if (options.cardinality) return json(200, options.cardinality());
      // falls through
      default:
        return json(404, { error: 'not found: /api/graph, /api/red?service=NAME, /api/health, /api/slos, /api/cardinality' });
    }
  };
}
