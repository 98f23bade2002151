// Connection exhaustion is logged and counted (issue 21 item 8). Before, at the open-file limit
// both receivers and the probes stopped answering and nothing was logged or counted (libuv accepts
// and closes each connection itself at EMFILE). Now the sidecar keeps its connections under the
// limit (src/net/connections.ts): past it, or past a port's max_connections, a connection is closed
// on arrival, counted in spanmeter_connections_refused_total{server,reason} and logged at most
// once a minute, and the OTLP ports stop short of the metrics port, so the probes keep answering.
// The sidecar runs under `prlimit --nofile=160:160` (util-linux); loopback, 200 connections.
// Also (item 9): plain HTTP sent to a TLS port, which used to close silently.
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../support/prom-text.js';
import { fetchMetricsText, postTraces, startSidecar, type Sidecar } from '../support/sidecar.js';
import { grpcCall, request } from './helpers.js';

const HAVE_PRLIMIT = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

async function refused(s: Sidecar, server: string, reason: string): Promise<number> {
  return parsePrometheusText((await fetchMetricsText(s)).text).samples
    .find((x) => x.name === 'spanmeter_connections_refused_total' && x.labels.server === server && x.labels.reason === reason)?.value ?? NaN;
}

/** Opens `n` connections to `port`; resolves once each is connected, with how many the server has closed 500 ms later. */
async function flood(port: number, n: number): Promise<{ sockets: net.Socket[]; closedByServer: () => number }> {
  const closed = new Set<net.Socket>();
  const sockets = await Promise.all(Array.from({ length: n }, () => new Promise<net.Socket>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    s.once('close', () => closed.add(s));
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  })));
  await new Promise((r) => setTimeout(r, 500));
  return { sockets, closedByServer: () => closed.size };
}

const countLines = (text: string, needle: string) => text.split('\n').filter((l) => l.includes(needle)).length;

describe('connection exhaustion (issue 21 item 8)', () => {
  const sidecars: Sidecar[] = [];
  const cleanupDirs: string[] = [];
  afterAll(async () => {
    await Promise.all(sidecars.map((s) => s.stop()));
    for (const d of cleanupDirs) rmSync(d, { recursive: true, force: true });
  });

  it.skipIf(!HAVE_PRLIMIT)('at the open-file limit: connections refused, counted, logged once; probes answer; ingest recovers', async () => {
    const s = await startSidecar({ label: 'open-files', wrapper: ['prlimit', '--nofile=160:160', '--'], config: { processors: ['span-metrics'] } });
    sidecars.push(s);
    const port = Number(new URL(s.otlpHttpUrl).port);
    const { sockets, closedByServer } = await flood(port, 200);
    const shut = closedByServer();
    // Some were taken, the rest closed on arrival: with 160 descriptors the port takes about
    // 160 - 23 open at start - 32 kept free - 16 left to the metrics port = 89.
    expect(shut).toBeGreaterThan(50);
    expect(shut).toBeLessThan(150);
    // The probes and /metrics answer meanwhile (the metrics port's reserve)
    expect((await fetch(`${s.httpUrl}/healthz`)).status).toBe(200);
    expect(await refused(s, 'otlp_http', 'open_files')).toBe(shut);
    expect(countLines(s.output(), 'otlp_http: connection refused (open_files)')).toBe(1);
    expect(s.output()).toContain('ulimit -n');
    for (const sock of sockets) sock.destroy();
    await new Promise((r) => setTimeout(r, 300));
    // Recovered: the legitimate sender is served and counted once.
    expect((await postTraces(s, request('legit', 6), 'application/x-protobuf')).status).toBe(200);
    const text = (await fetchMetricsText(s)).text;
    expect(parsePrometheusText(text).samples.filter((x) => x.name === 'traces_spanmetrics_calls_total').reduce((a, x) => a + x.value, 0)).toBe(6);
    expect((await fetch(`${s.httpUrl}/readyz`)).status).toBe(200);
  }, 60_000);

  it('otlp.max_connections: the 11th connection to the gRPC port is closed, counted and logged; the port serves once they go', async () => {
    const s = await startSidecar({ label: 'max-connections', grpc: true, config: { processors: ['span-metrics'], otlp: { max_connections: 10 } } });
    sidecars.push(s);
    const port = Number(s.grpcEndpoint.slice(s.grpcEndpoint.lastIndexOf(':') + 1));
    const { sockets, closedByServer } = await flood(port, 20);
    expect(closedByServer()).toBe(10); // 20 - max_connections
    expect(await refused(s, 'otlp_grpc', 'max_connections')).toBe(10);
    expect(countLines(s.output(), 'otlp_grpc: connection refused (max_connections)')).toBe(1);
    for (const sock of sockets) sock.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const client = new grpc.Client(s.grpcEndpoint, grpc.credentials.createInsecure());
    try {
      expect((await grpcCall(client, request('legit', 3))).code).toBe(grpc.status.OK);
    } finally {
      client.close();
    }
    expect(await refused(s, 'otlp_grpc', 'max_connections')).toBe(10);
  }, 60_000);

  it('plain HTTP to a TLS port: Go\'s 400 in plain text, counted and logged as a failed handshake', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spanmeter-plaintext-'));
    cleanupDirs.push(dir);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', '/CN=localhost'], { cwd: dir, stdio: 'pipe' });
    const tls = { cert_file: join(dir, 'c.pem'), key_file: join(dir, 'k.pem') };
    const s = await startSidecar({ label: 'plaintext', grpc: true, config: { processors: ['span-metrics'], otlp: { tls } } });
    sidecars.push(s);
    const port = Number(new URL(s.otlpHttpUrl).port);
    const answer = await new Promise<string>((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port }, () => sock.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'));
      let got = '';
      sock.on('data', (c: Buffer) => { got += c.toString('latin1'); });
      sock.on('error', () => {});
      sock.once('close', () => resolve(got));
    });
    // Go's net/http answer to the same mistake (server.go), as curl shows it
    expect(answer).toMatch(/^HTTP\/1\.0 400 Bad Request\r\n/);
    expect(answer).toContain('Client sent an HTTP request to an HTTPS server.');
    // an HTTP/2 client without TLS to the gRPC port: closed, counted, named in the log
    const client = new grpc.Client(s.grpcEndpoint, grpc.credentials.createInsecure());
    try {
      expect((await grpcCall(client, request('plain', 1))).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
    expect(await refused(s, 'otlp_http', 'tls_handshake')).toBe(1);
    expect(await refused(s, 'otlp_grpc', 'tls_handshake')).toBeGreaterThanOrEqual(1); // grpc-js may try again before giving up
    expect(countLines(s.output(), 'otlp_http: connection refused (tls_handshake): a client sent plain HTTP or HTTP/2 to this TLS port')).toBe(1);
    expect(s.output()).toContain('otlp_grpc: connection refused (tls_handshake): a client sent plain HTTP or HTTP/2 to this TLS port');
  }, 60_000);
});
