// The gRPC transport floors for the end-to-end benchmark: a bare OTLP/gRPC TraceService/Export
// server that takes each request's raw bytes, gunzips them when the call says grpc-encoding gzip,
// drops them and answers an empty ExportTraceServiceResponse with grpc-status 0. What any Node
// OTLP/gRPC receiver must do and nothing else, so sidecar ÷ floor is what spanmeter costs beyond
// transport.
//   --impl grpc-js  on @grpc/grpc-js (identity deserializer; grpc-js itself gunzips), as the
//                   sidecar's receiver was built before this bench
//   --impl http2    a unary handler on node:http2 directly (reads the 5-byte-prefixed message,
//                   inflates it when flagged with the sidecar's decompress(), src/otlp/gzip.ts)
//
//   node dist/bench/grpc-sink.js --port 4317 [--impl grpc-js|http2]   (prints "ready <port>")
import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import { decompress } from '../src/otlp/gzip.js';

const portArg = process.argv.indexOf('--port');
const port = portArg >= 0 ? Number(process.argv[portArg + 1]) : 0;
const implArg = process.argv.indexOf('--impl');
const impl = implArg >= 0 ? process.argv[implArg + 1] : 'grpc-js';
const PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const MAX = 64 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);
let sink = 0;

function ready(p: number): void {
  process.stdout.write(`ready ${p}\n`);
}

if (impl === 'grpc-js') {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX });
  server.addService({
    Export: {
      path: PATH, requestStream: false, responseStream: false,
      requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b,
    },
  }, {
    Export: ((call, callback) => {
      sink ^= call.request.length;
      callback(null, EMPTY);
    }) as grpc.handleUnaryCall<Buffer, Buffer>,
  });
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
    if (err) throw err;
    ready(p);
  });
  process.on('SIGTERM', () => {
    server.forceShutdown();
    process.exit(sink === -1 ? 1 : 0);
  });
} else if (impl === 'http2') {
  const EMPTY_FRAME = Buffer.alloc(5);
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    let total = 0;
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      total += c.length;
    });
    stream.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
      let message: Uint8Array = body.subarray(5, 5 + body.readUInt32BE(1));
      if (body[0] === 1 && headers['grpc-encoding'] === 'gzip') message = decompress(message, 'gzip', MAX) as Buffer;
      sink ^= message.length;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(EMPTY_FRAME);
    });
  });
  server.listen(port, '127.0.0.1', () => {
    const a = server.address();
    ready(typeof a === 'object' && a ? a.port : port);
  });
  process.on('SIGTERM', () => {
    server.close();
    process.exit(sink === -1 ? 1 : 0);
  });
} else {
  throw new Error(`grpc-sink: --impl grpc-js|http2, got ${impl}`);
}
