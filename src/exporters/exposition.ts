// The Prometheus text format 0.0.4 and OpenMetrics 1.0, written from metric families straight
// out of core memory: one cached label string per series, no object per sample.
import { GrowableBytes } from './bytes.js';
import type { Exemplar } from '../core/index.js';
import type { Family } from './families.js';
import { forEachSeries } from './families.js';
import { formatSampleValue } from './labels.js';

export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_TEXT = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type TextFormat = 'text' | 'openmetrics';

/** The format a scraper asks for in `Accept`: OpenMetrics when it lists it, text otherwise. */
export function negotiate(accept: string | undefined): TextFormat {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'text';
}

/** A bound in the family's unit: 0.002 s shows as 2 ms, not 2.0000000000000004. */
export function scaled(bound: number, scale: number): number {
  return scale === 1 ? bound : Number((bound * scale).toPrecision(15));
}

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
}

export function renderFamilies(families: readonly Family[], format: TextFormat): Buffer {
  const out = new ByteWriter();
  for (const f of families) renderFamily(f, format, out);
  return out.finish();
}

/** An OpenMetrics exemplar after a sample: ` # {trace_id="…",span_id="…"} value timestamp`. */
function exemplarText(e: Exemplar | undefined, scale: number): string {
  if (!e) return '';
  const span = e.spanId === '' ? '' : `,span_id="${e.spanId}"`;
  return ` # {trace_id="${e.traceId}"${span}} ${formatSampleValue(e.value * scale)} ${e.timestampMs / 1000}`;
}

function renderFamily(f: Family, format: TextFormat, out: ByteWriter): void {
  const om = format === 'openmetrics';
  const sampleName = f.type === 'counter' ? `${f.name}_total` : f.name;
  // Text 0.0.4 names a counter family by its sample name; OpenMetrics by the name without _total.
  const headerName = f.type === 'counter' && !om ? sampleName : f.name;
  out.text(`# HELP ${headerName} ${f.help}\n# TYPE ${headerName} ${f.type}\n`);
  const view = f.table();
  if (!view) return;
  if (f.type !== 'histogram') {
    const open = Buffer.from(`${sampleName}{`);
    const bare = Buffer.from(sampleName);
    const exemplar = f.type === 'counter' ? f.exemplar : undefined;
    forEachSeries(f, view, (slot) => {
      const labels = f.labels.bytes(view, slot);
      const value = ` ${formatSampleValue(view.value(slot, f.value))}${om ? exemplarText(exemplar?.(view, slot), 1) : ''}\n`;
      if (labels.length > 0) {
        out.bytes(open);
        out.bytes(labels);
        out.ascii(`}${value}`);
      } else {
        out.bytes(bare);
        out.ascii(value);
      }
    });
    return;
  }
  const scale = f.milliseconds ? 1000 : 1;
  const bucketName = Buffer.from(`${f.name}_bucket{`);
  // `le="x"} ` after the labels, with the comma when there are labels.
  const le = [...f.bounds.map((b) => formatSampleValue(scaled(b, scale))), '+Inf'];
  const leAfterLabels = le.map((v) => `,le="${v}"} `);
  const leAlone = le.map((v) => `le="${v}"} `);
  const sumOpen = Buffer.from(`${f.name}_sum{`);
  const countOpen = Buffer.from(`${f.name}_count{`);
  forEachSeries(f, view, (slot) => {
    const labels = f.labels.bytes(view, slot);
    const tails = labels.length > 0 ? leAfterLabels : leAlone;
    let cumulative = 0;
    const count = view.value(slot, f.count);
    for (let b = 0; b < le.length; b++) {
      cumulative = b < f.bounds.length ? cumulative + view.value(slot, f.buckets + b) : count;
      out.bytes(bucketName);
      out.bytes(labels);
      out.ascii(`${tails[b]}${formatSampleValue(cumulative)}${om ? exemplarText(f.exemplar?.(view, slot, b), scale) : ''}\n`);
    }
    // name{labels} value, or name value without labels: the `{` is dropped by starting one byte on.
    const close = labels.length > 0 ? '}' : '';
    out.bytes(labels.length > 0 ? sumOpen : sumOpen.subarray(0, sumOpen.length - 1));
    out.bytes(labels);
    out.ascii(`${close} ${formatSampleValue(view.value(slot, f.sum) * scale)}\n`);
    out.bytes(labels.length > 0 ? countOpen : countOpen.subarray(0, countOpen.length - 1));
    out.bytes(labels);
    out.ascii(`${close} ${formatSampleValue(count)}\n`);
  });
}
