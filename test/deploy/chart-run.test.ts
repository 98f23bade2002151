// The rendered chart run for real (issue 25): spanmeter started with exactly the rendered
// ConfigMap, command, args and env, and the Secrets the pod mounts (test/deploy/pod.ts says how
// the volumes are laid out), on free loopback ports (rendered with listenAddress 127.0.0.1 and
// those ports). The rendered probes are hit as the kubelet does (their scheme, path and named
// port; HTTPS without verifying the certificate, as the kubelet's probes do), then each of the
// Service's target ports with a real client: OTLP/HTTP, OTLP/gRPC (grpc-js) and /metrics, whose
// span counts must be the spans sent (hand-counted: 2 over HTTP, 3 over gRPC).
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { grpcCall, request, requestMsg } from '../reliability/helpers.js';
import { encodeRequest } from '../support/otlp-input.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { freePorts } from '../support/sidecar.js';
import { call, callsByService, probeUntilOk, runPod, servicePort, type Pod, type Secrets } from './pod.js';
import { deployTools, render, type Rendered } from './support.js';

let pods: Pod[] = [];
afterEach(async () => {
  await Promise.all(pods.map((p) => p.stop()));
  pods = [];
});
beforeAll(() => {
  deployTools();
});

async function listen(values: Record<string, unknown>): Promise<{ r: Rendered; ports: number[] }> {
  const ports = await freePorts(3);
  const r = render({ ...values, listenAddress: '127.0.0.1', ports: { otlpGrpc: ports[0], otlpHttp: ports[1], http: ports[2] } });
  return { r, ports };
}

describe('the rendered pod, run', () => {
  it('default values (plus extraEnv and extraArgs): probes, OTLP/HTTP, OTLP/gRPC and /metrics on the Service target ports', async () => {
    const { r, ports } = await listen({
      config: { processors: ['span-metrics', 'service-graphs'], log_level: 'info', registry: { max_active_series: 5000 } },
      extraEnv: [{ name: 'SPANMETER_PROCESSOR_SPAN_METRICS_DIMENSIONS', value: 'k8s.pod.name' }],
      extraArgs: ['--set', 'processor.span_metrics.intrinsic_dimensions.span_kind=false'],
    });
    const pod = runPod(r);
    pods.push(pod);
    const c = pod.container;
    expect((await probeUntilOk(pod, c.readinessProbe)).status).toBe(200);
    expect((await probeUntilOk(pod, c.livenessProbe)).status).toBe(200);
    // the probes name the port the config's http_endpoint listens on
    expect(pod.port(c.readinessProbe.httpGet.port)).toBe(ports[2]);

    const httpPort = servicePort(r, pod, 'otlp-http');
    const withPod = requestMsg('k8s-http', 2);
    (withPod as any).resourceSpans[0].resource.attributes.push({ key: 'k8s.pod.name', value: { stringValue: 'shop-0' } });
    expect((await call('http', httpPort, '/v1/traces', {}, encodeRequest(withPod))).status).toBe(200);
    const client = new grpc.Client(`127.0.0.1:${servicePort(r, pod, 'otlp-grpc')}`, grpc.credentials.createInsecure());
    try {
      expect((await grpcCall(client, request('k8s-grpc', 3))).code).toBe(0);
    } finally {
      client.close();
    }
    const metrics = await call('http', servicePort(r, pod, 'http-metrics'), '/metrics');
    expect(metrics.status).toBe(200);
    expect(callsByService(metrics.body)).toEqual({ 'k8s-http': 2, 'k8s-grpc': 3 });
    // extraEnv reached spanmeter (the dimension k8s.pod.name, label k8s_pod_name), and so did
    // extraArgs (--set ...span_kind=false: no span_kind label)
    const calls = parsePrometheusText(metrics.body).samples.filter((s) => s.name === 'traces_spanmetrics_calls_total');
    expect(calls.map((s) => s.labels).sort((a, b) => a.service!.localeCompare(b.service!))).toEqual([
      { service: 'k8s-grpc', span_name: 'op', status_code: 'STATUS_CODE_UNSET' },
      { service: 'k8s-http', span_name: 'op', status_code: 'STATUS_CODE_UNSET', k8s_pod_name: 'shop-0' },
    ]);
  });

  describe('TLS and bearer tokens from Secrets', () => {
    let dir = '';
    const f = (n: string) => join(dir, n);
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'spanmeter-k8s-tls-'));
      writeFileSync(f('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=test-ca');
      for (const name of ['server', 'client']) {
        openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
        openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', 'san.cnf');
      }
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('mTLS on OTLP, HTTPS on metrics, tokens on both: the probes stay open, the rest needs the Secret material', async () => {
      const { r } = await listen({
        tls: { otlp: { enabled: true, secretName: 'otlp-tls', clientAuth: true }, metrics: { enabled: true, secretName: 'metrics-tls' } },
        auth: { otlp: { secretName: 'otlp-token' }, metrics: { secretName: 'metrics-token', secretKey: 'bearer' } },
      });
      // kubernetes.io/tls Secrets (tls.crt, tls.key, ca.crt) and Opaque token Secrets
      const tlsSecret = { 'tls.crt': readFileSync(f('server.crt')), 'tls.key': readFileSync(f('server.key')), 'ca.crt': readFileSync(f('ca.crt')) };
      const secrets: Secrets = {
        'otlp-tls': tlsSecret, 'metrics-tls': tlsSecret,
        'otlp-token': { token: 'otlp-secret-token\n' }, 'metrics-token': { bearer: 'metrics-secret-token', other: 'not mounted' },
      };
      const pod = runPod(r, secrets);
      pods.push(pod);
      const c = pod.container;
      expect(c.readinessProbe.httpGet.scheme).toBe('HTTPS');
      expect((await probeUntilOk(pod, c.readinessProbe)).status).toBe(200);
      expect((await probeUntilOk(pod, c.livenessProbe)).status).toBe(200);

      const ca = readFileSync(f('ca.crt'));
      const client = { ca, cert: readFileSync(f('client.crt')), key: readFileSync(f('client.key')) };
      const httpPort = servicePort(r, pod, 'otlp-http');
      // token from the Secret (surrounding whitespace ignored, docs/config.md)
      expect((await call('https', httpPort, '/v1/traces', { ...client, token: 'otlp-secret-token' }, request('k8s-tls', 2))).status).toBe(200);
      expect((await call('https', httpPort, '/v1/traces', { ...client }, request('k8s-tls', 1))).status).toBe(401);
      await expect(call('https', httpPort, '/v1/traces', { ca, token: 'otlp-secret-token' }, request('k8s-tls', 1))).rejects.toThrow();

      const creds = grpc.credentials.createSsl(ca, client.key, client.cert);
      const g = new grpc.Client(`127.0.0.1:${servicePort(r, pod, 'otlp-grpc')}`, creds, { 'grpc.ssl_target_name_override': 'localhost' });
      try {
        const md = new grpc.Metadata();
        md.set('authorization', 'Bearer otlp-secret-token');
        expect((await grpcCall(g, request('k8s-tls', 3), md)).code).toBe(0);
        expect((await grpcCall(g, request('k8s-tls', 1))).code).toBe(grpc.status.UNAUTHENTICATED);
      } finally {
        g.close();
      }

      const mport = servicePort(r, pod, 'http-metrics');
      expect((await call('https', mport, '/metrics', { ca })).status).toBe(401);
      const metrics = await call('https', mport, '/metrics', { ca, token: 'metrics-secret-token' });
      expect(metrics.status).toBe(200);
      expect(callsByService(metrics.body)).toEqual({ 'k8s-tls': 5 });
    });
  });
});
