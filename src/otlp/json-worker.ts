// The OTLP/JSON converter's worker thread (json-converter.ts starts it): runs one job at a time
// (json-job.ts) and answers the protobuf bytes, or the OtlpError's kind and message.
import { parentPort } from 'node:worker_threads';
import { OtlpError } from './errors.js';
import { runJsonJob, type JsonJob } from './json-job.js';

const port = parentPort!;
port.on('message', (msg: JsonJob & { id: number }) => {
  try {
    const out = runJsonJob(msg);
    // Transfer the bytes when they own their buffer (protobufjs may hand out a slice of a pool).
    const owned = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength;
    port.postMessage({ id: msg.id, bytes: out }, owned ? [out.buffer as ArrayBuffer] : []);
  } catch (err) {
    const e = err instanceof OtlpError ? err : new OtlpError('internal', err instanceof Error ? err.message : String(err));
    port.postMessage({ id: msg.id, kind: e.kind, message: e.message });
  }
});
