// The receivers' per-request counters are kept in plain numbers and handed to prom-client at scrape
// (src/telemetry.ts; the duration histogram is observed per request). The expected exposition is
// prom-client's own: the same requests recorded through its Histogram.observe and Counter.inc must
// read the same.
import { Counter, Histogram, Registry, type OpenMetricsContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Telemetry } from '../../src/telemetry.js';

/** The lines of one family in a text exposition. */
function family(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `) || l.startsWith(`${name}_`));
}

describe('the sidecar telemetry, counted in plain numbers', () => {
  it('reads as prom-client counting the same requests would', async () => {
    const t = new Telemetry({ defaultMetrics: false });
    const r = new Registry();
    // The buckets and labels of spanmeter_request_duration_seconds (docs/telemetry: 100 µs … 5 s).
    const h = new Histogram({
      name: 'spanmeter_request_duration_seconds', help: 'h', labelNames: ['protocol'], registers: [r],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    h.zero({ protocol: 'http' });
    h.zero({ protocol: 'grpc' });
    const requests = new Counter({ name: 'spanmeter_requests_total', help: 'h', labelNames: ['protocol', 'code'], registers: [r] });
    const received = new Counter({ name: 'spanmeter_spans_received_total', help: 'h', registers: [r] });
    // On a bound, past the last bound, zero, tiny, and sums whose float rounding depends on order.
    const seconds = [0.0001, 0.00011, 0.3, 5, 6, 0, 1e-9, 0.1 + 0.2, 0.7, 2.4999, 0.00025];
    let spans = 0;
    seconds.forEach((s, i) => {
      const protocol = i % 3 === 0 ? 'grpc' : 'http';
      const code = protocol === 'grpc' ? 'OK' : 200;
      t.recordRequest({ protocol, code, seconds: s, result: { ok: true, spans: i + 1 } });
      h.observe({ protocol }, s);
      requests.inc({ protocol, code: String(code) });
      spans += i + 1;
    });
    received.inc(spans);
    t.countRequest('http', 413, 'too_large');
    requests.inc({ protocol: 'http', code: '413' });
    t.countRequest('http', '200'); // the same label as 200
    requests.inc({ protocol: 'http', code: '200' });

    const ours = await t.render('text');
    const theirs = await r.metrics();
    for (const name of ['spanmeter_request_duration_seconds', 'spanmeter_requests_total', 'spanmeter_spans_received_total']) {
      expect(family(ours, name)).toEqual(family(theirs, name));
      expect(family(ours, name).length).toBeGreaterThan(0);
    }
    // The duration histogram is the sidecar's own (not a prom-client Histogram): its JSON (what
    // the protobuf exposition and /api read) and its OpenMetrics text are prom-client's too.
    const name = 'spanmeter_request_duration_seconds';
    const json = (await t.registry.getMetricsAsJSON()).find((m) => m.name === name)!;
    const peer = (await r.getMetricsAsJSON()).find((m) => m.name === name)!;
    expect(json.type).toBe(peer.type);
    expect(json.values).toEqual(peer.values);
    // Hand-counted: gRPC took 0.0001 and 1e-9 (the first bucket, one on its bound), 5 (on the last
    // bound) and 2.4999; HTTP's 6 is past the last bound (+Inf only).
    expect(ours).toContain(`${name}_bucket{le="0.0001",protocol="grpc"} 2\n`);
    expect(ours).toContain(`${name}_bucket{le="1",protocol="grpc"} 2\n`);
    expect(ours).toContain(`${name}_bucket{le="2.5",protocol="grpc"} 3\n`);
    expect(ours).toContain(`${name}_bucket{le="5",protocol="grpc"} 4\n`);
    expect(ours).toContain(`${name}_bucket{le="+Inf",protocol="grpc"} 4\n`);
    expect(ours).toContain(`${name}_bucket{le="5",protocol="http"} 6\n`);
    expect(ours).toContain(`${name}_bucket{le="+Inf",protocol="http"} 7\n`);
    // Counted twice by the reading: the counts are handed over, not added to.
    expect(family(await t.render('text'), 'spanmeter_requests_total')).toEqual(family(theirs, 'spanmeter_requests_total'));
    // Hand-counted: 4 calls over gRPC (i = 0, 3, 6, 9), 7 + 1 + 1 over HTTP.
    expect(ours).toContain('spanmeter_requests_total{protocol="grpc",code="OK"} 4\n');
    expect(ours).toContain('spanmeter_requests_total{protocol="http",code="200"} 8\n');
    expect(ours).toContain('spanmeter_requests_rejected_total{protocol="http",reason="too_large"} 1\n');
    expect(ours).toContain('spanmeter_spans_received_total 66\n');
    const om = new Registry<OpenMetricsContentType>();
    om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    om.registerMetric(h);
    expect(family(await t.render('openmetrics'), name)).toEqual(family(await om.metrics(), name));
    expect(family(await t.render('openmetrics'), name).length).toBeGreaterThan(0);
  });
});
