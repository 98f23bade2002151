// Starts the spanmeter sidecar as a child process for black-box tests.
//
// The child is `node bin/spanmeter.js --config FILE` run from the project root, in its own
// process group (detached), with stdout/stderr captured for failure messages. The config is the
// caller's YAML object plus the endpoints on free loopback ports:
//   otlp: {http_endpoint: 127.0.0.1:P1, grpc_endpoint: 127.0.0.1:P2 or ""}
//   http_endpoint: 127.0.0.1:P3
// start waits until GET /healthz answers 200 (20 s at most); stop kills the process group.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { get as httpsGet } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFailed } from 'vitest';
import YAML from 'yaml';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SidecarOptions {
  /** Config keys besides the endpoints (processors, processor, otlp.max_request_body_size, ...). */
  config?: Record<string, unknown>;
  /** Also open the OTLP/gRPC receiver (default: off, grpc_endpoint ""). */
  grpc?: boolean;
  /** With `grpc`: this port for the gRPC receiver instead of a free one (a client may already be sending to it). */
  grpcPort?: number;
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** How long to wait for /healthz (default 20 s). */
  startTimeoutMs?: number;
  /** A name for messages. */
  label?: string;
  /** A command the child runs under, e.g. ['prlimit', '--nofile=128:128', '--'] (it must exec node in place). */
  wrapper?: string[];
  /**
   * The CA of the certificates named by the config's `tls` / `otlp.tls`: with those set, the
   * URLs are https, and /healthz is polled over TLS trusting this CA.
   */
  ca?: string | Buffer;
}

export interface Sidecar {
  /** Base URL of the OTLP/HTTP receiver, e.g. http://127.0.0.1:40001 */
  readonly otlpHttpUrl: string;
  /** host:port of the OTLP/gRPC receiver, or "" when disabled. */
  readonly grpcEndpoint: string;
  /** Base URL of /metrics and /healthz. */
  readonly httpUrl: string;
  readonly configPath: string;
  /** The YAML written to configPath. */
  readonly configText: string;
  readonly pid: number;
  /** stdout and stderr so far (interleaved, tail kept). */
  output(): string;
  /** True while the child has not exited. */
  alive(): boolean;
  /** Kills the process group and removes the temp config. Safe to call twice. */
  stop(): Promise<void>;
}

/** N numbers as a tuple (so `const [a, b] = await freePorts(2)` types both as number). */
type Ports<N extends number, A extends number[] = []> = number extends N ? number[] : A['length'] extends N ? A : Ports<N, [...A, number]>;

/** Free loopback TCP ports: all bound at once (so they differ), then released. */
export async function freePorts<N extends number>(n: N): Promise<Ports<N>> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const srv = createServer();
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports as Ports<N>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) killGroup(c, 'SIGKILL');
});

/** Kills `child`'s process group with SIGKILL if the test process exits while it still runs. */
export function killGroupOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
}

/** How a child ended: its exit code and signal (both null after a spawn error). */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Watches a child for its end: `exited` settles on its exit or spawn error, `status()` says how
 * it ended (undefined while it runs). A spawn error is written to `onOutput` first.
 */
export function watchExit(child: ChildProcess, onOutput: (chunk: Buffer) => void): { exited: Promise<void>; status: () => ExitStatus | undefined } {
  let status: ExitStatus | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      onOutput(Buffer.from(`spawn error: ${err.message}\n`));
      status ??= { code: null, signal: null };
      resolve();
    });
  });
  return { exited, status: () => status };
}

/**
 * Stops a child spawned with `detached: true`: SIGTERM to its group, SIGKILL after `graceMs`,
 * then waits for `exited` (a promise that settles on the child's exit or spawn error).
 */
export async function terminateGroup(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Sends `signal` to the process group of a child spawned with `detached: true` (to the child alone if that fails). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

const OUTPUT_LIMIT = 256 * 1024;

/** The environment of a spanmeter child: the harness's own SPANMETER_* settings are not its (it would reject them as unknown keys). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPANMETER_'))), ...extra };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/spanmeter.js ARGS` to its end (a one-shot command such as `rules`), in `cwd` (default the project root). */
export function runCli(args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(PROJECT_ROOT, 'bin/spanmeter.js'), ...args],
      { cwd: opts.cwd ?? PROJECT_ROOT, env: childEnv(opts.env), timeout: 20_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(new Error(`spanmeter ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
  });
}

export async function startSidecar(opts: SidecarOptions = {}): Promise<Sidecar> {
  const [pHttp, pFree, pMetrics] = await freePorts(3);
  const pGrpc = opts.grpcPort ?? pFree;
  const userConfig = structuredClone(opts.config ?? {});
  const userOtlp = (userConfig.otlp ?? {}) as Record<string, unknown>;
  const config = {
    ...userConfig,
    otlp: {
      ...userOtlp,
      http_endpoint: `127.0.0.1:${pHttp}`,
      grpc_endpoint: opts.grpc ? `127.0.0.1:${pGrpc}` : '',
    },
    http_endpoint: `127.0.0.1:${pMetrics}`,
  };
  const scheme = (tls: unknown): string => ((tls as { cert_file?: string } | undefined)?.cert_file ? 'https' : 'http');
  const dir = mkdtempSync(join(tmpdir(), 'spanmeter-test-'));
  const configPath = join(dir, 'config.yaml');
  const configText = YAML.stringify(config);
  writeFileSync(configPath, configText);

  let out = '';
  const append = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_LIMIT) out = '…' + out.slice(out.length - OUTPUT_LIMIT);
  };
  // SPANMETER_BIN: another entry script (e.g. a stand-in while testing the harness itself)
  const entry = process.env.SPANMETER_BIN ?? 'bin/spanmeter.js';
  const [command, ...args] = [...(opts.wrapper ?? []), process.execPath, entry, '--config', configPath];
  const child = spawn(command!, args, {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(opts.env),
  });
  killGroupOnExit(child);
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const { exited, status: exitStatus } = watchExit(child, append);

  const httpUrl = `${scheme(userConfig.tls)}://127.0.0.1:${pMetrics}`;
  let stopped = false;
  const sidecar: Sidecar = {
    otlpHttpUrl: `${scheme(userOtlp.tls)}://127.0.0.1:${pHttp}`,
    grpcEndpoint: opts.grpc ? `127.0.0.1:${pGrpc}` : '',
    httpUrl,
    configPath,
    configText,
    pid: child.pid ?? -1,
    output: () => out,
    alive: () => exitStatus() === undefined,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (exitStatus() === undefined) await terminateGroup(child, exited, 3000);
      // any grandchildren left in the group
      killGroup(child, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const label = opts.label ? `${opts.label}: ` : '';
  // A test that fails with a sidecar started inside it shows how the sidecar ended and its last
  // output (a "socket hang up" says nothing of whether the process died). In beforeAll there is no
  // test to hook: vitest refuses, and nothing is printed.
  try {
    onTestFailed(() => {
      console.error(`${label}sidecar ${exitStatus() === undefined ? 'still running' : `ended ${JSON.stringify(exitStatus())}`}; its last output:\n${out.slice(-4096)}`);
    });
  } catch {
    /* not inside a test */
  }
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  let lastErr = '';
  for (;;) {
    const exit = exitStatus();
    if (exit !== undefined) {
      await sidecar.stop();
      throw new Error(
        `${label}sidecar exited before /healthz answered (code ${exit.code}, signal ${exit.signal})\n` +
          `config:\n${configText}\noutput:\n${out}`,
      );
    }
    try {
      const status = await getStatus(`${httpUrl}/healthz`, opts.ca);
      if (status === 200) return sidecar;
      lastErr = `status ${status}`;
    } catch (e) {
      lastErr = (e as Error).message;
    }
    if (Date.now() > deadline) {
      await sidecar.stop();
      throw new Error(
        `${label}sidecar did not answer GET /healthz with 200 within ${(opts.startTimeoutMs ?? 20_000) / 1000} s ` +
          `(last: ${lastErr})\nconfig:\n${configText}\noutput:\n${out}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GET `url` (over TLS trusting `ca` when it is https) within a second; resolves to the status code. */
function getStatus(url: string, ca?: string | Buffer): Promise<number> {
  if (url.startsWith('http:')) {
    return fetch(url, { signal: AbortSignal.timeout(1000) }).then(async (res) => {
      await res.arrayBuffer();
      return res.status;
    });
  }
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 1 s')));
    req.on('error', reject);
  });
}

export const PROM_ACCEPT = 'text/plain;version=0.0.4';

/** GET /metrics as Prometheus text 0.0.4; throws on a non-200 answer. */
export async function fetchMetricsText(sidecar: Pick<Sidecar, 'httpUrl'>): Promise<{ text: string; contentType: string }> {
  const res = await fetch(`${sidecar.httpUrl}/metrics`, {
    headers: { Accept: PROM_ACCEPT },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: status ${res.status}: ${text.slice(0, 500)}`);
  return { text, contentType: res.headers.get('content-type') ?? '' };
}

export interface PostResult {
  status: number;
  contentType: string;
  body: Uint8Array;
  /** The body as UTF-8 text (for messages). */
  text: string;
}

/**
 * POST to the OTLP/HTTP receiver's /v1/traces (node:http, so that an answer sent before the
 * whole body was read, e.g. an early 413 followed by closing the connection, is still seen).
 */
export function postTraces(
  sidecar: Pick<Sidecar, 'otlpHttpUrl'>,
  body: Uint8Array | string,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<PostResult> {
  const url = new URL('/v1/traces', sidecar.otlpHttpUrl);
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return new Promise<PostResult>((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'Content-Type': contentType, 'Content-Length': String(payload.byteLength), ...headers },
        timeout: 10_000,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const buf = new Uint8Array(Buffer.concat(chunks));
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: buf,
            text: Buffer.from(buf).toString('utf8'),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('POST /v1/traces: no answer within 10 s')));
    // a write error (EPIPE/ECONNRESET) after the server answered early is not a failure
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const expectContinue = Object.entries(headers).some(([k, v]) => k.toLowerCase() === 'expect' && /100-continue/i.test(v));
    if (expectContinue) {
      // send the body only on 100 Continue; a refusal comes as the answer instead
      req.on('continue', () => req.end(payload));
      req.flushHeaders();
    } else {
      req.end(payload);
    }
  });
}

export async function healthz(sidecar: Pick<Sidecar, 'httpUrl'>): Promise<number> {
  try {
    const res = await fetch(`${sidecar.httpUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
