// Runs a spanmeter executable (the installed package's bin, or the single executable) as a
// child process on free loopback ports, for the packaging tests: start, POST traces, scrape.
import { spawn, type ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { freePorts, fetchMetricsText, postTraces } from '../support/sidecar.js';
import { EXPORT_METHOD_PATH } from '../../src/receivers/grpc.js';

export { postTraces, fetchMetricsText };

export interface Running {
  otlpHttpUrl: string;
  grpcEndpoint: string;
  httpUrl: string;
  output(): string;
  /** SIGTERM, then waits for the exit; returns the exit code. */
  stop(): Promise<number | null>;
}

/** The environment of a child: no SPANMETER_* settings of the test runner's, nothing else added. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SPANMETER_'))), ...extra };
}

/** Starts `command [...args] <endpoint flags>` in `cwd` and waits until /healthz answers 200. */
export async function startExecutable(command: string, args: string[], cwd: string, env = childEnv()): Promise<Running> {
  const [pHttp, pGrpc, pMetrics] = await freePorts(3);
  const child: ChildProcess = spawn(command, [
    ...args,
    '--otlp.http-endpoint', `127.0.0.1:${pHttp}`,
    '--otlp.grpc-endpoint', `127.0.0.1:${pGrpc}`,
    '--http-endpoint', `127.0.0.1:${pMetrics}`,
    '--processors', 'span-metrics,service-graphs',
  ], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve((exitCode = code)));
    child.once('error', (err) => {
      out += `spawn error: ${err.message}\n`;
      resolve((exitCode = null));
    });
  });
  const running: Running = {
    otlpHttpUrl: `http://127.0.0.1:${pHttp}`,
    grpcEndpoint: `127.0.0.1:${pGrpc}`,
    httpUrl: `http://127.0.0.1:${pMetrics}`,
    output: () => out,
    async stop() {
      if (exitCode === undefined) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${command} exited (code ${exitCode}) before /healthz answered:\n${out}`);
    try {
      const res = await fetch(`${running.httpUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return running;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) {
      await running.stop();
      throw new Error(`${command}: no /healthz within 20 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One OTLP/gRPC Export call with a plain grpc-js client; resolves to the error, if any. */
export function exportGrpc(endpoint: string, request: Uint8Array): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      EXPORT_METHOD_PATH,
      (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      (b: Buffer) => b,
      request,
      (error) => {
        client.close();
        resolve(error);
      },
    );
  });
}

/** The value of one sample line `name{labels} value` in a text exposition, or undefined. */
export function sampleValue(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

export const FRONTEND_GET = 'service="frontend",span_name="GET /",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"';
export const CART_EDGE = 'client="frontend",server="cart"';
