// The conformance pack's case configs, read where the pack stands, must load as the runner
// passes them: the case's `config` plus otlp.* and http_endpoint, via --config FILE.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { packFile, WITH_PACK } from '../support/conformance.js';

const CASES = packFile('cases');
const tmp = mkdtempSync(join(tmpdir(), 'spanmeter-conformance-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function loadCase(file: string): Config {
  const doc = parse(readFileSync(join(CASES, file), 'utf8')) as { config: Record<string, unknown> };
  const config = { ...doc.config, otlp: { http_endpoint: '127.0.0.1:40001', grpc_endpoint: '' }, http_endpoint: '127.0.0.1:40002' };
  const path = join(tmp, file);
  writeFileSync(path, stringify(config));
  const r = loadConfig({ argv: ['--config', path], env: {} });
  if (r.action !== 'run') throw new Error(r.action);
  expect(r.warnings).toEqual([]);
  return r.config;
}

describe.runIf(WITH_PACK)('conformance case configs', () => {
  it('sm-intrinsic-dimensions loads with the expected values', () => {
    const c = loadCase('sm-intrinsic-dimensions.yaml');
    expect(c.processors).toEqual(['span-metrics']);
    expect(c.processor.span_metrics).toEqual({
      histogram_buckets: [1],
      dimensions: ['span.kind'],
      intrinsic_dimensions: { service: true, span_name: true, span_kind: false, status_code: false, status_message: true },
      span_multiplier_key: '',
      histogram_unit: 'ms',
      events: { enabled: false, dimensions: [] },
      filter_policies: [],
      enable_tracestate_span_multiplier: false,
      enable_target_info: false,
      target_info_excluded_dimensions: [],
      enable_instance_label: true,
      namespace: 'traces.span.metrics',
    });
    expect(c.otlp).toEqual({ http_endpoint: '127.0.0.1:40001', grpc_endpoint: '', max_request_body_size: 67108864, max_inflight_bytes: 268435456, max_inflight_requests: 256, max_spans_per_request: 0, max_decompression_ratio: 1000, max_string_length: 65536, max_attributes_per_span: 1024, max_connections: 1024, read_header_timeout: 60000, read_timeout: 60000, write_timeout: 30000, idle_timeout: 60000, stalled_request_timeout: 10000, max_concurrent_streams: 100, keepalive: { server_parameters: { max_connection_idle: 300000, max_connection_age: 0, max_connection_age_grace: 30000 }, enforcement_policy: { min_time: 300000, permit_without_stream: false } }, tls: { cert_file: '', key_file: '', client_ca_file: '' }, auth: { bearer_token: '', bearer_token_file: '' } });
    expect(c.http_endpoint).toBe('127.0.0.1:40002');
    expect(c.log_level).toBe('info');
  });

  it('otelcol-servicegraph-failed-label loads with the expected values', () => {
    const c = loadCase('otelcol-servicegraph-failed-label.yaml');
    expect(c.processors).toEqual(['service-graphs']);
    expect(c.processor.service_graphs).toMatchObject({
      wait: 1000,
      max_items: 10,
      histogram_buckets: [0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15],
      workers: 10,
      dimensions: [],
    });
  });

  it('tempo-servicegraphs-failed-requests (service_graphs: {}) keeps Tempo defaults', () => {
    const c = loadCase('tempo-servicegraphs-failed-requests.yaml');
    expect(c.processor.service_graphs.wait).toBe(10000);
    expect(c.processor.service_graphs.histogram_buckets).toEqual([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8]);
  });

  it('every public case config loads', () => {
    const files = readdirSync(CASES).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(17);
    for (const f of files) expect(() => loadCase(f), f).not.toThrow();
  });
});
