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
import { arg, driveLoad, readBodies } from './sender.js';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

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
  const bodies = readBodies(arg('file')).map((b) => ({ spans: b.spans, bytes: grpcFrame(b.bytes, gzip), size: b.bytes.length }));
  const channels = Number(arg('channels', '4'));
  const streams = Number(arg('streams', '4'));
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

  /** One unary call: '' on grpc-status 0 (from the trailers or a trailers-only answer), else what went wrong. */
  const call = (frame: Buffer, worker: number): Promise<string> =>
    new Promise((resolve) => {
      let status = -1;
      let message = '';
      const req = sessions[worker % channels]!.request(headers);
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
      req.on('close', () => {
        if (status === 0) resolve('');
        else if (status > 0) resolve(`grpc-status ${status}: ${message}`);
        // A transport error: pause a little so a broken connection does not spin.
        else setTimeout(() => resolve(`transport: ${message}`), 10);
      });
      req.end(frame);
    });

  const result = await driveLoad({
    bodies, workers: channels * streams,
    warmupMs: Number(arg('warmup', '1000')), durationMs: Number(arg('duration', '10000')),
  }, (body, worker) => call(body.bytes, worker));
  for (const s of sessions) s.close();
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`grpc-sender: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
