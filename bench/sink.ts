// The HTTP floor for the end-to-end benchmark: a plain node:http server that reads each
// POST body whole (and gunzips it with --gunzip, as the sidecar does for gzip) and answers 200
// with an empty ExportTraceServiceResponse. It does what any OTLP/HTTP receiver in Node must do
// and nothing else, so sidecar ÷ sink is what spanmeter costs beyond transport.
//
//   node dist/bench/sink.js --port 4318 [--gunzip]     (prints "ready <port>" when listening)
import http from 'node:http';
import zlib from 'node:zlib';

const portArg = process.argv.indexOf('--port');
const port = portArg >= 0 ? Number(process.argv[portArg + 1]) : 0;
const gunzip = process.argv.includes('--gunzip');
const EMPTY = Buffer.alloc(0);
let sink = 0;

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  let total = 0;
  req.on('data', (c: Buffer) => {
    chunks.push(c);
    total += c.length;
  });
  req.on('end', () => {
    let body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
    if (gunzip && req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
    sink ^= body.length;
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': 0 });
    res.end(EMPTY);
  });
});
server.listen(port, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`ready ${typeof a === 'object' && a ? a.port : port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(sink === -1 ? 1 : 0);
});
