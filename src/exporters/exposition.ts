// The Prometheus text format 0.0.4 and OpenMetrics 1.0, written from metric families straight
// out of core memory: one cached label string per series, no object per sample.
import { GrowableBytes } from './bytes.js';
import type { Exemplar, SeriesTableView } from '../core/index.js';
import type { Family } from './families.js';
import { bucketExemplar, forEachSeries, sampleValue } from './families.js';
import { formatSampleValue, scaled } from './labels.js';
import { renderFamiliesProto } from './protoexposition.js';

export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_TEXT = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type TextFormat = 'text' | 'openmetrics';
/** The formats of /metrics: the text ones, and the Prometheus protobuf (protoexposition.ts), which carries native histograms. */
export type ExpositionFormat = TextFormat | 'protobuf';

/**
 * The format a scraper asks for in `Accept`, by its q-values: the Prometheus protobuf
 * (`application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
 * encoding=delimited`, what Prometheus asks first with native histograms on), OpenMetrics, or
 * text (also for anything else). Ties go to the earlier entry.
 */
export function negotiate(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return 'text';
  let best: ExpositionFormat = 'text';
  let bestQ = -1;
  for (const entry of accept.split(',')) {
    const [type = '', ...params] = entry.split(';').map((p) => p.trim().toLowerCase());
    const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? 1);
    let format: ExpositionFormat | undefined;
    if (type === 'application/vnd.google.protobuf') {
      const proto = params.find((p) => p.startsWith('proto='))?.slice(6);
      const encoding = params.find((p) => p.startsWith('encoding='))?.slice(9);
      if (proto === 'io.prometheus.client.metricfamily' && encoding === 'delimited') format = 'protobuf';
    } else if (type === 'application/openmetrics-text') format = 'openmetrics';
    else if (type === 'text/plain') format = 'text';
    if (format !== undefined && Number.isFinite(q) && q > bestQ) {
      best = format;
      bestQ = q;
    }
  }
  return best;
}

export { scaled } from './labels.js';

/**
 * An output buffer written piece by piece: ASCII (names, numbers) written as latin1, label sets
 * as the UTF-8 bytes cached per series. No string is built per line and none to encode at the end.
 */
class ByteWriter extends GrowableBytes {
  ascii(s: string): void {
    this.reserve(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  text(s: string): void {
    this.reserve(Buffer.byteLength(s));
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The bytes written so far, handed over: writing goes on in a new buffer of the same size. */
  take(): Buffer {
    const chunk = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.pos = 0;
    return chunk;
  }
}

export function renderFamilies(families: readonly Family[], format: ExpositionFormat): Buffer {
  if (format === 'protobuf') return renderFamiliesProto(families);
  const out = new ByteWriter();
  for (const f of families) {
    const write = familyWriter(f, format, out);
    const view = f.table();
    if (view) forEachSeries(f, view, (slot) => write(view, slot));
  }
  return out.finish();
}

/** About how many bytes streamFamilies hands over at a time. */
export const STREAM_CHUNK_BYTES = 256 * 1024;

/**
 * The bytes renderFamilies makes, handed to `write` in chunks of about `chunkBytes` as they are
 * written, so that no buffer holds the whole exposition (GET /metrics, src/exporters/server.ts).
 * When `write` answers a promise (the reader is behind), rendering waits for it and then reads
 * the family's table again where it stopped: memory may have grown meanwhile (a new view), and a
 * series keeps its slot for life, so each series is written once, as it is when its turn comes;
 * series made meanwhile in slots already passed show at the next scrape.
 */
export async function streamFamilies(
  families: readonly Family[], format: TextFormat, write: (chunk: Buffer) => Promise<void> | undefined, chunkBytes = STREAM_CHUNK_BYTES,
): Promise<void> {
  const out = new ByteWriter(chunkBytes + 16 * 1024);
  for (const f of families) {
    const writeSeries = familyWriter(f, format, out);
    let slot = 0;
    for (let view = f.table(); view && slot < view.used; ) {
      const v = view;
      slot = forEachSeries(f, v, (s) => {
        writeSeries(v, s);
        return out.pos >= chunkBytes;
      }, slot);
      if (out.pos < chunkBytes) continue;
      const wait = write(out.take());
      if (wait) {
        await wait;
        view = f.table();
      }
    }
  }
  if (out.pos > 0) await write(out.take());
}

/** An OpenMetrics exemplar after a sample: ` # {trace_id="…",span_id="…"} value timestamp`. */
function exemplarText(e: Exemplar | undefined, scale: number): string {
  if (!e) return '';
  const span = e.spanId === '' ? '' : `,span_id="${e.spanId}"`;
  return ` # {trace_id="${e.traceId}"${span}} ${formatSampleValue(e.value * scale)} ${e.timestampMs / 1000}`;
}

/** Writes the family's HELP and TYPE lines and returns the writer of one series' lines. */
function familyWriter(f: Family, format: TextFormat, out: ByteWriter): (view: SeriesTableView, slot: number) => void {
  const om = format === 'openmetrics';
  const sampleName = f.type === 'counter' ? `${f.name}_total` : f.name;
  // Text 0.0.4 names a counter family by its sample name; OpenMetrics by the name without _total.
  const headerName = f.type === 'counter' && !om ? sampleName : f.name;
  out.text(`# HELP ${headerName} ${f.help}\n# TYPE ${headerName} ${f.type}\n`);
  if (f.type !== 'histogram') {
    const open = Buffer.from(`${sampleName}{`);
    const bare = Buffer.from(sampleName);
    const exemplar = f.type === 'counter' ? f.exemplar : undefined;
    return (view, slot) => {
      const labels = f.labels.bytes(view, slot);
      const value = ` ${formatSampleValue(sampleValue(f, view, slot))}${om ? exemplarText(exemplar?.(view, slot), 1) : ''}\n`;
      if (labels.length > 0) {
        out.bytes(open);
        out.bytes(labels);
        out.ascii(`}${value}`);
      } else {
        out.bytes(bare);
        out.ascii(value);
      }
    };
  }
  const scale = f.milliseconds ? 1000 : 1;
  const bucketName = Buffer.from(`${f.name}_bucket{`);
  // `le="x"} ` after the labels, with the comma when there are labels.
  // With native histograms only, the text formats show the +Inf bucket, sum and count (as client_golang does).
  const bounds = f.native && !f.native.classic ? [] : f.bounds;
  const le = [...bounds.map((b) => formatSampleValue(scaled(b, scale))), '+Inf'];
  const leAfterLabels = le.map((v) => `,le="${v}"} `);
  const leAlone = le.map((v) => `le="${v}"} `);
  const sumOpen = Buffer.from(`${f.name}_sum{`);
  const countOpen = Buffer.from(`${f.name}_count{`);
  return (view, slot) => {
    const labels = f.labels.bytes(view, slot);
    const tails = labels.length > 0 ? leAfterLabels : leAlone;
    let cumulative = 0;
    const count = view.value(slot, f.count);
    const slowest = om ? f.slowest?.(view, slot) : undefined;
    for (let b = 0; b < le.length; b++) {
      cumulative = b < bounds.length ? cumulative + view.value(slot, f.buckets + b) : count;
      out.bytes(bucketName);
      out.bytes(labels);
      const exemplar = om ? bucketExemplar(f, view, slot, b < bounds.length ? b : f.bounds.length, slowest) : undefined;
      out.ascii(`${tails[b]}${formatSampleValue(cumulative)}${exemplarText(exemplar, scale)}\n`);
    }
    // name{labels} value, or name value without labels: the `{` is dropped by starting one byte on.
    const close = labels.length > 0 ? '}' : '';
    out.bytes(labels.length > 0 ? sumOpen : sumOpen.subarray(0, sumOpen.length - 1));
    out.bytes(labels);
    out.ascii(`${close} ${formatSampleValue(view.value(slot, f.sum) * scale)}\n`);
    out.bytes(labels.length > 0 ? countOpen : countOpen.subarray(0, countOpen.length - 1));
    out.bytes(labels);
    out.ascii(`${close} ${formatSampleValue(count)}\n`);
  };
}
