// The constants host and core share (assembly/layout.ts): the generated src/core/layout.ts is
// current, the generator keeps to what it can translate, and the built core uses the values
// docs/abi.md documents (expected values below are read off docs/abi.md, not off layout.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { render } from '../../src/core/generate-layout.mjs';
import * as L from '../../src/core/layout.js';
import { Core } from '../../src/core/index.js';
import { describeFailure } from '../../src/core/errors.js';
import { spanMetricsKeyWords } from '../../src/core/keywords.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { anyString, fFixed64, fLen, fVarint, keyValue, request } from './helpers.js';

describe('src/core/layout.ts', () => {
  it('holds the current assembly/layout.ts (else: node src/core/generate-layout.mjs)', () => {
    expect(readFileSync(new URL('../../src/core/layout.ts', import.meta.url), 'utf8')).toBe(render());
  });

  it('carries names, values and comments over, and turns E_/M_ comments into the reason and name tables', () => {
    const out = render([
      '// header, for the core only',
      '',
      '/** The base. */',
      'export const A: usize = 16;',
      'export const B_SIZE: i32 = (A + 8) << 1;',
      '/** it\'s broken */',
      'export const E_BROKEN: i32 = 3;',
      '/** Span.Event */',
      'export const M_EVENT: i32 = 12;',
    ].join('\n'));
    expect(out).not.toContain('header, for the core only');
    expect(out).toContain('/** The base. */\nexport const A = 16;\nexport const B_SIZE = 48;\n');
    expect(out).toContain("  [E_BROKEN]: 'it\\'s broken',");
    expect(out).toContain("  [M_EVENT]: 'Span.Event',");
  });

  it('refuses what it cannot translate', () => {
    expect(() => render('export const A: i32 = B + 1;')).toThrow('B is not declared above');
    expect(() => render('export const A: f64 = 1.5;')).toThrow('only constants and comments');
    expect(() => render('export function f(): void {}')).toThrow('only constants and comments');
    expect(() => render('export const A: i32 = 1;\nexport const A: i32 = 2;')).toThrow('A declared twice');
  });
});

describe('the shared constants, as docs/abi.md documents them', () => {
  it('has the ABI version, record header and exemplar and string-table entries of docs/abi.md', () => {
    expect(L.ABI_VERSION).toBe(10);
    // "Series tables": last update 0, state 4 (flags in its low 2 bits: 1 live, 2 overflow; generation above), key words 8.
    expect([L.RECORD_UPDATED, L.RECORD_STATE, L.RECORD_KEY]).toEqual([0, 4, 8]);
    expect([L.RECORD_LIVE, L.RECORD_OVERFLOW, L.RECORD_FLAG_MASK, L.RECORD_GENERATION_SHIFT]).toEqual([1, 2, 3, 2]);
    // "Span metrics": service 0, span name 1, kind 2, status code 3, dimensions from 4.
    expect([L.SM_KEY_SERVICE, L.SM_KEY_SPAN_NAME, L.SM_KEY_SPAN_KIND, L.SM_KEY_STATUS_CODE, L.SM_KEY_DIMENSIONS]).toEqual([0, 1, 2, 3, 4]);
    // "Exemplars": trace id 0, span id 16, value 24, time 32; client histogram +64.
    expect([L.EXEMPLAR_TRACE_ID, L.EXEMPLAR_SPAN_ID, L.EXEMPLAR_VALUE, L.EXEMPLAR_TIME]).toEqual([0, 16, 24, 32]);
    expect(L.EXEMPLAR_HISTOGRAM_STRIDE).toBe(64);
    // The worst-trace slot: the exemplar's first 32 bytes, time low 32 bits at 32, high 16 at 36, bucket + 1 at 38; 40 bytes.
    expect([L.WORST_TIME_LOW, L.WORST_TIME_HIGH, L.WORST_BUCKET, L.WORST_SIZE]).toEqual([32, 36, 38, 40]);
    // "The string table": 8-byte entries, address at 0, length (u16) at 4.
    expect([L.STRING_ENTRY_SIZE, L.STRING_PTR, L.STRING_LEN]).toEqual([8, 0, 4]);
    // "Native histograms": reduced 0, base 1, span 2, count 3, sum 4, zero 5, start 6, buckets from 7; schemas -4 … 8.
    expect([L.NH_V_REDUCED, L.NH_V_BASE, L.NH_V_SPAN, L.NH_V_COUNT, L.NH_V_SUM, L.NH_V_ZERO, L.NH_V_START, L.NH_V_BUCKETS])
      .toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([-L.NH_SCHEMA_MIN_NEGATED, L.NH_SCHEMA_MAX]).toEqual([-4, 8]);
    // "Self time": count 0, sum 1, unknown 2, late 3, buckets from 4.
    expect([L.ST_V_COUNT, L.ST_V_SUM, L.ST_V_UNKNOWN, L.ST_V_LATE, L.ST_V_BUCKETS]).toEqual([0, 1, 2, 3, 4]);
    // preview_entries: 512 entries of 1280 bytes, the key's 48 bytes at 16.
    expect([L.PREVIEW_ENTRIES, L.PREVIEW_ENTRY_SIZE, L.PV_KEY, L.PV_KEY_BYTES]).toEqual([512, 1280, 16, 48]);
    // Whole 64-byte cache lines (x86-64's): a lookup's fields (service to the key's end) in an
    // entry's first line, and the sketch's 1,024 registers (after its 16-byte header, hll.ts) on
    // lines of their own.
    expect(L.PREVIEW_ENTRY_SIZE % 64).toBe(0);
    expect(L.PV_KEY + L.PV_KEY_BYTES).toBeLessThanOrEqual(64);
    expect([(L.PV_SKETCH + 16) % 64, L.PREVIEW_ENTRY_SIZE - L.PV_SKETCH - 16]).toEqual([0, 1024]);
  });

  it('names every ingest error code and message id docs/abi.md lists', () => {
    const doc = readFileSync(new URL('../../docs/abi.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Ingest errors'), doc.indexOf('## Reading the results'));
    // The table's rows: | code | `E_NAME` | text |
    const codes = [...section.matchAll(/^\| (\d+) \| `(E_\w+)` \|/gm)].map((m) => [m[2]!, Number(m[1])] as const);
    expect(codes.length).toBeGreaterThanOrEqual(11);
    const layout = L as unknown as Record<string, number>;
    for (const [name, code] of codes) {
      expect(layout[name], name).toBe(code);
      expect(L.FAILURE_REASONS[code], name).toBeTypeOf('string');
    }
    expect(Object.keys(L.FAILURE_REASONS).map(Number)).toEqual(codes.map(([, code]) => code));
    // The texts of the sidecar's reasons (test/core/rules.ts FAILURE_TEXT, as before the move).
    expect(L.FAILURE_REASONS[1]).toBe('truncated data');
    expect(L.FAILURE_REASONS[6]).toBe('nesting deeper than 64 levels');
    // "Message ids (`fail_message` …): 1 ExportTraceServiceRequest, 2 ResourceSpans, …"
    const ids = section.slice(section.indexOf('Message ids'), section.indexOf('field numbers are'));
    const messages = [...ids.replace(/\s+/g, ' ').matchAll(/(\d+) ([A-Z][\w.]+)/g)].map((m) => [Number(m[1]), m[2]] as const);
    expect(messages.length).toBe(13);
    expect(Object.entries(L.MESSAGE_NAMES).map(([id, name]) => [Number(id), name])).toEqual(messages);
  });
});

describe('the built core agrees with the shared constants', () => {
  const span = (name: string, kind: number): number[] => [
    ...fLen(1, new Uint8Array(16).fill(1)), ...fLen(2, new Uint8Array(8).fill(2)), ...fLen(5, name), ...fVarint(6, kind),
    ...fFixed64(7, 1_000_000_000n), ...fFixed64(8, 1_500_000_000n),
    ...fLen(9, keyValue('http.route', anyString('/cart'))),
  ];

  it('sizes and fills records as layout.ts says: key words, values, flags', async () => {
    const config = defaultConfig();
    const sm = { ...config.processor.span_metrics, dimensions: ['http.route'], histogram_buckets: [1, 2] };
    const core = await Core.create({ spanMetrics: sm, serviceGraphs: { ...config.processor.service_graphs, histogram_buckets: [1] } });
    expect(core.ingest(request([span('GET /cart', 2)]), 1_700_000_000_000)).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    // docs/abi.md "Span metrics": key words 0-3 intrinsic, then D dimensions (no status message word: off by default); values 3 + B.
    expect([view.keyWords, view.valueCount]).toEqual([4 + 1, 3 + 2]);
    expect(view.used).toBe(1);
    expect(view.live(0)).toBe(true);
    expect(view.overflow(0)).toBe(false);
    expect(core.label(view.key(0, L.SM_KEY_SERVICE))).toBe('svc');
    expect(core.label(view.key(0, L.SM_KEY_SPAN_NAME))).toBe('GET /cart');
    expect(view.key(0, L.SM_KEY_SPAN_KIND)).toBe(2);
    expect(core.label(view.key(0, L.SM_KEY_DIMENSIONS))).toBe('/cart');
    expect(view.value(0, L.SM_V_CALLS)).toBe(1);
    expect(view.value(0, L.SM_V_SUM)).toBe(0.5); // 1.5 s - 1 s
    expect(view.value(0, L.SM_V_BUCKETS)).toBe(1); // 0.5 s <= 1
    // docs/abi.md "Service-graph edges": 4 + W key words, 6 + 3B values; unpaired [client, server, reason], [count].
    const edges = core.table('edges')!;
    expect([edges.keyWords, edges.valueCount]).toEqual([4, 6 + 3 * 1]);
    const unpaired = core.table('unpaired')!;
    expect([unpaired.keyWords, unpaired.valueCount]).toEqual([3, 1]);
    // The exemplar of the 0.5 s observation: bucket 0, trace id 01…, span id 02….
    const exemplar = core.exemplar('spanMetrics', view, 0, 0);
    expect(exemplar).toEqual({ traceId: '01'.repeat(16), spanId: '02'.repeat(8), value: 0.5, timestampMs: 1_700_000_000_000 });
  });

  it('keys the status message after the span\'s other words, where spanMetricsKeyWords says', async () => {
    const config = defaultConfig();
    const sm = {
      ...config.processor.span_metrics, dimensions: ['http.route'], histogram_buckets: [1], enable_target_info: true,
      intrinsic_dimensions: { ...config.processor.span_metrics.intrinsic_dimensions, status_message: true },
    };
    // docs/abi.md "Span metrics": intrinsics 0-3, the dimension 4, job and instance 5-6, the status message 7.
    expect(spanMetricsKeyWords(sm)).toEqual({ dimensions: 4, job: 5, scope: -1, statusMessage: 7, span: 8 });
    const core = await Core.create({ spanMetrics: sm });
    // Span.status (field 15): message (2) "card declined", code (3) 2 = STATUS_CODE_ERROR.
    const failed = [...span('GET /cart', 3), ...fLen(15, [...fLen(2, 'card declined'), ...fVarint(3, 2)])];
    expect(core.ingest(request([failed]), 1_700_000_000_000)).toEqual({ ok: true, spans: 1 });
    const view = core.table('spanMetrics')!;
    expect(view.keyWords).toBe(8);
    expect(core.label(view.key(0, 7))).toBe('card declined');
    expect([view.key(0, L.SM_KEY_SPAN_KIND), view.key(0, L.SM_KEY_STATUS_CODE)]).toEqual([3, 2]);
    expect(core.label(view.key(0, L.SM_KEY_DIMENSIONS))).toBe('/cart');
  });

  it('reports a failure with the reason and message name declared in layout.ts', async () => {
    const core = await Core.create({ spanMetrics: defaultConfig().processor.span_metrics });
    // A trace_id of 3 bytes: E_ID_LENGTH in Span.trace_id (docs/abi.md: code 7, message 5).
    const result = core.ingest(request([[...fLen(1, new Uint8Array(3))]]));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/^invalid protobuf: wrong id length \(trace_id must be 16 bytes.*\) in Span\.trace_id \(field 1\) at byte \d+$/);
    expect(describeFailure(L.E_STRING_LENGTH, 7, L.M_KEY_VALUE, 1)).toBe(
      'over a limit: string longer than otlp.max_string_length in KeyValue.key (field 1) at byte 7',
    );
  });
});
