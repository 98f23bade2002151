// How configured attribute names become Prometheus label names, as Tempo names them: each
// character outside [a-zA-Z0-9_] becomes "_", a leading digit gets "_" before it, and a name the
// processor sets itself gets "__" before it (`span.kind` → `__span_kind`). Shared by the config
// (which resolves collisions before the core is configured) and the exporters (which name the
// labels).
import type { ConfigIssue } from './errors.js';
import type { Config } from './types.js';

/** Labels the span-metrics families set themselves, besides the service label (`service` or `service_name`); le: the histogram's buckets. */
export const SPAN_METRICS_OWN_LABELS = ['span_name', 'span_kind', 'status_code', 'status_message', 'le'] as const;
/** Labels the service-graph edge families set themselves. */
export const SERVICE_GRAPHS_OWN_LABELS = ['client', 'server', 'connection_type', 'virtual_node', 'le'] as const;

/** Each code point outside [a-zA-Z0-9_] becomes "_"; a leading digit gets a "_" prefix. */
export function sanitizeLabelName(name: string): string {
  let out = '';
  for (const ch of name) out += /^[a-zA-Z0-9_]$/.test(ch) ? ch : '_';
  return /^[0-9]/.test(out) ? `_${out}` : out;
}

/** The label name of a configured dimension: sanitized, "__" before one of `reserved`. */
export function dimensionLabel(dimension: string, reserved: readonly string[]): string {
  const s = sanitizeLabelName(dimension);
  return reserved.includes(s) ? `__${s}` : s;
}

/** A dimension left out because a later one takes the same label name. */
export interface ShadowedDimension {
  dropped: string;
  kept: string;
  label: string;
}

/**
 * The dimensions that make a label, in order: of two that become the same label name only the
 * last configured is kept. Tempo accepts such a pair and sets the label from each in turn, so
 * the last one's value wins, and a span without it has no such label (its label builder deletes
 * a name set to ""): the earlier dimension never shows (spanmetrics.go, "we just take the last
 * one configured"; registry/builder.go, Add).
 */
export function resolveDimensions(
  dimensions: readonly string[], reserved: readonly string[],
): { kept: string[]; shadowed: ShadowedDimension[] } {
  const labels = dimensions.map((d) => dimensionLabel(d, reserved));
  const kept: string[] = [];
  const shadowed: ShadowedDimension[] = [];
  dimensions.forEach((d, i) => {
    const last = labels.lastIndexOf(labels[i]!);
    if (last === i) kept.push(d);
    else shadowed.push({ dropped: d, kept: dimensions[last]!, label: labels[i]! });
  });
  return { kept, shadowed };
}

/**
 * Applies resolveDimensions to every dimension list of `config` (in place) and returns one
 * warning per dimension left out. The span-metrics service label is `service_name` with
 * `naming: otel`; event dimensions also give way to the span's labels and event_name.
 */
export function resolveLabelCollisions(config: Config): string[] {
  const warnings: string[] = [];
  const apply = (key: string, list: string[], reserved: readonly string[]): string[] => {
    const { kept, shadowed } = resolveDimensions(list, reserved);
    for (const s of shadowed) {
      warnings.push(
        `${key}: "${s.dropped}" and "${s.kept}" both become label ${s.label}; the last configured, "${s.kept}", sets it (as in Tempo)`,
      );
    }
    return kept;
  };
  const sm = config.processor.span_metrics;
  const spanReserved = spanMetricsReserved(config);
  sm.dimensions = apply('processor.span_metrics.dimensions', sm.dimensions, spanReserved);
  const spanLabels = [...sm.dimensions, ...(sm.dimension_mappings ?? []).map((m) => m.name)].map((d) => dimensionLabel(d, spanReserved));
  sm.events.dimensions = apply('processor.span_metrics.events.dimensions', sm.events.dimensions, [...spanReserved, ...spanLabels, 'event_name']);
  // The connector's calls and histogram dimensions give way to the span's labels ("__" before them).
  if (sm.calls_dimensions) sm.calls_dimensions = apply('processor.span_metrics.calls_dimensions', sm.calls_dimensions, [...spanReserved, ...spanLabels]);
  if (sm.histogram_dimensions) {
    sm.histogram_dimensions = apply('processor.span_metrics.histogram_dimensions', sm.histogram_dimensions, [...spanReserved, ...spanLabels]);
  }
  const sg = config.processor.service_graphs;
  sg.dimensions = apply('processor.service_graphs.dimensions', sg.dimensions, SERVICE_GRAPHS_OWN_LABELS);
  return warnings;
}

/** A dimension default must name a configured dimension (it is that dimension's value). */
export function checkDimensionDefaults(config: Config): ConfigIssue[] {
  const sm = config.processor.span_metrics;
  const named = [...sm.dimensions, ...(sm.calls_dimensions ?? []), ...(sm.histogram_dimensions ?? [])];
  const issues = (defaults: Record<string, string> | undefined, list: string[], key: string, lists: string): ConfigIssue[] =>
    Object.keys(defaults ?? {}).filter((d) => !list.includes(d)).map((d) => ({
      origin: '', path: `processor.span_metrics.${key}.${d}`, message: `not one of ${lists} (${list.join(', ') || 'none'})`,
    }));
  return [
    ...issues(sm.dimension_defaults, named, 'dimension_defaults', 'processor.span_metrics.dimensions, calls_dimensions, histogram_dimensions'),
    ...issues(sm.events.dimension_defaults, sm.events.dimensions, 'events.dimension_defaults', 'processor.span_metrics.events.dimensions'),
  ];
}

/**
 * Tempo's checks of dimension_mappings (validation.ValidateDimensions): a mapping's label, named
 * as a dimension's, may not be a dimension's label or another mapping's; and it needs a name.
 */
export function checkDimensionMappings(config: Config): ConfigIssue[] {
  const sm = config.processor.span_metrics;
  const reserved = spanMetricsReserved(config);
  const seen = new Map<string, string>(sm.dimensions.map((d) => [dimensionLabel(d, reserved), `dimension "${d}"`]));
  const issues: ConfigIssue[] = [];
  (sm.dimension_mappings ?? []).forEach((m, i) => {
    const path = `processor.span_metrics.dimension_mappings[${i}].name`;
    if (m.name === '') {
      issues.push({ origin: '', path, message: 'must not be empty' });
      return;
    }
    const label = dimensionLabel(m.name, reserved);
    const other = seen.get(label);
    if (other) issues.push({ origin: '', path, message: `"${m.name}" produces label ${label}, which collides with ${other}` });
    seen.set(label, `dimension_mapping "${m.name}"`);
  });
  return issues;
}

/** The labels span-metrics dimensions may not take as they are. */
function spanMetricsReserved(config: Config): string[] {
  return [config.naming === 'otel' ? 'service_name' : 'service', ...SPAN_METRICS_OWN_LABELS];
}
