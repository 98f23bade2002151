// filter_policies in the core, case by case against Tempo's own tests of the policy rules
// (grafana/tempo pkg/spanfilter/spanfilter_test.go: Test_splitPolicy_Match and
// TestSpanMetrics_applyFilterPolicy, same policies, spans and expected keep/drop), plus the value
// types Tempo's policymatch/attribute.go compares (int, float, bool, and Go's zero value for an
// attribute of another type) and the regex cache (asked once per distinct string).
import { describe, expect, it, vi } from 'vitest';
import { Core } from '../../src/core/index.js';
import type { FilterPolicy } from '../../src/config/filters.js';
import * as L from '../../src/core/layout.js';
import { anyInt, anyString, fDouble, fLen, fVarint, keyValue, request, spanMetricsConfig, type Bytes } from '../core/helpers.js';

const KIND = { SPAN_KIND_INTERNAL: 1, SPAN_KIND_SERVER: 2, SPAN_KIND_CLIENT: 3 } as const;

interface SpanSpec {
  kind?: number;
  status?: number;
  name?: string;
  attrs?: Bytes[];
  resource?: Bytes[];
}

function spanBytes(s: SpanSpec): Bytes {
  return [
    ...fLen(5, s.name ?? 'op'),
    ...(s.kind ? fVarint(6, s.kind) : []),
    ...(s.attrs ?? []).flatMap((kv) => fLen(9, kv)),
    ...(s.status ? fLen(15, fVarint(3, s.status)) : []),
  ];
}

const str = (k: string, v: string) => keyValue(k, anyString(v));

/** Calls counted and spans filtered after ingesting `spans` (one resource) with `policies`. */
async function run(policies: FilterPolicy[], spans: SpanSpec[], resource?: Bytes[]): Promise<{ calls: number; filtered: number; core: Core }> {
  const core = await Core.create({ spanMetrics: { ...spanMetricsConfig([1], []), filter_policies: policies } });
  const r = core.ingest(request(spans.map(spanBytes), resource ?? spans[0]?.resource));
  expect(r.ok).toBe(true);
  const t = core.table('spanMetrics')!;
  let calls = 0;
  for (let i = 0; i < t.used; i++) if (t.live(i)) calls += t.value(i, L.SM_V_CALLS);
  return { calls, filtered: core.spansFiltered('span-metrics'), core };
}

const strict = (attributes: [string, string | number | boolean][]) => ({ match_type: 'strict' as const, attributes: attributes.map(([key, value]) => ({ key, value })) });
const regex = (attributes: [string, string][]) => ({ match_type: 'regex' as const, attributes: attributes.map(([key, value]) => ({ key, value })) });

const EARTH_RESOURCE = [str('name', 'test'), str('location', 'earth'), str('othervalue', 'somethinginteresting')];

// [Tempo's case name, policies, span, resource, kept]
const CASES: [string, FilterPolicy[], SpanSpec, Bytes[], boolean][] = [
  ['no policies matches', [], {}, [], true],
  ['most basic span kind matching (span.kind is a span attribute)', [{ include: strict([['span.kind', 'SPAN_KIND_CLIENT']]) }],
    { attrs: [str('kind', 'SPAN_KIND_CLIENT')] }, [], true],
  ['most basic intrinsic kind matching', [{ include: strict([['kind', 'SPAN_KIND_CLIENT']]) }], { kind: KIND.SPAN_KIND_CLIENT }, [], true],
  ['simple matching', [{ include: strict([['kind', 'SPAN_KIND_CLIENT'], ['span.status.code', 'STATUS_CODE_OK'], ['resource.location', 'earth'],
    ['resource.name', 'test'], ['resource.othervalue', 'somethinginteresting']]) }],
  { kind: KIND.SPAN_KIND_CLIENT, attrs: [str('status.code', 'STATUS_CODE_OK')] }, EARTH_RESOURCE, true],
  ['kind and status intrinsics', [{ include: strict([['kind', 'SPAN_KIND_CLIENT'], ['status', 'STATUS_CODE_OK']]) }],
    { kind: KIND.SPAN_KIND_CLIENT, status: 1 }, [], true],
  ['resource matching', [{ include: strict([['resource.location', 'earth'], ['resource.othervalue', 'somethinginteresting']]) }], {}, EARTH_RESOURCE, true],
  ['a matching policy', [{ include: strict([['kind', 'SPAN_KIND_SERVER'], ['resource.location', 'earth']]) }],
    { kind: KIND.SPAN_KIND_SERVER }, EARTH_RESOURCE, true],
  ['a non-matching include policy', [{ include: strict([['kind', 'SPAN_KIND_CLIENT'], ['resource.location', 'earth']]) }],
    { kind: KIND.SPAN_KIND_SERVER }, EARTH_RESOURCE, false],
  ['a matching include with rejecting exclude policy', [{
    include: strict([['kind', 'SPAN_KIND_SERVER'], ['resource.location', 'earth']]),
    exclude: regex([['resource.othervalue', 'something.*']]),
  }], { kind: KIND.SPAN_KIND_SERVER }, EARTH_RESOURCE, false],
  ['a matching includeAny policy for internal span kind for allowed service', [{
    include: strict([['kind', 'SPAN_KIND_SERVER']]),
    include_any: strict([['kind', 'SPAN_KIND_INTERNAL'], ['resource.service.name', 'auth-service']]),
  }], { kind: KIND.SPAN_KIND_INTERNAL }, [str('service.name', 'auth-service')], true],
  ['a matching span across multiple includeAny policies', [
    { include_any: strict([['kind', 'SPAN_KIND_INTERNAL'], ['resource.service.name', 'auth-service']]) },
    { include_any: strict([['kind', 'SPAN_KIND_INTERNAL'], ['resource.service.name', 'payments-service']]) },
  ], { kind: KIND.SPAN_KIND_INTERNAL }, [str('service.name', 'payments-service')], true],
  ['a non matching includeAny policy with no other include policy', [
    { include_any: strict([['kind', 'SPAN_KIND_INTERNAL'], ['resource.service.name', 'auth-service']]) },
  ], { kind: KIND.SPAN_KIND_INTERNAL }, [str('service.name', 'distributor')], false],
  ['a non matching includeAny policy rejects internal span for non-allowed service', [{
    include: strict([['kind', 'SPAN_KIND_SERVER']]),
    include_any: strict([['kind', 'SPAN_KIND_INTERNAL'], ['resource.service.name', 'auth-service']]),
  }], { kind: KIND.SPAN_KIND_INTERNAL }, [str('service.name', 'noisy-service')], false],
  ['a matching includeAny is excluded by a Exclude policy', [{
    include_any: strict([['kind', 'SPAN_KIND_INTERNAL'], ['resource.service.name', 'auth-service']]),
    exclude: strict([['resource.env', 'dev']]),
  }], { kind: KIND.SPAN_KIND_INTERNAL }, [str('service.name', 'auth-service'), str('env', 'dev')], false],
  ['a matching includeAny policy with regex match type', [{
    include_any: regex([['kind', 'SPAN_KIND_.*'], ['resource.service.name', 'auth-.*']]),
  }], { kind: KIND.SPAN_KIND_INTERNAL }, [str('service.name', 'auth-service')], true],
  ['include exclude and includeAny policy where includeAny matches', [{
    include: strict([['kind', 'SPAN_KIND_SERVER']]),
    include_any: strict([['kind', 'SPAN_KIND_INTERNAL'], ['resource.service.name', 'auth-service']]),
    exclude: strict([['resource.env', 'dev']]),
  }], { kind: KIND.SPAN_KIND_INTERNAL }, [str('service.name', 'auth-service'), str('env', 'prod')], true],
  ['allows server spans even if IncludeAny is present', [{
    include: strict([['kind', 'SPAN_KIND_SERVER']]),
    include_any: strict([['kind', 'SPAN_KIND_INTERNAL'], ['resource.service.name', 'auth-service']]),
  }], { kind: KIND.SPAN_KIND_SERVER }, [str('service.name', 'any-service')], true],
];

describe("filter_policies: Tempo's spanfilter cases", () => {
  for (const [name, policies, span, resource, kept] of CASES) {
    it(`${name}: ${kept ? 'kept' : 'left out'}`, async () => {
      const { calls, filtered } = await run(policies, [span], resource);
      expect([calls, filtered]).toEqual(kept ? [1, 0] : [0, 1]);
    });
  }
});

describe('filter_policies: values as Tempo compares them (policymatch/attribute.go)', () => {
  const spans: SpanSpec[] = [
    { name: 'int200', attrs: [keyValue('http.status_code', anyInt(200n))] },
    { name: 'int500', attrs: [keyValue('http.status_code', anyInt(500n))] },
    { name: 'string200', attrs: [str('http.status_code', '200')] },
    { name: 'double', attrs: [keyValue('ratio', fDouble(4, 0.5))] },
    { name: 'booltrue', attrs: [keyValue('sampled', fVarint(2, 1))] },
    { name: 'boolfalse', attrs: [keyValue('sampled', fVarint(2, 0))] },
    { name: 'none' },
  ];
  const keptNames = async (policies: FilterPolicy[]) => {
    const { core } = await run(policies, spans, []);
    const t = core.table('spanMetrics')!;
    const names: string[] = [];
    for (let i = 0; i < t.used; i++) if (t.live(i)) names.push(core.label(t.key(i, L.SM_KEY_SPAN_NAME)));
    return names.sort();
  };

  it('an int value matches only an int attribute of that value (a string "200" is not 200)', async () => {
    expect(await keptNames([{ include: strict([['span.http.status_code', 200]]) }])).toEqual(['int200']);
  });
  it('a float value matches a double attribute', async () => {
    expect(await keptNames([{ include: strict([['span.ratio', 0.5]]) }])).toEqual(['double']);
  });
  it('a bool value matches a bool attribute; an absent attribute never matches, even false', async () => {
    expect(await keptNames([{ include: strict([['span.sampled', true]]) }])).toEqual(['booltrue']);
    expect(await keptNames([{ include: strict([['span.sampled', false]]) }])).toEqual(['boolfalse']);
  });
  it("an attribute of another type reads as Go's zero value: int 0 matches a present string attribute", async () => {
    // GetIntValue() of a string AnyValue is 0 (attribute.go compares pa.int64Value == attr.Value.GetIntValue())
    expect(await keptNames([{ include: strict([['span.http.status_code', 0]]) }])).toEqual(['string200']);
  });
  it('a regex is unanchored (Go MatchString) and reads the string value only', async () => {
    expect(await keptNames([{ exclude: regex([['span.http.status_code', '0']]) }])).toEqual(
      ['boolfalse', 'booltrue', 'double', 'int200', 'int500', 'none'],
    );
    expect(await keptNames([{ include: regex([['name', '^int']]) }])).toEqual(['int200', 'int500']);
  });
  it('an include policy without attributes keeps every span, an exclude one leaves out every span', async () => {
    expect((await keptNames([{ include: { match_type: 'strict', attributes: [] } }])).length).toBe(7);
    expect(await keptNames([{ exclude: { match_type: 'strict', attributes: [] } }])).toEqual([]);
  });
  it('kind regexes select by the enum names (SPAN_KIND_(SERVER|CONSUMER|CLIENT|PRODUCER), the service-graph default)', async () => {
    const { calls, filtered } = await run([{ include: regex([['kind', 'SPAN_KIND_(SERVER|CONSUMER|CLIENT|PRODUCER)']]) }],
      [{ kind: 1 }, { kind: 2 }, { kind: 3 }, {}], []);
    expect([calls, filtered]).toEqual([2, 2]);
  });
});

describe('filter_policies: a regular expression is evaluated once per distinct string', () => {
  it('1,000 spans with 3 distinct values ask the host 3 times, and again only for a new value', async () => {
    const policies: FilterPolicy[] = [{ include: regex([['span.route', '^/api/']]) }];
    const core = await Core.create({ spanMetrics: { ...spanMetricsConfig([1], []), filter_policies: policies } });
    const routes = ['/api/a', '/api/b', '/health'];
    const spans = Array.from({ length: 1000 }, (_, i) => spanBytes({ attrs: [str('route', routes[i % 3]!)] }));
    // One pattern: each question the core asks the host (env.filter_match) is one RegExp test.
    const test = vi.spyOn(RegExp.prototype, 'test');
    try {
      core.ingest(request(spans));
      expect(test).toHaveBeenCalledTimes(3);
      core.ingest(request(spans));
      expect(test).toHaveBeenCalledTimes(3);
      core.ingest(request([spanBytes({ attrs: [str('route', '/api/c')] })]));
      expect(test).toHaveBeenCalledTimes(4);
    } finally {
      test.mockRestore();
    }
    // by hand: span i is /health when i % 3 == 2: 333 of 1000, twice
    expect(core.spansFiltered('span-metrics')).toBe(333 * 2);
  });
});

describe('filter_policies: a resource is judged once per request, afresh in the next', () => {
  it('two requests of the same shape, resource env "prod" then "test" at the same offsets: kept, then left out', async () => {
    const policies: FilterPolicy[] = [{ exclude: strict([['resource.env', 'test']]) }];
    const core = await Core.create({ spanMetrics: { ...spanMetricsConfig([1], []), filter_policies: policies } });
    const twoSpans = [spanBytes({ name: 'a' }), spanBytes({ name: 'b' })];
    expect(core.ingest(request(twoSpans, [str('service.name', 'svc'), str('env', 'prod')])).ok).toBe(true);
    expect(core.spansFiltered('span-metrics')).toBe(0);
    // the core reuses its input buffer: the resource's AnyValue sits at the same address
    expect(core.ingest(request(twoSpans, [str('service.name', 'svc'), str('env', 'test')])).ok).toBe(true);
    expect(core.spansFiltered('span-metrics')).toBe(2);
  });
});
