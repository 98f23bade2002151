// One error type for everything the OTLP layer rejects. `kind` is what the receivers map to a
// transport status (bad_request → HTTP 400 / gRPC INVALID_ARGUMENT, too_large → 413 /
// RESOURCE_EXHAUSTED, unsupported_media_type → 415 / UNIMPLEMENTED); `message` goes back to the
// client as is, so it says what is wrong and where.
export type OtlpErrorKind = 'bad_request' | 'too_large' | 'unsupported_media_type';

export class OtlpError extends Error {
  constructor(
    readonly kind: OtlpErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'OtlpError';
  }
}
