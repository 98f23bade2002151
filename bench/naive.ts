// Stage (d): what a Node developer writes first. protobufjs decodes the whole
// ExportTraceServiceRequest into objects, and a Map keyed by the series' label string holds
// calls, latency sum and bucket counts (no size counter: the decoded objects no longer know
// their encoded size).
import {
  ExportTraceServiceRequest,
  type PbExportTraceServiceRequest,
} from '../src/otlp/messages.js';

const SPAN_KINDS = [
  'SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER',
];
const STATUS_CODES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

/** The Map key of a series: its label string, as the exposition would print it. */
export function naiveKey(service: string, name: string, kind: number, status: number): string {
  return `service="${service}",span_name="${name}",span_kind="${SPAN_KINDS[kind] ?? kind}",`
    + `status_code="${STATUS_CODES[status] ?? status}"`;
}

export interface NaiveSeries {
  calls: number;
  sum: number;
  /** Count per finite bucket, not cumulative (the +Inf bucket is `calls`). */
  buckets: number[];
}

interface LongValue {
  sub(other: LongValue): { toNumber(): number };
}

function seconds(start: unknown, end: unknown): number {
  // protobufjs gives fixed64 as Long when the long package is present, as number otherwise.
  const ns = typeof start === 'number' || typeof end === 'number'
    ? Number(end) - Number(start)
    : (end as LongValue).sub(start as LongValue).toNumber();
  return ns > 0 ? ns / 1e9 : 0;
}

export class NaiveSpanMetrics {
  readonly series = new Map<string, NaiveSeries>();

  constructor(private readonly bounds: readonly number[]) {}

  ingest(request: Uint8Array): number {
    const req = ExportTraceServiceRequest.decode(request) as unknown as PbExportTraceServiceRequest;
    let spans = 0;
    for (const rs of req.resourceSpans) {
      const serviceAttr = rs.resource?.attributes.find((kv) => kv.key === 'service.name');
      const service = serviceAttr?.value?.stringValue ?? '';
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const key = naiveKey(service, span.name, span.kind, span.status?.code ?? 0);
          let s = this.series.get(key);
          if (s === undefined) {
            s = { calls: 0, sum: 0, buckets: new Array<number>(this.bounds.length).fill(0) };
            this.series.set(key, s);
          }
          const v = seconds(span.startTimeUnixNano, span.endTimeUnixNano);
          s.calls++;
          s.sum += v;
          const b = this.bounds.findIndex((le) => v <= le);
          if (b >= 0) s.buckets[b]!++;
          spans++;
        }
      }
    }
    return spans;
  }
}
