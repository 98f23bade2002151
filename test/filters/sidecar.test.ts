// End to end: a Tempo processor block with filter_policies and enable_tracestate_span_multiplier
// on both processors, pasted as a Tempo user writes it, starts the sidecar; spans sent over
// OTLP/HTTP come out filtered and weighted on /metrics, and the filtered spans are counted. A
// policy Tempo refuses is refused at start-up with exit status 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchMetricsText, postTraces, runCli, startSidecar, type Sidecar } from '../support/sidecar.js';
import { encode, u64 } from '../core/helpers.js';

const CONFIG = {
  processors: ['span-metrics', 'service-graphs'],
  processor: {
    span_metrics: {
      histogram_buckets: [1],
      enable_tracestate_span_multiplier: true,
      filter_policies: [
        { include: { match_type: 'strict', attributes: [{ key: 'kind', value: 'SPAN_KIND_SERVER' }] } },
        { exclude: { match_type: 'regex', attributes: [{ key: 'name', value: '^GET /health' }] } },
      ],
    },
    service_graphs: {
      wait: '1s',
      filter_policies: [{ exclude: { match_type: 'strict', attributes: [{ key: 'resource.deployment.environment', value: 'test' }] } }],
    },
  },
};

const T0 = 1_700_000_000_000_000_000n;
const bytes = (n: number, last: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i === n - 1 ? last : 0)));

function span(name: string, kind: number, id: number, parent: number, traceState = '') {
  return {
    traceId: bytes(16, 7), spanId: bytes(8, id), parentSpanId: parent ? bytes(8, parent) : undefined,
    name, kind, traceState, startTimeUnixNano: u64(T0), endTimeUnixNano: u64(T0 + 5_000_000n),
  };
}

function resource(service: string, env: string, spans: object[]) {
  return {
    resource: { attributes: [
      { key: 'service.name', value: { stringValue: service } },
      { key: 'deployment.environment', value: { stringValue: env } },
    ] },
    scopeSpans: [{ spans }],
  };
}

describe('filter_policies and the tracestate multiplier in the sidecar', () => {
  let sidecar: Sidecar;
  beforeAll(async () => {
    sidecar = await startSidecar({ config: CONFIG, label: 'filters' });
  }, 30_000);
  afterAll(async () => {
    await sidecar?.stop();
  });

  it('counts kept spans by their tracestate weight, leaves the rest out and counts them', async () => {
    const body = encode({ resourceSpans: [
      // kept: a server span sampled at 50 % (th:8) counts 2; the health check and the client are left out
      resource('frontend', 'prod', [span('GET /cart', 3, 1, 0), span('GET /health', 2, 9, 0)]),
      resource('cart', 'prod', [span('GET /cart', 2, 2, 1, 'ot=th:8')]),
      // service graphs: the test environment's client is filtered, so its server makes nothing
      resource('loadgen', 'test', [span('POST /checkout', 3, 3, 0)]),
      resource('checkout', 'prod', [span('POST /checkout', 2, 4, 3)]),
    ] });
    const r = await postTraces(sidecar, body, 'application/x-protobuf');
    expect(r.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // past wait (1s) and the 1 s expiry tick
    const { text } = await fetchMetricsText(sidecar);
    // by hand: kept span-metrics spans: cart GET /cart (2 for th:8) and checkout POST /checkout (1)
    expect(text).toContain('traces_spanmetrics_calls_total{service="cart",span_name="GET /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"} 2\n');
    expect(text).toContain('traces_spanmetrics_calls_total{service="checkout",span_name="POST /checkout",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET"} 1\n');
    expect(text).not.toContain('span_name="GET /health"');
    expect(text).not.toMatch(/traces_spanmetrics_calls_total\{service="(frontend|loadgen)"/);
    // span metrics left out: 2 client spans and the health check; service graphs: loadgen's client
    expect(text).toContain('spanmeter_spans_filtered_total{processor="span-metrics"} 3\n');
    expect(text).toContain('spanmeter_spans_filtered_total{processor="service-graphs"} 1\n');
    // the frontend->cart edge pairs, weight 1 (the tracestate multiplier is on for span metrics only);
    // loadgen->checkout makes no edge and no unpaired span
    expect(text).toContain('traces_service_graph_request_total{client="frontend",server="cart"} 1\n');
    expect(text).not.toContain('server="checkout"');
    expect(text).not.toMatch(/client="loadgen"/);
  });
});

describe('a filter policy Tempo refuses is refused at start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spanmeter-filters-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['an unsupported intrinsic', 'key: duration\n          value: 1s', 'unsupported attribute "duration"'],
    ['a kind that is not an enum name', 'key: kind\n          value: server', 'expected one of SPAN_KIND_UNSPECIFIED'],
  ])('%s: exit status 2 and the key path', async (_name, attribute, message) => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `processor:\n  span_metrics:\n    filter_policies:\n      - include:\n          match_type: strict\n          attributes:\n            - ${attribute.replace('\n          ', '\n              ')}\n`);
    const r = await runCli(['--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('processor.span_metrics.filter_policies[0].include.attributes[0]');
    expect(r.stderr).toContain(message);
  });
});
