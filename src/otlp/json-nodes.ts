// Apart from json-job.ts so that json-converter.ts reads it without loading the converter (and
// protobufjs) on the main thread, where the conversion runs in a worker.
/**
 * Memory one JSON object or array costs while converting: its parsed JS object, the converter's
 * message and protobufjs' encoding. Measured (Node 20, json.ts): 220 bytes a node for `{},`
 * repeated (1.4 M nodes, 304 MiB of heap), 260 for realistic spans (97 k nodes, 25 MiB retained).
 */
export const BYTES_PER_JSON_NODE = 256;
