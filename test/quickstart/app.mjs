// A two-service app instrumented with the OpenTelemetry JS SDK, configured only by the standard
// environment variables the README's "Sending traces" shows (OTEL_SERVICE_NAME,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL): nothing in this file
// names spanmeter or a port of it. Used by test/quickstart/quickstart.test.ts.
//
//   node app.mjs cart                 an HTTP server: GET /api/cart, 500 (span status ERROR) when ?fail=1;
//                                     prints "listening PORT"; flushes its spans and exits on SIGTERM
//   node app.mjs frontend URL N F     N requests GET /cart, each calling URL/api/cart over HTTP with a
//                                     W3C traceparent; the F-th (1-based) fails; flushes and exits
import http from 'node:http';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

// The exporter takes its URL from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (no argument given), the
// resource its service.name from OTEL_SERVICE_NAME, as with the SDK's auto-instrumentation.
const provider = new BasicTracerProvider({
  resource: detectResources({ detectors: [envDetector] }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
});
trace.setGlobalTracerProvider(provider);
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const tracer = trace.getTracer('quickstart-app');

const setter = { set: (carrier, key, value) => { carrier[key] = value; } };
const getter = { keys: (c) => Object.keys(c), get: (c, k) => c[k] };

async function cart() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const parent = propagation.extract(context.active(), req.headers, getter);
    const span = tracer.startSpan('GET /api/cart', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'http.route': '/api/cart' } }, parent);
    const fail = url.searchParams.get('fail') === '1';
    if (fail) span.setStatus({ code: SpanStatusCode.ERROR, message: 'cart store timed out' });
    span.setAttribute('http.response.status_code', fail ? 500 : 200);
    span.end();
    res.writeHead(fail ? 500 : 200, { 'Content-Type': 'text/plain' }).end(fail ? 'error\n' : 'ok\n');
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
  process.once('SIGTERM', async () => {
    server.close();
    await provider.shutdown(); // exports what the batch still holds
    process.exit(0);
  });
}

async function frontend(cartUrl, n, failing) {
  for (let i = 1; i <= n; i++) {
    const root = tracer.startSpan('GET /cart', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'http.route': '/cart' } });
    const rootCtx = trace.setSpan(context.active(), root);
    const client = tracer.startSpan('GET', { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'GET' } }, rootCtx);
    const headers = {};
    propagation.inject(trace.setSpan(rootCtx, client), headers, setter);
    const res = await fetch(`${cartUrl}/api/cart${i === failing ? '?fail=1' : ''}`, { headers });
    await res.text();
    if (res.status >= 500) {
      client.setStatus({ code: SpanStatusCode.ERROR });
      root.setStatus({ code: SpanStatusCode.ERROR });
    }
    client.setAttribute('http.response.status_code', res.status);
    client.end();
    root.end();
  }
  await provider.shutdown();
}

const [role, ...args] = process.argv.slice(2);
if (role === 'cart') await cart();
else if (role === 'frontend') await frontend(args[0], Number(args[1]), Number(args[2]));
else throw new Error(`unknown role ${role}`);
