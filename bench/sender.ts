// The load generator for the end-to-end benchmark, run by bench/index.ts as a second Node
// process: POSTs pre-encoded OTLP/HTTP protobuf requests over keep-alive connections for a
// fixed time. Writes "W\n" to stdout when the warm-up ends and "E\n" when the measured window
// ends (so the parent can sample the sidecar's CPU time), then one line of JSON.
//
//   node dist/bench/sender.js --url http://127.0.0.1:4318/v1/traces --file bodies.bin
//        [--gzip] [--connections 4] [--warmup 1000] [--duration 10000]
//
// bodies.bin: u32 count, then per request u32 spans, u32 length, the body bytes (little endian).
import http from 'node:http';
import { readFileSync } from 'node:fs';

export interface SenderResult {
  /** Measured window only. */
  requests: number;
  spans: number;
  bodyBytes: number;
  seconds: number;
  /** Non-200 answers and transport errors, whole run. */
  failures: number;
  firstFailure: string;
  /** Spans answered with 200 over the whole run (warm-up and tail included). */
  acceptedTotal: number;
  /** Request latency in the window, ms. */
  p50: number;
  p99: number;
  /** CPU time of this process in the window, s. */
  cpuSeconds: number;
}

export interface Body {
  spans: number;
  bytes: Buffer;
}

export function readBodies(path: string): Body[] {
  const file = readFileSync(path);
  const n = file.readUInt32LE(0);
  const out: Body[] = [];
  let p = 4;
  for (let i = 0; i < n; i++) {
    const spans = file.readUInt32LE(p);
    const len = file.readUInt32LE(p + 4);
    out.push({ spans, bytes: file.subarray(p + 8, p + 8 + len) });
    p += 8 + len;
  }
  return out;
}

export function writeBodies(bodies: { spans: number; bytes: Uint8Array }[]): Buffer {
  const total = 4 + bodies.reduce((n, b) => n + 8 + b.bytes.length, 0);
  const out = Buffer.alloc(total);
  out.writeUInt32LE(bodies.length, 0);
  let p = 4;
  for (const b of bodies) {
    out.writeUInt32LE(b.spans, p);
    out.writeUInt32LE(b.bytes.length, p + 4);
    out.set(b.bytes, p + 8);
    p += 8 + b.bytes.length;
  }
  return out;
}

export function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1]!;
  if (fallback === undefined) throw new Error(`sender: --${name} is required`);
  return fallback;
}

/** What a sender sends: a body of `spans` spans; `size` bytes of OTLP it carries (default: bytes.length). */
export interface LoadBody extends Body {
  size?: number;
}

/**
 * Drives `workers` loops that send `bodies` round-robin (each waits for its answer before the
 * next) for warmupMs + durationMs; writes "W\n" and "E\n" at the window's ends and counts what
 * was answered OK inside the window. `send` resolves with an empty string when the answer is OK,
 * else with what went wrong (a transport error resolves too).
 */
export async function driveLoad(
  o: { bodies: LoadBody[]; workers: number; warmupMs: number; durationMs: number },
  send: (body: LoadBody, worker: number) => Promise<string>,
): Promise<SenderResult> {
  const { bodies, warmupMs, durationMs } = o;
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  const windowEnd = windowStart + durationMs;
  let cpu0 = process.cpuUsage();
  let cpuWindow = 0;
  let next = 0;
  let requests = 0;
  let spans = 0;
  let bodyBytes = 0;
  let failures = 0;
  let firstFailure = '';
  let acceptedTotal = 0;
  const latencies: number[] = [];

  const startTimer = setTimeout(() => {
    cpu0 = process.cpuUsage();
    process.stdout.write('W\n');
  }, warmupMs);

  // Throughput counts the requests answered inside the window.
  const worker = async (w: number): Promise<void> => {
    for (;;) {
      const started = performance.now();
      if (started >= windowEnd) return;
      const body = bodies[next]!;
      next = (next + 1) % bodies.length;
      const failure = await send(body, w);
      const done = performance.now();
      if (failure === '') {
        acceptedTotal += body.spans;
        if (done >= windowStart && done <= windowEnd) {
          requests++;
          spans += body.spans;
          bodyBytes += body.size ?? body.bytes.length;
          latencies.push(done - started);
        }
      } else {
        failures++;
        if (!firstFailure) firstFailure = failure;
      }
    }
  };

  let ended = false;
  const endWindow = (): void => {
    ended = true;
    const c = process.cpuUsage(cpu0);
    cpuWindow = (c.user + c.system) / 1e6;
    process.stdout.write('E\n');
  };
  const endTimer = setTimeout(endWindow, Math.max(0, windowEnd - performance.now()));
  await Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w)));
  clearTimeout(startTimer);
  if (!ended) {
    clearTimeout(endTimer);
    endWindow();
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! : 0);
  return {
    requests, spans, bodyBytes, seconds: durationMs / 1000, failures, firstFailure, acceptedTotal,
    p50: q(0.5), p99: q(0.99), cpuSeconds: cpuWindow,
  };
}

async function main(): Promise<void> {
  const url = new URL(arg('url'));
  const gzip = process.argv.includes('--gzip');
  const connections = Number(arg('connections', '4'));
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });

  const post = (body: Body): Promise<string> =>
    new Promise((resolve) => {
      const headers: http.OutgoingHttpHeaders = {
        'Content-Type': 'application/x-protobuf',
        'Content-Length': body.bytes.length,
      };
      if (gzip) headers['Content-Encoding'] = 'gzip';
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(res.statusCode === 200 ? '' : `HTTP ${res.statusCode}`));
          res.on('error', (e) => resolve(e.message));
        },
      );
      req.on('error', (e) => resolve(e.message));
      req.end(body.bytes);
    });

  const result = await driveLoad({
    bodies: readBodies(arg('file')), workers: connections,
    warmupMs: Number(arg('warmup', '1000')), durationMs: Number(arg('duration', '10000')),
  }, post);
  agent.destroy();
  process.stdout.write(JSON.stringify(result) + '\n');
}

// Run only as the entry script (index.ts imports the file helpers).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`sender: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
