// The Collector spanmetrics connector's calls_dimensions and histogram.dimensions
// (processor.span_metrics.calls_dimensions / histogram_dimensions) and its event dimensions'
// default (events.dimension_defaults), in the core and its exposition. The semantics are the
// connector's (connector.go aggregateMetrics at v0.141.0: calls keyed by dimensions +
// calls_dimensions, the histogram by dimensions + histogram.dimensions, events by dimensions +
// event dimensions); the expected counts below are hand counts of the spans sent. The real
// Collector is compared in test/interop/spanmetrics-pasted.test.ts ("calls_dimensions, …").
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import type { SpanMetricsConfig } from '../../src/config/types.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { encode, spanMetricsConfig, u64 } from './helpers.js';

const T0 = 1_700_000_000_000_000_000n;
const str = (key: string, v: string) => ({ key, value: { stringValue: v } });

function request(spans: { attributes: object[]; ms: number; events?: object[] }[]): Uint8Array {
  return encode({ resourceSpans: [{
    resource: { attributes: [str('service.name', 'api')] },
    scopeSpans: [{ spans: spans.map((s, i) => ({
      traceId: Buffer.alloc(16, 9), spanId: Buffer.from([0, 0, 0, 0, 0, 0, 2, i + 1]), name: 'op', kind: 2,
      startTimeUnixNano: u64(T0), endTimeUnixNano: u64(T0 + BigInt(s.ms) * 1_000_000n), attributes: s.attributes, events: s.events ?? [],
    })) }],
  }] });
}

async function render(options: Partial<SpanMetricsConfig>, body: Uint8Array): Promise<{ name: string; labels: Record<string, string>; value: number }[]> {
  const config = { ...spanMetricsConfig([0.01], ['env']), ...options };
  const core = await Core.create({ spanMetrics: config, build: 'debug' });
  expect(core.ingest(body, Number(T0 / 1_000_000n)).ok).toBe(true);
  const text = new SpanMetricsExposition(core, config).render('text');
  return parsePrometheusText(text).samples.map((s) => ({ name: s.name, labels: s.labels, value: s.value }));
}

const BASE = { service: 'api', span_name: 'op', span_kind: 'SPAN_KIND_SERVER', status_code: 'STATUS_CODE_UNSET', env: 'prod' };

describe('calls_dimensions and histogram_dimensions', () => {
  // three spans: route /a (5 ms, scheme https), route /a (20 ms, no scheme), route /b (5 ms, scheme https)
  const spans = [
    { attributes: [str('env', 'prod'), str('route', '/a'), str('scheme', 'https')], ms: 5 },
    { attributes: [str('env', 'prod'), str('route', '/a')], ms: 20 },
    { attributes: [str('env', 'prod'), str('route', '/b'), str('scheme', 'https')], ms: 5 },
  ];

  it('calls (and size) by route, the histogram by scheme (its default for a span without it)', async () => {
    const samples = await render({ calls_dimensions: ['route'], histogram_dimensions: ['scheme'], dimension_defaults: { scheme: 'none' } }, request(spans));
    const of = (name: string) => samples.filter((s) => s.name === name).map((s) => [s.labels, s.value]);
    expect(of('traces_spanmetrics_calls_total')).toEqual(expect.arrayContaining([[{ ...BASE, route: '/a' }, 2], [{ ...BASE, route: '/b' }, 1]]));
    expect(of('traces_spanmetrics_calls_total')).toHaveLength(2);
    expect(of('traces_spanmetrics_size_total').map(([l]) => l)).toEqual(expect.arrayContaining([{ ...BASE, route: '/a' }, { ...BASE, route: '/b' }]));
    expect(of('traces_spanmetrics_latency_count')).toEqual(expect.arrayContaining([[{ ...BASE, scheme: 'https' }, 2], [{ ...BASE, scheme: 'none' }, 1]]));
    expect(of('traces_spanmetrics_latency_count')).toHaveLength(2);
    // https: both 5 ms spans under 10 ms; none: the 20 ms span above it
    expect(of('traces_spanmetrics_latency_bucket').filter(([l]) => (l as Record<string, string>).le === '0.01')).toEqual(expect.arrayContaining([
      [{ ...BASE, scheme: 'https', le: '0.01' }, 2], [{ ...BASE, scheme: 'none', le: '0.01' }, 0],
    ]));
  });

  it('only histogram_dimensions: calls without them, one series of 3', async () => {
    const samples = await render({ histogram_dimensions: ['route'] }, request(spans));
    expect(samples.filter((s) => s.name === 'traces_spanmetrics_calls_total').map((s) => [s.labels, s.value])).toEqual([[BASE, 3]]);
    expect(samples.filter((s) => s.name === 'traces_spanmetrics_latency_count').map((s) => s.value).sort()).toEqual([1, 2]);
  });

  it('the split tables count against the series limit: calls 2 series (calls, size), the histogram its buckets', async () => {
    const config = { ...spanMetricsConfig([0.01], ['env']), calls_dimensions: ['route'], histogram_dimensions: ['scheme'] };
    const core = await Core.create({ spanMetrics: config, build: 'debug' });
    core.ingest(request(spans), Number(T0 / 1_000_000n));
    // 2 calls label sets x 2 series + 2 histogram label sets x (1 bucket + +Inf + sum + count = 4)
    expect(core.activeSeries()).toBe(2 * 2 + 2 * 4);
  });
});

describe("an event dimension's default", () => {
  it('an event without the attribute takes it; one with it keeps its value', async () => {
    const samples = await render({
      events: { enabled: true, dimensions: ['exception.type'], dimension_defaults: { 'exception.type': 'unknown' } },
    }, request([{
      attributes: [str('env', 'prod')], ms: 1,
      events: [{ name: 'exception', attributes: [str('exception.type', 'IOError')] }, { name: 'exception' }, { name: 'exception' }],
    }]));
    const events = samples.filter((s) => s.name === 'traces_spanmetrics_events_total').map((s) => [s.labels.exception_type, s.value]);
    expect(events).toEqual(expect.arrayContaining([['IOError', 1], ['unknown', 2]]));
    expect(events).toHaveLength(2);
  });
});

describe('include_instrumentation_scope', () => {
  it('spans of a listed scope get its name and version (none when empty); other scopes and a scope without a name none', async () => {
    // connector.go buildAttributes: the labels only when the scope's name is listed and not empty,
    // the version only when not empty
    const span = (i: number) => ({
      traceId: Buffer.alloc(16, 5), spanId: Buffer.from([0, 0, 0, 0, 0, 0, 3, i]), name: 'op', kind: 2,
      startTimeUnixNano: u64(T0), endTimeUnixNano: u64(T0 + 1_000_000n), attributes: [str('env', 'prod')],
    });
    const body = encode({ resourceSpans: [{
      resource: { attributes: [str('service.name', 'api')] },
      scopeSpans: [
        { scope: { name: 'lib.http', version: '1.2' }, spans: [span(1), span(2)] },
        { scope: { name: 'lib.db' }, spans: [span(3)] },
        { scope: { name: 'lib.other', version: '9' }, spans: [span(4)] },
        { scope: { version: '3' }, spans: [span(5)] },
      ],
    }] });
    // '' listed too: a scope without a name still gets nothing (the connector's `!= ""`)
    const samples = await render({ include_instrumentation_scope: ['lib.http', 'lib.db', ''] }, body);
    const calls = samples.filter((s) => s.name === 'traces_spanmetrics_calls_total')
      .map((s) => [s.labels.span_instrumentation_scope_name ?? '-', s.labels.span_instrumentation_scope_version ?? '-', s.value]);
    expect(calls).toEqual(expect.arrayContaining([['lib.http', '1.2', 2], ['lib.db', '-', 1], ['-', '-', 2]]));
    expect(calls).toHaveLength(3);
  });
});
