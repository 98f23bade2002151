// TLS, mTLS and bearer tokens on the OTLP receivers and the metrics server, with certificates
// made by openssl in a temp dir and real clients (node https, grpc-js, the OTel HTTP exporter):
// each server on its own, then the sidecar configured with all of them.
import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer } from '../../src/exporters/server.js';
import { startGrpcReceiver } from '../../src/receivers/grpc.js';
import { startHttpReceiver } from '../../src/receivers/http.js';
import { loadBearerToken, loadTls, type TlsMaterial } from '../../src/net/security.js';
import type { RunningServer } from '../../src/net/server.js';
import { Telemetry } from '../../src/telemetry.js';
import { RecordingConsumer } from '../receivers/support.js';
import { exportSpans, makeSpans, SpanKind } from '../support/otel.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { startSidecar, type Sidecar } from '../support/sidecar.js';
import { grpcCall, request } from './helpers.js';

let dir = '';
let tls: TlsMaterial;
let mtls: TlsMaterial;
let ca: Buffer;
let clientCert: Buffer;
let clientKey: Buffer;
let otherCert: Buffer;
let otherKey: Buffer;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'spanmeter-tls-'));
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca');
  for (const name of ['server', 'client']) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name === 'server' ? 'localhost' : 'client'}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', 'san.cnf');
  }
  // a client certificate from a CA the server does not trust
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=other');
  const f = (n: string) => join(dir, n);
  tls = loadTls({ cert_file: f('server.pem'), key_file: f('server.key'), client_ca_file: '' }, 'otlp.tls')!;
  mtls = loadTls({ cert_file: f('server.pem'), key_file: f('server.key'), client_ca_file: f('ca.pem') }, 'otlp.tls')!;
  ca = readFileSync(f('ca.pem'));
  clientCert = readFileSync(f('client.pem'));
  clientKey = readFileSync(f('client.key'));
  otherCert = readFileSync(f('other.pem'));
  otherKey = readFileSync(f('other.key'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

interface Answer { status: number; headers: Record<string, unknown>; body: string }
function httpsPost(address: string, body: Uint8Array, opts: https.RequestOptions = {}, path = '/v1/traces', method = 'POST'): Promise<Answer> {
  const port = address.slice(address.lastIndexOf(':') + 1);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path, method, ca, agent: false,
      headers: method === 'POST' ? { 'Content-Type': 'application/x-protobuf', 'Content-Length': String(body.length), ...(opts.headers ?? {}) } : opts.headers,
      ...opts,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(method === 'POST' ? body : undefined);
  });
}

describe('TLS and mTLS', () => {
  it('OTLP/HTTP over TLS; plain HTTP gets Go\'s 400 in plain text, nothing reaches the consumer', async () => {
    const consumer = new RecordingConsumer();
    const s = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20, consumer, telemetry: new Telemetry({ defaultMetrics: false }), tls });
    servers.push(s);
    expect((await httpsPost(s.address, request('tls', 2))).status).toBe(200);
    const plain = await fetch(`http://${s.address}/v1/traces`, { method: 'POST', body: 'x' });
    // Go's net/http answer (server.go), issue 21 item 9: no longer a silent close
    expect([plain.status, await plain.text()]).toEqual([400, 'Client sent an HTTP request to an HTTPS server.\n']);
    expect(consumer.arrivals).toHaveLength(1);
  });

  it('OTLP/HTTP with mTLS: a client certificate from the CA is required', async () => {
    const consumer = new RecordingConsumer();
    const s = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20, consumer, telemetry: new Telemetry({ defaultMetrics: false }), tls: mtls });
    servers.push(s);
    expect((await httpsPost(s.address, request('m', 1), { cert: clientCert, key: clientKey })).status).toBe(200);
    await expect(httpsPost(s.address, request('m', 1))).rejects.toThrow();
    await expect(httpsPost(s.address, request('m', 1), { cert: otherCert, key: otherKey })).rejects.toThrow();
    expect(consumer.arrivals).toHaveLength(1);
  });

  it('OTLP/gRPC with TLS and mTLS', async () => {
    const consumer = new RecordingConsumer();
    const telemetry = new Telemetry({ defaultMetrics: false });
    const g = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20, consumer, telemetry, tls: mtls });
    servers.push(g);
    const addr = `localhost:${g.address.slice(g.address.lastIndexOf(':') + 1)}`;
    const good = new grpc.Client(addr, grpc.credentials.createSsl(ca, clientKey, clientCert));
    const noCert = new grpc.Client(addr, grpc.credentials.createSsl(ca));
    const plain = new grpc.Client(addr, grpc.credentials.createInsecure());
    try {
      expect((await grpcCall(good, request('g', 3))).code).toBe(grpc.status.OK);
      expect((await grpcCall(noCert, request('g', 3))).code).toBe(grpc.status.UNAVAILABLE);
      expect((await grpcCall(plain, request('g', 3))).code).toBe(grpc.status.UNAVAILABLE);
      expect(consumer.arrivals).toHaveLength(1);
    } finally {
      for (const c of [good, noCert, plain]) c.close();
    }
  });

  it('the metrics server over TLS with a bearer token on /metrics', async () => {
    const m = await startMetricsServer({ endpoint: '127.0.0.1:0', renderers: [() => 'up 1\n'], tls, bearerToken: 's3cret' });
    servers.push(m);
    const get = (path: string, headers: Record<string, string> = {}) => httpsPost(m.address, new Uint8Array(0), { headers }, path, 'GET');
    const denied = await get('/metrics');
    expect(denied.status).toBe(401);
    expect(denied.headers['www-authenticate']).toBe('Bearer realm="spanmeter"');
    expect((await get('/metrics', { Authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await get('/metrics', { Authorization: 'Bearer s3cret' });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('up 1\n');
    expect((await get('/healthz')).status).toBe(200); // probes stay open
    expect((await get('/readyz')).status).toBe(200);
  });
});

describe('bearer tokens on the receivers', () => {
  it('HTTP 401 with WWW-Authenticate: Bearer; gRPC UNAUTHENTICATED; the right token passes', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'tok-123\n');
    const token = loadBearerToken({ bearer_token: '', bearer_token_file: tokenFile }, 'otlp.auth')!;
    expect(token).toBe('tok-123');
    const consumer = new RecordingConsumer();
    const telemetry = new Telemetry({ defaultMetrics: false });
    const h = await startHttpReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20, consumer, telemetry, bearerToken: token });
    const g = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20, consumer, telemetry, bearerToken: token });
    servers.push(h, g);
    const postTo = (headers: Record<string, string>) =>
      fetch(`http://${h.address}/v1/traces`, { method: 'POST', body: Buffer.from(request('h', 1)), headers: { 'Content-Type': 'application/x-protobuf', ...headers } });
    const denied = await postTo({});
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toBe('Bearer realm="spanmeter"');
    expect((await postTo({ Authorization: 'Bearer nope' })).status).toBe(401);
    expect((await postTo({ Authorization: 'Basic dG9rLTEyMw==' })).status).toBe(401);
    expect((await postTo({ Authorization: 'Bearer tok-123' })).status).toBe(200);
    expect((await postTo({ Authorization: 'bearer tok-123' })).status).toBe(200);

    const client = new grpc.Client(g.address, grpc.credentials.createInsecure());
    const md = (v?: string) => {
      const m = new grpc.Metadata();
      if (v) m.set('authorization', v);
      return m;
    };
    expect((await grpcCall(client, request('g', 1), md())).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await grpcCall(client, request('g', 1), md('Bearer x'))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await grpcCall(client, request('g', 1), md('Bearer tok-123'))).code).toBe(grpc.status.OK);
    client.close();
    expect(consumer.arrivals.map((a) => a.services[0])).toEqual(['h', 'h', 'g']);
    const text = await telemetry.render('text');
    expect(text).toContain('spanmeter_requests_rejected_total{protocol="http",reason="unauthenticated"} 3\n');
    expect(text).toContain('spanmeter_requests_rejected_total{protocol="grpc",reason="unauthenticated"} 2\n');
  });
});

describe('the sidecar with TLS, mTLS and tokens from its config', () => {
  let sidecar: Sidecar | undefined;
  afterAll(async () => {
    await sidecar?.stop();
  });

  it('OTLP/HTTP and gRPC over mTLS with a token, /metrics over TLS with another; probes open', async () => {
    const f = (n: string) => join(dir, n);
    writeFileSync(f('otlp-token'), 'otlp-tok\n');
    sidecar = await startSidecar({
      label: 'tls', grpc: true, ca,
      config: {
        log_level: 'error',
        otlp: { tls: { cert_file: f('server.pem'), key_file: f('server.key'), client_ca_file: f('ca.pem') }, auth: { bearer_token_file: f('otlp-token') } },
        tls: { cert_file: f('server.pem'), key_file: f('server.key') },
        http_auth: { bearer_token: 'metrics-tok' },
      },
    });
    const s = sidecar;
    expect(s.otlpHttpUrl).toMatch(/^https:/);
    expect(s.httpUrl).toMatch(/^https:/);
    const otlp = new URL(s.otlpHttpUrl).host;
    const metrics = new URL(s.httpUrl).host;

    // the real exporter, with the client certificate and the token
    const exporter = new OTLPTraceExporter({
      url: `${s.otlpHttpUrl}/v1/traces`,
      headers: { Authorization: 'Bearer otlp-tok' },
      httpAgentOptions: { ca, cert: clientCert, key: clientKey },
    });
    try {
      const start: [number, number] = [1_700_000_000, 0];
      await exportSpans(exporter, await makeSpans('exporter-tls', [0, 1, 2].map(() => ({ name: 'op', kind: SpanKind.SERVER, start, durationNs: 1e6 }))));
    } finally {
      await exporter.shutdown();
    }
    await expect(httpsPost(otlp, request('no-cert', 1), { headers: { Authorization: 'Bearer otlp-tok' } })).rejects.toThrow();
    expect((await httpsPost(otlp, request('no-token', 1), { cert: clientCert, key: clientKey })).status).toBe(401);
    expect((await fetch(`http://${otlp}/v1/traces`, { method: 'POST', body: 'x' })).status).toBe(400); // plain HTTP: Go's answer

    const grpcAddr = `localhost:${s.grpcEndpoint.slice(s.grpcEndpoint.lastIndexOf(':') + 1)}`;
    const client = new grpc.Client(grpcAddr, grpc.credentials.createSsl(ca, clientKey, clientCert));
    const withToken = new grpc.Metadata();
    withToken.set('authorization', 'Bearer otlp-tok');
    try {
      expect((await grpcCall(client, request('grpc-tls', 2), withToken)).code).toBe(grpc.status.OK);
      expect((await grpcCall(client, request('grpc-no-token', 2))).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }

    const get = (path: string, headers: Record<string, string> = {}) => httpsPost(metrics, new Uint8Array(0), { headers }, path, 'GET');
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/metrics', { Authorization: 'Bearer otlp-tok' })).status).toBe(401);
    // Issue 21 item 7: the page's data (/api/*) asks for the same token; only the probes stay open.
    expect((await get('/api/graph')).status).toBe(401);
    expect((await get('/api/red?service=exporter-tls')).status).toBe(401);
    expect((await get('/api/graph', { Authorization: 'Bearer metrics-tok' })).status).toBe(200);
    const page = await get('/metrics', { Authorization: 'Bearer metrics-tok', Accept: 'text/plain;version=0.0.4' });
    expect(page.status).toBe(200);
    const samples = parsePrometheusText(page.body).samples;
    const calls = samples.filter((x) => x.name === 'traces_spanmetrics_calls_total').map((x) => `${x.labels.service} ${x.value}`);
    expect(calls.sort()).toEqual(['exporter-tls 3', 'grpc-tls 2']);
    const rejected = samples.filter((x) => x.name === 'spanmeter_requests_rejected_total' && x.labels.reason === 'unauthenticated');
    expect(rejected.map((x) => `${x.labels.protocol} ${x.value}`).sort()).toEqual(['grpc 1', 'http 1']);
    const healthz = await get('/healthz');
    expect(healthz.status).toBe(200);
    const readyz = await get('/readyz');
    expect([readyz.status, JSON.parse(readyz.body)]).toEqual([200, { status: 'ready', receivers: 'up' }]);
    expect((await fetch(`http://${metrics}/healthz`)).status).toBe(400); // plain HTTP to the TLS metrics port: Go's answer
  }, 60_000);
});
