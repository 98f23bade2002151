import { describe, expect, it } from 'vitest';
import { encodeExportResponse, encodeStatus } from '../../src/otlp/response.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const RETRY_INFO_URL_HEX = Buffer.from('type.googleapis.com/google.rpc.RetryInfo').toString('hex'); // 40 bytes

describe('encodeExportResponse', () => {
  it('is an empty message when nothing was rejected', () => {
    expect(encodeExportResponse('protobuf').length).toBe(0);
    expect(encodeExportResponse('protobuf', { rejectedSpans: 0, errorMessage: '' }).length).toBe(0);
    expect(text(encodeExportResponse('json'))).toBe('{}');
    expect(text(encodeExportResponse('json', { rejectedSpans: 0, errorMessage: '' }))).toBe('{}');
  });

  it('carries partial success in protobuf', () => {
    // partial_success (1) { rejected_spans (1) = 3, error_message (2) = "bad" }
    expect(hex(encodeExportResponse('protobuf', { rejectedSpans: 3, errorMessage: 'bad' }))).toBe('0a07' + '0803' + '1203626164');
    expect(hex(encodeExportResponse('protobuf', { rejectedSpans: 300, errorMessage: '' }))).toBe('0a03' + '08ac02');
    // 0 rejected with a message is a warning: the message still goes out.
    expect(hex(encodeExportResponse('protobuf', { rejectedSpans: 0, errorMessage: 'warn' }))).toBe('0a06' + '12047761726e');
  });

  it('carries partial success in OTLP/JSON, int64 as a string', () => {
    expect(text(encodeExportResponse('json', { rejectedSpans: 3, errorMessage: 'bad' }))).toBe(
      '{"partialSuccess":{"rejectedSpans":"3","errorMessage":"bad"}}',
    );
    expect(text(encodeExportResponse('json', { rejectedSpans: 12, errorMessage: '' }))).toBe('{"partialSuccess":{"rejectedSpans":"12"}}');
    expect(text(encodeExportResponse('json', { rejectedSpans: 0, errorMessage: 'warn' }))).toBe('{"partialSuccess":{"errorMessage":"warn"}}');
    expect(text(encodeExportResponse('json', { rejectedSpans: 1, errorMessage: 'a "b"\n' }))).toBe(
      '{"partialSuccess":{"rejectedSpans":"1","errorMessage":"a \\"b\\"\\n"}}',
    );
  });

  it('refuses a negative or fractional count', () => {
    expect(() => encodeExportResponse('json', { rejectedSpans: -1, errorMessage: '' })).toThrow(RangeError);
    expect(() => encodeExportResponse('protobuf', { rejectedSpans: 1.5, errorMessage: '' })).toThrow(RangeError);
  });
});

describe('encodeStatus', () => {
  it('encodes google.rpc.Status in protobuf', () => {
    // code (1) = 3 INVALID_ARGUMENT, message (2) = "bad data"
    expect(hex(encodeStatus('protobuf', 3, 'bad data'))).toBe('0803' + '12086261642064617461');
    expect(hex(encodeStatus('protobuf', 8, ''))).toBe('0808');
    expect(hex(encodeStatus('protobuf', 0, ''))).toBe('');
  });

  it('encodes google.rpc.Status in JSON', () => {
    expect(text(encodeStatus('json', 3, 'bad data'))).toBe('{"code":3,"message":"bad data"}');
    expect(text(encodeStatus('json', 8, 'too "big"'))).toBe('{"code":8,"message":"too \\"big\\""}');
    expect(text(encodeStatus('json', 0, ''))).toBe('{}');
  });

  it('adds a RetryInfo detail when asked', () => {
    // details (3) Any { type_url (1), value (2) RetryInfo { retry_delay (1) Duration { seconds 1, nanos 5e8 } } }
    const duration = '0801' + '1080cab5ee01';
    const retryInfo = '0a08' + duration;
    const any = '0a28' + RETRY_INFO_URL_HEX + '120a' + retryInfo;
    expect(hex(encodeStatus('protobuf', 14, 'busy', { retryDelayMs: 1500 }))).toBe('080e' + '120462757379' + '1a36' + any);
    expect(text(encodeStatus('json', 14, 'busy', { retryDelayMs: 1500 }))).toBe(
      '{"code":14,"message":"busy","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.500s"}]}',
    );
    expect(text(encodeStatus('json', 14, 'busy', { retryDelayMs: 5000 }))).toBe(
      '{"code":14,"message":"busy","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"5s"}]}',
    );
    expect(text(encodeStatus('json', 14, 'busy', { retryDelayMs: 20 }))).toBe(
      '{"code":14,"message":"busy","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0.020s"}]}',
    );
  });
});

describe('the hand-written protobuf against protobufjs', () => {
  // protobufjs (src/otlp/messages.ts's schema) as the independent encoder: the same bytes.
  it('writes what protobufjs writes', async () => {
    const { ExportTraceServiceResponse, RpcRetryInfo, RpcStatus } = await import('../../src/otlp/messages.js');
    for (const [rejected, message] of [[1, ''], [2 ** 40 + 5, 'ünïcode ✓'], [Number.MAX_SAFE_INTEGER, 'x'.repeat(300)], [0, 'w']] as const) {
      const want = ExportTraceServiceResponse.encode({ partialSuccess: { rejectedSpans: rejected, errorMessage: message } }).finish();
      expect(hex(encodeExportResponse('protobuf', { rejectedSpans: rejected, errorMessage: message }))).toBe(hex(want));
    }
    for (const [code, message, delayMs] of [[16, 'no', undefined], [-1, 'negative int32', undefined], [14, 'busy', 0], [8, '', 123_456_789]] as const) {
      const msg: Record<string, unknown> = { code, message };
      if (delayMs !== undefined) {
        const retryDelay = { seconds: Math.floor(delayMs / 1000), nanos: (delayMs % 1000) * 1_000_000 };
        msg.details = [{ typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: RpcRetryInfo.encode({ retryDelay }).finish() }];
      }
      expect(hex(encodeStatus('protobuf', code, message, { retryDelayMs: delayMs }))).toBe(hex(RpcStatus.encode(msg).finish()));
    }
  });
});
