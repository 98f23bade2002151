// What the core answers for one ExportTraceServiceRequest.
export type IngestResult =
  | { ok: true; spans: number }
  | {
      ok: false;
      reason: string;
      spans: number;
      /** Why, as a counter label: malformed bytes, or over a configured limit. */
      cause: 'malformed' | 'too_deep' | 'string_too_long' | 'too_many_attributes';
    };
