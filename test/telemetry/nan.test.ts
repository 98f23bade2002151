// A NaN sample is spelled `NaN` in both formats: the Prometheus text format (exposition_formats.md:
// "NaN", "+Inf", "-Inf") and OpenMetrics ("NaN" is the only spelling its ABNF allows). prom-client
// writes `Nan`, which nodejs_eventloop_lag_* carry until the loop monitor has a sample.
import { describe, expect, it } from 'vitest';
import { Telemetry } from '../../src/telemetry.js';

describe('the sidecar telemetry', () => {
  it('spells a NaN value NaN in text and OpenMetrics', async () => {
    const t = new Telemetry({ defaultMetrics: false });
    t.addGauge({ name: 'spanmeter_test_nan', help: 'A gauge read as NaN.', collect: () => Number.NaN });
    t.addGauge({ name: 'spanmeter_test_label', help: 'A gauge whose label value is Nan.', labelNames: ['v'], collect: () => [{ labels: { v: 'Nan' }, value: 1 }] });
    const text = await t.render('text');
    expect(text).toContain('\nspanmeter_test_nan NaN\n');
    expect(text).toContain('spanmeter_test_label{v="Nan"} 1\n');
    const om = await t.render('openmetrics');
    expect(om).toContain('\nspanmeter_test_nan NaN\n');
    expect(text + om).not.toMatch(/ Nan$/m);
  });
});
