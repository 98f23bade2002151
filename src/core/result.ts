// What the core answers for one ExportTraceServiceRequest.
export type IngestResult =
  | { ok: true; spans: number }
  | { ok: false; reason: string; spans: number };
