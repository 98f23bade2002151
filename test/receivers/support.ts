// Shared pieces of the receiver tests: a TraceConsumer that decodes with protobufjs (standing in for
// the core), spans made by the real OpenTelemetry SDK, and a promise wrapper for SDK exporters.
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { IngestResult, TraceConsumer } from '../../src/core/result.js';
import { ExportTraceServiceRequest, type PbExportTraceServiceRequest } from '../../src/otlp/messages.js';

/** What arrived in one accepted request. */
export interface Arrival {
  services: string[];
  names: string[];
}

/**
 * Decodes every request with protobufjs and records the span names it holds. Rejects (ok: false,
 * nothing recorded) what does not decode, and any request holding a span named `poison`.
 */
export class RecordingConsumer implements TraceConsumer {
  readonly arrivals: Arrival[] = [];
  /** When set, ingest throws this (to test the receivers' handling of a failing core). */
  throwNext: Error | undefined;

  ingest(bytes: Uint8Array): IngestResult {
    if (this.throwNext) {
      const err = this.throwNext;
      this.throwNext = undefined;
      throw err;
    }
    let req: PbExportTraceServiceRequest;
    try {
      req = ExportTraceServiceRequest.decode(bytes) as unknown as PbExportTraceServiceRequest;
    } catch (err) {
      return { ok: false, reason: `malformed request: ${(err as Error).message}`, spans: 0, cause: 'malformed' };
    }
    const names: string[] = [];
    const services: string[] = [];
    for (const rs of req.resourceSpans) {
      const svc = rs.resource?.attributes.find((a) => a.key === 'service.name')?.value?.stringValue ?? '';
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          names.push(span.name);
          services.push(svc);
        }
      }
    }
    if (names.includes('poison')) return { ok: false, reason: 'span "poison" is not welcome', spans: names.length, cause: 'malformed' };
    this.arrivals.push({ services, names });
    return { ok: true, spans: names.length };
  }

  /** All span names received so far, sorted. */
  allNames(): string[] {
    return this.arrivals.flatMap((a) => a.names).sort();
  }

  reset(): void {
    this.arrivals.length = 0;
  }
}

/**
 * Makes finished spans with the real SDK: a SERVER span `GET /users` with two children,
 * `SELECT users` (CLIENT) and `render` (INTERNAL, status ERROR). Service `checkout`.
 */
export async function makeSpans(): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('spanmeter-test', '1.0.0');
  const root = tracer.startSpan('GET /users', { kind: SpanKind.SERVER, attributes: { 'http.method': 'GET' } });
  const ctx = trace.setSpan(context.active(), root);
  tracer.startSpan('SELECT users', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } }, ctx).end();
  const render = tracer.startSpan('render', { kind: SpanKind.INTERNAL }, ctx);
  render.setStatus({ code: SpanStatusCode.ERROR, message: 'template missing' });
  render.end();
  root.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans().slice();
  await provider.shutdown();
  return spans;
}

export const SPAN_NAMES = ['GET /users', 'SELECT users', 'render'];

/** Exports spans with an SDK exporter; resolves with the ExportResult code (0 success) and error. */
export function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<{ code: number; error?: Error }> {
  return new Promise((resolve) => exporter.export(spans, (r) => resolve({ code: r.code, error: r.error })));
}
