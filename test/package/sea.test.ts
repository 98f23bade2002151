// The single executable (npm run build:sea → ./spanmeter): built here by sea/build.mjs from the
// current build unless ./spanmeter is newer than everything it is made of, then copied alone
// into an empty folder and run there: --version, --help, and a full run (OTLP in, /metrics out).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SAMPLE_JSON, SAMPLE_PB, readBytes } from '../abi/helpers.js';
import { CART_EDGE, FRONTEND_GET, exportGrpc, fetchMetricsText, postTraces, sampleValue, startExecutable } from './helpers.js';

const BINARY = join(ROOT, 'spanmeter');

/** Newest modification time of the files the binary is made of. */
function inputsTime(): number {
  const files = [join(ROOT, 'build/spanmeter.wasm'), join(ROOT, 'package.json'), process.execPath,
    ...readdirSync(join(ROOT, 'sea')).map((f) => join(ROOT, 'sea', f))];
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
  files.push(...walk(join(ROOT, 'dist/src')));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

describe('the single executable', () => {
  let dir: string;
  let exe: string;
  const env = { PATH: '/usr/bin:/bin', HOME: '/nonexistent' }; // no NODE_OPTIONS, no NODE_PATH, no SPANMETER_*

  beforeAll(() => {
    for (const f of ['dist/src/cli.js', 'build/spanmeter.wasm']) {
      if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run npm run build first (npm test does)`);
    }
    if (!existsSync(BINARY) || statSync(BINARY).mtimeMs < inputsTime()) {
      execFileSync(process.execPath, [join(ROOT, 'sea/build.mjs')], { cwd: ROOT, stdio: 'pipe' });
    }
    dir = mkdtempSync(join(tmpdir(), 'spanmeter-sea-'));
    exe = join(dir, 'spanmeter');
    copyFileSync(BINARY, exe);
    execFileSync('chmod', ['755', exe]);
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is one file holding node, the sidecar and the WASM core', () => {
    expect(readdirSync(dir)).toEqual(['spanmeter']);
    const size = statSync(exe).size;
    expect(size).toBeGreaterThan(statSync(process.execPath).size);
    expect(readFileSync(exe).includes(readFileSync(join(ROOT, 'build/spanmeter.wasm')))).toBe(true);
  });

  it('--version and --help, from an empty folder', () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    expect(execFileSync(exe, ['--version'], { cwd: dir, env, encoding: 'utf8' })).toBe(`spanmeter ${version}\n`);
    expect(execFileSync(exe, ['--help'], { cwd: dir, env, encoding: 'utf8' })).toContain('Usage:');
  });

  it('a full run: OTLP/HTTP (protobuf, JSON) and OTLP/gRPC in, /metrics out, clean exit on SIGTERM', async () => {
    const s = await startExecutable(exe, [], dir, env);
    try {
      expect((await postTraces(s, readBytes(SAMPLE_PB), 'application/x-protobuf')).status).toBe(200);
      expect((await postTraces(s, readFileSync(SAMPLE_JSON, 'utf8'), 'application/json')).status).toBe(200);
      expect(await exportGrpc(s.grpcEndpoint, readBytes(SAMPLE_PB))).toBe(null);
      expect((await postTraces(s, new Uint8Array([0x0a, 0x05, 0x01]), 'application/x-protobuf')).status).toBe(400);
      const { text } = await fetchMetricsText(s);
      expect(sampleValue(text, 'traces_spanmetrics_calls_total', FRONTEND_GET)).toBe(6);
      expect(sampleValue(text, 'traces_spanmetrics_latency_bucket', `${FRONTEND_GET},le="0.004"`)).toBe(3);
      expect(sampleValue(text, 'traces_service_graph_request_total', CART_EDGE)).toBe(3);
      expect(text).toContain('spanmeter_wasm_memory_bytes');
      expect(s.output()).toContain('"version":"');
      expect(s.output()).not.toContain('ExperimentalWarning');
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});
