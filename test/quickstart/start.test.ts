// Starting and stopping as the README says (issue 18 items 5, 7, 11): `npm start` stops on
// SIGTERM with nothing left on its ports; a taken port is named with its key, its holder and a
// command that runs both; the start-up log gives the web page's URL; shutdown logs "stopped";
// `--print-config` prints YAML that reads back to the same configuration; a mistyped flag with
// a value is one error.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { freePorts, killGroup, killGroupOnExit, postTraces, PROJECT_ROOT, runCli, sleep, startSidecar } from '../support/sidecar.js';

/** Whether a loopback port can be bound (nothing listens on it). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `output()` matches, or fails after `ms` with the output. */
async function waitFor(output: () => string, re: RegExp, ms = 20_000): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = re.exec(output());
    if (m) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re}:\n${output()}`);
    await sleep(50);
  }
}

function exited(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

const childEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPANMETER_')));

describe('npm start (the README quick start)', () => {
  it('SIGTERM to npm stops spanmeter: it logs "stopped", exits, and its ports are free again', async () => {
    const [pHttp, pGrpc, pMetrics] = await freePorts(3);
    // Issue 18: npm -> sh -> node left node running, still on its ports, after SIGTERM to npm.
    const npm = spawn('npm', ['start', '--', '--otlp.http-endpoint', `127.0.0.1:${pHttp}`, '--otlp.grpc-endpoint', `127.0.0.1:${pGrpc}`, '--http-endpoint', `127.0.0.1:${pMetrics}`], {
      cwd: PROJECT_ROOT, env: childEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    killGroupOnExit(npm);
    let out = '';
    npm.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const listening = await waitFor(() => out, /"pid":(\d+)[^\n]*"msg":"spanmeter listening: [^\n]*web page (http:\/\/[^ ;]+)/);
      const nodePid = Number(listening[1]);
      // The page's URL is printed at start-up: the metrics port, path / (README "The web page").
      expect(listening[2]).toBe(`http://127.0.0.1:${pMetrics}/`);
      expect(nodePid).not.toBe(npm.pid);
      process.kill(npm.pid!, 'SIGTERM'); // npm alone, as a service manager or `docker stop` would
      expect(await exited(npm, 15_000)).not.toBe(null);
      expect(out).toContain('"msg":"spanmeter stopped"');
      for (let i = 0; i < 100 && alive(nodePid); i++) await sleep(50);
      expect(alive(nodePid), `node ${nodePid} is still running:\n${out}`).toBe(false);
      expect(await Promise.all([pHttp, pGrpc, pMetrics].map(portFree))).toEqual([true, true, true]);
    } finally {
      killGroup(npm, 'SIGKILL');
    }
  });
});

describe('a port already in use', () => {
  it('names the port, its key, the spanmeter holding it and a command that runs both', async () => {
    const first = await startSidecar({ label: 'holder' });
    try {
      const port = Number(new URL(first.httpUrl).port);
      const [pHttp, pGrpc] = await freePorts(2);
      const r = await runCli(['--http-endpoint', `127.0.0.1:${port}`, '--otlp.http-endpoint', `127.0.0.1:${pHttp}`, '--otlp.grpc-endpoint', `127.0.0.1:${pGrpc}`]);
      expect(r.code).toBe(1);
      // The holder is found through /proc (Linux): the sidecar started above, by its pid.
      expect(r.stderr).toContain(`port ${port} (http_endpoint 127.0.0.1:${port}) is already in use, by another spanmeter, pid ${first.pid} `);
      // The same command on every port + 10000 (src/config/inuse.ts PORT_OFFSET).
      // The flags given are replaced, not repeated.
      expect(r.stderr).toContain(`\n  node bin/spanmeter.js --otlp.http-endpoint 127.0.0.1:${pHttp + 10_000} --otlp.grpc-endpoint 127.0.0.1:${pGrpc + 10_000} --http-endpoint 127.0.0.1:${port + 10_000}\n`);
      expect(first.alive()).toBe(true);
    } finally {
      await first.stop();
    }
  });
});

describe('--print-config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spanmeter-print-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the merged configuration as YAML that --config reads back to the same configuration', async () => {
    const args = [
      '--set', 'processor.span_metrics.dimensions=http.route,http.request.method',
      '--set', 'processor.service_graphs.wait=2s',
      '--set', 'registry.stale_duration=1m30s',
      '--set', 'slos=[{name: cart, objective: 99.5, kind: latency, threshold: 300ms, window: 7d}]',
      '--set', 'remote_write=http://127.0.0.1:9/api/v1/write',
    ];
    const r = await runCli(['--print-config', ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Go-style durations, as the config file takes them (docs/config.md).
    expect(r.stdout).toMatch(/\n {4}wait: 2s\n/);
    expect(r.stdout).toMatch(/\n {2}stale_duration: 1m30s\n/);
    expect(r.stdout).toMatch(/\nprocessors:\n {2}- span-metrics\n {2}- service-graphs\n[a-z]/);
    expect(r.stdout).toMatch(/\n {4}dimensions:\n {6}- http\.route\n {6}- http\.request\.method\n/);
    const file = join(dir, 'printed.yaml');
    writeFileSync(file, r.stdout);
    const back = loadConfig({ argv: ['--config', file], env: {} });
    const direct = loadConfig({ argv: args, env: {} });
    if (back.action !== 'run' || direct.action !== 'run') throw new Error('not a run');
    expect(back.config).toEqual(direct.config);
    expect(back.config.slos[0]!.window).toBe(7 * 86_400_000);
  });

  it('redacts bearer tokens', async () => {
    const r = await runCli(['--print-config', '--set', 'otlp.auth.bearer_token=s3cret']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('s3cret');
    expect(r.stdout).toContain('bearer_token: <redacted>');
  });
});

describe('a mistyped flag', () => {
  it('--processor span-metrics is one error, with the right flag suggested', async () => {
    const r = await runCli(['--processor', 'span-metrics']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('config error: --processor: unknown flag (did you mean --processors?)\n');
  });
});

describe('--help', () => {
  it('says what the metrics port serves and that both processors are the default', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).toContain('listen address of /metrics, the web page (/) and its JSON API (/api/)');
    expect(r.stdout).toContain('span-metrics, service-graphs (default both)');
    expect(r.stdout).toContain('--print-config');
  });
});

describe('log_level: debug', () => {
  it('logs one line per accepted request: spans, bytes, format', async () => {
    const s = await startSidecar({ config: { log_level: 'debug' }, label: 'debug log' });
    try {
      // Two spans, hand-written OTLP/JSON (the README quick start's curl span, twice).
      const span = (id: string) => ({ traceId: '5b8efff798038103d269b633813fc60c', spanId: id, name: 'GET /cart', kind: 2, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000012000000' });
      const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] }, scopeSpans: [{ spans: [span('eee19b7ec3c1b174'), span('eee19b7ec3c1b175')] }] }] });
      expect((await postTraces(s, body, 'application/json')).status).toBe(200);
      const line = await waitFor(() => s.output(), /\{[^\n]*"msg":"otlp\/http: request accepted"[^\n]*\}/);
      const entry = JSON.parse(line[0]) as { level: string; spans: number; bytes: number; format: string; encoding: string };
      expect(entry).toMatchObject({ level: 'debug', spans: 2, bytes: Buffer.byteLength(body), format: 'json', encoding: 'identity' });
    } finally {
      await s.stop();
    }
  });
});
