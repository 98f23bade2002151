// The core's protobuf walk and span-metrics aggregation held to protobufjs, the reference decoder.
//
// Part 1: random valid requests (seeded) are ingested into a fresh core, and the series it holds
// (read through its table view and through the text exposition) must equal the series computed
// here from referenceDecode() output: group by service / span name / kind / status / dimensions
// (resource attribute before span attribute, values via formatAttributeValue), count calls, sum
// durations in seconds from exact nanoseconds (negative → 0), le-inclusive buckets, size = the
// span's encoded length.
//
// Part 2: mutated encodings (truncated, overwritten, flipped, inserted, deleted, duplicated bytes).
// For each input:
//   - protobufjs cannot decode it                → the core rejects it;
//   - protobufjs decodes it, the core rejects it → only for a documented extra rule (a known field
//     with the wrong wire type, a span id of the wrong length, nesting 64 deep), checked here
//     independently (findRuleViolation) and with the exact reason text and byte offset;
//   - both accept                                → the series equal the reference exactly;
//   - the core rejects                           → its state (table, and sampled: the exposition)
//     is exactly what it was before;
//   - never a trap (an exception out of ingest).
// Invalid UTF-8 is not a reason to reject (design): where protobufjs's proto3 UTF-8 check fails,
// the reference is protobufjs with that check off (strings decoded by TextDecoder, U+FFFD for
// invalid bytes), and those inputs are reported in their own category.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/core/index.js';
import type { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import { referenceDecode } from '../support/reference.js';
import {
  type Bytes, type SeriesMap, type TestConfig, addExpected, anyInt, anyString, cloneSeries,
  diffSeries, encode, explainMismatch, fDouble, fFixed64, fLen, fVarint, hex, keyValue, makeCore,
  readCore, request, sameRaw, spanMetricsConfig, tag, u64, varint,
} from './helpers.js';
import { parseExposition } from './exposition.js';
import { decodeReference, failureOf, findRuleViolation } from './rules.js';
import { FULL, SMALL, encodeRandomly, mutate, randomRequest } from './generate.js';
import { testPrng } from '../support/prng.js';

const DEFAULT_BUCKETS = [0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384];

const CONFIGS: TestConfig[] = [
  {
    spanMetrics: spanMetricsConfig(DEFAULT_BUCKETS, ['http.method', 'peer.service', 'service.name']),
    dimensionLabels: ['http_method', 'peer_service', 'service_name'],
  },
  {
    spanMetrics: spanMetricsConfig([0, 0.001, 0.5, 1, 30], ['db.system'], { span_kind: false, status_message: true }),
    dimensionLabels: ['db_system'],
  },
  {
    // With the events metric on, the walker stages events instead of only checking them: what it
    // accepts must not change.
    spanMetrics: { ...spanMetricsConfig([0.1], ['attr', 'http.method'], { service: false, span_name: false }), events: { enabled: true, dimensions: ['attr'] } },
    dimensionLabels: ['attr', 'http_method'],
  },
];

const VALID_REQUESTS = 300;
const MUTATION_BASES = 260;
const MUTATIONS_PER_BASE = 80;
/** Rejections per batch whose exposition text is compared before/after (the table is compared for all). */
const EXPOSITION_CHECKS_PER_BATCH = 4;
const EXAMPLES = 3;

interface Example {
  [k: string]: unknown;
}

/** Differences between the expected series and the core's table and exposition; the first line names the kind of mismatch. */
function seriesProblems(expected: SeriesMap, core: Core, exposition: SpanMetricsExposition, cfg: TestConfig, spans: number, refSpans: number): string[] {
  const problems: string[] = [];
  if (spans !== refSpans) problems.push(`core counted ${spans} spans, reference decoded ${refSpans}`);
  const state = readCore(core, cfg);
  for (const d of state.duplicates) problems.push(`two table slots render as the same series ${d}`);
  problems.push(...diffSeries(expected, state.series, 3).map((d) => `table: ${d}`));
  const parsed = parseExposition(exposition.render(), cfg.spanMetrics.histogram_buckets);
  problems.push(...parsed.problems.slice(0, 3).map((p) => `exposition: ${p}`));
  problems.push(...diffSeries(expected, parsed.series, 3).map((d) => `exposition: ${d}`));
  if (problems.length) problems.unshift(`explained by: ${explainMismatch(expected, state.entries)}`);
  return problems;
}

/** Counts of failure explanations, for the report. */
function tally(examples: Example[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of examples) {
    const p = (e.problems as string[] | undefined)?.[0] ?? '';
    const k = p.startsWith('explained by: ') ? p.slice(14) : String(e.problem ?? 'other');
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

describe('core vs the protobufjs reference: random valid requests', () => {
  it(`${VALID_REQUESTS} random requests, each into a fresh core, plus one long-lived core per config`, async () => {
    const rng = testPrng(0x5eed0001);
    const problems: Example[] = [];
    const longLived = await Promise.all(CONFIGS.map((c) => makeCore(c.spanMetrics)));
    const longExpected: SeriesMap[] = CONFIGS.map(() => new Map());
    let spans = 0;
    for (let i = 0; i < VALID_REQUESTS; i++) {
      const k = i % CONFIGS.length;
      const cfg = CONFIGS[k]!;
      const bytes = encodeRandomly(rng, randomRequest(rng, FULL));
      const ref = decodeReference(bytes);
      if (!ref.ok) {
        problems.push({ i, problem: `reference rejects a generated request: ${ref.error}`, input: hex(bytes) });
        continue;
      }
      spans += ref.spans.length;
      const expected: SeriesMap = new Map();
      addExpected(expected, ref.spans, cfg);
      const { core, exposition } = await makeCore(cfg.spanMetrics, i % 4 === 0 ? 'debug' : 'release');
      try {
        const r = core.ingest(bytes);
        if (!r.ok) problems.push({ i, problem: `core rejects a valid request: ${r.reason}`, input: hex(bytes) });
        else {
          const p = seriesProblems(expected, core, exposition, cfg, r.spans, ref.spans.length);
          if (p.length) problems.push({ i, problems: p, input: hex(bytes, 300) });
        }
        const lr = longLived[k]!.core.ingest(bytes);
        if (lr.ok) addExpected(longExpected[k]!, ref.spans, cfg);
      } catch (e) {
        problems.push({ i, problem: `trap: ${(e as Error).message}`, input: hex(bytes) });
      }
    }
    for (let k = 0; k < CONFIGS.length; k++) {
      const { core, exposition } = longLived[k]!;
      const p = seriesProblems(longExpected[k]!, core, exposition, CONFIGS[k]!, 0, 0);
      if (p.length) problems.push({ longLivedConfig: k, problems: p.slice(0, 6) });
    }
    expect(spans).toBeGreaterThan(1000);
    expect({ failing: problems.length, kinds: tally(problems), examples: problems.slice(0, EXAMPLES) }).toEqual({ failing: 0, kinds: {}, examples: [] });
  });

  it('a 3,000-span request over 64 KiB grows every table and memory, then small requests still aggregate', async () => {
    const rng = testPrng(0x5eed0002);
    const cfg = CONFIGS[0]!;
    const { core, exposition } = await makeCore(cfg.spanMetrics);
    const spans = Array.from({ length: 3000 }, (_, i) => ({
      name: `operation-${i}-${'é'.repeat(i % 7)}`,
      kind: i % 6,
      startTimeUnixNano: u64(1_700_000_000_000_000_000n + BigInt(i)),
      endTimeUnixNano: u64(1_700_000_000_000_000_000n + BigInt(i) * 1_000_003n),
      attributes: [{ key: 'http.method', value: { stringValue: `m${i % 97}` } }, { key: 'peer.service', value: { intValue: i } }],
    }));
    const big = encode({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'big' } }] }, scopeSpans: [{ spans }] }] });
    expect(big.length).toBeGreaterThan(65536);
    const expected: SeriesMap = new Map();
    const inputs = [big, ...Array.from({ length: 20 }, () => encode(randomRequest(rng, SMALL)))];
    for (const bytes of inputs) {
      const ref = decodeReference(bytes);
      expect(ref.ok).toBe(true);
      if (!ref.ok) return;
      expect(core.ingest(bytes)).toEqual({ ok: true, spans: ref.spans.length });
      addExpected(expected, ref.spans, cfg);
    }
    expect(seriesProblems(expected, core, exposition, cfg, 0, 0)).toEqual([]);
  });
});

describe('core vs the protobufjs reference: mutated requests', () => {
  const stats = {
    inputs: 0, bothAccept: 0, bothReject: 0, acceptedWithInvalidUtf8: 0, coreOnlyRejections: 0,
    exposureChecks: 0, rules: {} as Record<string, number>, coreReasons: {} as Record<string, number>,
  };
  const found = {
    traps: [] as Example[],
    referenceRejectsCoreAccepts: [] as Example[],
    undocumentedRejections: [] as Example[],
    wrongReason: [] as Example[],
    ruleNotEnforced: [] as Example[],
    stateChangedByRejection: [] as Example[],
    mismatchValidUtf8: [] as Example[],
    mismatchInvalidUtf8: [] as Example[],
    expositionMismatch: [] as Example[],
    baseRejected: [] as Example[],
  };

  beforeAll(async () => {
    const rng = testPrng(0x5eed0003);
    for (let b = 0; b < MUTATION_BASES; b++) {
      const cfg = CONFIGS[b % CONFIGS.length]!;
      const base = encodeRandomly(rng, randomRequest(rng, SMALL));
      const baseRef = decodeReference(base);
      let core!: Core;
      let exposition!: SpanMetricsExposition;
      let expected: SeriesMap = new Map();
      let labelCache: string[] = [];
      let before: number[] = [];
      let renderedBefore: string | undefined;
      let expositionChecks = 0;
      const restart = async () => {
        ({ core, exposition } = await makeCore(cfg.spanMetrics));
        expected = new Map();
        labelCache = [];
        const r = core.ingest(base);
        if (!r.ok || !baseRef.ok) found.baseRejected.push({ b, reason: r.ok ? '' : r.reason, input: hex(base) });
        else addExpected(expected, baseRef.spans, cfg);
        before = readCore(core, cfg, labelCache).raw;
        renderedBefore = undefined;
      };
      await restart();

      for (let m = 0; m < MUTATIONS_PER_BASE; m++) {
        const input = mutate(rng, base);
        stats.inputs++;
        const ref = decodeReference(input);
        const violation = ref.ok ? findRuleViolation(input) : null;
        const id = { b, m, input: hex(input, 300) };
        if (renderedBefore === undefined && expositionChecks < EXPOSITION_CHECKS_PER_BATCH) renderedBefore = exposition.render();

        let r: ReturnType<Core['ingest']>;
        try {
          r = core.ingest(input);
        } catch (e) {
          found.traps.push({ ...id, error: (e as Error).message });
          await restart();
          continue;
        }

        if (!r.ok) {
          const failure = failureOf(r.reason) ?? 'unknown';
          stats.coreReasons[failure] = (stats.coreReasons[failure] ?? 0) + 1;
          if (!ref.ok) stats.bothReject++;
          else {
            stats.coreOnlyRejections++;
            if (!violation) found.undocumentedRejections.push({ ...id, reason: r.reason });
            else {
              stats.rules[violation.rule] = (stats.rules[violation.rule] ?? 0) + 1;
              if (r.reason !== violation.reason) found.wrongReason.push({ ...id, expected: violation.reason, got: r.reason });
            }
          }
          const after = readCore(core, cfg, labelCache);
          if (!sameRaw(before, after.raw)) {
            found.stateChangedByRejection.push({ ...id, reason: r.reason, what: 'series table' });
            before = after.raw;
            expected = cloneSeries(after.series);
          }
          if (renderedBefore !== undefined && expositionChecks < EXPOSITION_CHECKS_PER_BATCH) {
            expositionChecks++;
            stats.exposureChecks++;
            if (exposition.render() !== renderedBefore) found.stateChangedByRejection.push({ ...id, reason: r.reason, what: 'exposition' });
          }
          continue;
        }

        renderedBefore = undefined;
        if (!ref.ok) {
          found.referenceRejectsCoreAccepts.push({ ...id, reference: ref.error });
        } else if (violation) {
          found.ruleNotEnforced.push({ ...id, expected: violation.reason });
        } else {
          stats.bothAccept++;
          if (!ref.utf8Valid) stats.acceptedWithInvalidUtf8++;
          addExpected(expected, ref.spans, cfg);
        }
        const state = readCore(core, cfg, labelCache);
        before = state.raw;
        if (!ref.ok || violation) {
          expected = cloneSeries(state.series); // no reference to hold it to: continue from what the core holds
          continue;
        }
        const problems = [
          ...(r.spans !== ref.spans.length ? [`core counted ${r.spans} spans, reference decoded ${ref.spans.length}`] : []),
          ...state.duplicates.map((d) => `two table slots render as the same series ${d}`),
          ...diffSeries(expected, state.series, 3),
        ];
        if (problems.length) {
          problems.unshift(`explained by: ${explainMismatch(expected, state.entries)}`);
          (ref.utf8Valid ? found.mismatchValidUtf8 : found.mismatchInvalidUtf8).push({ ...id, problems });
          if (state.duplicates.length) await restart();
          else expected = cloneSeries(state.series); // resynchronise so one discrepancy is reported once
        }
      }

      // The exposition at the end of the batch holds exactly what the table holds.
      const parsed = parseExposition(exposition.render(), cfg.spanMetrics.histogram_buckets);
      const diffs = [...parsed.problems, ...diffSeries(expected, parsed.series, 4)];
      if (diffs.length) found.expositionMismatch.push({ b, diffs });
    }
    console.log(`mutation fuzz: ${JSON.stringify(stats)}; findings: ${JSON.stringify(Object.fromEntries(Object.entries(found).map(([k, v]) => [k, v.length])))}`);
  }, 120_000);

  const report = (list: Example[]) => ({ count: list.length, kinds: tally(list), examples: list.slice(0, EXAMPLES) });
  const none = { count: 0, kinds: {}, examples: [] };

  it('runs at least 20,000 mutated inputs, with both outcomes well represented', () => {
    expect(stats.inputs).toBeGreaterThanOrEqual(20_000);
    expect(stats.bothAccept).toBeGreaterThan(2_000);
    expect(stats.bothReject).toBeGreaterThan(2_000);
    expect(report(found.baseRejected)).toEqual(none);
  });

  it('never traps', () => {
    expect(report(found.traps)).toEqual(none);
  });

  it('rejects every input protobufjs cannot decode', () => {
    expect(report(found.referenceRejectsCoreAccepts)).toEqual(none);
  });

  it('rejects what protobufjs decodes only for a documented extra rule', () => {
    expect(report(found.undocumentedRejections)).toEqual(none);
  });

  it('names the first extra-rule violation with the exact reason and byte offset', () => {
    expect(report(found.wrongReason)).toEqual(none);
  });

  it('enforces the extra rules whenever protobufjs would let them pass', () => {
    expect(report(found.ruleNotEnforced)).toEqual(none);
  });

  it('a rejected request leaves the series table and the exposition unchanged', () => {
    expect(report(found.stateChangedByRejection)).toEqual(none);
  });

  it('accepted inputs (valid UTF-8): series equal the reference exactly', () => {
    expect(report(found.mismatchValidUtf8)).toEqual(none);
  });

  it('accepted inputs with invalid UTF-8: series equal the reference (TextDecoder replacement)', () => {
    expect(report(found.mismatchInvalidUtf8)).toEqual(none);
  });

  it('the exposition holds exactly the series of the table after each batch', () => {
    expect(report(found.expositionMismatch)).toEqual(none);
  });
});

// Hand-made wire-level inputs, each held to the reference by the same rules as the fuzzing above.
describe('core vs the protobufjs reference: targeted wire-level cases', () => {
  const cfg: TestConfig = {
    spanMetrics: spanMetricsConfig([0.001, 1], ['v'], { status_message: true }),
    dimensionLabels: ['v'],
  };

  async function holdToReference(bytes: Uint8Array): Promise<string[]> {
    const ref = decodeReference(bytes);
    const { core, exposition } = await makeCore(cfg.spanMetrics, 'debug');
    let r: ReturnType<Core['ingest']>;
    try {
      r = core.ingest(bytes);
    } catch (e) {
      return [`trap: ${(e as Error).message}`];
    }
    if (!ref.ok) return r.ok ? [`protobufjs rejects it (${ref.error}) but the core accepts it`] : [];
    const violation = findRuleViolation(bytes);
    if (violation) {
      if (r.ok) return [`the core accepts it despite: ${violation.reason}`];
      return r.reason === violation.reason ? [] : [`reason "${r.reason}", expected "${violation.reason}"`];
    }
    if (!r.ok) return [`protobufjs decodes it but the core rejects it: ${r.reason}`];
    const expected: SeriesMap = new Map();
    addExpected(expected, ref.spans, cfg);
    return seriesProblems(expected, core, exposition, cfg, r.spans, ref.spans.length);
  }

  const T0 = 1_700_000_000_123_456_789n;
  /** Span body: name, times (1 ms), then `extra` fields. */
  const span = (name: Bytes | Uint8Array | string, extra: Bytes = []): Bytes => [...fLen(5, name), ...fFixed64(7, T0), ...fFixed64(8, T0 + 1_000_000n), ...extra];
  const attr = (key: string, anyValue: Bytes): Bytes => fLen(9, keyValue(key, anyValue));
  const arrayOf = (...values: Bytes[]): Bytes => fLen(5, values.flatMap((v) => fLen(1, v)));
  /** `n` arrays around a string AnyValue. */
  const nestedArrays = (n: number): Bytes => {
    let v = anyString('x');
    for (let i = 0; i < n; i++) v = arrayOf(v);
    return v;
  };
  /** `n` groups of unknown field 100 nested in each other, holding one varint. */
  const nestedGroups = (n: number): Bytes => {
    let g: Bytes = fVarint(101, 1);
    for (let i = 0; i < n; i++) g = [...tag(100, 3), ...g, ...tag(100, 4)];
    return g;
  };
  // Unknown fields of every wire type, a group holding a field and a nested group.
  const unknown: Bytes = [
    ...fVarint(100, 300), ...tag(101, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...fLen(102, 'zz'), ...tag(103, 5), 1, 2, 3, 4,
    ...tag(104, 3), ...fVarint(1, 7), ...tag(105, 3), ...tag(105, 4), ...tag(104, 4),
  ];
  const raw = (...parts: (Bytes | Uint8Array)[]): Uint8Array => new Uint8Array(parts.flatMap((p) => [...p]));

  const cases: [string, () => Uint8Array][] = [
    ['an empty request', () => new Uint8Array(0)],
    ['a ResourceSpans with nothing in it', () => raw(fLen(1, []))],
    ['unknown fields of every wire type, groups included, in every message', () => {
      const kv = [...keyValue('v', [...anyString('x'), ...unknown]), ...unknown];
      const list = [...fLen(6, [...fLen(1, kv), ...unknown]), ...unknown];
      const body = [
        ...span('s', [...fLen(9, kv), ...fLen(9, keyValue('w', [...arrayOf(anyString('a')).slice(0, 0), ...fLen(5, [...fLen(1, anyString('a')), ...unknown])]))]),
        ...fLen(9, keyValue('k', list)),
        ...fLen(11, [...fFixed64(1, 5n), ...fLen(2, 'event'), ...fLen(3, kv), ...unknown]),
        ...fLen(13, [...fLen(1, new Uint8Array(16)), ...fLen(2, new Uint8Array(8)), ...fLen(4, kv), ...unknown]),
        ...fLen(15, [...fLen(2, 'msg'), ...fVarint(3, 2), ...unknown]),
        ...unknown,
      ];
      const scope = fLen(1, [...fLen(1, 'lib'), ...fLen(3, kv), ...unknown]);
      const resource = fLen(1, [...fLen(1, keyValue('service.name', anyString('svc'))), ...fLen(1, kv), ...unknown]);
      return raw(unknown, fLen(1, [...unknown, ...resource, ...fLen(2, [...unknown, ...scope, ...fLen(2, body), ...unknown]), ...unknown]), unknown);
    }],
    ['ResourceSpans with its scope_spans before its resource', () => raw(fLen(1, [...fLen(2, fLen(2, span('s'))), ...fLen(1, fLen(1, keyValue('service.name', anyString('late'))))]))],
    ['a resource sent twice (protobuf merges them)', () => raw(fLen(1, [
      ...fLen(1, fLen(1, keyValue('service.name', anyString('first')))), ...fLen(2, fLen(2, span('s'))),
      ...fLen(1, [...fLen(1, keyValue('service.name', anyString('second'))), ...fLen(1, keyValue('v', anyString('from-second')))]),
    ]))],
    ['a status sent twice (merged: the code survives a status with only a message)', () => request([span('s', [...fLen(15, fVarint(3, 2)), ...fLen(15, fLen(2, 'late message'))])])],
    ['a span name sent twice (the last wins)', () => request([[...span('first'), ...fLen(5, 'second')]])],
    ['an attribute key repeated on a span (the first wins)', () => request([span('s', [...attr('v', anyString('one')), ...attr('v', anyString('two'))])])],
    ['the resource attribute wins over the span attribute', () => request([span('s', attr('v', anyString('span')))], [keyValue('service.name', anyString('svc')), keyValue('v', anyString('resource'))])],
    ['service.name that is not a string is formatted like any attribute', () => request([span('s')], [keyValue('service.name', anyInt(5n))])],
    ['service.name repeated on the resource (the first wins)', () => request([span('s')], [keyValue('service.name', anyString('a')), keyValue('service.name', anyString('b'))])],
    ['unknown kind 9 and status code 3', () => request([span('s', [...fVarint(6, 9), ...fLen(15, fVarint(3, 3))])])],
    ['span kind 65538, beyond 16 bits', () => request([span('s', fVarint(6, 65538))])],
    ['span kind -1 (a 10-byte varint)', () => request([span('s', fVarint(6, -1))])],
    ['status code -1', () => request([span('s', fLen(15, fVarint(3, -1)))])],
    ['a bool attribute whose varint has only bits above 63 set', () => request([span('s', attr('v', [...tag(2, 0), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]))])],
    ['array_value sent twice in one AnyValue (protobuf merges: [xy])', () => request([span('s', attr('v', [...arrayOf(anyString('x')), ...arrayOf(anyString('y'))]))])],
    ['a UTF-8 character split across two array elements', () => request([span('s', attr('v', arrayOf(anyString([0xc3]), anyString([0xa9]))))])],
    ['a lone surrogate as protobufjs writes it (ED A0 80)', () => request([span([0x61, 0xed, 0xa0, 0x80])])],
    ['a span name starting with a byte-order mark', () => request([span('\ufeffx'), span('x')])],
    ['a span name of 3000 stray continuation bytes', () => request([span(new Uint8Array(3000).fill(0x80))])],
    ['a double attribute: shortest round-trip digits', () => request([span('s', attr('v', fDouble(4, 251527280.93063354)))])],
    ['a tag padded to 6 bytes', () => request([[...span('s'), 0xa0, 0x86, 0x80, 0x80, 0x80, 0x00, 0x01]])],
    ['a length padded to 6 bytes', () => request([[0x2a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x6e]])],
    ['an unknown varint field 11 bytes long', () => request([[...span('s'), ...tag(100, 0), ...new Array(10).fill(0x80), 0x00]])],
    ['an attribute value nested 31 arrays deep (depth 63: accepted)', () => request([span('s', attr('v', nestedArrays(31)))])],
    ['an attribute value nested 32 arrays deep (depth 64: rejected)', () => request([span('s', attr('v', nestedArrays(32)))])],
    ['64 nested groups in an unknown field (accepted)', () => raw(nestedGroups(64), request([span('s')]))],
    ['65 nested groups in an unknown field (rejected)', () => raw(nestedGroups(65), request([span('s')]))],
    ['a trace_id of 15 bytes', () => request([span('s', fLen(1, new Uint8Array(15)))])],
    ['a parent_span_id of 9 bytes after a good span', () => request([span('good'), span('s', fLen(4, new Uint8Array(9)))])],
    ['a link trace_id of 3 bytes (links are not checked)', () => request([span('s', fLen(13, fLen(1, [1, 2, 3])))])],
    ['a known field with the wrong wire type inside a link', () => request([span('s', fLen(13, fVarint(3, 1)))])],
    ['an int attribute sent as a fixed64', () => request([span('s', attr('v', [...tag(3, 1), 1, 0, 0, 0, 0, 0, 0, 0]))])],
    ['a group for a known field', () => request([span('s', [...tag(9, 3), ...tag(9, 4)])])],
    ['varint-encoded lengths of the maximum 5 bytes', () => raw([0x0a, 0x86, 0x80, 0x80, 0x80, 0x00, 0x12, 0x04, 0x12, 0x02, 0x2a, 0x00])],
    ['int64 attribute values at the edges', () => request([
      span('a', attr('v', anyInt(-9223372036854775808n))), span('b', attr('v', anyInt(9223372036854775807n))),
      span('c', attr('v', anyInt(-1n))), span('d', attr('v', [...tag(3, 0), ...varint(18446744073709551615n)])),
    ])],
  ];

  it('invalid UTF-8: protobufjs (proto3 strings are verified) rejects it, the core accepts it by design', async () => {
    const bytes = request([span([0x61, 0xff])]);
    expect(() => referenceDecode(bytes)).toThrow(/utf-8/);
    const { core } = await makeCore(cfg.spanMetrics);
    expect(core.ingest(bytes)).toEqual({ ok: true, spans: 1 });
  });

  for (const [name, build] of cases) {
    it(name, async () => {
      const bytes = build();
      expect({ input: hex(bytes), problems: await holdToReference(bytes) }).toEqual({ input: hex(bytes), problems: [] });
    });
  }
});
