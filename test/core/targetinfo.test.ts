// Tempo's target_info (processor.span_metrics.enable_target_info, target_info_excluded_dimensions,
// enable_instance_label), in the core and its exposition. Every expected label set is Tempo's own,
// from modules/generator/processor/spanmetrics/spanmetrics_test.go (the test named above each
// case), with its resources; job and instance as util.FindServiceLabels builds them.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { SpanMetricsExposition } from '../../src/exporters/spanmetrics.js';
import { WriteRequestBuilder } from '../../src/exporters/remotewrite.js';
import { OtlpMetricsBuilder } from '../../src/exporters/otlpmetrics.js';
import { WriteRequest, type PbWriteRequest } from '../../src/exporters/prompb.js';
import type { SpanMetricsConfig } from '../../src/config/types.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { encode, spanMetricsConfig, u64 } from './helpers.js';

const T0 = 1_700_000_000_000_000_000n;
const str = (key: string, v: string) => ({ key, value: { stringValue: v } });

/** Tempo's test.MakeBatch spans: CLIENT, status OK, named "test", 1 s long. */
function spans(n: number, attributes: object[] = []): object[] {
  return Array.from({ length: n }, (_, i) => ({
    traceId: Buffer.alloc(16, 7), spanId: Buffer.from([0, 0, 0, 0, 0, 0, 1, i + 1]), name: 'test', kind: 3,
    status: { code: 1 }, startTimeUnixNano: u64(T0), endTimeUnixNano: u64(T0 + 1_000_000_000n), attributes,
  }));
}

type Batch = { resource: object[]; spans: object[] };
const batch = (resource: object[], n = 10, attributes: object[] = []): Batch => ({ resource, spans: spans(n, attributes) });

function request(batches: Batch[]): Uint8Array {
  return encode({ resourceSpans: batches.map((b) => ({ resource: { attributes: b.resource }, scopeSpans: [{ spans: b.spans }] })) });
}

async function run(options: Partial<SpanMetricsConfig>, batches: Batch[]): Promise<{ core: Core; config: SpanMetricsConfig; text: string }> {
  const config = { ...spanMetricsConfig([0.5, 1], []), enable_target_info: true, ...options };
  const core = await Core.create({ spanMetrics: config, build: 'debug' });
  const r = core.ingest(request(batches), Number(T0 / 1_000_000n));
  expect(r.ok).toBe(true);
  return { core, config, text: new SpanMetricsExposition(core, config).render('text') };
}

/** The label sets of a family's samples, sorted by name, with their values. */
function series(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return parsePrometheusText(text).samples.filter((s) => s.name === name).map((s) => ({ labels: sorted(s.labels), value: s.value }));
}
function sorted(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}
const targetInfo = (text: string) => series(text, 'traces_target_info');
const calls = (text: string) => series(text, 'traces_spanmetrics_calls_total');

const SPAN = { service: 'test-service', span_name: 'test', span_kind: 'SPAN_KIND_CLIENT', status_code: 'STATUS_CODE_OK' };

describe('traces_target_info and the job/instance labels, with Tempo test values', () => {
  it('TestSpanMetricsTargetInfoEnabled: a resource "job" and "instance" become __job and __instance; random.res.attr excluded', async () => {
    const { text } = await run({ target_info_excluded_dimensions: ['random.res.attr'] }, [batch([
      str('random.res.attr', 'x1y2'), str('service.name', 'test-service'),
      str('job', 'dummy-job'), str('service.instance.id', 'instance'), str('instance', 'dummy-instance'),
    ])]);
    expect(calls(text)).toEqual([{ labels: sorted({ ...SPAN, job: 'test-service', instance: 'instance' }), value: 10 }]);
    expect(targetInfo(text)).toEqual([
      { labels: sorted({ job: 'test-service', __job: 'dummy-job', instance: 'instance', __instance: 'dummy-instance' }), value: 1 },
    ]);
    expect(text).toContain('# TYPE traces_target_info gauge\n');
  });

  it('TestJobLabelWithNamespaceAndInstanceID: job is namespace/name, instance the instance id', async () => {
    const { text } = await run({}, [batch([
      str('random.res.attr', 'r'), str('service.name', 'test-service'),
      str('service.namespace', 'test-namespace'), str('service.instance.id', 'abc-instance-id-test-def'),
    ])]);
    expect(calls(text)).toEqual([
      { labels: sorted({ ...SPAN, job: 'test-namespace/test-service', instance: 'abc-instance-id-test-def' }), value: 10 },
    ]);
  });

  it('TestJobLabelWithNamespaceAndNoServiceName: no service.name, no job (the service label is empty, so absent)', async () => {
    const { text } = await run({}, [batch([str('random.res.attr', 'r'), str('service.namespace', 'test-namespace')])]);
    const { service: _, ...rest } = SPAN;
    expect(calls(text)).toEqual([{ labels: sorted(rest), value: 10 }]);
    expect(targetInfo(text)).toEqual([]);
  });

  it('TestLabelsWithDifferentBatches: resources alike share series (20 calls), another namespace/instance makes others', async () => {
    const plain = [str('service.name', 'test-service')];
    const { text } = await run({}, [
      batch(plain),
      batch([...plain, str('service.namespace', 'test-namespace'), str('service.instance.id', 'abc-instance-id-test-def')]),
      batch(plain),
    ]);
    expect(calls(text)).toEqual(expect.arrayContaining([
      { labels: sorted({ ...SPAN, job: 'test-service' }), value: 20 },
      { labels: sorted({ ...SPAN, job: 'test-namespace/test-service', instance: 'abc-instance-id-test-def' }), value: 10 },
    ]));
    expect(calls(text)).toHaveLength(2);
    // neither resource has an attribute besides the service.* ones: no target_info at all
    expect(targetInfo(text)).toEqual([]);
  });

  it('TestTargetInfoEnabled, TestTargetInfoWithEmptyKey, TestTargetInfoSkipsLabelsStartingWithNumber: other attributes, an empty key and a leading digit skipped', async () => {
    const { text } = await run({}, [
      batch([
        str('service.name', 'test-service'), str('', 'should-be-skipped'), str('service.instance.id', 'abc-instance-id-test-def'),
        str('cluster', 'eu-west-0'), str('ip', '1.1.1.1'), str('5badlabel', 'should-be-ignored'),
      ]),
    ]);
    expect(targetInfo(text)).toEqual([
      { labels: sorted({ job: 'test-service', instance: 'abc-instance-id-test-def', cluster: 'eu-west-0', ip: '1.1.1.1' }), value: 1 },
    ]);
  });

  it('TestTargetInfoWithEmptyValue and TestTargetInfoWithAllEmptyValues: an empty value is no label; only empty ones, no series', async () => {
    const one = await run({}, [batch([str('service.name', 'test-service'), str('host.id', ''), str('cluster', 'eu-west-0')])]);
    expect(targetInfo(one.text)).toEqual([{ labels: sorted({ job: 'test-service', cluster: 'eu-west-0' }), value: 1 }]);
    const none = await run({}, [batch([
      str('service.name', 'test-service'), str('service.instance.id', 'abc-instance-id'), str('host.id', ''), str('container.id', ''),
    ])]);
    expect(targetInfo(none.text)).toEqual([]);
  });

  it('TestTargetInfoWithExclusion and TestTargetInfoSanitizeLabelName', async () => {
    const base = [str('service.name', 'test-service'), str('service.instance.id', 'abc-instance-id-test-def')];
    const excluded = await run({ target_info_excluded_dimensions: ['container', 'container.id'] }, [batch([
      ...base, str('cluster', 'eu-west-0'), str('ip', '1.1.1.1'), str('container', 'test-service'), str('container.id', 'xyz123'),
    ])]);
    expect(targetInfo(excluded.text)).toEqual([
      { labels: sorted({ job: 'test-service', instance: 'abc-instance-id-test-def', cluster: 'eu-west-0', ip: '1.1.1.1' }), value: 1 },
    ]);
    const sanitized = await run({}, [batch([...base, str('cluster-id', 'eu-west-0'), str('target.ip', '1.1.1.1')])]);
    expect(targetInfo(sanitized.text)).toEqual([
      { labels: sorted({ job: 'test-service', instance: 'abc-instance-id-test-def', cluster_id: 'eu-west-0', target_ip: '1.1.1.1' }), value: 1 },
    ]);
  });

  it('TestTargetInfoWithDifferentBatches: job alone makes none; each resource with more its own series', async () => {
    const { text } = await run({}, [
      batch([str('service.name', 'test-service')]),
      batch([str('service.name', 'test-service'), str('service.instance.id', 'abc-instance-id-test-def'), str('cluster', 'eu-west-0')]),
      batch([str('service.name', 'test-service'), str('ip', '1.1.1.1')]),
    ]);
    expect(targetInfo(text)).toEqual(expect.arrayContaining([
      { labels: sorted({ job: 'test-service', instance: 'abc-instance-id-test-def', cluster: 'eu-west-0' }), value: 1 },
      { labels: sorted({ job: 'test-service', ip: '1.1.1.1' }), value: 1 },
    ]));
    expect(targetInfo(text)).toHaveLength(2);
  });

  it('TestEnableInstanceLabelFalse: no instance label anywhere; two instances are one series of 20 calls', async () => {
    const method = [str('http.method', 'GET'), str('foo', 'bar')];
    const resource = (id: string) => [str('service.name', 'test-service'), str('service.instance.id', id), str('cluster', 'eu-west-0')];
    const { text } = await run({ enable_instance_label: false, dimensions: ['http.method', 'foo'] }, [
      batch(resource('abc-instance-id-test-abc'), 10, method),
      batch(resource('abc-instance-id-test-def'), 10, method),
    ]);
    expect(targetInfo(text)).toEqual([{ labels: sorted({ job: 'test-service', cluster: 'eu-west-0' }), value: 1 }]);
    expect(calls(text)).toEqual([{ labels: sorted({ ...SPAN, http_method: 'GET', foo: 'bar', job: 'test-service' }), value: 20 }]);
    // TestEnableInstanceLabelFalse's buckets: 0.5 → 0, 1 → 20 (the spans last exactly 1 s)
    expect(series(text, 'traces_spanmetrics_latency_bucket').map((s) => [s.labels.le, s.value])).toEqual([['0.5', 0], ['1', 20], ['+Inf', 20]]);
  });

  it('TestTargetInfoDisabled: without enable_target_info neither the family nor job/instance labels', async () => {
    const { text } = await run({ enable_target_info: false }, [batch([
      str('service.name', 'test-service'), str('service.instance.id', 'i'), str('cluster', 'eu-west-0'),
    ])]);
    expect(text).not.toContain('traces_target_info');
    expect(calls(text)).toEqual([{ labels: sorted(SPAN), value: 10 }]);
  });
});

describe('target_info beyond the Tempo tests', () => {
  it('attribute order does not make a second series; a repeated key: the last value; spans filtered out make none', async () => {
    const { text } = await run({
      filter_policies: [{ exclude: { match_type: 'strict', attributes: [{ key: 'resource.drop', value: 'yes' }] } }],
    }, [
      batch([str('service.name', 'a'), str('zone', 'z1'), str('cluster', 'c1')]),
      batch([str('cluster', 'c1'), str('zone', 'z0'), str('zone', 'z1'), str('service.name', 'a')]),
      batch([str('service.name', 'b'), str('drop', 'yes')]),
    ]);
    // Tempo's label builder: the last Add of a name wins, labels are sorted (registry/builder.go)
    expect(targetInfo(text)).toEqual([{ labels: sorted({ job: 'a', cluster: 'c1', zone: 'z1' }), value: 1 }]);
  });

  it('past 64 attributes the first 64 keys in byte order; values formatted as Tempo formats labels', async () => {
    // 70 keys k00 … k69 sent in reverse: k00 … k63 kept (byte order), k64 … k69 left out
    const keys = Array.from({ length: 70 }, (_, i) => `k${String(i).padStart(2, '0')}`).reverse();
    const { text } = await run({}, [batch([
      str('service.name', 'a'), ...keys.map((k) => str(k, 'v')),
      { key: 'count', value: { intValue: 42 } }, { key: 'flag', value: { boolValue: true } },
    ], 1)]);
    const [series] = targetInfo(text);
    const labels = Object.keys(series!.labels);
    // "count" and "flag" sort before "k…": with them, 62 of the k keys fit (k00 … k61)
    expect(labels.filter((l) => l.startsWith('k'))).toEqual(Array.from({ length: 62 }, (_, i) => `k${String(i).padStart(2, '0')}`));
    expect([series!.labels.count, series!.labels.flag, series!.labels.job]).toEqual(['42', 'true', 'a']);
  });

  it('target_info counts against the series limit and is removed when stale, as the span series are', async () => {
    const config = { ...spanMetricsConfig([1], []), enable_target_info: true };
    const core = await Core.create({ spanMetrics: config, build: 'debug', registry: { max_active_series: 0, stale_duration: 60_000 } });
    const before = core.activeSeries();
    expect(core.ingest(request([batch([str('service.name', 'a'), str('cluster', 'c1')], 1)]), 1_000_000).ok).toBe(true);
    // one span label set with 1 bound: calls, size, 2 buckets, sum, count = 6 series (README); target_info 1
    expect(core.activeSeries() - before).toBe(7);
    expect(core.sweep(1_000_000 + 61_000)).toBe(2);
    expect(new SpanMetricsExposition(core, config).render('text')).not.toContain('traces_target_info{');
  });

  it('remote write and OTLP push carry it as a gauge of 1 with the same labels', async () => {
    const { core, config } = await run({}, [batch([str('service.name', 'a'), str('service.instance.id', 'i-1'), str('cluster', 'c1')], 1)]);
    const families = new SpanMetricsExposition(core, config).families;
    const rw = new WriteRequestBuilder({ families, metadata: true }).build(2_000_000);
    const decoded = rw.flatMap((r) => (WriteRequest.toObject(WriteRequest.decode(r.body), { defaults: true }) as PbWriteRequest).timeseries);
    const info = decoded.filter((ts) => ts.labels.some((l) => l.name === '__name__' && l.value === 'traces_target_info'));
    expect(info.map((ts) => [Object.fromEntries(ts.labels.map((l) => [l.name, l.value])), ts.samples.map((s) => s.value)])).toEqual([
      [{ __name__: 'traces_target_info', cluster: 'c1', instance: 'i-1', job: 'a' }, [1]],
    ]);
    const otlp = new OtlpMetricsBuilder({ families, resource: {}, startMs: 1_000_000, temporality: 'cumulative' }).build(2_000_000);
    const metrics = otlp.flatMap((r) => (r.message as any).resourceMetrics[0].scopeMetrics[0].metrics) as any[];
    const gauge = metrics.find((m) => m.name === 'traces_target_info');
    expect(gauge.gauge.dataPoints).toHaveLength(1);
    expect(gauge.gauge.dataPoints[0].asDouble).toBe(1);
    expect(Object.fromEntries(gauge.gauge.dataPoints[0].attributes.map((a: any) => [a.key, a.value.stringValue])))
      .toEqual({ job: 'a', instance: 'i-1', cluster: 'c1' });
  });
});
