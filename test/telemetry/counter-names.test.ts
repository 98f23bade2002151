// The sidecar's counters keep their `_total` names in the Prometheus text format and the protobuf
// exposition after an OpenMetrics scrape. prom-client's Registry.metrics() for OpenMetrics renames
// each counter object it renders (standardizeCounterName drops `_total`, which it appends when
// writing), and the sidecar's counters are registered in both registries: without the names put
// back, a text scrape after an OpenMetrics one wrote `spanmeter_requests{...}`.
import { describe, expect, it } from 'vitest';
import { Telemetry } from '../../src/telemetry.js';

describe('the sidecar telemetry', () => {
  it('writes counters with _total in text and OpenMetrics, whichever was scraped first', async () => {
    const t = new Telemetry({ defaultMetrics: false });
    t.countRequest('grpc', 'OK');
    t.addCounter({ name: 'spanmeter_test_things_total', help: 'A counter read at scrape.', collect: () => 3 });
    const line = 'spanmeter_requests_total{protocol="grpc",code="OK"} 1\n';
    expect(await t.render('text')).toContain(line);
    const om = await t.render('openmetrics');
    // OpenMetrics: the family is named without the suffix, its samples with it (OpenMetrics 1.0, Counter).
    expect(om).toContain('# TYPE spanmeter_requests counter\n');
    expect(om).toContain(line);
    expect(om).toContain('spanmeter_test_things_total 3\n');
    const text = await t.render('text');
    expect(text).toContain('# TYPE spanmeter_requests_total counter\n');
    expect(text).toContain(line);
    expect(text).toContain('spanmeter_test_things_total 3\n');
    expect(text).not.toMatch(/^spanmeter_requests\{/m);
    expect(await t.render('openmetrics')).toBe(om);
    const json = await t.registry.getMetricsAsJSON();
    expect(json.map((m) => m.name)).toContain('spanmeter_requests_total');
  });
});
