// One error type for everything the OTLP layer (and the supervised core) refuses. `kind` is what
// the receivers' one ingest path (src/receivers/ingest.ts) turns into a gRPC code and, through one
// table, an HTTP status; `message` goes back to the client as is, so it says what is wrong and where.
export type OtlpErrorKind =
  | 'bad_request'
  | 'too_large'
  | 'unsupported_media_type'
  | 'compression_ratio'
  | 'too_deep'
  | 'unavailable'
  | 'internal';

export class OtlpError extends Error {
  constructor(
    readonly kind: OtlpErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'OtlpError';
  }
}
