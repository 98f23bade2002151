// Prometheus label names and values: sanitizing attribute names, escaping values.

/** Each code point outside [a-zA-Z0-9_] becomes "_"; a leading digit gets a "_" prefix. */
export function sanitizeLabelName(name: string): string {
  let out = '';
  for (const ch of name) out += /^[a-zA-Z0-9_]$/.test(ch) ? ch : '_';
  return /^[0-9]/.test(out) ? `_${out}` : out;
}

/**
 * Label names for configured attribute dimensions: sanitized, with "__" before a name that
 * equals a label the processor sets itself (as Tempo does). Two dimensions that end up with the
 * same label name would make invalid series, so that is a configuration error.
 */
export function dimensionLabelNames(dimensions: string[], reserved: readonly string[], key: string): string[] {
  const names = dimensions.map((d) => {
    const s = sanitizeLabelName(d);
    return reserved.includes(s) ? `__${s}` : s;
  });
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
