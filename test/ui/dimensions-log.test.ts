// A configured dimension that no span carried is logged once, a minute after start (src/cli.ts),
// with the same sentence as on the page: here http.method, which current semantic conventions
// call http.request.method (the spans below carry that one, and http.route).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postTraces, startSidecar, type Sidecar } from '../support/sidecar.js';
import { request } from '../servicegraphs/helpers.js';

describe('unused dimensions in the log', () => {
  let sidecar: Sidecar;
  beforeAll(async () => {
    sidecar = await startSidecar({
      label: 'dimensions log',
      config: { processors: ['span-metrics'], processor: { span_metrics: { dimensions: ['http.method', 'http.route'] } } },
    });
  });
  afterAll(async () => {
    await sidecar?.stop();
  });

  it('names the dimension and its current spelling, once', async () => {
    const res = await postTraces(sidecar, request([{
      trace: 1, id: 1, kind: 'server', service: 'web', name: 'GET /items', durMs: 5,
      attrs: { 'http.request.method': 'GET', 'http.route': '/items' },
    }]), 'application/x-protobuf');
    expect(res.status).toBe(200);
    const lines = () => sidecar.output().split('\n').filter((l) => l.includes('"dimension"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    await expect.poll(() => lines().length, { timeout: 75_000, interval: 1000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 2500));
    expect(lines()).toEqual([expect.objectContaining({
      level: 'warn',
      dimension: 'http.method',
      msg: 'No span so far carried the dimension http.method: current semantic conventions call it http.request.method (processor.span_metrics.dimensions).',
    })]);
  }, 90_000);
});
