// Limits (spans per request, decompression ratio) and fault isolation (a WASM trap in the core).
import * as grpc from '@grpc/grpc-js';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { loadConfig } from '../../src/config/load.js';
import { Core } from '../../src/core/index.js';
import { SM_V_CALLS } from '../../src/core/layout.js';
import { SupervisedCore } from '../../src/core/supervisor.js';
import { startMetricsServer } from '../../src/exporters/server.js';
import { decompress } from '../../src/otlp/gzip.js';
import { startGrpcReceiver } from '../../src/receivers/grpc.js';
import { startHttpReceiver } from '../../src/receivers/http.js';
import { silentLogger } from '../../src/log.js';
import type { RunningServer } from '../../src/net/server.js';
import { Telemetry } from '../../src/telemetry.js';
import { requestToOtlpJson } from '../support/otlp-input.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { RecordingConsumer } from '../receivers/support.js';
import { grpcCall, post, request, requestMsg, retryDelayMs } from './helpers.js';

const MAX = 64 * 1024 * 1024;
let servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function value(telemetry: Telemetry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const expo = parsePrometheusText(await telemetry.render('text'));
  return expo.samples
    .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
    .reduce((a, x) => a + x.value, 0);
}

describe('spans per request', () => {
  it('HTTP 400 and gRPC INVALID_ARGUMENT over otlp.max_spans_per_request, spans counted by reason', async () => {
    // The limit is the core's (like the string and attribute limits): a real core holds it.
    const core = await Core.create({
      spanMetrics: defaultConfig().processor.span_metrics,
      limits: { maxStringLength: 0, maxAttributesPerSpan: 0, maxSpansPerRequest: 5 },
    });
    const telemetry = new Telemetry({ defaultMetrics: false });
    const h = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: MAX, consumer: core, telemetry });
    const g = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: MAX, consumer: core, telemetry });
    servers.push(h, g);
    expect((await post(h.address, request('ok', 5))).status).toBe(200);
    const r = await post(h.address, request('big', 7));
    expect(r.status).toBe(400);
    expect(retryDelayMs(r.body)).toEqual({ code: 3, delayMs: undefined });
    const json = await post(h.address, Buffer.from(requestToOtlpJson(requestMsg('bigjson', 6))), { 'Content-Type': 'application/json' });
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString())).toEqual({ code: 3, message: 'request has 6 spans, more than otlp.max_spans_per_request (5)' });
    const client = new grpc.Client(g.address, grpc.credentials.createInsecure());
    const gr = await grpcCall(client, request('big', 9));
    client.close();
    expect(gr.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(gr.details).toBe('request has 9 spans, more than otlp.max_spans_per_request (5)');
    // Only the 5 spans of the first request were counted.
    const t = core.table('spanMetrics')!;
    let calls = 0;
    for (let slot = 0; slot < t.used; slot++) calls += t.value(slot, SM_V_CALLS);
    expect(calls).toBe(5);
    // 7 + 6 + 9 spans refused; as before the limit moved into the core, they count as rejected, not received.
    expect(await value(telemetry, 'spanmeter_spans_rejected_total', { reason: 'too_many_spans' })).toBe(22);
    expect(await value(telemetry, 'spanmeter_requests_rejected_total', { reason: 'too_many_spans' })).toBe(3);
    expect(await value(telemetry, 'spanmeter_spans_received_total')).toBe(5);
    expect(await value(telemetry, 'spanmeter_requests_total', { protocol: 'http', code: '400' })).toBe(2);
    expect(await value(telemetry, 'spanmeter_requests_total', { protocol: 'grpc', code: 'INVALID_ARGUMENT' })).toBe(1);
  });
});

describe('decompression ratio', () => {
  it('real OTLP stays far under the default of 1000x; a bomb is refused with 413 and its own reason', async () => {
    // Measured: a large batch of near-identical spans, the most compressible realistic shape.
    const pb = request('checkout', 2000, 'GET /api/cart');
    const js = Buffer.from(requestToOtlpJson(requestMsg('checkout', 2000, 'GET /api/cart')));
    const ratioPb = pb.length / gzipSync(pb).length;
    const ratioJs = js.length / gzipSync(js).length;
    expect(ratioPb).toBeLessThan(50);
    expect(ratioJs).toBeLessThan(50);
    expect(() => decompress(gzipSync(js), 'gzip', MAX, 1000)).not.toThrow();

    const consumer = new RecordingConsumer();
    const telemetry = new Telemetry({ defaultMetrics: false });
    const h = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: MAX, consumer, telemetry, maxDecompressionRatio: 1000 });
    servers.push(h);
    const bomb = gzipSync(new Uint8Array(32 * 1024 * 1024)); // 32 MiB of zeros: ~1000x+
    expect(32 * 1024 * 1024 / bomb.length).toBeGreaterThan(1000);
    const r = await post(h.address, bomb, { 'Content-Encoding': 'gzip' });
    expect(r.status).toBe(413);
    expect(await value(telemetry, 'spanmeter_requests_rejected_total', { reason: 'compression_ratio' })).toBe(1);
    expect((await post(h.address, gzipSync(pb), { 'Content-Encoding': 'gzip' })).status).toBe(200);
  });
});

describe('attribute nesting in OTLP/JSON', () => {
  it('HTTP 400 with the path and reason too_deep; 31 nested arrays pass', async () => {
    const consumer = new RecordingConsumer();
    const telemetry = new Telemetry({ defaultMetrics: false });
    const h = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: MAX, consumer, telemetry });
    servers.push(h);
    // one span with an attribute value of `arrays` arrays inside each other (as text: too deep for JSON.stringify)
    const body = (service: string, arrays: number): Buffer => {
      const msg = requestMsg(service, 1) as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
      msg.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes = [{ key: 'deep', value: { stringValue: 'HERE' } }];
      const v = '{"arrayValue":{"values":['.repeat(arrays) + '{"stringValue":"x"}' + ']}}'.repeat(arrays);
      return Buffer.from(requestToOtlpJson(msg).replace('{"stringValue":"HERE"}', v));
    };
    const json = { 'Content-Type': 'application/json' };
    expect((await post(h.address, body('ok', 31), json)).status).toBe(200);
    for (const arrays of [32, 50_000]) {
      const r = await post(h.address, body('deep', arrays), json);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body.toString())).toEqual({
        code: 3,
        message: 'resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value: attribute value nested more than 63 levels deep (AnyValue, ArrayValue, KeyValueList and KeyValue messages)',
      });
    }
    expect(consumer.arrivals.map((a) => a.services[0])).toEqual(['ok']);
    expect(await value(telemetry, 'spanmeter_requests_rejected_total', { protocol: 'http', reason: 'too_deep' })).toBe(2);
    expect(await value(telemetry, 'spanmeter_requests_rejected_total', { reason: 'malformed' })).toBe(0);
    expect(await value(telemetry, 'spanmeter_requests_total', { protocol: 'http', code: '400' })).toBe(2);
  });
});

/** A core whose next ingest traps inside WASM: a real AssemblyScript abort (allocation too large). */
function armTrap(core: Core): void {
  const original = core.ingest.bind(core);
  core.ingest = (bytes: Uint8Array) => {
    core.ingest = original;
    const wasm = (core as unknown as { wasm: { input_reserve(n: number): number } }).wasm;
    wasm.input_reserve(0xffffffff);
    return original(bytes);
  };
}

describe('fault isolation', () => {
  it('a trap answers 500 with the reason, rebuilds the core, counts the loss; the next request is counted', async () => {
    const options = { spanMetrics: defaultConfig().processor.span_metrics };
    const errors: unknown[] = [];
    const log = { ...silentLogger, error: (o: object) => void errors.push(o) };
    const supervisor = await SupervisedCore.create(options, log);
    const telemetry = new Telemetry({ defaultMetrics: false });
    const h = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: MAX, consumer: supervisor, telemetry });
    const g = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: MAX, consumer: supervisor, telemetry });
    servers.push(h, g);
    expect((await post(h.address, request('a', 3))).status).toBe(200);
    const before = supervisor.view.activeSeries();
    expect(before).toBeGreaterThan(0);

    armTrap((supervisor as unknown as { core: Core }).core);
    const r = await post(h.address, request('b', 2));
    expect(r.status).toBe(500);
    expect(r.headers['content-type']).toBe('application/x-protobuf');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ during: 'ingest', request_bytes: expect.any(Number), lost_series: before });
    expect(supervisor.restarts()).toBe(1);
    expect(supervisor.lostSeries()).toBe(before);
    expect(supervisor.lastFailure()!.error).toMatch(/spanmeter core aborted: Allocation too large/);

    expect(retryDelayMs(r.body).code).toBe(13);
    await supervisor.settled();
    expect(supervisor.view.activeSeries()).toBe(0); // state lost, stated above
    expect((await post(h.address, request('d', 4))).status).toBe(200);
    const client = new grpc.Client(g.address, grpc.credentials.createInsecure());
    expect((await grpcCall(client, request('e', 1))).code).toBe(0);
    client.close();
    expect(await value(telemetry, 'spanmeter_requests_total', { code: '500' })).toBe(1);
    expect(await value(telemetry, 'spanmeter_requests_rejected_total', { reason: 'internal' })).toBe(1);
  });

  it("a trap while a gzip body is taken from the core's input buffer: 500 with the reason, rebuilt, the next gzip body counted", async () => {
    const errors: unknown[] = [];
    const log = { ...silentLogger, error: (o: object) => void errors.push(o) };
    const supervisor = await SupervisedCore.create({ spanMetrics: defaultConfig().processor.span_metrics }, log);
    const telemetry = new Telemetry({ defaultMetrics: false });
    const h = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: MAX, consumer: supervisor, telemetry });
    servers.push(h);
    const gz = { 'Content-Encoding': 'gzip' };
    expect((await post(h.address, gzipSync(request('a', 3)), gz)).status).toBe(200);
    // the next ingestInput traps inside WASM (armTrap's allocation, on the compressed path)
    const core = (supervisor as unknown as { core: Core }).core;
    const original = core.ingestInput.bind(core);
    core.ingestInput = (bytes: number, nowMs?: number) => {
      core.ingestInput = original;
      (core as unknown as { wasm: { input_reserve(n: number): number } }).wasm.input_reserve(0xffffffff);
      return original(bytes, nowMs);
    };
    const r = await post(h.address, gzipSync(request('b', 2)), gz);
    expect(r.status).toBe(500);
    expect(errors).toHaveLength(1);
    // the inflated size of request('b', 2), as the failure's context
    expect(errors[0]).toMatchObject({ during: 'ingest', request_bytes: request('b', 2).length });
    expect(supervisor.restarts()).toBe(1);
    await supervisor.settled();
    expect((await post(h.address, gzipSync(request('d', 4)), gz)).status).toBe(200);
    // hand count: 3 spans before, 4 after; the 2 of the trapped request were not counted
    expect(await value(telemetry, 'spanmeter_spans_accepted_total')).toBe(7);
  });

  it('gRPC: a trap answers INTERNAL with the reason', async () => {
    const supervisor = await SupervisedCore.create({ spanMetrics: defaultConfig().processor.span_metrics }, silentLogger);
    const g = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: MAX, consumer: supervisor, telemetry: new Telemetry({ defaultMetrics: false }) });
    servers.push(g);
    armTrap((supervisor as unknown as { core: Core }).core);
    const client = new grpc.Client(g.address, grpc.credentials.createInsecure());
    const r = await grpcCall(client, request('x', 1));
    expect(r.code).toBe(grpc.status.INTERNAL);
    expect(r.details).toMatch(/^core failure \(spanmeter core aborted: Allocation too large.*the core is being rebuilt$/);
    // during the rebuild: UNAVAILABLE with RetryInfo; afterwards OK
    if (supervisor.isRebuilding()) {
      const during = await grpcCall(client, request('x', 1));
      if (during.code !== 0) {
        expect(during.code).toBe(grpc.status.UNAVAILABLE);
        expect(retryDelayMs(during.metadata!.get('grpc-status-details-bin')[0] as Buffer).delayMs).toBe(1000);
      }
    }
    await supervisor.settled();
    expect((await grpcCall(client, request('x', 1))).code).toBe(0);
    client.close();
  });

  it('/readyz answers 503 until ready, 200 when ready', async () => {
    let ready = false;
    const m = await startMetricsServer({ endpoint: '127.0.0.1:0', renderers: [], ready: () => ({ ok: ready, receivers: ready ? 'up' : 'starting' }) });
    servers.push(m);
    let res = await fetch(`http://${m.address}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not ready', receivers: 'starting' });
    ready = true;
    res = await fetch(`http://${m.address}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', receivers: 'up' });
  });

  it('config: TLS needs cert and key together; a token comes from one place', () => {
    const err = (set: string[]) => {
      try {
        loadConfig({ argv: set.flatMap((s) => ['--set', s]), env: {} });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(err(['otlp.tls.cert_file=/c'])).toContain('otlp.tls: cert_file and key_file must be given together');
    expect(err(['tls.client_ca_file=/ca'])).toContain('tls.client_ca_file: needs cert_file and key_file');
    expect(err(['http_auth.bearer_token=a', 'http_auth.bearer_token_file=/t'])).toContain('http_auth: give bearer_token or bearer_token_file, not both');
    expect(err(['otlp.max_inflight_requests=4'])).toBe('');
  });
});
