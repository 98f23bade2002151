// The config end to end, in the real sidecar (node bin/spanmeter.js): two dimensions that become
// one label name (Tempo's rule, spanmetrics.go: "we just take the last one configured"; its label
// builder deletes a name set to ""), warnings in the JSON log, and config errors found after
// loading (a file the config names) exiting with status 2 like the others (issue 19 item 6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchMetricsText, postTraces, runCli, startSidecar, type Sidecar } from '../support/sidecar.js';
import { encode, u64 } from '../core/helpers.js';

const T0 = 1_700_000_000_000_000_000n;
const str = (key: string, v: string) => ({ key, value: { stringValue: v } });

/** A sidecar for the tests of one describe block, started before them and stopped after. */
function runningSidecar(label: string, config: Record<string, unknown>): Sidecar {
  let running: Sidecar | undefined;
  beforeAll(async () => {
    running = await startSidecar({ label, config });
  }, 30_000);
  afterAll(async () => {
    await running?.stop();
  });
  // the tests run after beforeAll: every use finds it started
  return new Proxy({} as Sidecar, { get: (_t, key) => Reflect.get(running!, key) as unknown });
}

function request(spans: { name: string; attributes: object[] }[]): Uint8Array {
  return encode({ resourceSpans: [{
    resource: { attributes: [str('service.name', 'api')] },
    scopeSpans: [{ spans: spans.map((s, i) => ({
      traceId: Buffer.alloc(16, 1), spanId: Buffer.from([0, 0, 0, 0, 0, 0, 0, i + 1]), name: s.name, kind: 2,
      startTimeUnixNano: u64(T0), endTimeUnixNano: u64(T0 + 1_000_000n), attributes: s.attributes,
    })) }],
  }] });
}

describe('two dimensions with one label name: the last configured wins, as in Tempo', () => {
  const sidecar = runningSidecar('collision', {
    processors: ['span-metrics'],
    processor: { span_metrics: { histogram_buckets: [1], dimensions: ['deployment.environment', 'deployment_environment'] } },
  });

  it('starts, says so in the JSON log, and labels from the last one only', async () => {
    const line = sidecar.output().split('\n').find((l) => l.includes('config warning'));
    expect(line, sidecar.output()).toBeDefined();
    const entry = JSON.parse(line!) as { level: string; msg: string };
    expect(entry.level).toBe('warn');
    expect(entry.msg).toBe(
      'config warning: processor.span_metrics.dimensions: "deployment.environment" and "deployment_environment" both become label deployment_environment; the last configured, "deployment_environment", sets it (as in Tempo)',
    );
    const r = await postTraces(sidecar, request([
      { name: 'both', attributes: [str('deployment.environment', 'first'), str('deployment_environment', 'last')] },
      { name: 'first-only', attributes: [str('deployment.environment', 'first')] },
      { name: 'last-only', attributes: [str('deployment_environment', 'last')] },
    ]), 'application/x-protobuf');
    expect(r.status).toBe(200);
    const { text } = await fetchMetricsText(sidecar);
    const calls = (span: string, env?: string) =>
      `traces_spanmetrics_calls_total{service="api",span_name="${span}",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"${env ? `,deployment_environment="${env}"` : ''}} 1\n`;
    // Tempo: Add(first) then Add(last) -> last; Add(first) then Add("") -> no label; Add("") then Add(last) -> last
    expect(text).toContain(calls('both', 'last'));
    expect(text).toContain(calls('first-only'));
    expect(text).toContain(calls('last-only', 'last'));
    expect(text).not.toContain('"first"');
  });
});

describe("a dimension's default (the Collector connector's dimensions[].default)", () => {
  const sidecar = runningSidecar('dimension-default', {
    processors: ['span-metrics'],
    processor: {
      span_metrics: {
        histogram_buckets: [1],
        dimensions: ['deployment.environment', 'http.route'],
        dimension_defaults: { 'deployment.environment': 'unknown' },
      },
    },
  });

  it('labels a span without the attribute with the default; a span whose value is the default counts in the same series', async () => {
    const r = await postTraces(sidecar, request([
      { name: 'op', attributes: [str('deployment.environment', 'prod')] },
      { name: 'op', attributes: [] },
      { name: 'op', attributes: [str('deployment.environment', 'unknown')] },
    ]), 'application/x-protobuf');
    expect(r.status).toBe(200);
    const { text } = await fetchMetricsText(sidecar);
    const calls = (env: string, n: number) =>
      `traces_spanmetrics_calls_total{service="api",span_name="op",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",deployment_environment="${env}"} ${n}\n`;
    // the connector's GetDimensionValue: the attribute, else the default; one series per value,
    // so the span without it and the span with "unknown" are one series of 2 (hand count)
    expect(text).toContain(calls('prod', 1));
    expect(text).toContain(calls('unknown', 2));
    // http.route has no default: no label
    expect(text).not.toContain('http_route');
  });
});

// Tempo's dimension_mappings, with the mappings and attributes of its own test
// (spanmetrics_test.go, "first_only", "world_only", "first/last"): the values a span has, joined.
describe("Tempo's dimension_mappings", () => {
  const sidecar = runningSidecar('dimension-mappings', {
    processors: ['span-metrics'],
    processor: {
      span_metrics: {
        histogram_buckets: [1],
        dimension_mappings: [
          { name: 'first_only', source_labels: ['first', 'second'], join: '/' },
          { name: 'world_only', source_labels: ['hello', 'world'], join: '/' },
          { name: 'first/last', source_labels: ['first', 'middle', 'last'], join: '->' },
        ],
      },
    },
  });

  it("labels as Tempo's test expects; values that join alike are one series, a span with none of them has no label", async () => {
    const r = await postTraces(sidecar, request([
      { name: 'op', attributes: [str('first', 'first-value'), str('world', 'world-value'), str('last', 'last-value')] },
      // the same values and an empty "middle": the same labels, so the same series
      { name: 'op', attributes: [str('first', 'first-value'), str('world', 'world-value'), str('last', 'last-value'), str('middle', '')] },
      { name: 'bare', attributes: [] },
    ]), 'application/x-protobuf');
    expect(r.status).toBe(200);
    const { text } = await fetchMetricsText(sidecar);
    // Tempo's expected labels: first_only="first-value", world_only="world-value",
    // first_last="first-value->last-value" (an empty "middle" is skipped, as a missing one)
    expect(text).toContain(
      'traces_spanmetrics_calls_total{service="api",span_name="op",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",first_only="first-value",world_only="world-value",first_last="first-value->last-value"} 2\n',
    );
    expect(text).toContain('traces_spanmetrics_calls_total{service="api",span_name="bare",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"} 1\n');
  });
});

// Issue 18 item 8's "done when": a Tempo metrics_generator block and its overrides, as written in
// a Tempo config, start the sidecar; the keys without effect are named in the JSON log.
describe("Tempo's metrics_generator block and overrides, pasted", () => {
  const sidecar = runningSidecar('tempo-block', {
    metrics_generator: {
      ring: { kvstore: { store: 'memberlist' } },
      processor: {
        span_metrics: {
          histogram_buckets: [1],
          dimensions: ['deployment.environment'],
          dimension_mappings: [{ name: 'route', source_labels: ['http.method', 'http.route'], join: ' ' }],
          enable_target_info: true,
          target_info_excluded_dimensions: ['host.name'],
          enable_instance_label: true,
        },
        local_blocks: { filter_server_spans: false },
      },
      // a closed port on loopback: the writes fail and are retried, the sidecar runs on
      registry: { collection_interval: '1m', external_labels: { source: 'tempo' } },
      storage: { path: '/var/tempo/generator/wal', remote_write: [{ url: 'http://127.0.0.1:9/api/v1/write', send_exemplars: true }] },
      metrics_ingestion_time_range_slack: '0s',
    },
    overrides: { defaults: { metrics_generator: { processors: ['span-metrics', 'local-blocks'], max_active_series: 1000 } } },
  });

  it('starts, names each key without effect in the JSON log, and counts spans with the block\'s settings', async () => {
    const warned = sidecar.output().split('\n').filter((l) => l.includes('config warning'))
      .map((l) => (JSON.parse(l) as { config_warning: string }).config_warning.split(' ')[0]);
    expect(warned).toEqual([
      'metrics_generator.ring',
      'metrics_generator.processor.local_blocks',
      'metrics_generator.storage.path',
      'overrides.defaults.metrics_generator.processors[1]',
    ]);
    const r = await postTraces(sidecar, request([
      { name: 'GET /cart', attributes: [str('http.method', 'GET'), str('http.route', '/cart'), str('deployment.environment', 'prod')] },
    ]), 'application/x-protobuf');
    expect(r.status).toBe(200);
    const { text } = await fetchMetricsText(sidecar);
    // enable_target_info: Tempo's job label (service.name alone: no namespace; no instance id, no instance)
    expect(text).toContain(
      'traces_spanmetrics_calls_total{service="api",span_name="GET /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET",deployment_environment="prod",route="GET /cart",job="api"} 1\n',
    );
    // the resource has service.name only: job and nothing else, so no target_info series (Tempo's TestTargetInfoWithJobAndInstanceOnly)
    expect(text).toContain('# TYPE traces_target_info gauge\n');
    expect(text).not.toContain('traces_target_info{');
    // overrides' processors: span metrics only
    expect(text).not.toContain('traces_service_graph_request_total');
  });
});

describe('a file the config names that cannot be used: status 2, the key named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spanmeter-cfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'none.pem');
  const junk = join(dir, 'junk.pem');
  const empty = join(dir, 'empty');
  writeFileSync(junk, 'not a certificate\n');
  writeFileSync(empty, '\n');
  const listeners = 'otlp: {http_endpoint: "127.0.0.1:0", grpc_endpoint: ""}\nhttp_endpoint: "127.0.0.1:0"\n';

  it.each([
    ['a missing certificate', `tls: {cert_file: ${missing}, key_file: ${missing}}\n`, 'config error: tls.cert_file: cannot read'],
    ['a certificate that is not PEM', `tls: {cert_file: ${junk}, key_file: ${junk}}\n`, 'config error: tls: the certificate, key or CA files are not usable'],
    ['an empty token file', `http_auth: {bearer_token_file: ${empty}}\n`, 'config error: http_auth.bearer_token_file: '],
  ])('%s', async (_name, yaml, message) => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, listeners + yaml);
    const r = await runCli(['--config', file]);
    expect(r.code, r.stderr + r.stdout).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
