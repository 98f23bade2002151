// Tempo's service-graphs-connection-info subprocessor: traces_service_graph_connection_info, a
// presence gauge of 1 per edge, never weighted, alone or beside the request and latency families.
// Expectations from Tempo's modules/generator/processor/servicegraphs/servicegraphs_test.go
// (TestServiceGraphs_connectionInfo: emitted when enabled, absent when not, 1 whatever the
// multiplier, RED disabled with connection info only, virtual-node edges) and its docs
// (metrics-from-traces/service_graphs: labels client, server, connection_type).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/index.js';
import { configuredFamilies } from '../../src/exporters/catalog.js';
import { renderFamilies } from '../../src/exporters/exposition.js';
import { WriteRequestBuilder } from '../../src/exporters/remotewrite.js';
import { WriteRequest, type PbWriteRequest } from '../../src/exporters/prompb.js';
import { OtlpMetricsBuilder } from '../../src/exporters/otlpmetrics.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { loadConfig } from '../../src/config/load.js';
import type { ProcessorName } from '../../src/config/types.js';
import { request, sampleLines, type SpanSpec } from './helpers.js';

const INFO = 'traces_service_graph_connection_info';

/** requester → server (paired), server → postgres (database), requester → recorder (messaging), a lone root server (user →). */
const SPANS: SpanSpec[] = [
  { trace: 1, id: 1, kind: 'client', service: 'requester', durMs: 5, attrs: { 'sampler.param': 0.5 } },
  { trace: 1, id: 2, parent: 1, kind: 'server', service: 'server', durMs: 4, attrs: { 'sampler.param': 0.5 } },
  { trace: 1, id: 3, parent: 2, kind: 'client', service: 'server', durMs: 1, attrs: { 'db.system': 'postgres' } },
  { trace: 1, id: 4, parent: 1, kind: 'producer', service: 'requester', durMs: 1 },
  { trace: 1, id: 5, parent: 4, kind: 'consumer', service: 'recorder', durMs: 2 },
  { trace: 2, id: 1, kind: 'server', service: 'server', durMs: 3 },
];

async function run(processors: ProcessorName[]) {
  const config = defaultConfig();
  config.processors = processors;
  config.processor.service_graphs = { ...config.processor.service_graphs, span_multiplier_key: 'sampler.param', wait: 1000 };
  const core = await Core.create({ serviceGraphs: config.processor.service_graphs, build: 'debug' });
  expect(core.ingest(request(SPANS), 0)).toEqual({ ok: true, spans: SPANS.length });
  core.expire(Infinity);
  return { core, families: configuredFamilies(core, config) };
}

const text = (families: ReturnType<typeof configuredFamilies>) => sampleLines(renderFamilies(families, 'text').toString('utf8'));

describe('traces_service_graph_connection_info', () => {
  it('with service-graphs-connection-info: 1 per edge, beside the request counter (which the multiplier weighs)', async () => {
    const { families } = await run(['service-graphs', 'service-graphs-connection-info']);
    const lines = text(families);
    expect(lines.filter((l) => l.startsWith(INFO))).toEqual([
      `${INFO}{client="requester",server="recorder",connection_type="messaging_system"} 1`,
      // sampler.param 0.5 makes the request count 2; the gauge stays 1
      `${INFO}{client="requester",server="server"} 1`,
      `${INFO}{client="server",server="postgres",connection_type="database"} 1`,
      `${INFO}{client="user",server="server",connection_type="virtual_node"} 1`,
    ]);
    expect(lines).toContain('traces_service_graph_request_total{client="requester",server="server"} 2');
    expect(renderFamilies(families, 'text').toString('utf8')).toContain(`# TYPE ${INFO} gauge\n`);
  });

  it('not emitted without it (the default processors)', async () => {
    const { families } = await run(['span-metrics', 'service-graphs']);
    expect(text(families).filter((l) => l.startsWith(INFO))).toEqual([]);
  });

  it('alone: the gauge without the request and latency families', async () => {
    const { families } = await run(['service-graphs-connection-info']);
    const lines = text(families);
    expect(lines.filter((l) => l.startsWith(INFO))).toHaveLength(4);
    expect(lines.filter((l) => l.startsWith('traces_service_graph_request'))).toEqual([]);
  });

  it('remote write and OTLP push carry it as a gauge of 1', async () => {
    const { families } = await run(['service-graphs-connection-info']);
    const rw = new WriteRequestBuilder({ families, metadata: true }).build(2_000_000);
    const series = rw.flatMap((r) => (WriteRequest.toObject(WriteRequest.decode(r.body), { defaults: true }) as PbWriteRequest).timeseries)
      .filter((ts) => ts.labels.some((l) => l.name === '__name__' && l.value === INFO));
    expect(series.map((ts) => [ts.labels.map((l) => `${l.name}=${l.value}`).join(','), ts.samples.map((s) => s.value)]).sort()).toEqual([
      [`__name__=${INFO},client=requester,connection_type=messaging_system,server=recorder`, [1]],
      [`__name__=${INFO},client=requester,server=server`, [1]],
      [`__name__=${INFO},client=server,connection_type=database,server=postgres`, [1]],
      [`__name__=${INFO},client=user,connection_type=virtual_node,server=server`, [1]],
    ]);
    const otlp = new OtlpMetricsBuilder({ families, resource: {}, startMs: 1_000_000, temporality: 'delta' }).build(2_000_000);
    const metrics = otlp.flatMap((r) => (r.message as any).resourceMetrics[0].scopeMetrics[0].metrics) as any[];
    const gauge = metrics.find((m) => m.name === INFO);
    expect(gauge.gauge.dataPoints.map((p: any) => p.asDouble)).toEqual([1, 1, 1, 1]);
  });

  it('is Tempo\'s processor name, read from a Tempo overrides list too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sm-ci-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'overrides:\n  defaults:\n    metrics_generator:\n      processors: [service-graphs, service-graphs-connection-info]\n');
    const loaded = loadConfig({ argv: [`--config=${file}`], env: {} });
    expect(loaded.action === 'run' && loaded.config.processors).toEqual(['service-graphs', 'service-graphs-connection-info']);
  });
});
