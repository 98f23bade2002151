// /metrics streamed (issue 21 item 4). Before, the whole exposition was built in one buffer: past
// 4 GiB (Buffer's limit) every scrape answered 500, spanmeter's own metrics included, and each
// scrape held the whole text at once (plus its gzip). Now the families are written to the answer
// in chunks as they render (streamFamilies), waiting while the reader is behind.
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { renderFamilies, streamFamilies, type ExpositionFormat, type TextFormat } from '../../src/exporters/exposition.js';
import { spanMetricsFamilies } from '../../src/exporters/spanmetrics.js';
import { startMetricsServer, type Renderer } from '../../src/exporters/server.js';
import type { RunningServer } from '../../src/net/server.js';
import { seriesBatches } from '../../src/workload/workload.js';
import { parsePrometheusText } from '../support/prom-text.js';

async function coreWith(labelSets: number) {
  const sm = defaultConfig().processor.span_metrics;
  const core = await Core.create({ spanMetrics: sm });
  for (const b of seriesBatches(labelSets, 512)) {
    const r = core.ingest(b, Date.now());
    if (!r.ok) throw new Error(r.reason);
  }
  return { core, families: spanMetricsFamilies(core, sm) };
}

/** streamFamilies' chunks joined; every other write answers a promise (a reader that is behind). */
async function streamed(families: Parameters<typeof streamFamilies>[0], format: TextFormat, chunkBytes: number, between?: () => void) {
  const chunks: Buffer[] = [];
  await streamFamilies(families, format, (chunk) => {
    chunks.push(Buffer.from(chunk));
    if (chunks.length % 2 === 1) return undefined;
    return new Promise<void>((resolve) => setImmediate(() => {
      between?.();
      resolve();
    }));
  }, chunkBytes);
  return { text: Buffer.concat(chunks), chunks };
}

describe('streamFamilies', () => {
  it('writes the bytes renderFamilies makes, text and OpenMetrics, in chunks of about the size asked', async () => {
    const { families } = await coreWith(2000);
    for (const format of ['text', 'openmetrics'] as const) {
      const whole = renderFamilies(families, format);
      const { text, chunks } = await streamed(families, format, 4096);
      expect(text.equals(whole)).toBe(true);
      // A chunk ends after the series that took it past 4096 bytes: one histogram series is ~3 KB here.
      expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(4096 + 8192);
      expect(chunks.length).toBeGreaterThan(whole.length / (4096 + 8192));
    }
  });

  it('new series and new spans between chunks: every series once, none lost of those there before', async () => {
    const { core, families } = await coreWith(1000);
    const before = parsePrometheusText(renderFamilies(families, 'text').toString('utf8')).samples
      .filter((s) => s.name === 'traces_spanmetrics_calls_total').map((s) => s.labels.span_name);
    let more = 0;
    const extra = seriesBatches(3000, 100, 99); // the 1000 names again and 2000 more
    const { text } = await streamed(families, 'text', 2048, () => {
      if (more < extra.length) core.ingest(extra[more++]!, Date.now()); // grows the tables (and WASM memory) mid-scrape
    });
    expect(more).toBeGreaterThan(0);
    const names = parsePrometheusText(text.toString('utf8')).samples
      .filter((s) => s.name === 'traces_spanmetrics_calls_total').map((s) => s.labels.span_name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of before) expect(names).toContain(n);
  });
});

describe('GET /metrics streams and waits for its reader', () => {
  let server: RunningServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('a reader that stops holds up the rendering, not memory; then gets every byte, its own metrics last; gzip the same', async () => {
    const { families } = await coreWith(20_000); // ~68 MB of text 0.0.4
    const total = renderFamilies(families, 'text').length;
    let rendered = 0;
    const spanMetrics: Renderer = Object.assign((format: ExpositionFormat) => renderFamilies(families, format), {
      stream: (format: TextFormat, write: (chunk: Buffer) => Promise<void> | undefined) =>
        streamFamilies(families, format, (chunk) => {
          rendered += chunk.length;
          return write(chunk);
        }),
    });
    server = await startMetricsServer({ endpoint: '127.0.0.1:0', renderers: [spanMetrics, () => '# HELP own_up own\n# TYPE own_up gauge\nown_up 1'] });
    const port = Number(server.address.slice(server.address.lastIndexOf(':') + 1));
    const get = (headers: Record<string, string>) => new Promise<http.IncomingMessage>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/metrics', headers, agent: false }, resolve);
    });

    const res = await get({});
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-length']).toBeUndefined();
    res.pause();
    // Not read for 1 s: the renderer stops once the socket buffers are full (loopback buffers
    // take a few MB); before, the whole exposition was rendered before the first byte went out.
    await new Promise((r) => setTimeout(r, 1000));
    console.log(`metrics-stream: ${(rendered / 1e6).toFixed(1)} MB of ${(total / 1e6).toFixed(1)} MB rendered while the reader waited`);
    expect(rendered).toBeLessThan(total / 2);
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.resume();
    await new Promise((r) => res.on('end', r));
    const body = Buffer.concat(chunks);
    const expected = Buffer.concat([renderFamilies(families, 'text'), Buffer.from('# HELP own_up own\n# TYPE own_up gauge\nown_up 1\n')]);
    expect(body.equals(expected)).toBe(true);

    const zipped = await get({ 'accept-encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    const zchunks: Buffer[] = [];
    zipped.on('data', (c: Buffer) => zchunks.push(c));
    await new Promise((r) => zipped.on('end', r));
    expect(gunzipSync(Buffer.concat(zchunks)).equals(expected)).toBe(true);
  }, 60_000);
});
