// otlp.max_string_length and otlp.max_attributes_per_span through the real sidecar: a request
// over either is refused whole over OTLP/HTTP (400, protobuf and JSON) and gRPC
// (INVALID_ARGUMENT) with the reason, counted by reason; a request at the limits is counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMetricsText, postTraces, startSidecar, type Sidecar } from '../support/sidecar.js';
import { exportGrpc, sampleValue } from '../package/helpers.js';
import { request, type SpanSpec } from '../servicegraphs/helpers.js';

let sidecar: Sidecar;
beforeAll(async () => {
  sidecar = await startSidecar({ grpc: true, config: { otlp: { max_string_length: 16, max_attributes_per_span: 2 } } });
});
afterAll(async () => {
  await sidecar?.stop();
});

const span = (name: string, attrs: SpanSpec['attrs'] = {}): SpanSpec => ({ trace: 1, id: 1, kind: 'server', service: 'api', name, durMs: 1, attrs });

const OTLP_JSON = (name: string) => JSON.stringify({
  resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
    scopeSpans: [{ spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name, kind: 2, startTimeUnixNano: '1', endTimeUnixNano: '2' }] }],
  }],
});

describe('request limits in the sidecar', () => {
  it('answers 400 / INVALID_ARGUMENT naming the limit, counts by reason, and counts what is within', async () => {
    const long = await postTraces(sidecar, request([span('seventeen-bytes!!')]), 'application/x-protobuf');
    expect(long.status).toBe(400);
    expect(long.text).toContain('over a limit: string longer than otlp.max_string_length in Span.name (field 5)');

    const json = await postTraces(sidecar, OTLP_JSON('seventeen-bytes!!'), 'application/json');
    expect(json.status).toBe(400);
    expect(JSON.parse(json.text).message).toMatch(/^over a limit: string longer than otlp\.max_string_length in Span\.name \(field 5\) at byte \d+$/);

    const many = await exportGrpc(sidecar.grpcEndpoint, request([span('ok', { a: 1, b: 2, c: 3 })]));
    expect(many?.code).toBe(3); // INVALID_ARGUMENT
    expect(many?.details).toMatch(/^over a limit: more attributes than otlp\.max_attributes_per_span in Span\.attributes \(field 9\) at byte \d+$/);

    // At both limits: 16 bytes of name, two attributes.
    const ok = await postTraces(sidecar, request([span('sixteen-bytes!!!', { a: 1, b: 2 })]), 'application/x-protobuf');
    expect(ok.status).toBe(200);

    const { text } = await fetchMetricsText(sidecar);
    expect(sampleValue(text, 'spanmeter_requests_rejected_total', 'protocol="http",reason="string_too_long"')).toBe(2);
    expect(sampleValue(text, 'spanmeter_requests_rejected_total', 'protocol="grpc",reason="too_many_attributes"')).toBe(1);
    expect(sampleValue(text, 'spanmeter_requests_rejected_total', 'protocol="http",reason="malformed"')).toBe(0);
    expect(text.split('\n').filter((l) => l.startsWith('traces_spanmetrics_calls_total'))).toEqual([
      'traces_spanmetrics_calls_total{service="api",span_name="sixteen-bytes!!!",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"} 1',
    ]);
  });
});
