// The OTLP/gRPC load generator for the end-to-end benchmark, run by bench/grpc.ts as a second Node
// process: sends pre-built gRPC frames of the bench's bodies as unary
// opentelemetry.proto.collector.trace.v1.TraceService/Export calls on raw node:http2 sessions
// ("channels"), several calls in flight on each, for a fixed time. The frames are built once
// (gRPC over HTTP/2: 1-byte compressed flag, 4-byte big-endian length, the message), so the
// sender's own CPU stays small; gzip bodies go with flag 1 and `grpc-encoding: gzip`, as the
// OTel exporters send by default. Same protocol to the parent as bench/sender.ts: "W\n" when the
// warm-up ends, "E\n" when the window ends, then one line of JSON (SenderResult).
//
//   node dist/bench/grpc-sender.js --target 127.0.0.1:4317 --file bodies.bin [--gzip]
//        [--channels 4] [--streams 4] [--warmup 1000] [--duration 10000]
import http2 from 'node:http2';
import { readBodies, type SenderResult } from './sender.js';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1]!;
  if (fallback === undefined) throw new Error(`grpc-sender: --${name} is required`);
  return fallback;
}

/** One length-prefixed gRPC message (the gRPC over HTTP/2 spec's Length-Prefixed-Message). */
export function grpcFrame(message: Uint8Array, compressed: boolean): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

async function main(): Promise<void> {
  const target = arg('target');
  const gzip = process.argv.includes('--gzip');
  const frames = readBodies(arg('file')).map((b) => ({ spans: b.spans, frame: grpcFrame(b.bytes, gzip), length: b.bytes.length }));
  const channels = Number(arg('channels', '4'));
  const streams = Number(arg('streams', '4'));
  const warmupMs = Number(arg('warmup', '1000'));
  const durationMs = Number(arg('duration', '10000'));
  const headers: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    ':path': EXPORT_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
    'grpc-accept-encoding': 'identity,gzip',
  };
  if (gzip) headers['grpc-encoding'] = 'gzip';

  const sessions = await Promise.all(Array.from({ length: channels }, () => new Promise<http2.ClientHttp2Session>((resolve, reject) => {
    const s = http2.connect(`http://${target}`);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  })));

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

  /** One unary call: the gRPC status from the trailers (or a trailers-only answer), -1 on a transport error. */
  const call = (session: http2.ClientHttp2Session, frame: Buffer): Promise<{ status: number; message: string }> =>
    new Promise((resolve) => {
      let status = -1;
      let message = '';
      const req = session.request(headers);
      const take = (h: http2.IncomingHttpHeaders): void => {
        if (h['grpc-status'] !== undefined) {
          status = Number(h['grpc-status']);
          message = decodeURIComponent(String(h['grpc-message'] ?? ''));
        }
      };
      req.on('response', take);
      req.on('trailers', take);
      req.on('data', () => {});
      req.on('error', (e) => {
        if (!message) message = e.message;
      });
      req.on('close', () => resolve({ status, message }));
      req.end(frame);
    });

  const startTimer = setTimeout(() => {
    cpu0 = process.cpuUsage();
    process.stdout.write('W\n');
  }, warmupMs);

  const worker = async (session: http2.ClientHttp2Session): Promise<void> => {
    for (;;) {
      const started = performance.now();
      if (started >= windowEnd) return;
      const f = frames[next]!;
      next = (next + 1) % frames.length;
      const r = await call(session, f.frame);
      const done = performance.now();
      if (r.status === 0) {
        acceptedTotal += f.spans;
        if (done >= windowStart && done <= windowEnd) {
          requests++;
          spans += f.spans;
          bodyBytes += f.length;
          latencies.push(done - started);
        }
      } else {
        failures++;
        if (!firstFailure) firstFailure = `grpc-status ${r.status}: ${r.message}`;
        if (r.status === -1) await new Promise((res) => setTimeout(res, 10));
      }
    }
  };

  let ended = false;
  const endTimer = setTimeout(() => {
    ended = true;
    const c = process.cpuUsage(cpu0);
    cpuWindow = (c.user + c.system) / 1e6;
    process.stdout.write('E\n');
  }, Math.max(0, windowEnd - performance.now()));
  await Promise.all(sessions.flatMap((s) => Array.from({ length: streams }, () => worker(s))));
  clearTimeout(startTimer);
  if (!ended) {
    clearTimeout(endTimer);
    const c = process.cpuUsage(cpu0);
    cpuWindow = (c.user + c.system) / 1e6;
    process.stdout.write('E\n');
  }
  for (const s of sessions) s.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! : 0);
  const result: SenderResult = {
    requests, spans, bodyBytes, seconds: durationMs / 1000, failures, firstFailure, acceptedTotal,
    p50: q(0.5), p99: q(0.99), cpuSeconds: cpuWindow,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`grpc-sender: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
