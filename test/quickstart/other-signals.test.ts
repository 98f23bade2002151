// An SDK given the generic OTEL_EXPORTER_OTLP_ENDPOINT also posts metrics and logs (OTLP/HTTP
// spec: <endpoint>/v1/metrics and /v1/logs). spanmeter takes traces only: it answers those 404
// (not retryable for an OTLP exporter, unlike 429/502/503/504: OTLP spec, "Retryable Response
// Codes") with a google.rpc.Status in the request's encoding whose message names /v1/traces and
// the variable to use, logs that once per signal and counts every request (issue 18 item 4).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMetricsText, sleep, startSidecar, type Sidecar } from '../support/sidecar.js';
import { parsePrometheusText } from '../support/prom-text.js';

/** google.rpc.Status from protobuf by hand: code = field 1 (varint), message = field 2 (bytes). */
function decodeStatus(b: Uint8Array): { code: number; message: string } {
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = b[i++]!;
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return v;
    }
  };
  const out = { code: 0, message: '' };
  while (i < b.length) {
    const tag = varint();
    if (tag === 0x08) out.code = varint();
    else if (tag === 0x12) {
      const n = varint();
      out.message = Buffer.from(b.subarray(i, i + n)).toString('utf8');
      i += n;
    } else throw new Error(`unexpected tag ${tag}`);
  }
  return out;
}

describe('POST /v1/metrics and /v1/logs on the OTLP/HTTP receiver', () => {
  let s: Sidecar;
  beforeAll(async () => {
    s = await startSidecar({ label: 'other signals' });
  });
  afterAll(() => s?.stop());

  it('answer 404 naming the traces endpoint, log once per signal, count every request', async () => {
    const post = (path: string, type: string, body: string | Uint8Array<ArrayBuffer>) =>
      fetch(`${s.otlpHttpUrl}${path}`, { method: 'POST', headers: { 'Content-Type': type }, body });
    const host = new URL(s.otlpHttpUrl).host;
    // UNIMPLEMENTED is gRPC code 12 (grpc/status.proto).
    for (const signal of ['metrics', 'logs']) {
      for (let round = 0; round < 2; round++) {
        const json = await post(`/v1/${signal}`, 'application/json', '{"resourceMetrics":[]}');
        expect(json.status).toBe(404);
        expect(json.headers.get('content-type')).toBe('application/json');
        const status = (await json.json()) as { code: number; message: string };
        expect(status.code).toBe(12);
        expect(status.message).toContain(`not ${signal}`);
        expect(status.message).toContain(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://${host}/v1/traces`);
        const pb = await post(`/v1/${signal}`, 'application/x-protobuf', new Uint8Array([0x0a, 0x00]));
        expect(pb.status).toBe(404);
        expect(pb.headers.get('content-type')).toBe('application/x-protobuf');
        const decoded = decodeStatus(new Uint8Array(await pb.arrayBuffer()));
        expect(decoded).toEqual({ code: 12, message: status.message });
      }
    }
    // 2 signals × 2 rounds × 2 encodings = 8 requests, each counted.
    const samples = parsePrometheusText((await fetchMetricsText(s)).text).samples;
    const rejected = samples.find((x) => x.name === 'spanmeter_requests_rejected_total' && x.labels.protocol === 'http' && x.labels.reason === 'not_traces');
    expect(rejected?.value).toBe(8);
    // Traces still go through on the same receiver.
    const traces = await post('/v1/traces', 'application/json', '{"resourceSpans":[]}');
    expect(traces.status).toBe(200);
    await sleep(100);
    const warns = s.output().split('\n').filter((l) => l.includes('"level":"warn"') && l.includes('receives traces only'));
    expect(warns.map((l) => (JSON.parse(l) as { signal: string }).signal)).toEqual(['metrics', 'logs']);
  });

  it('GET /v1/metrics is a plain 404: only a POST is an export', async () => {
    const r = await fetch(`${s.otlpHttpUrl}/v1/metrics`);
    expect(r.status).toBe(404);
    expect(await r.text()).toBe('not found\n');
  });
});
