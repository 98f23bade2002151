// The npm package: `npm pack` gives a tarball that installs into an empty folder and runs there:
// `npx spanmeter --help`, a short end-to-end run of the installed sidecar, the library entry
// (`import { Spanmeter } from 'spanmeter'`, with its types) and `spanmeter/wasm`.
//
// The tarball is packed from the current build (npm pack --ignore-scripts): `npm test` builds
// first; packing with scripts would run `prepare` (a full rebuild) under the other test files.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SAMPLE_JSON, SAMPLE_PB, readBytes } from '../abi/helpers.js';
import { CART_EDGE, FRONTEND_GET, childEnv, exportGrpc, fetchMetricsText, postTraces, sampleValue, startExecutable } from './helpers.js';

const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

describe('npm pack → npm install in an empty folder', () => {
  let dir: string;
  let app: string;
  let files: string[];

  beforeAll(() => {
    for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli.js', 'build/spanmeter.wasm', 'build/spanmeter.debug.wasm']) {
      if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run npm run build first (npm test does)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'spanmeter-pack-'));
    const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT, encoding: 'utf8', env: childEnv(),
    })) as [{ filename: string; files: { path: string }[] }];
    files = packed[0].files.map((f) => f.path);
    app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    execFileSync('npm', ['install', ...NPM_FLAGS, join(dir, packed[0].filename)], { cwd: app, env: childEnv(), stdio: 'pipe' });
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the tarball holds the built host, both .wasm files, the bin, docs and examples, and no sources or tests', () => {
    for (const f of ['package.json', 'README.md', 'bin/spanmeter.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli.js',
      'dist/src/core/wasm.js', 'build/spanmeter.wasm', 'build/spanmeter.debug.wasm', 'docs/abi.md', 'examples/embed.mjs', 'examples/embed.html']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|assembly|bench|sea)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it('npx spanmeter --help and --version', () => {
    const help = execFileSync('npx', ['--no-install', 'spanmeter', '--help'], { cwd: app, encoding: 'utf8', env: childEnv() });
    expect(help).toContain('Usage:');
    expect(help).toContain('--otlp.http-endpoint');
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    expect(execFileSync('npx', ['--no-install', 'spanmeter', '--version'], { cwd: app, encoding: 'utf8', env: childEnv() }).trim())
      .toBe(`spanmeter ${version}`);
  });

  it('the installed sidecar: OTLP/HTTP (protobuf, JSON) and OTLP/gRPC in, /metrics out', async () => {
    const s = await startExecutable(join(app, 'node_modules/.bin/spanmeter'), [], app);
    try {
      expect((await postTraces(s, readBytes(SAMPLE_PB), 'application/x-protobuf')).status).toBe(200);
      expect((await postTraces(s, readFileSync(SAMPLE_JSON, 'utf8'), 'application/json')).status).toBe(200);
      expect(await exportGrpc(s.grpcEndpoint, readBytes(SAMPLE_PB))).toBe(null);
      const { text } = await fetchMetricsText(s);
      expect(sampleValue(text, 'traces_spanmetrics_calls_total', FRONTEND_GET)).toBe(6);
      expect(sampleValue(text, 'traces_spanmetrics_latency_bucket', `${FRONTEND_GET},le="0.004"`)).toBe(3);
      expect(sampleValue(text, 'traces_service_graph_request_total', CART_EDGE)).toBe(3);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  it('import { Spanmeter } from "spanmeter" in the consumer, and spanmeter/wasm resolves to the release core', () => {
    writeFileSync(join(app, 'use.mjs'), `
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Spanmeter, defaultConfig } from 'spanmeter';
const meter = await Spanmeter.create({ processors: ['span-metrics', 'service-graphs'] });
const r = meter.ingestJson(readFileSync(process.argv[2], 'utf8'));
const bad = meter.ingest(new Uint8Array([0x0a, 0x05, 0x01]));
const wasm = fileURLToPath(import.meta.resolve('spanmeter/wasm'));
const debug = fileURLToPath(import.meta.resolve('spanmeter/wasm/debug'));
const module = new WebAssembly.Module(readFileSync(wasm));
console.log(JSON.stringify({
  r, bad, wasm, debug, version: (await import('spanmeter/package.json', { with: { type: 'json' } })).default.version,
  exports: WebAssembly.Module.exports(module).length, buckets: defaultConfig().processor.span_metrics.histogram_buckets.length,
  metrics: meter.metrics(), openmetrics: meter.metrics('openmetrics').endsWith('# EOF\\n'),
}));
`);
    const out = JSON.parse(execFileSync(process.execPath, ['use.mjs', SAMPLE_JSON], { cwd: app, encoding: 'utf8', env: childEnv() }));
    expect(out.r).toEqual({ ok: true, spans: 6 });
    expect(out.bad.ok).toBe(false);
    expect(out.bad.reason).toMatch(/^invalid protobuf: /);
    expect(out.wasm).toBe(join(app, 'node_modules/spanmeter/build/spanmeter.wasm'));
    expect(out.debug).toBe(join(app, 'node_modules/spanmeter/build/spanmeter.debug.wasm'));
    expect(out.exports).toBeGreaterThan(20);
    expect(out.buckets).toBe(14);
    expect(out.openmetrics).toBe(true);
    expect(sampleValue(out.metrics, 'traces_spanmetrics_calls_total', FRONTEND_GET)).toBe(2);
    expect(sampleValue(out.metrics, 'traces_service_graph_request_failed_total', CART_EDGE)).toBe(1);
  });

  it('the package types check in a TypeScript consumer', () => {
    writeFileSync(join(app, 'use.ts'), `
import { Spanmeter, ConfigError, type SpanmeterConfig, type IngestResult } from 'spanmeter';
const config: SpanmeterConfig = { processor: { span_metrics: { dimensions: ['http.route'] } }, registry: { stale_duration: '5m' } };
const meter: Spanmeter = await Spanmeter.create(config, { build: 'release' });
const r: IngestResult = meter.ingest(new Uint8Array());
const text: string = meter.metrics('openmetrics');
const e: ConfigError | undefined = undefined;
// @ts-expect-error: unknown format
meter.metrics('json');
export { r, text, e };
`);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')],
      },
      files: ['use.ts'],
    }));
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
  });
});
