// What the series limit and the per-label caps hold back, said loudly: per span-metrics label its
// distinct values over the window (the core's HyperLogLog, assembly/cardinality.ts), the values
// replaced by __cardinality_overflow__, the latest held-back value, the services whose spans were
// held back most, the demand estimate, and the config line that fixes the leading offender.
// Read by /api/cardinality, the page, the log and the spanmeter_* self metrics.
import type { Core } from '../core/index.js';
import {
  PREVIEW_ENTRIES, PREVIEW_ENTRY_SIZE, PREVIEW_SAMPLE_SHIFT, SM_KEY_DIMENSIONS, SM_KEY_SERVICE, SM_KEY_SPAN_NAME,
} from '../core/layout.js';
import { spanMetricsKeyWords } from '../core/keywords.js';
import type { SpanMetricsConfig } from '../config/types.js';
import { SPAN_METRICS_OWN_LABELS } from '../config/labelnames.js';
import { dimensionLabelNames } from '../exporters/labels.js';
import type { Telemetry } from '../telemetry.js';
import type { Logger } from '../log.js';

/** A label of the span-metrics key: its key word in the core, its Prometheus name and what it is read from. */
export interface LabelWord {
  word: number;
  label: string;
  /** The span or resource attribute (a dimension), or `service.name`, `span name`, `status message`. */
  attribute: string;
  /** A dimension mapping's or a dimension's config list, for the fix. */
  source: 'service' | 'span_name' | 'status_message' | 'dimension' | 'mapping';
}

/** The labels of the span-metrics key that take string values, in key-word order. */
export function spanMetricsLabelWords(config: SpanMetricsConfig, naming: 'tempo' | 'otel' = 'tempo'): LabelWord[] {
  const serviceLabel = naming === 'otel' ? 'service_name' : 'service';
  const on = config.intrinsic_dimensions;
  const out: LabelWord[] = [];
  if (on.service) out.push({ word: SM_KEY_SERVICE, label: serviceLabel, attribute: 'service.name', source: 'service' });
  if (on.span_name) out.push({ word: SM_KEY_SPAN_NAME, label: 'span_name', attribute: 'span name', source: 'span_name' });
  if (on.status_message) out.push({ word: spanMetricsKeyWords(config).statusMessage, label: 'status_message', attribute: 'status message', source: 'status_message' });
  const mappings = (config.dimension_mappings ?? []).map((m) => m.name);
  const names = dimensionLabelNames(
    [...config.dimensions, ...mappings], [serviceLabel, ...SPAN_METRICS_OWN_LABELS], 'processor.span_metrics.dimensions',
  );
  names.forEach((label, d) => {
    const mapping = d >= config.dimensions.length;
    out.push({
      word: SM_KEY_DIMENSIONS + d, label, source: mapping ? 'mapping' : 'dimension',
      attribute: mapping ? mappings[d - config.dimensions.length]! : config.dimensions[d]!,
    });
  });
  return out;
}

export interface LabelCardinality {
  label: string;
  attribute: string;
  /** Distinct values over the window (HyperLogLog, ±3.25 %). */
  estimate: number;
  /** Values replaced by __cardinality_overflow__ so far. */
  limited: number;
  /** The latest value held back (cut at 96 bytes), if any. */
  example?: string;
}

export interface CardinalityLimits {
  max_active_series: number;
  max_cardinality_per_label: number;
  active_series: number;
  /** Series the traffic would make without the limits: active plus held-back label sets, in Prometheus series. */
  series_demand_estimate: number;
  /** Tracked labels (all of them once a cap is set or a label set was held back), most distinct values first. */
  labels: LabelCardinality[];
  /** Services whose spans were held back most (upper bounds). */
  held_back_services: { service: string; spans: number }[];
  /** What to change, most useful first (empty while nothing is held back). */
  fixes: string[];
}

/** The fix for a label with too many values. */
export function fixFor(label: LabelWord): string {
  switch (label.source) {
    case 'dimension':
      return `remove ${label.attribute} from processor.span_metrics.dimensions (one series per value)`;
    case 'mapping':
      return `remove the dimension_mappings entry ${label.attribute} (one series per joined value)`;
    case 'span_name':
      return 'processor.span_metrics.span_name_normalization: on (replaces ids in span names), or name spans by route, not by URL';
    case 'status_message':
      return 'processor.span_metrics.intrinsic_dimensions.status_message: false';
    default:
      return 'give each service one service.name (not one per instance or request)';
  }
}

export function cardinalityLimits(core: Core, words: readonly LabelWord[], registry: { max_active_series: number; max_cardinality_per_label: number }): CardinalityLimits {
  const labels: (LabelCardinality & { of: LabelWord })[] = [];
  for (const w of words) {
    const c = core.labelCardinality(w.word);
    if (!c) continue;
    labels.push({
      of: w, label: w.label, attribute: w.attribute, estimate: Math.round(c.estimate), limited: c.limited,
      ...(c.example !== undefined ? { example: c.example } : {}),
    });
  }
  labels.sort((a, b) => b.estimate - a.estimate);
  const heldBack = core.seriesLimited() > 0 || labels.some((l) => l.limited > 0);
  const cap = registry.max_cardinality_per_label;
  // the fixes: the labels over the cap, else (series limit) the labels with the most values
  const offenders = labels.filter((l) => l.limited > 0 || (cap > 0 && l.estimate > cap));
  const fixes = heldBack ? (offenders.length > 0 ? offenders : labels.slice(0, 1)).map((l) => fixFor(l.of)) : [];
  return {
    max_active_series: registry.max_active_series,
    max_cardinality_per_label: cap,
    active_series: core.activeSeries(),
    series_demand_estimate: Math.round(core.seriesDemand()),
    labels: labels.map(({ of: _of, ...l }) => l),
    held_back_services: core.heldBackServices(),
    fixes,
  };
}

/**
 * The self metrics (spanmeter_series_demand_estimate, spanmeter_max_cardinality_per_label,
 * spanmeter_label_cardinality_demand_estimate{label_name}, spanmeter_label_values_limited_total{label_name})
 * and the log: once per label when its cap first holds a value back, naming the label, its
 * estimate, an example and the fix. Returns the check to run on the maintenance tick.
 */
export function watchCardinality(opts: {
  core: Core; words: readonly LabelWord[]; registry: { max_active_series: number; max_cardinality_per_label: number };
  telemetry: Telemetry; log: Logger;
}): () => void {
  const { core, words, registry, telemetry, log } = opts;
  telemetry.addGauge({
    name: 'spanmeter_max_cardinality_per_label',
    help: 'The configured registry.max_cardinality_per_label (0 = no cap).',
    collect: () => registry.max_cardinality_per_label,
  });
  telemetry.addGauge({
    name: 'spanmeter_series_demand_estimate',
    help: 'Series the traffic would make without the series limit and the per-label caps: active series plus the span-metrics label sets held back over stale_duration (HyperLogLog).',
    collect: () => Math.round(core.seriesDemand()),
  });
  const perLabel = (read: (w: LabelWord) => number | undefined) => () => {
    const out: { labels: Record<string, string>; value: number }[] = [];
    for (const w of words) {
      const v = read(w);
      if (v !== undefined) out.push({ labels: { label_name: w.label }, value: v });
    }
    return out;
  };
  telemetry.addGauge({
    name: 'spanmeter_label_cardinality_demand_estimate',
    help: 'Distinct values of each span-metrics label over stale_duration (HyperLogLog, 3.25 % standard error); tracked with a cap, or once the series limit held a label set back.',
    labelNames: ['label_name'],
    collect: perLabel((w) => {
      const c = core.labelCardinality(w.word);
      return c && Math.round(c.estimate);
    }),
  });
  telemetry.addCounter({
    name: 'spanmeter_label_values_limited_total',
    help: 'Label values replaced by __cardinality_overflow__ because the label passed registry.max_cardinality_per_label.',
    labelNames: ['label_name'],
    collect: perLabel((w) => core.labelCardinality(w.word)?.limited),
  });
  const logged = new Set<string>();
  return () => {
    for (const w of words) {
      const c = core.labelCardinality(w.word);
      if (!c || c.limited === 0 || logged.has(w.label)) continue;
      logged.add(w.label);
      log.warn(
        {
          label: w.label, attribute: w.attribute, estimate: Math.round(c.estimate),
          max_cardinality_per_label: registry.max_cardinality_per_label, example: c.example,
          held_back_services: core.heldBackServices().slice(0, 3), fix: fixFor(w),
        },
        `label ${w.label} (${w.attribute}) has about ${Math.round(c.estimate)} distinct values, over registry.max_cardinality_per_label ` +
          `(${registry.max_cardinality_per_label}): new label sets get ${w.label}="__cardinality_overflow__"` +
          `${c.example !== undefined ? ` (e.g. ${JSON.stringify(c.example)})` : ''}; fix: ${fixFor(w)}`,
      );
    }
  };
}

/** What a key would be as a dimension: safe, costly (many values), never (a value per request: ids, IPs, e-mails, UUIDs). */
export type Verdict = 'safe' | 'costly' | 'never';

/** Values that identify one request or user, whatever their count. */
const UNIQUE_SHAPES = [
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, // UUID
  /^[^@\s]+@[^@\s]+\.[^@\s]+$/, // e-mail
  /^\d{1,3}(\.\d{1,3}){3}$/, // IPv4
  /^[0-9a-f]*:[0-9a-f:]*:[0-9a-f]*$/i, // IPv6
  /^[0-9a-f]{16,}$/i, // trace or span id, hash
];

export interface PreviewKey {
  service: string;
  key: string;
  /** Distinct values among the sampled spans that carried the key (HyperLogLog). */
  estimate: number;
  /** Sampled spans that carried it. */
  spans: number;
  verdict: Verdict;
  /** Span-metrics series the key would make as a dimension: the service's label sets now × its values × series per set. */
  series_if_dimension: number;
  /** Configured as a span-metrics dimension already. */
  dimension: boolean;
  examples: string[];
}

/** Distinct values above which a key is costly: the per-label cap when set, else 100. */
export const COSTLY_VALUES = 100;

export function verdictOf(estimate: number, spans: number, examples: readonly string[], costly: number): Verdict {
  if (examples.some((x) => UNIQUE_SHAPES.some((re) => re.test(x)))) return 'never';
  if (spans >= 20 && estimate >= 0.9 * spans) return 'never';
  return estimate > costly ? 'costly' : 'safe';
}

/** The preview of every (service, key) the core sampled, most distinct values first. */
export function previewKeys(core: Core, config: SpanMetricsConfig | undefined, cap: number): PreviewKey[] {
  const setsByService = new Map<string, number>();
  const view = config ? core.table('spanMetrics') : undefined;
  const ids = new Map<number, number>();
  for (let r = 0; view && r < view.used; r++) {
    if (!view.live(r) || view.overflow(r)) continue;
    const id = view.key(r, SM_KEY_SERVICE);
    ids.set(id, (ids.get(id) ?? 0) + 1);
  }
  for (const [id, n] of ids) setsByService.set(core.label(id), n);
  const perSet = config ? config.histogram_buckets.length + 5 : 0;
  const dims = new Set(config?.dimensions ?? []);
  const costly = cap > 0 ? cap : COSTLY_VALUES;
  return core.previewKeys()
    .map((k) => {
      const estimate = Math.round(k.estimate);
      return {
        service: k.service, key: k.key, estimate, spans: k.spans,
        verdict: verdictOf(estimate, k.spans, k.examples, costly),
        series_if_dimension: (setsByService.get(k.service) ?? 0) * Math.max(estimate, 1) * perSet,
        dimension: dims.has(k.key), examples: k.examples,
      };
    })
    .sort((a, b) => b.estimate - a.estimate || (a.service < b.service ? -1 : a.service > b.service ? 1 : a.key < b.key ? -1 : 1));
}

export interface NameMerge {
  /** The normalised name. */
  name: string;
  /** Distinct span names that become it. */
  names: number;
  examples: string[];
}

/**
 * What span_name_normalization merges among the span-metrics series now: per normalised name
 * the names that become it, and the label sets before and after (the other labels kept).
 */
export function nameMerges(core: Core): { merges: NameMerge[]; label_sets: number; label_sets_after: number } {
  const view = core.table('spanMetrics');
  if (!view) return { merges: [], label_sets: 0, label_sets_after: 0 };
  // first the keys, then the core calls (normalising may grow memory and move the table)
  const rows: { name: number; rest: string }[] = [];
  for (let r = 0; r < view.used; r++) {
    if (!view.live(r) || view.overflow(r)) continue;
    const words: number[] = [];
    for (let w = 0; w < view.keyWords; w++) if (w !== SM_KEY_SPAN_NAME) words.push(view.key(r, w));
    rows.push({ name: view.key(r, SM_KEY_SPAN_NAME), rest: words.join(',') });
  }
  const normOf = new Map<number, number>();
  for (const { name } of rows) if (!normOf.has(name)) normOf.set(name, core.normalizedName(name));
  const after = new Set(rows.map((r) => `${normOf.get(r.name)}|${r.rest}`));
  const groups = new Map<number, Set<number>>();
  for (const [name, norm] of normOf) {
    if (norm === name || norm === 0xffffffff) continue;
    let g = groups.get(norm);
    if (!g) groups.set(norm, (g = new Set()));
    g.add(name);
  }
  const merges = [...groups].map(([norm, names]) => ({
    name: core.label(norm), names: names.size, examples: [...names].slice(0, 3).map((id) => core.label(id)),
  })).filter((m) => m.names > 1).sort((a, b) => b.names - a.names).slice(0, 50);
  return { merges, label_sets: rows.length, label_sets_after: after.size };
}

/** GET /api/cardinality. */
export interface CardinalityResponse {
  limits: CardinalityLimits;
  preview: { sampled_spans: number; sampling: string; memory_bytes: number; keys: PreviewKey[] };
  span_names: { span_name_normalization: 'off' | 'dry_run' | 'on'; merges: NameMerge[]; label_sets: number; label_sets_after: number };
}

/** Bytes of the preview's table (assembly/preview.ts: 512 entries of 1,280 bytes). */
const PREVIEW_MEMORY_BYTES = PREVIEW_ENTRIES * PREVIEW_ENTRY_SIZE;
/** The span-name report walks every span-metrics series: at most this often. */
const NAME_REPORT_MS = 10_000;

/** The answer of GET /api/cardinality, from the core now (the span-name report at most every 10 s). */
export function cardinalityApi(opts: {
  core: Core; spanMetrics: SpanMetricsConfig | undefined; words: readonly LabelWord[];
  registry: { max_active_series: number; max_cardinality_per_label: number }; now?: () => number;
}): () => CardinalityResponse {
  const now = opts.now ?? Date.now;
  let names: CardinalityResponse['span_names'] | undefined;
  let namesAt = -Infinity;
  return () => {
    const { core, spanMetrics, words, registry } = opts;
    if (!names || now() - namesAt >= NAME_REPORT_MS) {
      names = { span_name_normalization: spanMetrics?.span_name_normalization ?? 'off', ...nameMerges(core) };
      namesAt = now();
    }
    return {
      limits: cardinalityLimits(core, words, registry),
      preview: {
        sampled_spans: core.previewSampled(), sampling: `1 span in ${1 << PREVIEW_SAMPLE_SHIFT}`, memory_bytes: PREVIEW_MEMORY_BYTES,
        keys: previewKeys(core, spanMetrics, registry.max_cardinality_per_label),
      },
      span_names: names,
    };
  };
}
