// Differential test: the Collector's spanmetrics connector block given to spanmeter as it is
// (`connectors: spanmetrics:`, src/config/peers.ts reads it as the connector does; issue 18 item
// 8, issue 19 item 8), beside the real Collector with the same block, on the bench workload: every
// span-metrics and span-events series equal. The pair: support/spanmetrics-pair.ts.
import { describe, expect, test } from 'vitest';
import { ExportTraceServiceRequest } from '../../src/otlp/messages.js';
import { total } from './support/compare.js';
import { workloadRequests } from './support/traces.js';
import { CALLS, EVENTS, HIST, expectSameAsCollector, pick, sameLabels, startSpanMetricsPair } from './support/spanmetrics-pair.js';

describe('the connector block pasted into spanmeter as it is (connectors: spanmetrics:)', () => {
  test('namespace app.spans, exclude_dimensions [span.kind, status.code] and a dimension default: every series equal, under the namespace', async () => {
    const pair = await startSpanMetricsPair('pasted', 'explicit-ms', { pasted: true, noKindStatus: true, namespace: 'app.spans', httpRouteDefault: 'no-route' });
    try {
      const w = workloadRequests(1, 15, 200);
      const s = await expectSameAsCollector(pair, w.requests, { spanmeter: w.spans, otelcol: w.spans });
      expect(total(s.events.otelcol, 'app_spans_events_total')).toBeGreaterThan(0);
      // hand count: every workload span once, in the namespace's histogram
      expect(total(s.otelcol, 'app_spans_duration_milliseconds_count')).toBe(w.spans);
      expect(total(s.spanmeter, 'app_spans_duration_milliseconds_count')).toBe(w.spans);
      // the workload's spans without http.route carry the default on both sides
      expect(total(s.otelcol, 'app_spans_calls_total', { http_route: 'no-route' })).toBeGreaterThan(0);
      expect(total(s.spanmeter, 'app_spans_calls_total', { http_route: 'no-route' })).toBe(total(s.otelcol, 'app_spans_calls_total', { http_route: 'no-route' }));
      for (const v of s.spanmeter.values()) {
        expect(v.labels.span_kind, 'excluded').toBeUndefined();
        expect(v.labels.status_code, 'excluded').toBeUndefined();
      }
    } finally {
      await pair.stop();
    }
  });

  test('calls_dimensions, histogram.dimensions with a default, an event dimension default, add_resource_attributes, include_instrumentation_scope: every series equal', async () => {
    const w = workloadRequests(4, 15, 200);
    // two of the workload's scope names (one per ScopeSpans), read from its first request
    const first = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(w.requests[0]!)) as {
      resourceSpans: { scopeSpans: { scope: { name: string } }[] }[];
    };
    const names = [...new Set(first.resourceSpans.flatMap((r) => r.scopeSpans.map((s) => s.scope.name)))].sort().slice(0, 2);
    expect(names).toHaveLength(2);
    const pair = await startSpanMetricsPair('pasted-split', 'explicit-ms', { pasted: true, split: true, scopes: names });
    try {
      const s = await expectSameAsCollector(pair, w.requests, { spanmeter: w.spans, otelcol: w.spans });
      for (const side of [s.spanmeter, s.otelcol]) {
        const calls = [...side.values()].filter((v) => v.metric === CALLS);
        const hist = [...side.values()].filter((v) => v.metric === `${HIST}_count`);
        // http.route on calls only (the workload's HTTP server spans have it), url.scheme on the histogram only
        expect(calls.some((v) => v.labels.http_route !== undefined)).toBe(true);
        expect(calls.every((v) => v.labels.url_scheme === undefined)).toBe(true);
        expect(hist.every((v) => v.labels.http_route === undefined)).toBe(true);
        // spans without url.scheme take the default: every span is on a histogram series with the label
        expect(hist.every((v) => v.labels.url_scheme !== undefined)).toBe(true);
        expect(total(side, `${HIST}_count`, { url_scheme: 'none' })).toBeGreaterThan(0);
      }
      // every event takes the default of exception.escaped, on both sides (hand count: the events are the total)
      expect(total(s.events.otelcol, EVENTS, { exception_escaped: 'unset' })).toBe(total(s.events.otelcol, EVENTS));
      expect(total(s.events.otelcol, EVENTS)).toBeGreaterThan(0);
      expect(total(s.spanmeter, CALLS)).toBe(w.spans);
      // the connector's span.instrumentation.scope.name / .version on the spans of those scopes only
      for (const side of [s.spanmeter, s.otelcol]) {
        const scoped = [...side.values()].filter((v) => v.metric === CALLS && v.labels.span_instrumentation_scope_name !== undefined);
        expect(new Set(scoped.map((v) => v.labels.span_instrumentation_scope_name))).toEqual(new Set(names));
        expect(scoped.every((v) => (v.labels.span_instrumentation_scope_version ?? '') !== '')).toBe(true);
      }
    } finally {
      await pair.stop();
    }
  });

  test("no histogram settings and an empty namespace: the connector's default buckets, names without a prefix", async () => {
    const pair = await startSpanMetricsPair('pasted-defaults', 'defaults', { pasted: true, namespace: '' });
    try {
      const w = workloadRequests(2, 10, 200);
      const s = await expectSameAsCollector(pair, w.requests, { spanmeter: w.spans, otelcol: w.spans });
      expect(total(s.spanmeter, 'calls_total')).toBe(w.spans);
      // the connector's 16 default bounds (2 ms … 15 s) and +Inf, on one series of each side
      const { le: _le, ...one } = [...s.otelcol.values()].find((v) => v.metric === 'duration_milliseconds_bucket')!.labels;
      const bounds = ['2', '4', '6', '8', '10', '50', '100', '200', '400', '800', '1000', '1400', '2000', '5000', '10000', '15000', '+Inf'];
      for (const side of [s.spanmeter, s.otelcol]) {
        for (const le of bounds) expect(pick(side, 'duration_milliseconds_bucket', { ...one, le }), le).toBeDefined();
        expect([...side.values()].filter((v) => v.metric === 'duration_milliseconds_bucket' && sameLabels({ ...v.labels, le: '' }, one)).length).toBe(bounds.length);
      }
    } finally {
      await pair.stop();
    }
  });
});
