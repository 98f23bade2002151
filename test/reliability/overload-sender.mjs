// The sender of test/reliability/overload.test.ts, run as a second Node process: the real
// OpenTelemetry SDK makes spans and the real OTLP/HTTP protobuf exporter sends them, with its own
// retry (429/502/503/504 retried after Retry-After or a backoff, at most 5 retries within the
// export timeout). `concurrency` loops each export a batch, wait for its result, and go again
// until `seconds` are over; then the exporter is shut down and one line of JSON goes to stdout:
//
//   { exports: {success, failed}, spans: {acknowledged, failed}, acknowledgedByName: {name: n},
//     attempts, statuses: {"200": n, "429": n, ...}, unanswered, errors: {message: n} }
//
// Spans count as acknowledged only when export() reported SUCCESS. Every HTTP attempt the
// exporter makes is seen on node's diagnostics channels (`attempts`, `statuses`); `unanswered`
// attempts (timeouts, resets) would make the outcome ambiguous for exact counting.
//
// --link-rate puts a slow link between the exporter and the sidecar: a proxy in this process
// passes each connection's request bytes on at that many bytes per second (answers go back at
// once). Over loopback a body arrives in one read and the sidecar, which handles a request
// synchronously once its body is in, never has two in flight; over a link, uploads overlap as
// they do from real senders, and the ingest budget has something to bound.
//
//   node test/reliability/overload-sender.mjs --url http://127.0.0.1:4318/v1/traces
//        [--seconds 60] [--concurrency 32] [--spans 100] [--link-rate 1000000]
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '32' },
    spans: { type: 'string', default: '100' },
    'link-rate': { type: 'string', default: '0' },
  },
});
if (!args.url) throw new Error('--url is required');
const seconds = Number(args.seconds);
const concurrency = Number(args.concurrency);
const spansPerExport = Number(args.spans);
const linkRate = Number(args['link-rate']);
const NAMES = ['GET /a', 'GET /b', 'POST /c', 'PUT /d', 'DELETE /e'];

let attempts = 0;
const statuses = {};
diagnostics.subscribe('http.client.request.start', () => attempts++);
diagnostics.subscribe('http.client.response.finish', ({ response }) => {
  statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
});

// Finished spans land in `batch` as they end.
let batch = [];
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'overload' }),
  spanProcessors: [{ onStart() {}, onEnd: (span) => batch.push(span), forceFlush: async () => {}, shutdown: async () => {} }],
});
const tracer = provider.getTracer('overload-sender');

/** A proxy to `target` passing each connection's bytes on at `rate` bytes/s, in 4 KiB slices; resolves to its port. */
async function slowLink(target, rate) {
  const SLICE = 4096;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    const queue = [];
    let timer;
    const pump = () => {
      timer = undefined;
      const chunk = queue.shift();
      if (chunk === undefined) return client.resume();
      if (chunk.length > SLICE) queue.unshift(chunk.subarray(SLICE));
      upstream.write(chunk.subarray(0, SLICE));
      timer = setTimeout(pump, (Math.min(SLICE, chunk.length) / rate) * 1000);
    };
    client.on('data', (chunk) => {
      queue.push(chunk);
      client.pause();
      if (timer === undefined) pump();
    });
    upstream.pipe(client);
    const close = () => {
      clearTimeout(timer);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return server.address().port;
}

const target = new URL(args.url);
const url = linkRate > 0 ? `http://127.0.0.1:${await slowLink(target, linkRate)}${target.pathname}` : args.url;
const exporter = new OTLPTraceExporter({ url, concurrencyLimit: concurrency + 1 });
const exports = { success: 0, failed: 0 };
const spans = { acknowledged: 0, failed: 0 };
const acknowledgedByName = {};
const errors = {};
let seq = 0;

function makeBatch() {
  batch = [];
  for (let i = 0; i < spansPerExport; i++) {
    tracer.startSpan(NAMES[seq++ % NAMES.length], { kind: SpanKind.SERVER }).end();
  }
  return batch;
}

async function loop(deadline) {
  while (Date.now() < deadline) {
    const spansOut = makeBatch();
    const result = await new Promise((resolve) => exporter.export(spansOut, resolve));
    if (result.code === 0) {
      exports.success++;
      spans.acknowledged += spansOut.length;
      for (const s of spansOut) acknowledgedByName[s.name] = (acknowledgedByName[s.name] ?? 0) + 1;
    } else {
      exports.failed++;
      spans.failed += spansOut.length;
      const m = result.error?.message ?? 'unknown';
      errors[m] = (errors[m] ?? 0) + 1;
    }
  }
}

const deadline = Date.now() + seconds * 1000;
await Promise.all(Array.from({ length: concurrency }, () => loop(deadline)));
await exporter.shutdown();
await provider.shutdown();
const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
process.stdout.write(`${JSON.stringify({ exports, spans, acknowledgedByName, attempts, statuses, unanswered: attempts - answered, errors })}\n`);
