// Runs examples/embed.mjs in Node: feeds OTLP protobuf request files to the release core and
// prints the span metrics in the Prometheus text format.
//
//   node examples/node.mjs [request.pb ...]       (default: examples/sample-request.pb)
import { readFileSync } from 'node:fs';
import { createSpanmeter } from './embed.mjs';

const wasm = readFileSync(new URL('../build/spanmeter.wasm', import.meta.url));
const files = process.argv.slice(2);
const requests = files.length > 0 ? files.map((f) => readFileSync(f)) : [readFileSync(new URL('./sample-request.pb', import.meta.url))];

const meter = await createSpanmeter(wasm);
for (const request of requests) console.error(`ingested ${meter.ingest(request)} spans`);

const braces = (labels, extra = {}) => {
  const all = Object.entries({ ...labels, ...extra }).map(([k, v]) => `${k}="${String(v).replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`);
  return all.length ? `{${all.join(',')}}` : '';
};
for (const s of meter.spanMetrics()) {
  console.log(`traces_spanmetrics_calls_total${braces(s.labels)} ${s.calls}`);
  for (const b of s.latency.buckets) {
    console.log(`traces_spanmetrics_latency_bucket${braces(s.labels, { le: b.le === Infinity ? '+Inf' : b.le })} ${b.count}`);
  }
  console.log(`traces_spanmetrics_latency_sum${braces(s.labels)} ${s.latency.sum}`);
  console.log(`traces_spanmetrics_latency_count${braces(s.labels)} ${s.latency.count}`);
  console.log(`traces_spanmetrics_size_total${braces(s.labels)} ${s.sizeBytes}`);
}
