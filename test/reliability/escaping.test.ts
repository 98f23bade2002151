// Hostile label values cannot forge a series or a line in the exposition (text 0.0.4 and
// OpenMetrics): the parsed series set is exactly the one sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, postTraces, type Sidecar } from '../support/sidecar.js';
import { encodeRequest } from '../support/otlp-input.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { requestMsg } from './helpers.js';

const HOSTILE_NAMES = [
  'x} 1\nforged_metric 1',
  'quote " inside',
  'back\\slash',
  'new\nline',
  'brace } and # hash',
  '# HELP forged_metric x\n# TYPE forged_metric counter',
  'end\\',
  '"} 1\nforged_metric{a="b"} 2\n#',
];
const HOSTILE_SERVICE = 'svc"} 9\nforged_service 1';

let sidecar: Sidecar;
beforeAll(async () => {
  sidecar = await startSidecar({ label: 'escaping', config: { log_level: 'error' } });
  for (const name of HOSTILE_NAMES) {
    const r = await postTraces(sidecar, encodeRequest(requestMsg(HOSTILE_SERVICE, 2, name)), 'application/x-protobuf');
    expect(r.status).toBe(200);
  }
}, 30_000);
afterAll(async () => {
  await sidecar?.stop();
});

describe('exposition escaping', () => {
  for (const [format, accept] of [
    ['text 0.0.4', 'text/plain;version=0.0.4'],
    ['OpenMetrics', 'application/openmetrics-text;version=1.0.0'],
  ] as const) {
    it(`${format}: the series are exactly those sent, no forged family or line`, async () => {
      const res = await fetch(`${sidecar.httpUrl}/metrics`, { headers: { Accept: accept } });
      expect(res.status).toBe(200);
      let text = await res.text();
      if (format === 'OpenMetrics') {
        expect(text.endsWith('# EOF\n')).toBe(true);
        // exemplars (` # {trace_id=...} v ts`) are not part of the series; drop them for the 0.0.4 parser
        text = text.replace(/ # \{[^}\n]*\} [^\n]*$/gm, '').replace(/^# EOF\n$/m, '');
      }
      const expo = parsePrometheusText(text);
      expect([...expo.families.keys()].filter((f) => f.includes('forged'))).toEqual([]);
      expect(expo.samples.filter((s) => s.name.includes('forged'))).toEqual([]);
      const calls = expo.samples.filter((s) => s.family === 'traces_spanmetrics_calls' || s.name === 'traces_spanmetrics_calls_total');
      expect(calls.map((s) => s.labels.span_name).sort()).toEqual([...HOSTILE_NAMES].sort());
      for (const s of calls) {
        expect(s.labels.service).toBe(HOSTILE_SERVICE);
        expect(s.value).toBe(2);
      }
      // every line is a comment or a sample of a known family
      for (const line of text.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        expect(line).toMatch(/^(traces_spanmetrics_|spanmeter_|process_|nodejs_)/);
      }
    });
  }
});
