// Prometheus label names and values: sanitizing attribute names, escaping values.
import { dimensionLabel } from '../config/labelnames.js';

/**
 * Label names for configured attribute dimensions (config/labelnames.ts). The config keeps only
 * the last of dimensions that share a label name (resolveDimensions, as Tempo does), so a
 * collision here is a caller's mistake, not a user's.
 */
export function dimensionLabelNames(dimensions: string[], reserved: readonly string[], key: string): string[] {
  const names = dimensions.map((d) => dimensionLabel(d, reserved));
  names.forEach((n, i) => {
    const j = names.indexOf(n);
    if (j !== i) throw new Error(`${key}: "${dimensions[j]}" and "${dimensions[i]}" both become label ${n}`);
  });
  return names;
}

export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** A sample value as the text format writes it. */
export function formatSampleValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** A bound in the family's unit: 0.002 s shows as 2 ms, not 2.0000000000000004. */
export function scaled(bound: number, scale: number): number {
  return scale === 1 ? bound : Number((bound * scale).toPrecision(15));
}
