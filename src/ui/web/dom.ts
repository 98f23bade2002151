// Small DOM helpers for the web page's modules (runs in the browser; no imports).

export const SVG_NS = 'http://www.w3.org/2000/svg';

export function el<T extends Element = HTMLElement>(selector: string): T {
  const e = document.querySelector(selector);
  if (!e) throw new Error(`missing ${selector}`);
  return e as T;
}

export function svg<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

export function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

/** A table's one row when it has none: `text` across all `columns`. */
export function emptyRow(columns: number, text: string): HTMLTableRowElement {
  const tr = document.createElement('tr');
  const td = document.createElement('td');
  td.colSpan = columns;
  td.className = 'empty';
  td.textContent = text;
  tr.append(td);
  return tr;
}

/** The trace view's URL of a trace (ui.trace_url with {trace_id} replaced), or '' without a template or a trace. */
export function traceHref(traceId: string | null | undefined): string {
  const template = document.body.dataset.traceUrl ?? '';
  return template === '' || !traceId ? '' : template.split('{trace_id}').join(encodeURIComponent(traceId));
}

/** Makes `a` (HTML or SVG) a link to `href` opening in a new tab, titled; no link when `href` is ''. */
export function setLink(a: Element, href: string, title: string): void {
  if (href === '') {
    a.removeAttribute('href');
    a.removeAttribute('title');
    return;
  }
  if (a.getAttribute('href') !== href) a.setAttribute('href', href);
  a.setAttribute('target', '_blank');
  a.setAttribute('rel', 'noopener noreferrer');
  if (a.getAttribute('title') !== title) a.setAttribute('title', title);
}
