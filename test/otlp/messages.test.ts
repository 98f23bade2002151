// The descriptor is checked against wire bytes written out by hand from opentelemetry-proto's
// field numbers and types, so a wrong number or type in messages.ts cannot agree with itself.
import { describe, expect, it } from 'vitest';
import {
  AnyValue,
  ExportTracePartialSuccess,
  ExportTraceServiceRequest,
  ExportTraceServiceResponse,
  InstrumentationScope,
  Resource,
  ResourceSpans,
  RpcStatus,
  ScopeSpans,
  Span,
  SpanEvent,
  SpanKind,
  SpanLink,
  StatusCode,
  TraceService,
  TracesData,
} from '../../src/otlp/messages.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

const TRACE_ID = bytes('0102030405060708090a0b0c0d0e0f10');
const SPAN_ID = bytes('1112131415161718');
const PARENT_ID = bytes('2122232425262728');

// Span with the fields the core reads, as the wire carries them (fields in number order).
const SPAN_HEX = [
  '0a10 0102030405060708090a0b0c0d0e0f10', // 1 trace_id
  '1208 1112131415161718', // 2 span_id
  '2208 2122232425262728', // 4 parent_span_id
  '2a02 6f70', // 5 name "op"
  '3002', // 6 kind SERVER
  '39 40002a36fe9c9717', // 7 start_time_unix_nano fixed64 1700000000000000064
  '41 c0844836fe9c9717', // 8 end_time_unix_nano fixed64 1700000000002000064
  '4a10 0a016b 120b 18ffffffffffffffffff01', // 9 attributes [{key "k", value {int_value -1}}]
  '7a05 12016d 1802', // 15 status {message "m" (2), code ERROR (3)}
  '8501 01010000', // 16 flags fixed32 0x101
].join('');

describe('schema: field numbers and types', () => {
  it('encodes a Span exactly as the spec lays it out', () => {
    const span = {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      parentSpanId: PARENT_ID,
      name: 'op',
      kind: 2,
      startTimeUnixNano: { low: 0x362a0040, high: 0x17979cfe, unsigned: true },
      endTimeUnixNano: { low: 0x364884c0, high: 0x17979cfe, unsigned: true },
      attributes: [{ key: 'k', value: { intValue: -1 } }],
      status: { message: 'm', code: 2 },
      flags: 0x101,
    };
    expect(hex(Span.encode(span).finish())).toBe(SPAN_HEX.replace(/\s+/g, ''));
  });

  it('decodes the hand-written Span', () => {
    const s = Span.decode(bytes(SPAN_HEX)) as unknown as Record<string, any>;
    expect(hex(s.traceId)).toBe('0102030405060708090a0b0c0d0e0f10');
    expect(hex(s.spanId)).toBe('1112131415161718');
    expect(hex(s.parentSpanId)).toBe('2122232425262728');
    expect(s.name).toBe('op');
    expect(s.kind).toBe(2);
    expect(s.startTimeUnixNano.toString()).toBe('1700000000000000064');
    expect(s.endTimeUnixNano.toString()).toBe('1700000000002000064');
    expect(s.attributes[0].key).toBe('k');
    expect(s.attributes[0].value.intValue.toString()).toBe('-1');
    expect(s.status.message).toBe('m');
    expect(s.status.code).toBe(2);
    expect(s.flags).toBe(0x101);
  });

  it('numbers the remaining Span fields as the spec does', () => {
    const span = {
      traceState: 'ts',
      droppedAttributesCount: 1,
      events: [{}],
      droppedEventsCount: 2,
      links: [{}],
      droppedLinksCount: 3,
    };
    // 3 trace_state, 10 dropped_attributes_count, 11 events, 12 dropped_events_count,
    // 13 links, 14 dropped_links_count
    expect(hex(Span.encode(span).finish())).toBe('1a027473' + '5001' + '5a00' + '6002' + '6a00' + '7003');
  });

  it('lays out Event and Link', () => {
    const event = { timeUnixNano: 1, name: 'e', attributes: [{ key: 'a' }], droppedAttributesCount: 3 };
    expect(hex(SpanEvent.encode(event).finish())).toBe('090100000000000000' + '120165' + '1a030a0161' + '2003');
    const link = {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceState: 'ts',
      attributes: [{ key: 'a' }],
      droppedAttributesCount: 4,
      flags: 0x100,
    };
    expect(hex(SpanLink.encode(link).finish())).toBe(
      '0a100102030405060708090a0b0c0d0e0f10' + '12081112131415161718' + '1a027473' + '22030a0161' + '2804' + '3500010000',
    );
  });

  it('lays out the AnyValue oneof (and writes members holding their default)', () => {
    expect(hex(AnyValue.encode({ stringValue: 'x' }).finish())).toBe('0a0178');
    expect(hex(AnyValue.encode({ stringValue: '' }).finish())).toBe('0a00');
    expect(hex(AnyValue.encode({ boolValue: true }).finish())).toBe('1001');
    expect(hex(AnyValue.encode({ boolValue: false }).finish())).toBe('1000');
    expect(hex(AnyValue.encode({ intValue: 300 }).finish())).toBe('18ac02');
    expect(hex(AnyValue.encode({ doubleValue: 1.5 }).finish())).toBe('21000000000000f83f');
    expect(hex(AnyValue.encode({ arrayValue: { values: [{ boolValue: true }] } }).finish())).toBe('2a040a021001');
    expect(hex(AnyValue.encode({ kvlistValue: { values: [{ key: 'a' }] } }).finish())).toBe('32050a030a0161');
    expect(hex(AnyValue.encode({ bytesValue: bytes('ff00') }).finish())).toBe('3a02ff00');
    expect(hex(AnyValue.encode({}).finish())).toBe('');
  });

  it('lays out the envelopes: request, ResourceSpans, ScopeSpans, Resource, scope', () => {
    expect(hex(Resource.encode({ attributes: [{ key: 'a' }], droppedAttributesCount: 5 }).finish())).toBe('0a030a0161' + '1005');
    expect(
      hex(InstrumentationScope.encode({ name: 'n', version: 'v', attributes: [{ key: 'a' }], droppedAttributesCount: 6 }).finish()),
    ).toBe('0a016e' + '120176' + '1a030a0161' + '2006');
    expect(hex(ScopeSpans.encode({ scope: {}, spans: [{}], schemaUrl: 'u' }).finish())).toBe('0a00' + '1200' + '1a0175');
    expect(hex(ResourceSpans.encode({ resource: {}, scopeSpans: [{}], schemaUrl: 'u' }).finish())).toBe('0a00' + '1200' + '1a0175');
    expect(hex(ExportTraceServiceRequest.encode({ resourceSpans: [{}, {}] }).finish())).toBe('0a000a00');
    expect(hex(TracesData.encode({ resourceSpans: [{}] }).finish())).toBe('0a00');
  });

  it('lays out the response, partial success and google.rpc.Status', () => {
    expect(hex(ExportTracePartialSuccess.encode({ rejectedSpans: 5, errorMessage: 'x' }).finish())).toBe('0805' + '120178');
    expect(hex(ExportTraceServiceResponse.encode({ partialSuccess: {} }).finish())).toBe('0a00');
    expect(hex(RpcStatus.encode({ code: 3, message: 'x', details: [{ typeUrl: 't', value: bytes('01') }] }).finish())).toBe(
      '0803' + '120178' + '1a06' + '0a0174' + '120101',
    );
  });

  it('omits proto3 defaults but keeps present messages', () => {
    const span = { name: '', kind: 0, traceId: new Uint8Array(0), startTimeUnixNano: 0, flags: 0, status: {} };
    expect(hex(Span.encode(span).finish())).toBe('7a00');
  });

  it('names the enums and the service as the spec does', () => {
    expect(SpanKind.values).toEqual({
      SPAN_KIND_UNSPECIFIED: 0,
      SPAN_KIND_INTERNAL: 1,
      SPAN_KIND_SERVER: 2,
      SPAN_KIND_CLIENT: 3,
      SPAN_KIND_PRODUCER: 4,
      SPAN_KIND_CONSUMER: 5,
    });
    expect(StatusCode.values).toEqual({ STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 });
    expect(TraceService.fullName).toBe('.opentelemetry.proto.collector.trace.v1.TraceService');
    const exp = TraceService.methods.Export!;
    expect(exp.resolvedRequestType).toBe(ExportTraceServiceRequest);
    expect(exp.resolvedResponseType).toBe(ExportTraceServiceResponse);
  });
});
