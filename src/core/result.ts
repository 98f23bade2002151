// What the core answers for one ExportTraceServiceRequest.
export type IngestResult =
  | { ok: true; spans: number }
  | {
      ok: false;
      reason: string;
      spans: number;
      /** Why, as a counter label: malformed bytes, or over a configured limit. */
      cause: 'malformed' | 'too_deep' | 'string_too_long' | 'too_many_attributes' | 'too_many_spans';
    };

/**
 * Takes one OTLP ExportTraceServiceRequest in protobuf wire format, synchronously: the Core, the
 * SupervisedCore, or a stand-in in tests. All or nothing: a rejected request changes nothing. The
 * bytes are only valid during the call.
 */
export interface TraceConsumer {
  ingest(bytes: Uint8Array): IngestResult;
}
