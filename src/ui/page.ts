// The web page's HTML and CSS. The script is src/ui/web/app.ts and the modules it imports,
// compiled and served from the package (see routes.ts): no CDN, nothing fetched from elsewhere.

/** Text for an HTML attribute value in double quotes. */
function attr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The page; `traceUrl` (ui.trace_url, '' = none) turns exemplars into links. */
export function pageHtml(refreshMs: number, traceUrl = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>spanmeter</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="ui/style.css">
<script type="module" src="ui/app.js"></script>
</head>
<body data-refresh="${refreshMs}" data-trace-url="${attr(traceUrl)}">
<a class="skip" href="#services">Skip to the tables</a>
<header class="top">
  <h1>spanmeter</h1>
  <span id="status" class="status" role="status" aria-live="polite">connecting…</span>
  <span class="spacer"></span>
  <label class="window"><span class="wide">Window</span>
    <select id="window" aria-label="Window">
      <option value="30">30 s</option>
      <option value="60" selected>1 min</option>
      <option value="120">2 min</option>
      <option value="300">5 min</option>
    </select>
  </label>
  <button id="pause" type="button" aria-pressed="false">Pause</button>
  <a href="metrics">/metrics</a>
</header>
<main>
  <section id="health" class="health" aria-label="Sidecar health">
    <div class="card" id="h-spans"><h2>Spans in</h2><p class="big">…</p><p class="sub"></p></div>
    <div class="card" id="h-rejected"><h2>Rejected</h2><p class="big">…</p><p class="sub"></p></div>
    <div class="card" id="h-series"><h2>Active series</h2><p class="big">…</p><p class="sub"></p><div class="bar" aria-hidden="true"><span></span></div></div>
    <div class="card" id="h-graph"><h2>Edge store</h2><p class="big">…</p><p class="sub"></p></div>
    <div class="card" id="h-self" hidden><h2>Self-time store</h2><p class="big">…</p><p class="sub"></p></div>
  </section>
  <div id="warnings" class="warnings" role="alert" hidden></div>
  <div id="missing-edges" class="missing" hidden><h2>Why edges are missing (since start)</h2><ul></ul></div>
  <section id="slos" class="panel" aria-labelledby="slos-title" hidden>
    <div class="panel-head">
      <h2 id="slos-title">Service-level objectives</h2>
      <p class="hint" id="slos-hint"></p>
    </div>
    <div class="table-wrap"><table id="slo-table" class="red slo">
      <caption class="sr">Each SLO's target, its SLI and the share of its error budget left, from the spans since spanmeter started; the burn rate over the window chosen above (1× spends the budget at the pace the objective allows).</caption>
      <thead><tr>
        <th scope="col" class="text">SLO</th>
        <th scope="col" class="text">Target</th>
        <th scope="col">SLI</th>
        <th scope="col">Error budget</th>
        <th scope="col">Burn rate</th>
        <th scope="col">Bad / all spans</th>
      </tr></thead>
      <tbody></tbody>
    </table></div>
  </section>
  <section class="panel graph-panel" aria-labelledby="graph-title">
    <div class="panel-head">
      <h2 id="graph-title">Service graph</h2>
      <p class="hint" id="graph-hint"></p>
      <ul class="legend" aria-label="Legend">
        <li><span class="sw lvl-ok"></span>no errors</li>
        <li><span class="sw lvl-low"></span>&lt; 1%</li>
        <li><span class="sw lvl-mid"></span>&lt; 5%</li>
        <li><span class="sw lvl-high"></span>≥ 5% errors</li>
        <li><span class="shape service"></span>service</li>
        <li><span class="shape database"></span>database</li>
        <li><span class="shape virtual"></span>uninstrumented</li>
        <li><span class="shape messaging"></span>messaging</li>
      </ul>
    </div>
    <div id="graph" class="graph"><svg role="group" aria-label="Service graph: services and the requests between them"></svg>
      <p class="empty" id="graph-empty" hidden></p></div>
    <p class="graph-more" id="graph-more" hidden>The graph is wider than the page: scroll sideways for the rest →</p>
  </section>
  <section class="panel" aria-labelledby="services-title">
    <div class="panel-head">
      <h2 id="services-title">Services</h2>
      <input id="svc-filter" type="search" placeholder="Filter services" aria-label="Filter services">
    </div>
    <div class="table-wrap"><table id="services" class="red">
      <caption class="sr">Rate, errors and duration of each service's server and consumer spans. Arrow keys move between rows; Enter shows a service's operations.</caption>
      <thead><tr>
        <th scope="col" data-key="service" class="text"><button type="button">Service</button></th>
        <th scope="col" data-key="rate"><button type="button">Rate</button></th>
        <th scope="col" data-key="error_ratio"><button type="button">Errors</button></th>
        <th scope="col" data-key="p50"><button type="button">p50</button></th>
        <th scope="col" data-key="p95"><button type="button">p95</button></th>
        <th scope="col" data-key="p99"><button type="button">p99</button></th>
        <th scope="col" data-key="operations"><button type="button">Operations</button></th>
        <th scope="col" class="trend" title="Rate (top), errors (middle) and p95 (bottom) per 5 s of the window">Trend</th>
      </tr></thead>
      <tbody></tbody>
    </table></div>
  </section>
  <section class="panel" aria-labelledby="ops-title">
    <div class="panel-head">
      <h2 id="ops-title">Operations</h2>
      <button id="clear-service" type="button" hidden>Show all services</button>
      <label class="kind">Kind
        <select id="op-kind">
          <option value="">all</option>
          <option value="SPAN_KIND_SERVER">server</option>
          <option value="SPAN_KIND_CLIENT">client</option>
          <option value="SPAN_KIND_INTERNAL">internal</option>
          <option value="SPAN_KIND_PRODUCER">producer</option>
          <option value="SPAN_KIND_CONSUMER">consumer</option>
          <option value="SPAN_KIND_UNSPECIFIED">unspecified</option>
        </select>
      </label>
      <input id="op-filter" type="search" placeholder="Filter operations" aria-label="Filter operations">
    </div>
    <div class="table-wrap"><table id="operations" class="red">
      <caption class="sr">Rate, errors and duration of each operation (service, span name and kind).</caption>
      <thead><tr>
        <th scope="col" data-key="service" class="text"><button type="button">Service</button></th>
        <th scope="col" data-key="span_name" class="text"><button type="button">Operation</button></th>
        <th scope="col" data-key="span_kind" class="text"><button type="button">Kind</button></th>
        <th scope="col" data-key="rate"><button type="button">Rate</button></th>
        <th scope="col" data-key="error_ratio"><button type="button">Errors</button></th>
        <th scope="col" data-key="p50"><button type="button">p50</button></th>
        <th scope="col" data-key="p95"><button type="button">p95</button></th>
        <th scope="col" data-key="p99"><button type="button">p99</button></th>
        <th scope="col" id="op-self" title="processor.span_metrics.self_time: p50 · p95 of each span's duration less the time its children cover, for the spans decided in the window (they lag the latency by wait); and the share of spans counted apart, whose children could not all be kept" hidden>Self p50 · p95</th>
        <th scope="col" class="text" title="The trace of the latest span this operation kept as an exemplar (with ui.trace_url, the p99 links the slowest trace, the error ratio the latest failed one)">Trace</th>
      </tr></thead>
      <tbody></tbody>
    </table></div>
  </section>
  <section class="panel" aria-labelledby="exc-title">
    <div class="panel-head">
      <h2 id="exc-title">Exceptions</h2>
      <p class="hint" id="exc-hint"></p>
    </div>
    <div class="table-wrap" id="exc-wrap"><table id="exceptions" class="red">
      <caption class="sr">Exception events by operation and type over the window, most first.</caption>
      <thead><tr>
        <th scope="col" class="text">Service</th>
        <th scope="col" class="text">Operation</th>
        <th scope="col" class="text">Type</th>
        <th scope="col">Rate</th>
        <th scope="col">Count</th>
      </tr></thead>
      <tbody></tbody>
    </table></div>
  </section>
  <section class="panel" aria-labelledby="card-title">
    <div class="panel-head">
      <h2 id="card-title">Cardinality</h2>
      <p class="hint" id="card-summary"></p>
    </div>
    <ul id="card-fixes" class="fixes" hidden></ul>
    <div class="table-wrap"><table id="card-labels" class="red">
      <caption class="sr">Span-metrics labels by distinct values over stale_duration.</caption>
      <thead><tr><th scope="col" class="text">Label</th><th scope="col" class="text">From</th><th scope="col">Values</th><th scope="col">Limited</th><th scope="col" class="text">Example held back</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <p class="hint" id="card-keys-hint"></p>
    <div class="table-wrap"><table id="card-keys" class="red">
      <caption class="sr">Attribute keys per service: what each would cost as a dimension.</caption>
      <thead><tr><th scope="col" class="text">Service</th><th scope="col" class="text">Attribute key</th><th scope="col">Values</th><th scope="col">Series as dimension</th><th scope="col" class="text">Verdict</th><th scope="col" class="text">Examples</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <p class="hint" id="card-names-hint"></p>
    <div class="table-wrap"><table id="card-names" class="red">
      <caption class="sr">Span names that normalisation would merge.</caption>
      <thead><tr><th scope="col" class="text">Becomes</th><th scope="col">Names</th><th scope="col" class="text">Examples</th></tr></thead>
      <tbody></tbody>
    </table></div>
  </section>
</main>
<footer>Rates and quantiles over the window shown above, from the same counters and histograms as <a href="metrics">/metrics</a>; the page asks again every ${Math.round(refreshMs / 100) / 10} s while it is visible. JSON: <a href="api/graph">/api/graph</a>, <a href="api/red">/api/red</a>, <a href="api/health">/api/health</a>, <a href="api/slos">/api/slos</a>, <a href="api/cardinality">/api/cardinality</a>.</footer>
</body>
</html>
`;
}

export const PAGE_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f4f6f9; --panel: #ffffff; --text: #18202b; --muted: #566172; --border: #d3d9e2;
  --accent: #2557c7; --focus: #1d4ed8; --hover: #eef2f8; --selected: #dde7fb;
  --lvl-none: #9aa4b2; --lvl-ok: #5b7895; --lvl-low: #a97f00; --lvl-mid: #c85a12; --lvl-high: #cc2b2b;
  --node-fill: #ffffff; --db-fill: #eef3f8; --virtual-fill: #f4f6f9; --halo: #ffffff;
  --warn-bg: #fff4d6; --warn-border: #e0b040; --warn-text: #5c4300;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f141b; --panel: #171e27; --text: #e3e9f1; --muted: #9aa7b8; --border: #2c3746;
    --accent: #7aa7ff; --focus: #8fb4ff; --hover: #1f2935; --selected: #23344d;
    --lvl-none: #5a6677; --lvl-ok: #8ba6c4; --lvl-low: #e1b73f; --lvl-mid: #f39250; --lvl-high: #ff6e69;
    --node-fill: #1b2430; --db-fill: #1d2a38; --virtual-fill: #141a22; --halo: #171e27;
    --warn-bg: #3a2d0b; --warn-border: #9c7a1c; --warn-text: #f7deA0;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--text); }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
a { color: var(--accent); }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 8px; top: 8px; background: var(--panel); padding: 4px 8px; z-index: 10; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.top { display: flex; align-items: center; flex-wrap: wrap; gap: 6px 14px; padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--border); position: sticky; top: 0; z-index: 5; }
header.top h1 { font-size: 18px; margin: 0; letter-spacing: .02em; }
.spacer { flex: 1; }
.status { font-size: 13px; color: var(--muted); display: inline-flex; align-items: center; gap: 6px; }
.status::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--lvl-none); }
.status.live::before { background: #2e9d5b; }
.status.error::before { background: var(--lvl-high); }
.status.paused::before { background: var(--lvl-low); }
select, button, input { font: inherit; color: inherit; background: var(--panel); border: 1px solid var(--border); border-radius: 6px; padding: 4px 8px; }
button { cursor: pointer; }
button:hover { background: var(--hover); }
label.window, label.kind { display: inline-flex; gap: 6px; align-items: center; color: var(--muted); }
main { padding: 16px 20px; display: grid; gap: 16px; }
.health { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 10px 14px; }
.card h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 2px; font-weight: 600; }
.card .big { font-size: 22px; font-weight: 600; margin: 0; font-variant-numeric: tabular-nums; }
.card .sub { margin: 2px 0 0; color: var(--muted); font-size: 13px; min-height: 1.4em; }
.card.bad .big { color: var(--lvl-high); }
.bar { height: 6px; background: var(--hover); border-radius: 3px; margin-top: 6px; overflow: hidden; }
.bar span { display: block; height: 100%; width: 0; background: var(--lvl-ok); }
.bar.warn span { background: var(--lvl-mid); }
.bar.full span { background: var(--lvl-high); }
.warnings { background: var(--warn-bg); border: 1px solid var(--warn-border); color: var(--warn-text); border-radius: 8px; padding: 8px 14px; }
.warnings ul { margin: 0; padding-left: 18px; }
.missing { border: 1px solid var(--warn-border); border-radius: 8px; padding: 8px 14px; }
.missing h2 { font-size: 13px; margin: 0 0 4px; }
.missing ul { margin: 0; padding-left: 18px; }
.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 12px 14px; min-width: 0; }
.panel-head { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; margin-bottom: 8px; }
.panel-head h2 { font-size: 16px; margin: 0; }
.panel-head input { margin-left: auto; min-width: 220px; }
.hint { color: var(--muted); margin: 0; font-size: 13px; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 0 auto; padding: 0; font-size: 12px; color: var(--muted); }
.legend li { display: inline-flex; align-items: center; gap: 5px; }
.sw { width: 18px; height: 4px; border-radius: 2px; display: inline-block; }
.sw.lvl-ok { background: var(--lvl-ok); } .sw.lvl-low { background: var(--lvl-low); }
.sw.lvl-mid { background: var(--lvl-mid); } .sw.lvl-high { background: var(--lvl-high); }
.shape { display: inline-block; width: 18px; height: 12px; border: 1.5px solid var(--muted); }
.shape.service { border-radius: 3px; background: var(--node-fill); }
.shape.database { border-radius: 9px / 4px; background: var(--db-fill); }
.shape.virtual { border-style: dashed; border-radius: 6px; }
.shape.messaging { border: none; border-top: 2px dashed var(--muted); height: 0; }
.graph { overflow: auto; position: relative; min-height: 120px; }
.graph svg { display: block; margin: 0 auto; max-width: 100%; height: auto; }
.graph.scrolls { box-shadow: inset -14px 0 10px -10px var(--border); }
.graph-more { color: var(--muted); font-size: 12px; margin: 4px 0 0; text-align: right; }
.graph .empty { color: var(--muted); text-align: center; padding: 30px; margin: 0; }
.edge path { fill: none; stroke: var(--lvl-none); transition: stroke-width .4s, stroke .4s, opacity .3s; }
.edge.lvl-ok path { stroke: var(--lvl-ok); } .edge.lvl-low path { stroke: var(--lvl-low); }
.edge.lvl-mid path { stroke: var(--lvl-mid); } .edge.lvl-high path { stroke: var(--lvl-high); }
.edge.conn-messaging_system path { stroke-dasharray: 7 4; }
.edge.conn-virtual_node path { stroke-dasharray: 2 3; }
.edge .hit { stroke: transparent !important; stroke-width: 12px; stroke-dasharray: none !important; }
.arrow-none { fill: var(--lvl-none); } .arrow-ok { fill: var(--lvl-ok); } .arrow-low { fill: var(--lvl-low); }
.arrow-mid { fill: var(--lvl-mid); } .arrow-high { fill: var(--lvl-high); }
.node { cursor: pointer; transition: opacity .3s; }
.node .shape-main { fill: var(--node-fill); stroke: var(--lvl-none); stroke-width: 1.5px; }
.node.lvl-ok .shape-main { stroke: var(--lvl-ok); } .node.lvl-low .shape-main { stroke: var(--lvl-low); }
.node.lvl-mid .shape-main { stroke: var(--lvl-mid); } .node.lvl-high .shape-main { stroke: var(--lvl-high); stroke-width: 2.5px; }
.node.database .shape-main, .node.database .shape-top { fill: var(--db-fill); }
.node.database .shape-top { stroke: inherit; }
.node.virtual .shape-main { fill: var(--virtual-fill); stroke-dasharray: 5 3; }
.node text { fill: var(--text); text-anchor: middle; pointer-events: none; }
.node .name { font-weight: 600; font-size: 12.5px; }
.node.virtual .name { font-style: italic; font-weight: 500; }
.node .stats { font-size: 10.5px; fill: var(--muted); font-variant-numeric: tabular-nums; }
.node:hover .shape-main, .node:focus-visible .shape-main { stroke-width: 3px; }
.node:focus { outline: none; }
.node:focus-visible .shape-main { stroke: var(--focus); }
.node.selected .shape-main { stroke: var(--focus); stroke-width: 3px; }
.label text { font-size: 10.5px; fill: var(--text); text-anchor: middle; paint-order: stroke; stroke: var(--halo); stroke-width: 3.5px; stroke-linejoin: round; font-variant-numeric: tabular-nums; }
.label .lvl-low, .label .lvl-mid, .label .lvl-high { font-weight: 600; }
.label .lvl-mid { fill: var(--lvl-mid); } .label .lvl-high { fill: var(--lvl-high); } .label .lvl-low { fill: var(--lvl-low); }
svg.focused .edge:not(.near), svg.focused .node:not(.near) { opacity: .25; }
.label.crowded { display: none; }
svg.focused .label:not(.near) { display: none; }
svg.focused .label.near { display: inline; }
.table-wrap { overflow: auto; max-height: 460px; }
table.red { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.red th, table.red td { padding: 5px 10px; text-align: right; border-bottom: 1px solid var(--border); white-space: nowrap; }
table.red th.text, table.red td.text { text-align: left; }
table.red td.name { white-space: normal; word-break: break-word; min-width: 12em; }
table.red thead th { position: sticky; top: 0; background: var(--panel); z-index: 1; }
table.red th button { border: none; background: none; padding: 2px 4px; font-weight: 600; color: var(--muted); }
table.red th[aria-sort] button { color: var(--text); }
table.red th[aria-sort="ascending"] button::after { content: " ▲"; font-size: 10px; }
table.red th[aria-sort="descending"] button::after { content: " ▼"; font-size: 10px; }
table.red tbody tr { cursor: default; }
table.red tbody tr:hover { background: var(--hover); }
table.red tbody tr:focus { outline: 2px solid var(--focus); outline-offset: -2px; }
table.red tbody tr.selected { background: var(--selected); }
#services tbody tr { cursor: pointer; }
td.err.lvl-low { color: var(--lvl-low); } td.err.lvl-mid { color: var(--lvl-mid); font-weight: 600; }
td.err.lvl-high { color: var(--lvl-high); font-weight: 600; }
td.kind { color: var(--muted); font-size: 12px; }
td.empty { text-align: center !important; color: var(--muted); padding: 16px; }
table.slo th { color: var(--muted); font-weight: 600; }
table.slo td { vertical-align: top; }
table.slo .line { display: block; color: var(--muted); font-size: 12px; }
table.slo .slo-name { font-weight: 600; }
table.slo td.miss { color: var(--lvl-high); font-weight: 600; }
table.slo td.budget { min-width: 12em; }
table.slo td.budget .pct { font-weight: 600; }
table.slo td.budget .flag { color: var(--muted); margin-left: 5px; font-size: 12px; }
table.slo td.budget.over .pct, table.slo td.budget.over .flag { color: var(--lvl-high); font-weight: 600; }
.bar.over { background: var(--lvl-high); }
td.trend { padding-top: 2px; padding-bottom: 2px; }
svg.spark { display: block; margin-left: auto; }
.spark-rate { fill: none; stroke: var(--accent); stroke-width: 1.3px; }
.spark-p95 { fill: none; stroke: var(--muted); stroke-width: 1.3px; }
.spark-err { fill: var(--lvl-high); }
td.exc-type { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
td.trace code { font-size: 12px; color: var(--muted); user-select: all; }
td.num a, td.err a { color: inherit; text-decoration: underline dotted; text-underline-offset: 2px; }
.label a[href] { cursor: pointer; } .label a[href] tspan { text-decoration: underline dotted; }
footer { color: var(--muted); font-size: 12px; padding: 4px 20px 20px; }
@media (max-width: 600px) {
  header.top { padding: 8px 12px; gap: 4px 10px; }
  header.top h1 { font-size: 16px; }
  header.top .wide { display: none; }
  .status { order: 10; flex-basis: 100%; font-size: 12px; }
  main { padding: 10px 8px; gap: 10px; }
  .panel { padding: 10px 8px; }
  .panel-head input { min-width: 0; flex: 1 1 140px; margin-left: 0; }
  .legend { margin-left: 0; gap: 8px; }
  .health { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
  .card { padding: 8px 10px; }
  .card .big { font-size: 18px; }
  table.red th, table.red td { padding: 4px 6px; }
  table.red td.name { min-width: 8em; }
}
@media (prefers-reduced-motion: reduce) { .node, .edge path { transition: none; } }
`;
