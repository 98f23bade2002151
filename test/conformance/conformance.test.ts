// Runs every case of the conformance pack (../shared/conformance/cases/*.yaml, read in place)
// against the real sidecar, as the pack README's "How a case runs" says:
//   1. one sidecar per case: the case's config + otlp {http_endpoint, grpc_endpoint: ""} and
//      http_endpoint on free loopback ports; wait for GET /healthz 200 (20 s at most);
//   2. each input, converted to a canonical-protobuf ExportTraceServiceRequest, POSTed in order
//      to /v1/traces as application/x-protobuf; any non-2xx answer fails the case;
//   3. after wait_seconds, GET /metrics (Accept: text/plain;version=0.0.4), parsed strictly and
//      checked: expect, absent, exhaustive, duplicates, under the pack's label rules.
// One vitest test per case, named after the case; a failure lists every failed check.
// A second block runs the span-metrics cases (sm-*) again with OTLP/JSON bodies.
//
// SPANMETER_CONFORMANCE_DIR points at another pack.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, test } from 'vitest';
import { checkMetrics, loadCases, PACK_DIR, WITH_PACK, type ConformanceCase } from '../support/conformance.js';
import { loadInput } from '../support/otlp-input.js';
import { fetchMetricsText, postTraces, sleep, startSidecar } from '../support/sidecar.js';

type Encoding = 'protobuf' | 'json';

const DUMP_DIR = join(tmpdir(), 'spanmeter-conformance');

let cases: ConformanceCase[] = [];
let loadError: Error | undefined;
try {
  // Without the pack (and not required: support/conformance.ts WITH_PACK) there is no case to run.
  if (WITH_PACK) cases = loadCases();
} catch (e) {
  loadError = e as Error;
}

const results: { name: string; failures: string[] }[] = [];

/** Runs one case; returns the failed checks and, when any failed, where to look. */
async function runCase(c: ConformanceCase, encoding: Encoding): Promise<{ failures: string[]; info: string }> {
  const failures: string[] = [];
  let info = '';
  const bodies = c.inputs.map((f) => {
    const input = loadInput(join(PACK_DIR, 'inputs', f));
    return { file: f, body: encoding === 'protobuf' ? input.protobuf : input.json };
  });
  const contentType = encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json';
  const sidecar = await startSidecar({ config: c.config, label: c.name });
  let metricsText = '';
  try {
    for (const { file, body } of bodies) {
      const res = await postTraces(sidecar, body, contentType);
      if (res.status < 200 || res.status >= 300) {
        failures.push(`POST ${file} (${contentType}): status ${res.status}: ${res.text.slice(0, 300)}`);
      }
    }
    await sleep(c.wait_seconds * 1000);
    if (!sidecar.alive()) {
      failures.push('the sidecar exited before GET /metrics');
      return { failures, info: `sidecar output:\n${sidecar.output()}` };
    }
    const got = await fetchMetricsText(sidecar);
    metricsText = got.text;
    if (!/^text\/plain\b/.test(got.contentType) || !/version=0\.0\.4/.test(got.contentType)) {
      failures.push(`GET /metrics with Accept: text/plain;version=0.0.4 answered Content-Type ${JSON.stringify(got.contentType)}`);
    }
    failures.push(...checkMetrics(c, metricsText).failures);
  } finally {
    await sidecar.stop();
  }
  if (failures.length > 0 && metricsText !== '') {
    mkdirSync(DUMP_DIR, { recursive: true });
    const dump = join(DUMP_DIR, `${c.name}.${encoding}.metrics.txt`);
    writeFileSync(dump, metricsText);
    info = `the /metrics text is in ${dump}; sidecar output (tail):\n${sidecar.output().slice(-2000)}`;
  }
  return { failures, info };
}

function defineCase(c: ConformanceCase, encoding: Encoding): void {
  const timeoutMs = (c.wait_seconds + 40) * 1000;
  test(
    c.name,
    async () => {
      let failures: string[];
      let info = '';
      try {
        ({ failures, info } = await runCase(c, encoding));
      } catch (e) {
        failures = [`could not run: ${(e as Error).message}`];
      }
      results.push({ name: encoding === 'protobuf' ? c.name : `${c.name} (json)`, failures });
      if (failures.length > 0) {
        throw new Error(`${c.name}: ${failures.length} failed check(s)\n  - ${failures.join('\n  - ')}\n${info}`);
      }
    },
    timeoutMs,
  );
}

describe('conformance (OTLP/HTTP protobuf)', () => {
  if (!WITH_PACK) test.skip(`the cases of the conformance pack (not found at ${PACK_DIR})`, () => {});
  if (loadError) {
    test('load the conformance pack', () => {
      throw loadError;
    });
  }
  for (const c of cases) defineCase(c, 'protobuf');
});

describe('conformance (OTLP/HTTP JSON, span-metrics cases)', () => {
  if (!WITH_PACK) test.skip(`the sm-* cases of the conformance pack (not found at ${PACK_DIR})`, () => {});
  for (const c of cases.filter((x) => x.name.startsWith('sm-'))) defineCase(c, 'json');
});

afterAll(() => {
  // The pack README's result format: one line per failed check, then N passed, M failed.
  const lines: string[] = [];
  for (const r of results) for (const f of r.failures) lines.push(`${r.name}: ${f.split('\n')[0]}`);
  const failed = results.filter((r) => r.failures.length > 0).length;
  lines.push(`conformance: ${results.length - failed} passed, ${failed} failed`);
  console.log(`conformance summary:\n${lines.join('\n')}`);
});
