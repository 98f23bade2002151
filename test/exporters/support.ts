// Shared pieces of the exporter tests: spans of known durations from one instant, as OTLP/JSON
// converted to protobuf, and span-metrics settings with two buckets.
import { defaultConfig } from '../../src/config/defaults.js';
import type { SpanMetricsConfig } from '../../src/config/types.js';
import { jsonToProtobuf } from '../../src/otlp/json.js';

/** Every span starts here (ns since the epoch: 1,700,000,000 s). */
export const T0 = 1_700_000_000_000_000_000n;

/** A span of `ms` milliseconds from T0; `kind` 2 is SERVER. */
export function span(name: string, traceId: string, spanId: string, ms: number, kind = 2, extra: object = {}) {
  return {
    traceId, spanId, name, kind,
    startTimeUnixNano: String(T0), endTimeUnixNano: String(T0 + BigInt(ms) * 1_000_000n), ...extra,
  };
}

/** One ExportTraceServiceRequest of `spans` under a resource with this service.name. */
export function request(service: string, spans: object[]): Uint8Array {
  return jsonToProtobuf(JSON.stringify({
    resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ spans }] }],
  }));
}

/** The default span-metrics settings with buckets at 10 ms and 100 ms. */
export function spanMetrics(overrides: Partial<SpanMetricsConfig> = {}): SpanMetricsConfig {
  return { ...defaultConfig().processor.span_metrics, histogram_buckets: [0.01, 0.1], ...overrides };
}
