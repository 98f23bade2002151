// GET /metrics over loopback for N span-metrics label sets (the bench's series: distinct span
// names), served by startMetricsServer as the sidecar wires it, from a build's dist/ (not a test:
// the figures in README "Reliability", `/metrics` streamed). Prints medians of 5 scrapes.
//   node --expose-gc test/reliability/metrics-time.mjs "$PWD/dist" 100000
import http from 'node:http';
import zlib from 'node:zlib';
const dist = process.argv[2];
const n = Number(process.argv[3] ?? 100000);
const { Core } = await import(`${dist}/src/core/index.js`);
const { defaultConfig } = await import(`${dist}/src/config/defaults.js`);
const { spanMetricsFamilies } = await import(`${dist}/src/exporters/spanmetrics.js`);
const ex = await import(`${dist}/src/exporters/exposition.js`);
const { startMetricsServer } = await import(`${dist}/src/exporters/server.js`);
const { seriesBatches } = await import(`${dist}/src/workload/workload.js`);
const sm = defaultConfig().processor.span_metrics;
const core = await Core.create({ spanMetrics: sm, build: 'release' });
for (const b of seriesBatches(n, 512)) { const r = core.ingest(b, Date.now()); if (!r.ok) throw new Error(r.reason); }
const families = spanMetricsFamilies(core, sm);
const fam = ex.streamFamilies ? Object.assign((f) => ex.renderFamilies(families, f), { stream: (f, w) => ex.streamFamilies(families, f, w) }) : (f) => ex.renderFamilies(families, f);
const server = await startMetricsServer({ endpoint: '127.0.0.1:0', renderers: [fam, () => '# self\nup 1\n'], limits: { max_connections: 0, max_requests_in_flight: 0, write_timeout: 0 } });
const port = server.address.split(':').pop();
const get = (enc) => new Promise((resolve) => {
  const t0 = performance.now(); let bytes = 0, first = 0;
  http.get({ host: '127.0.0.1', port, path: '/metrics', headers: enc ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
    res.on('data', (c) => { if (!first) first = performance.now() - t0; bytes += c.length; });
    res.on('end', () => resolve({ ms: performance.now() - t0, first, bytes }));
  });
});
await get(false); // label sets built on the first render
let rssPeak = 0; const iv = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage().rss); }, 5);
const res = { text: [], gzip: [] };
for (let i = 0; i < 5; i++) { res.text.push(await get(false)); res.gzip.push(await get(true)); }
clearInterval(iv);
const med = (a, k) => a.map((x) => x[k]).sort((x, y) => x - y)[2];
console.log(JSON.stringify({ n, textMs: med(res.text, 'ms'), textFirstByteMs: med(res.text, 'first'), textMB: res.text[0].bytes / 1e6, gzipMs: med(res.gzip, 'ms'), gzipFirstByteMs: med(res.gzip, 'first'), gzipMB: res.gzip[0].bytes / 1e6, rssPeakMiB: Math.round(rssPeak / 1048576) }));
await server.close();
