// One OTLP/JSON request body turned into protobuf, with its cost bounded before the costly part:
// undo the Content-Encoding (size and ratio limits enforced while inflating, gzip.ts), count the
// JSON objects and arrays without parsing (countJsonNodes), refuse past `maxNodes`, then convert
// (json.ts). Run in the converter's worker thread (json-worker.ts) or, without one, inline.
import { decompress } from './gzip.js';
import { OtlpError } from './errors.js';
import { jsonToProtobuf } from './json.js';
import { BYTES_PER_JSON_NODE } from './json-nodes.js';

export interface JsonJob {
  bytes: Uint8Array;
  /** Content-Encoding, or undefined for identity. */
  encoding: string | undefined;
  maxBodyBytes: number;
  maxDecompressionRatio: number;
  /** Objects and arrays a body may hold; more is refused (413) before parsing. */
  maxNodes: number;
}

export function runJsonJob(job: JsonJob): Uint8Array {
  const body = job.encoding === undefined ? job.bytes : decompress(job.bytes, job.encoding, job.maxBodyBytes, job.maxDecompressionRatio);
  // A node takes at least 2 bytes (`[]`; `[` alone closes with `]`): a body of at most twice the
  // maximum cannot pass it, and is not counted (most real requests: 1 MiB and less).
  if (body.length > 2 * job.maxNodes && countJsonNodes(body, job.maxNodes) > job.maxNodes) {
    throw new OtlpError(
      'too_large',
      `OTLP/JSON body of ${body.length} bytes holds more than ${job.maxNodes} JSON objects and arrays, the most one request may ` +
        `(converting each takes about ${BYTES_PER_JSON_NODE} bytes of memory): send smaller batches, or protobuf (application/x-protobuf)`,
    );
  }
  return jsonToProtobuf(body);
}

/**
 * The objects and arrays of a JSON text, counted without parsing it (braces and brackets outside
 * strings), stopping at `max` + 1: what converting it will cost, since each becomes a JS object
 * (and most a protobufjs message), whatever the bytes that spelled it (`{}` is two). A body of
 * empty spans, `{},` repeated, is 3 bytes a node; real OTLP/JSON 40 to 50.
 */
export function countJsonNodes(body: Uint8Array, max: number): number {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const n = buf.length;
  let nodes = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++nodes > max) return nodes;
    } else if (c === 0x22 /* " */) {
      // To the closing quote: the first one after an even number of backslashes.
      let j = i;
      for (;;) {
        j = buf.indexOf(0x22, j + 1);
        if (j < 0) return nodes; // unterminated: JSON.parse reports it
        let b = j - 1;
        while (buf[b] === 0x5c /* \ */) b--;
        if ((j - 1 - b) % 2 === 0) break;
      }
      i = j;
    }
  }
  return nodes;
}
