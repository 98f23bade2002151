// Tempo's target_info on /metrics, scraped by a real Prometheus (/usr/bin/prometheus): the series
// carry Tempo's job and instance labels, which Prometheus would otherwise replace with its
// target's. Two scrape jobs on the same sidecar show what docs/config.md recommends: with
// honor_labels: true the resource's job/instance stay (and a series without instance gets the
// target's, as Prometheus fills any label a series lacks); without it they move to exported_job /
// exported_instance (Prometheus' scrape_config documentation, honor_labels).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startSidecar, postTraces, type Sidecar } from '../support/sidecar.js';
import { HAVE_PROMETHEUS, IN_CI, PROMETHEUS, startPrometheus, waitForVector, type Prom } from '../support/prometheus.js';
import { encode, u64 } from '../core/helpers.js';

if (!HAVE_PROMETHEUS && !IN_CI) console.log(`target_info e2e: skipped: ${PROMETHEUS} not found`);

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const NOW_NS = BigInt(Date.now()) * 1_000_000n;

function request(): Uint8Array {
  const span = (i: number) => ({
    traceId: Buffer.alloc(16, 3), spanId: Buffer.from([0, 0, 0, 0, 0, 0, 0, i]), name: 'GET /cart', kind: 2,
    startTimeUnixNano: u64(NOW_NS), endTimeUnixNano: u64(NOW_NS + 5_000_000n),
  });
  return encode({ resourceSpans: [
    { resource: { attributes: [str('service.name', 'cart'), str('service.namespace', 'shop'), str('service.instance.id', 'cart-7f9'), str('k8s.pod.name', 'cart-7f9-x')] },
      scopeSpans: [{ spans: [span(1), span(2)] }] },
    { resource: { attributes: [str('service.name', 'web'), str('host.name', 'h1')] }, scopeSpans: [{ spans: [span(3)] }] },
  ] });
}

describe.skipIf(!HAVE_PROMETHEUS && !IN_CI)('target_info and job/instance through a real Prometheus', () => {
  let sidecar: Sidecar | undefined;
  let prom: Prom | undefined;
  let target = '';

  beforeAll(async () => {
    if (!HAVE_PROMETHEUS) return;
    sidecar = await startSidecar({
      label: 'target-info-e2e',
      config: { processors: ['span-metrics'], processor: { span_metrics: { histogram_buckets: [1], enable_target_info: true } } },
    });
    target = new URL(sidecar.httpUrl).host;
    prom = await startPrometheus({
      config: [
        'global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}',
        'scrape_configs:',
        '  - job_name: honored',
        '    honor_labels: true',
        `    static_configs: [{targets: ['${target}']}]`,
        '  - job_name: plain',
        `    static_configs: [{targets: ['${target}']}]`,
        '',
      ].join('\n'),
    });
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await sidecar?.stop();
  });

  test('honor_labels: true keeps the resource job/instance; the default moves them to exported_*', async () => {
    expect(HAVE_PROMETHEUS, `${PROMETHEUS} is missing (CI is set, so this fails)`).toBe(true);
    expect((await postTraces(sidecar!, request(), 'application/x-protobuf')).status).toBe(200);
    const p = prom!;
    // job = service.namespace/service.name; instance = service.instance.id (Tempo's FindServiceLabels)
    const info = await waitForVector(p, 'traces_target_info', (v) => v.length === 4);
    const shown = info.map((s) => s.metric).map(({ __name__: _, ...m }) => m)
      .sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
    expect(shown).toEqual([
      // honored: the resource's job and instance; web has no instance id, so the target's
      { instance: 'cart-7f9', job: 'shop/cart', k8s_pod_name: 'cart-7f9-x' },
      { instance: target, job: 'web', host_name: 'h1' },
      // plain: Prometheus' own job and instance, the resource's as exported_*
      { exported_instance: 'cart-7f9', exported_job: 'shop/cart', instance: target, job: 'plain', k8s_pod_name: 'cart-7f9-x' },
      { exported_job: 'web', host_name: 'h1', instance: target, job: 'plain' },
    ].sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    // with honor_labels the span metrics join target_info on job and instance, as Tempo's
    // remote-written series do (under the plain job every series has job="plain" and the target's
    // instance, so the same join finds two target_info series per match: Prometheus refuses it)
    const joined = await waitForVector(
      p, 'sum by (job, k8s_pod_name) (traces_spanmetrics_calls_total{job="shop/cart"} * on (job, instance) group_left (k8s_pod_name) traces_target_info{job="shop/cart"})',
      (v) => v.length === 1,
    );
    expect(joined.map((s) => [s.metric, s.value[1]])).toEqual([[{ job: 'shop/cart', k8s_pod_name: 'cart-7f9-x' }, '2']]);
  }, 90_000);
});
