// One error type for everything the OTLP layer rejects. `kind` is what the receivers map to a
// transport status (bad_request → HTTP 400 / gRPC INVALID_ARGUMENT, too_large → 413 /
// RESOURCE_EXHAUSTED, unsupported_media_type → 415 / UNIMPLEMENTED, too_many_spans → 400 /
// INVALID_ARGUMENT, compression_ratio → 413 / RESOURCE_EXHAUSTED, too_deep (OTLP/JSON only) →
// 400, unavailable → 503 / UNAVAILABLE with a retry delay, internal → 500 / INTERNAL); `message`
// goes back to the client as is, so it says what is wrong and where.
export type OtlpErrorKind =
  | 'bad_request'
  | 'too_large'
  | 'unsupported_media_type'
  | 'too_many_spans'
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
