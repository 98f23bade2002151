// What the core answers for one ExportTraceServiceRequest.
import type { FailureCause } from './errors.js';
import type { Destination } from '../otlp/gzip.js';

export type IngestResult =
  | { ok: true; spans: number }
  | {
      ok: false;
      reason: string;
      spans: number;
      /** Why, as a counter label: malformed bytes, or over a configured limit. */
      cause: FailureCause;
    };

/**
 * Takes one OTLP ExportTraceServiceRequest in protobuf wire format, synchronously: the Core, the
 * SupervisedCore, or a stand-in in tests. All or nothing: a rejected request changes nothing. The
 * bytes are only valid during the call.
 */
export interface TraceConsumer {
  ingest(bytes: Uint8Array): IngestResult;
  /**
   * The same for a body `write` puts straight into the consumer's input memory (an inflated
   * request), returning its length; an OtlpError `write` throws is the request's answer.
   */
  ingestWritten?(write: (input: Destination) => number): IngestResult;
}
