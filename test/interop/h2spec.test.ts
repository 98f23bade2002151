// h2spec (github.com/summerwind/h2spec, pinned by interop/h2spec/go.mod and built by `npm run
// interop:build`), the HTTP/2 conformance tester, against the OTLP/gRPC receiver's plaintext port:
// its own HTTP/2 transport (src/net/h2c.ts, src/receivers/grpc-h2c.ts). All three sections
// (generic, http2: RFC 7540's sections, hpack: RFC 7541's) and the strict cases (-S). Every case
// must pass: none is excused.
//
// h2spec's requests are not gRPC calls: GET / (and POST / with DATA, without content-type). The
// receiver answers them as HTTP: 405 with Allow: POST to the GET, 415 to the POST, each with a
// text/plain explanation in DATA (RFC 9110 §15.5: a 4xx SHOULD carry one). Several cases need that
// body: they hold the answer's DATA behind a zero or one-octet flow-control window to keep the
// stream open (generic 2/2, 2/3, http2 5.1.2) or to watch how it is split (6.5.3, 6.9.1, 6.9.2),
// and h2spec skips the latter when GET / answers without DATA.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { h2specPath } from '../../interop/paths.mjs';
import { startSidecar, type Sidecar } from '../support/sidecar.js';

/** The cases h2spec 2.2.1 runs with `generic http2 hpack -S` (`h2spec generic http2 hpack -S --dryrun` lists 146). */
const CASES = 146;

interface Case {
  section: string;
  name: string;
  outcome: 'passed' | 'failed' | 'skipped';
  detail: string;
}

const unescape = (s: string): string =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** The test cases of h2spec's JUnit report (reporter/junit_report.go: testcase package/classname, error or skipped inside). */
function readReport(xml: string): Case[] {
  const cases: Case[] = [];
  for (const m of xml.matchAll(/<testcase package="([^"]*)" classname="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[3] ?? '';
    const outcome = /<(error|failure)\b/.test(body) ? 'failed' : /<skipped\b/.test(body) ? 'skipped' : 'passed';
    cases.push({ section: unescape(m[1]!), name: unescape(m[2]!), outcome, detail: unescape(body.replace(/<[^>]*>/g, '').trim()) });
  }
  return cases;
}

let sidecar: Sidecar | undefined;
let dir = '';
beforeAll(async () => {
  if (!existsSync(h2specPath())) {
    throw new Error(`h2spec is not built: ${h2specPath()} is missing; run \`npm run interop:build\` first (it needs Go)`);
  }
  dir = mkdtempSync(join(tmpdir(), 'spanmeter-h2spec-'));
  sidecar = await startSidecar({ grpc: true, label: 'h2spec' });
}, 60_000);
afterAll(async () => {
  await sidecar?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('h2spec: every generic, http2 and hpack case passes, strict ones included', async () => {
  const report = join(dir, 'junit.xml');
  const port = sidecar!.grpcEndpoint.split(':')[1]!;
  const run = await new Promise<{ code: number; out: string }>((resolve) => {
    // -o 10: a case waits up to 10 s for its frame (default 2; the run takes under a second when all pass)
    execFile(h2specPath(), ['generic', 'http2', 'hpack', '-S', '-o', '10', '-h', '127.0.0.1', '-p', port, '-j', report], { timeout: 240_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: stdout + stderr }));
  });
  expect(existsSync(report), `no JUnit report (h2spec exit ${run.code}):\n${run.out.slice(-4000)}`).toBe(true);
  const cases = readReport(readFileSync(report, 'utf8'));
  const notPassed = cases.filter((c) => c.outcome !== 'passed').map((c) => `${c.section} ${c.name}: ${c.outcome}\n${c.detail}`);
  expect(notPassed, run.out.slice(-4000)).toEqual([]);
  expect(cases.length).toBe(CASES);
  // h2spec exits 1 when a case failed (cmd/h2spec/h2spec.go)
  expect(run.code, run.out.slice(-4000)).toBe(0);
  // The receiver still serves after h2spec's connection errors.
  expect(sidecar!.alive()).toBe(true);
}, 300_000);
