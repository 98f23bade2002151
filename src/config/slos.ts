// Checks of the slos list that span entries (unique names) or fields (a latency SLO needs a
// threshold), and what the core and the rule generator read from an SLO.
import type { ConfigIssue } from './errors.js';
import type { SloConfig } from './types.js';
// MAX_SLOS: the core answers name patterns in one 32-bit mask.
import { MAX_SLOS } from '../core/layout.js';

/** OTLP span kind numbers by the short names an SLO uses (in the order error messages list them). */
const SPAN_KINDS: Record<string, number> = { server: 2, client: 3, producer: 4, consumer: 5, internal: 1 };

/** Span kinds as an SLO names them: short or as the span-metrics label writes them. */
export const SPAN_KIND_WORDS: readonly string[] = Object.keys(SPAN_KINDS).flatMap((k) => [k, `span_kind_${k}`]);

/** The OTLP span kind an SLO selects, or -1 for any. */
export function sloSpanKind(slo: SloConfig): number {
  return slo.span_kind === '' ? -1 : SPAN_KINDS[slo.span_kind.replace(/^span_kind_/, '')]!;
}

/** The span-name pattern of an SLO, anchored at both ends as PromQL anchors =~, or undefined. */
export function sloNamePattern(slo: SloConfig): RegExp | undefined {
  return slo.span_name_regex === '' ? undefined : new RegExp(`^(?:${slo.span_name_regex})$`, 'u');
}

export function checkSlos(slos: readonly SloConfig[], issues: ConfigIssue[]): void {
  const report = (i: number, key: string, message: string) =>
    issues.push({ origin: '', path: `slos[${i}]${key ? `.${key}` : ''}`, message });
  if (slos.length > MAX_SLOS) issues.push({ origin: '', path: 'slos', message: `at most ${MAX_SLOS} SLOs, got ${slos.length}` });
  const names = new Set<string>();
  slos.forEach((slo, i) => {
    if (slo.name === '') report(i, 'name', 'must not be empty');
    else if (names.has(slo.name)) report(i, 'name', `duplicate SLO name ${JSON.stringify(slo.name)}`);
    names.add(slo.name);
    if (slo.span_name !== '' && slo.span_name_regex !== '') {
      report(i, 'span_name_regex', 'give span_name (exact) or span_name_regex, not both');
    }
    try {
      sloNamePattern(slo);
    } catch (e) {
      report(i, 'span_name_regex', `invalid regular expression: ${(e as Error).message}`);
    }
    if (slo.kind === 'latency' && !(slo.threshold > 0)) report(i, 'threshold', 'a latency SLO needs a threshold, like 300ms');
    if (slo.kind === 'availability' && slo.threshold > 0) report(i, 'threshold', 'only a latency SLO has a threshold');
    if (slo.kind === 'latency' && slo.http_5xx_as_error) report(i, 'http_5xx_as_error', 'only an availability SLO counts HTTP 5xx');
  });
}
