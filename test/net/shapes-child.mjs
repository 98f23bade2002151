// Run by shapes.test.ts as `node --expose-gc --trace-opt --trace-deopt shapes-child.mjs <dist>`, from the built
// dist/: a gRPC receiver on its h2c transport answers many unary calls from node:http2 (so
// TurboFan optimizes the per-call code), then, with no call in flight, a full GC is forced and a
// few more calls are made. A control class with no kept shape goes through the same: its objects
// all die before the GC. V8 prints "reason: weak objects" for each optimized function whose
// embedded shape that GC freed (shapes.ts).
import http2 from 'node:http2';
const dist = new URL(process.argv[2], `file://${process.cwd()}/`).href;
const { startGrpcReceiver } = await import(`${dist}/src/receivers/grpc.js`);
const { EXPORT_METHOD_PATH } = await import(`${dist}/src/receivers/grpc-call.js`);

// The control: a class of per-call objects whose shape nothing keeps, read by an optimized function.
class Control {
  a = 0;
  b = null;
  c = 1;
}
const controls = [];
function controlProbe() {
  let s = 0;
  for (const o of controls) s += o.a + o.c;
  controls.length = 0;
  return s;
}

const consumer = { ingest: () => ({ ok: true, spans: 0 }) };
const server = await startGrpcReceiver({ endpoint: '127.0.0.1:0', maxBodyBytes: 1 << 20, consumer });
const client = http2.connect(`http://${server.address}`);
// An empty ExportTraceServiceRequest: the 5-byte gRPC prefix (not compressed, length 0).
const message = Buffer.alloc(5);
function call() {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':method': 'POST', ':path': EXPORT_METHOD_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('trailers', (t) => (t['grpc-status'] === '0' ? resolve() : reject(new Error(`grpc-status ${t['grpc-status']}`))));
    req.on('error', reject);
    req.resume();
    req.end(message);
  });
}
async function calls(n) {
  for (let i = 0; i < n; i += 8) {
    await Promise.all(Array.from({ length: 8 }, call));
    for (let k = 0; k < 50; k++) controls.push(new Control());
    controlProbe();
  }
}
await calls(Number(process.argv[3] ?? 6000));
// Let the last answers' writes and stream closes run, so that no per-call object is alive.
await new Promise((r) => setTimeout(r, 100));
console.log('--- gc');
globalThis.gc();
await calls(400);
client.close();
await server.close();
console.log('--- done');
