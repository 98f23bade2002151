// filter_policies and enable_tracestate_span_multiplier as config keys: Tempo's YAML as written
// in its docs loads as is, from the file and from an env var; what Tempo's ValidateFilterPolicy
// and policymatch constructors refuse (grafana/tempo pkg/spanfilter/config/config.go,
// policymatch/intrinsic.go, policymatch/attribute.go) is refused with the key path.
import { describe, expect, it } from 'vitest';
import { errorOf, fileError, load } from '../config/helpers.js';

// A Tempo processor block as a Tempo user writes it (keys, match types and value kinds as in
// Tempo's pkg/spanfilter tests and config.go)
const TEMPO_YAML = `processor:
  span_metrics:
    enable_tracestate_span_multiplier: true
    filter_policies:
      - include:
          match_type: strict
          attributes:
            - key: kind
              value: SPAN_KIND_SERVER
            - key: resource.service.name
              value: checkout
            - key: span.http.response.status_code
              value: 200
            - key: span.cache.hit
              value: true
        exclude:
          match_type: regex
          attributes:
            - key: name
              value: "^GET /health"
      - include_any:
          match_type: regex
          attributes:
            - key: status
              value: STATUS_CODE_(ERROR|OK)
  service_graphs:
    filter_policies:
      - exclude:
          match_type: strict
          attributes:
            - key: resource.deployment.environment
              value: test
`;

describe('filter_policies in the config', () => {
  it("loads Tempo's YAML: include, exclude and include_any; strict string, int and bool values; regex", () => {
    const { config } = load(['--config', 'c.yaml'], {}, { 'c.yaml': TEMPO_YAML });
    const sm = config.processor.span_metrics;
    expect(sm.enable_tracestate_span_multiplier).toBe(true);
    expect(sm.filter_policies).toEqual([
      {
        include: { match_type: 'strict', attributes: [
          { key: 'kind', value: 'SPAN_KIND_SERVER' }, { key: 'resource.service.name', value: 'checkout' },
          { key: 'span.http.response.status_code', value: 200 }, { key: 'span.cache.hit', value: true },
        ] },
        exclude: { match_type: 'regex', attributes: [{ key: 'name', value: '^GET /health' }] },
      },
      { include_any: { match_type: 'regex', attributes: [{ key: 'status', value: 'STATUS_CODE_(ERROR|OK)' }] } },
    ]);
    expect(config.processor.service_graphs.filter_policies).toHaveLength(1);
    expect(config.processor.service_graphs.enable_tracestate_span_multiplier).toBe(false);
  });

  it('takes the list as YAML from an env var', () => {
    const { config } = load([], {
      SPANMETER_PROCESSOR_SERVICE_GRAPHS_FILTER_POLICIES: '[{exclude: {match_type: strict, attributes: [{key: kind, value: SPAN_KIND_CLIENT}]}}]',
      SPANMETER_PROCESSOR_SERVICE_GRAPHS_ENABLE_TRACESTATE_SPAN_MULTIPLIER: 'true',
    });
    expect(config.processor.service_graphs.filter_policies).toEqual([
      { exclude: { match_type: 'strict', attributes: [{ key: 'kind', value: 'SPAN_KIND_CLIENT' }] } },
    ]);
    expect(config.processor.service_graphs.enable_tracestate_span_multiplier).toBe(true);
  });

  const policy = (body: string) => `processor:\n  span_metrics:\n    filter_policies:\n${body}`;
  it.each([
    ['a policy with none of include, include_any, exclude (Tempo: "policies must have at least an `include`, `includeAny` or `exclude`")',
      policy('      - {}\n'), 'processor.span_metrics.filter_policies[0]: a filter policy needs at least an include, include_any or exclude'],
    ['a match type other than strict and regex (Tempo: "invalid match type")',
      policy('      - include: {match_type: exact, attributes: []}\n'), 'processor.span_metrics.filter_policies[0].include.match_type: expected strict or regex, got string "exact"'],
    ['an intrinsic Tempo does not filter on (Tempo: "unsupported intrinsic")',
      policy('      - include: {match_type: strict, attributes: [{key: duration, value: "1s"}]}\n'), 'filter_policies[0].include.attributes[0].key: unsupported attribute "duration"'],
    ['a kind that is not a SpanKind name (Tempo: "unsupported kind intrinsic string value")',
      policy('      - include: {match_type: strict, attributes: [{key: kind, value: SERVER}]}\n'), 'expected one of SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER'],
    ['a status that is not a StatusCode name (Tempo: "unsupported status intrinsic string value")',
      policy('      - include: {match_type: strict, attributes: [{key: status, value: ERROR}]}\n'), 'expected one of STATUS_CODE_UNSET, STATUS_CODE_OK, STATUS_CODE_ERROR'],
    ['a regex value that is not a string (Tempo: "invalid attribute filter regexp value")',
      policy('      - include: {match_type: regex, attributes: [{key: span.x, value: 5}]}\n'), 'a regex value must be a string, got number 5'],
    ['a regex that does not compile (Tempo: "invalid attribute filter regexp")',
      policy('      - include: {match_type: regex, attributes: [{key: span.x, value: "a("}]}\n'), 'filter_policies[0].include.attributes[0].value: invalid regular expression'],
    ['an unknown key in a policy', policy('      - includes: {match_type: strict}\n'), 'filter_policies[0].includes: unknown key'],
  ])('refuses %s', (_name, yaml, message) => {
    expect(fileError(yaml)).toContain(message);
  });

  it('a non-boolean tracestate switch is refused with its env var', () => {
    expect(errorOf([], { SPANMETER_PROCESSOR_SPAN_METRICS_ENABLE_TRACESTATE_SPAN_MULTIPLIER: 'maybe' })).toContain('processor.span_metrics.enable_tracestate_span_multiplier');
  });
});
