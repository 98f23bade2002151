// spanmeter fed by the seed's own client, the OpenTelemetry Python SDK, installed from PyPI into
// a virtual environment (test/interop/support/python.ts; versions in interop/python/requirements.txt).
//
// 1. The getting-started shapes (interop/python/sdk_shapes.py): BatchSpanProcessor +
//    OTLPSpanExporter over gRPC (insecure) and over HTTP (protobuf), each without and with gzip;
//    one span around a batch of work, one span per item, one recorded exception.
// 2. Auto-instrumentation: interop/python/app.py, two Flask services (frontend -> backend over
//    HTTP with `requests`), each run as `opentelemetry-instrument ... python app.py` configured
//    only by the command line and OTEL_* variables; the frontend exports over gRPC, the backend
//    over HTTP, so the service-graph edge pairs a client span and a server span that reached
//    spanmeter through different receivers.
//
// Expected values come from what the programs do (stated at each constant) and from the Python
// instrumentation's documented span names and kinds (cited where used). Label values are
// spanmeter's default (Tempo) naming: span_kind="SPAN_KIND_*", status_code="STATUS_CODE_*".
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parsePrometheusText, type Exposition, type Sample } from '../support/prom-text.js';
import { fetchMetricsText, freePorts, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { pythonVenv, runPy, spawnPy, type PyProcess, type PythonVenv } from './support/python.js';

/** How long to wait for spans to show in /metrics, or for an app to listen. Never asserted. */
const WAIT_MS = 60_000;

let venv: PythonVenv;
const sidecars: Sidecar[] = [];
const apps: PyProcess[] = [];

beforeAll(async () => {
  venv = await pythonVenv();
  process.stderr.write(`[python venv] using ${venv.dir} (${venv.version})\n`);
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop('SIGKILL', 0)));
  await Promise.all(sidecars.map((s) => s.stop()));
});

async function sidecar(processors: string[]): Promise<Sidecar> {
  const s = await startSidecar({ grpc: true, config: { processors }, label: 'python-sdk' });
  sidecars.push(s);
  return s;
}

async function scrape(s: Sidecar): Promise<Exposition> {
  return parsePrometheusText((await fetchMetricsText(s)).text);
}

/** Polls /metrics until `done` holds (or WAIT_MS passed, then throws with `diag()` and the last text). */
async function waitForMetrics(s: Sidecar, what: string, done: (e: Exposition) => boolean, diag: () => string): Promise<Exposition> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const expo = await scrape(s);
    if (done(expo)) return expo;
    if (Date.now() > deadline || !s.alive()) {
      const text = (await fetchMetricsText(s).catch((e: Error) => ({ text: e.message }))).text;
      throw new Error(
        `${what}: not seen in /metrics within ${WAIT_MS / 1000} s\n--- /metrics ---\n${text}\n--- spanmeter ---\n${s.output()}\n${diag()}`,
      );
    }
    await sleep(200);
  }
}

const samples = (e: Exposition, name: string, where: Record<string, string> = {}): Sample[] =>
  e.samples.filter((x) => x.name === name && Object.entries(where).every(([k, v]) => x.labels[k] === v));

const total = (e: Exposition, name: string, where: Record<string, string> = {}): number =>
  samples(e, name, where).reduce((a, x) => a + x.value, 0);

/** One span-metrics series of a service: `span_name|span_kind|status_code`. */
const key = (name: string, kind: string, status: string): string => `${name}|SPAN_KIND_${kind}|STATUS_CODE_${status}`;

/** Every traces_spanmetrics_calls_total series of `service`, by key(); each label set checked. */
function callsOf(e: Exposition, service: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of samples(e, 'traces_spanmetrics_calls_total', { service })) {
    expect(Object.keys(x.labels).sort()).toEqual(['service', 'span_kind', 'span_name', 'status_code']);
    out[`${x.labels.span_name}|${x.labels.span_kind}|${x.labels.status_code}`] = x.value;
  }
  return out;
}

/** The latency histogram agrees with the calls counter, series by series. */
function expectLatencyCounts(e: Exposition, service: string, calls: Record<string, number>): void {
  for (const [k, n] of Object.entries(calls)) {
    const [span_name, span_kind, status_code] = k.split('|') as [string, string, string];
    const labels = { service, span_name, span_kind, status_code };
    expect(total(e, 'traces_spanmetrics_latency_count', labels), `latency_count ${k}`).toBe(n);
    expect(total(e, 'traces_spanmetrics_latency_bucket', { ...labels, le: '+Inf' }), `latency +Inf ${k}`).toBe(n);
  }
}

describe('OpenTelemetry Python SDK: the getting-started shapes', () => {
  // sdk_shapes.py's defaults: 7 items, so 1 "process-batch" + 7 "process-item" + 1 "charge-card"
  // (the recorded exception), all INTERNAL: the SDK's default kind for start_as_current_span
  // (opentelemetry-api Tracer.start_as_current_span, kind=SpanKind.INTERNAL).
  const ITEMS = 7;
  const SPANS = 1 + ITEMS + 1;

  const cases = [
    { protocol: 'grpc', gzip: false },
    { protocol: 'grpc', gzip: true },
    { protocol: 'http', gzip: false },
    { protocol: 'http', gzip: true },
  ] as const;

  test.each(cases)('BatchSpanProcessor + OTLPSpanExporter over $protocol (gzip: $gzip)', async ({ protocol, gzip }) => {
    const s = await sidecar(['span-metrics']);
    const service = `py-sdk-${protocol}${gzip ? '-gzip' : ''}`;
    // the guides' endpoints: gRPC "http://localhost:4317" with insecure=True, HTTP ".../v1/traces"
    const endpoint = protocol === 'grpc' ? `http://${s.grpcEndpoint}` : `${s.otlpHttpUrl}/v1/traces`;
    const args = ['--protocol', protocol, '--endpoint', endpoint, '--service', service, '--items', String(ITEMS)];
    const run = await runPy(venv, 'sdk_shapes.py', gzip ? [...args, '--gzip'] : args);
    const diag = (): string => `--- sdk_shapes.py (code ${run.code}, signal ${run.signal}) ---\n${run.output}`;
    expect(run.code, diag()).toBe(0);

    // force_flush() returned before the program exited: every span was acknowledged already
    const e = await waitForMetrics(s, `${SPANS} spans of ${service}`, (x) => total(x, 'traces_spanmetrics_calls_total', { service }) >= SPANS, diag);
    const calls = callsOf(e, service);
    expect(calls, diag()).toEqual({
      [key('process-batch', 'INTERNAL', 'UNSET')]: 1,
      [key('process-item', 'INTERNAL', 'UNSET')]: ITEMS,
      // span.set_status(Status(StatusCode.ERROR, str(ex))) after span.record_exception(ex)
      [key('charge-card', 'INTERNAL', 'ERROR')]: 1,
    });
    expectLatencyCounts(e, service, calls);
    // each item sleeps at least 1 ms (time.sleep(0.001)); the batch span encloses them all
    const item = { service, span_name: 'process-item' };
    expect(total(e, 'traces_spanmetrics_latency_sum', item)).toBeGreaterThanOrEqual(ITEMS * 0.001);
    expect(total(e, 'traces_spanmetrics_latency_sum', { service, span_name: 'process-batch' })).toBeGreaterThanOrEqual(ITEMS * 0.001);

    expect(total(e, 'spanmeter_spans_accepted_total')).toBe(SPANS);
    // every export request answered OK on the protocol used (gRPC status name / HTTP status)
    const requests = samples(e, 'spanmeter_requests_total').filter((x) => x.value > 0);
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) expect(r.labels).toEqual({ protocol, code: protocol === 'grpc' ? 'OK' : '200' });
  });
});

/** Resolves once 127.0.0.1:port accepts a TCP connection (no HTTP request, so no span). */
async function waitListening(port: number, app: PyProcess, name: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!app.alive() || Date.now() > deadline) {
      throw new Error(`${name} did not listen on 127.0.0.1:${port} (alive: ${app.alive()})\n--- ${name} ---\n${app.output()}`);
    }
    await sleep(100);
  }
}

describe('opentelemetry-instrument on a two-service Flask app', () => {
  const FRONTEND = 'my-python-service'; // --service_name on the frontend's command line
  const BACKEND = 'my-python-backend'; // OTEL_SERVICE_NAME of the backend
  const OK_REQUESTS = 5; // GET /checkout/1..5: backend 200, frontend 200
  const FAILING = 2; // GET /checkout/13: backend 500 (out of stock), frontend 502
  const ALL = OK_REQUESTS + FAILING;

  let frontend: PyProcess | undefined;
  let backend: PyProcess | undefined;
  const diag = (): string =>
    `--- frontend ---\n${frontend?.output() ?? '(not started)'}\n--- backend ---\n${backend?.output() ?? '(not started)'}`;

  test(`${ALL} requests: SERVER spans of both services, the frontend's CLIENT span, the service-graph edge`, async () => {
    const s = await sidecar(['span-metrics', 'service-graphs']);
    const [frontendPort, backendPort] = await freePorts(2);
    const common = {
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      // the batch processor's export interval (default 5000 ms), shortened so the test waits less
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    backend = spawnPy(venv, 'opentelemetry-instrument', ['python', 'app.py'], {
      ...common,
      OTEL_SERVICE_NAME: BACKEND,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: s.otlpHttpUrl, // the exporter appends /v1/traces
      APP_ROLE: 'backend',
      APP_PORT: String(backendPort),
    });
    apps.push(backend);
    frontend = spawnPy(
      venv,
      'opentelemetry-instrument',
      ['--traces_exporter', 'otlp', '--service_name', FRONTEND, 'python', 'app.py'],
      {
        ...common,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://${s.grpcEndpoint}`, // http:// means no TLS
        APP_ROLE: 'frontend',
        APP_PORT: String(frontendPort),
        BACKEND_URL: `http://127.0.0.1:${backendPort}`,
      },
    );
    apps.push(frontend);
    await waitListening(backendPort, backend, 'backend');
    await waitListening(frontendPort, frontend, 'frontend');

    const get = async (item: number): Promise<number> => {
      const res = await fetch(`http://127.0.0.1:${frontendPort}/checkout/${item}`, { signal: AbortSignal.timeout(20_000) });
      await res.arrayBuffer();
      return res.status;
    };
    for (let i = 1; i <= OK_REQUESTS; i++) expect(await get(i), diag()).toBe(200);
    for (let i = 0; i < FAILING; i++) expect(await get(13), diag()).toBe(502);

    const edge = { client: FRONTEND, server: BACKEND };
    // 3 spans per request: frontend SERVER + CLIENT, backend SERVER
    await waitForMetrics(
      s,
      `${3 * ALL} spans and ${ALL} edges`,
      (x) => total(x, 'traces_spanmetrics_calls_total') >= 3 * ALL && total(x, 'traces_service_graph_request_total', edge) >= ALL,
      diag,
    );
    // SIGINT: Werkzeug stops on KeyboardInterrupt and the SDK's atexit shutdown flushes; anything
    // the apps still had to send (there should be nothing) would show in the counts below
    const [fe, be] = await Promise.all([frontend.stop('SIGINT'), backend.stop('SIGINT')]);
    const e = await scrape(s);
    const why = `${diag()}\n(frontend exit ${fe.code}/${fe.signal}, backend exit ${be.code}/${be.signal})`;

    // Span names and kinds as opentelemetry-instrumentation 0.66b1 sets them:
    //  - flask: SERVER span named "{method} {url_rule.rule}" (get_default_span_name in
    //    opentelemetry/instrumentation/flask/__init__.py; the kind from
    //    _start_internal_or_server_span in opentelemetry/instrumentation/utils.py, SERVER when no
    //    span is active), status ERROR for a 5xx answer (HTTP semantic conventions: server spans);
    //  - requests: CLIENT span named "{method}" (get_default_span_name in
    //    opentelemetry/instrumentation/requests/__init__.py), status ERROR for a 4xx/5xx answer.
    const frontendCalls = callsOf(e, FRONTEND);
    expect(frontendCalls, why).toEqual({
      [key('GET /checkout/<int:item_id>', 'SERVER', 'UNSET')]: OK_REQUESTS,
      [key('GET /checkout/<int:item_id>', 'SERVER', 'ERROR')]: FAILING, // answered 502
      [key('GET', 'CLIENT', 'UNSET')]: OK_REQUESTS,
      [key('GET', 'CLIENT', 'ERROR')]: FAILING, // the backend's 500
    });
    const backendCalls = callsOf(e, BACKEND);
    expect(backendCalls, why).toEqual({
      [key('GET /inventory/<int:item_id>', 'SERVER', 'UNSET')]: OK_REQUESTS,
      [key('GET /inventory/<int:item_id>', 'SERVER', 'ERROR')]: FAILING, // answered 500
    });
    expectLatencyCounts(e, FRONTEND, frontendCalls);
    expectLatencyCounts(e, BACKEND, backendCalls);
    // nothing else: no span from the exporters' own HTTP calls, no third service
    expect(total(e, 'traces_spanmetrics_calls_total'), why).toBe(3 * ALL);

    // The edge: each frontend CLIENT span is the parent of one backend SERVER span (the requests
    // instrumentation injects traceparent, the flask one continues it), so ALL pairs; a request
    // fails when either side is an error, here the FAILING ones.
    expect(samples(e, 'traces_service_graph_request_total').map((x) => [x.labels, x.value]), why).toEqual([[edge, ALL]]);
    expect(total(e, 'traces_service_graph_request_failed_total', edge), why).toBe(FAILING);
    expect(total(e, 'traces_service_graph_request_client_seconds_count', edge), why).toBe(ALL);
    expect(total(e, 'traces_service_graph_request_server_seconds_count', edge), why).toBe(ALL);
  });
});
