// Shared by the ABI tests: the span metrics of the sidecar's code path (Core + SpanMetricsExposition,
// the expected side) and of examples/embed.mjs (the side under test), in one comparable shape.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Core } from '../../src/core/index.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import { defaultConfig } from '../../src/config/defaults.js';
import type { SpanMetricsConfig } from '../../src/config/types.js';
import { labelKey, parsePromValue } from '../support/prom-text.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RELEASE_WASM = `${ROOT}build/spanmeter.wasm`;
export const DEBUG_WASM = `${ROOT}build/spanmeter.debug.wasm`;
export const SAMPLE_PB = `${ROOT}examples/sample-request.pb`;
export const SAMPLE_JSON = `${ROOT}examples/sample-request.json`;
export const NOW_MS = 1_700_000_100_000;

/** One span-metrics series: calls, size, latency sum/count and the cumulative bucket counts by `le`. */
export interface Numbers {
  calls: number;
  size: number;
  sum: number;
  count: number;
  buckets: [le: number, cumulative: number][];
}

export type SeriesMap = Map<string, Numbers>;

/** What examples/embed.mjs's spanMetrics() returns, per series. */
export interface EmbedSeries {
  labels: Record<string, string>;
  calls: number;
  sizeBytes: number;
  latency: { buckets: { le: number; count: number }[]; sum: number; count: number };
}

export function fromEmbed(series: EmbedSeries[]): SeriesMap {
  const out: SeriesMap = new Map();
  for (const s of series) {
    const key = labelKey(s.labels);
    if (out.has(key)) throw new Error(`series ${key} twice`);
    out.set(key, {
      calls: s.calls, size: s.sizeBytes, sum: s.latency.sum, count: s.latency.count,
      buckets: s.latency.buckets.map((b) => [b.le, b.count]),
    });
  }
  return out;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
const unescape = (v: string) => v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));

/**
 * Parses Tempo-named span metrics out of a Prometheus text exposition (a lenient parser, fast on
 * 100k lines; test/support/prom-text.ts checks the format itself elsewhere).
 */
export function fromExposition(text: string): SeriesMap {
  const out: SeriesMap = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText = '', valueText] = m;
    const labels: Record<string, string> = {};
    let le: string | undefined;
    for (const [, k, v] of labelText.matchAll(LABEL)) {
      if (k === 'le') le = v;
      else labels[k!] = unescape(v!);
    }
    const key = labelKey(labels);
    let n = out.get(key);
    if (!n) out.set(key, (n = { calls: NaN, size: NaN, sum: NaN, count: NaN, buckets: [] }));
    const value = parsePromValue(valueText!)!;
    if (name === 'traces_spanmetrics_calls_total') n.calls = value;
    else if (name === 'traces_spanmetrics_size_total') n.size = value;
    else if (name === 'traces_spanmetrics_latency_sum') n.sum = value;
    else if (name === 'traces_spanmetrics_latency_count') n.count = value;
    else if (name === 'traces_spanmetrics_latency_bucket') n.buckets.push([parsePromValue(le!)!, value]);
  }
  return out;
}

export function spanMetricsConfig(dimensions: string[] = []): SpanMetricsConfig {
  return { ...defaultConfig().processor.span_metrics, dimensions };
}

/** The sidecar's code path over the same requests: Core, then the /metrics text of span metrics. */
export async function expectedSeries(requests: Uint8Array[], dimensions: string[] = []): Promise<SeriesMap> {
  const config = spanMetricsConfig(dimensions);
  const core = await Core.create({ spanMetrics: config });
  for (const r of requests) {
    const result = core.ingest(r, NOW_MS);
    if (!result.ok) throw new Error(`Core refused a request: ${result.reason}`);
  }
  return fromExposition(new SpanMetricsExposition(core, config).render('text'));
}

export const readBytes = (path: string): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(path));
