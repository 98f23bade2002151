// SIGTERM: a clean stop exits 0 promptly; a stop that cannot finish (a remote-write endpoint
// that never answers the last flush) ends at shutdown_timeout with status 1.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePorts, healthz, PROJECT_ROOT, sleep } from '../support/sidecar.js';

/** Runs the sidecar on OTLP port `otlp` and metrics port `metrics`, waits until healthy, optionally sends a trace, then SIGTERMs it. */
async function runUntilSigterm(otlp: number, metrics: number, extra: string[], trace = false): Promise<{ code: number | null; ms: number; output: string }> {
  let output = '';
  const { child, exited } = spawnWithConfig(
    [`otlp: {http_endpoint: "127.0.0.1:${otlp}", grpc_endpoint: ""}`, `http_endpoint: "127.0.0.1:${metrics}"`, ...extra],
    (text) => (output += text),
  );
  const httpUrl = `http://127.0.0.1:${metrics}`;
  for (let i = 0; i < 100 && (await healthz({ httpUrl })) !== 200; i++) await sleep(100);
  if (trace) {
    const res = await fetch(`http://127.0.0.1:${otlp}/v1/traces`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', name: 'op', kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000001000000' }] }] }] }),
    });
    expect(res.status).toBe(200);
  }
  const t0 = Date.now();
  child.kill('SIGTERM');
  const [code] = await exited;
  return { code, ms: Date.now() - t0, output };
}

/** Spawns bin/spanmeter.js with a config of `lines` (SPANMETER_* variables left out); `onOutput` gets stdout and stderr as they come. */
function spawnWithConfig(lines: string[], onOutput: (text: string) => void): { child: ChildProcess; exited: Promise<[number | null, string | null]> } {
  const dir = mkdtempSync(join(tmpdir(), 'spanmeter-shutdown-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, [...lines, ''].join('\n'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPANMETER_')));
  const child = spawn(process.execPath, ['bin/spanmeter.js', '--config', file], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => onOutput(b.toString()));
  child.stderr!.on('data', (b: Buffer) => onOutput(b.toString()));
  const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  return { child, exited };
}

describe('SIGTERM', () => {
  let hanging: http.Server;
  let hangingPort = 0;
  beforeAll(async () => {
    hanging = http.createServer(() => { /* never answers */ });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', () => r()));
    hangingPort = (hanging.address() as { port: number }).port;
  });
  afterAll(async () => {
    hanging.closeAllConnections();
    await new Promise<void>((r) => hanging.close(() => r()));
  });

  test('a clean stop exits 0 well within shutdown_timeout', async () => {
    const [p1, p2] = await freePorts(2);
    const r = await runUntilSigterm(p1, p2, ['shutdown_timeout: 20s'], true);
    expect(r.code, r.output).toBe(0);
    expect(r.ms).toBeLessThan(20_000);
  });

  test('a last flush that hangs ends at shutdown_timeout, with status 1 and a log line', async () => {
    const [p1, p2] = await freePorts(2);
    const r = await runUntilSigterm(p1, p2, [
      'shutdown_timeout: 1s',
      'collection_interval: 1h',
      `remote_write: [{url: "http://127.0.0.1:${hangingPort}/api/v1/write", timeout: 1m}]`,
    ], true);
    expect(r.code, r.output.split("\n").slice(-6).join("\n")).toBe(1);
    expect(r.output).toContain('shutdown did not finish in time: exiting');
    expect(r.ms).toBeGreaterThanOrEqual(1000);
    expect(r.ms).toBeLessThan(8000); // not the exporters' own 10 s flush deadline
  });

  test('a SIGTERM while the sidecar still starts (right after the OTLP/HTTP receiver listens) waits for the start, then stops cleanly with the last flush', async () => {
    // The receiver accepts spans before the rest has started (the gRPC receiver, the push
    // exporters' lazy import); a SIGTERM then must not kill the process with Node's default
    // (exit by signal, code null, nothing flushed): CI saw remote write's last flush lost so.
    const [otlp, metrics, grpc] = await freePorts(3);
    const writes: string[] = [];
    const sink = http.createServer((req, res) => {
      writes.push(req.url ?? '');
      req.resume().on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (sink.address() as { port: number }).port;
      let output = '';
      let signalled = false;
      const { child, exited } = spawnWithConfig([
        `otlp: {http_endpoint: "127.0.0.1:${otlp}", grpc_endpoint: "127.0.0.1:${grpc}"}`,
        `http_endpoint: "127.0.0.1:${metrics}"`,
        'collection_interval: 1h',
        `remote_write: [{url: "http://127.0.0.1:${port}/api/v1/write"}]`,
      ], (text) => {
        output += text;
        // the receiver's own log line (src/receivers/http.ts), written before the rest starts
        if (!signalled && output.includes('otlp/http receiver listening')) {
          signalled = true;
          child.kill('SIGTERM');
        }
      });
      const [code, signal] = await exited;
      expect(signalled, output).toBe(true);
      expect([code, signal], output).toEqual([0, null]);
      expect(output).toContain('spanmeter stopped');
      // nothing was accepted, so the last collection has nothing to write
      expect(writes).toEqual([]);
    } finally {
      sink.closeAllConnections();
      await new Promise<void>((r) => sink.close(() => r()));
    }
  });
});
