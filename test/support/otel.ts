// Spans made by the real OpenTelemetry JS SDK, with exact start/end times, sent through a real
// OTLP exporter. Used by the end-to-end tests.
import { SpanKind, SpanStatusCode, type Attributes, type HrTime } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

export { SpanKind, SpanStatusCode };

export interface SpanSpec {
  name: string;
  kind: SpanKind;
  /** Start as [seconds, nanoseconds] since the epoch. */
  start: HrTime;
  /** Duration in nanoseconds (integer, < 1e9 * 2^31). */
  durationNs: number;
  attributes?: Attributes;
  status?: { code: SpanStatusCode; message?: string };
}

function addNs([s, ns]: HrTime, add: number): HrTime {
  const total = ns + (add % 1e9);
  return [s + Math.floor(add / 1e9) + Math.floor(total / 1e9), total % 1e9];
}

/** Finished SDK spans of one service (resource service.name), made from the specs. */
export async function makeSpans(serviceName: string, specs: SpanSpec[]): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('spanmeter-e2e', '1.0.0');
  for (const spec of specs) {
    const span = tracer.startSpan(spec.name, { kind: spec.kind, startTime: spec.start, attributes: spec.attributes });
    if (spec.status) span.setStatus(spec.status);
    span.end(addNs(spec.start, spec.durationNs));
  }
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  if (spans.length !== specs.length) throw new Error(`made ${spans.length} spans, wanted ${specs.length}`);
  return spans;
}

/** Exports the spans with the exporter; rejects unless the export succeeded. */
export async function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
  if (result.code !== 0) {
    throw new Error(`export failed: ${result.error?.message ?? 'unknown error'}`);
  }
}
