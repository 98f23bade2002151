// `npm run interop:build`: builds the peers that the interop tests (test/interop/) run beside
// spanmeter, into the interop cache folder (interop/paths.mjs), and ends with three lines:
//
//   otelcol: <absolute path of the Collector binary>
//   h2spec: <absolute path of h2spec>
//   tempo-oracle: unavailable (<why>)
//
// The Collector: the Collector's own builder, installed with `go install` at BUILDER_VERSION,
// builds interop/otelcol/manifest.yaml. Go's module and build caches live in the cache folder
// (go/mod, go/build), and the binary in otelcol/<key>/, key = hash of the manifest and the builder
// version (paths.mjs): a rerun with an unchanged manifest only checks that the file is there.
// A cold build downloads a few hundred modules and compiles the Collector: minutes on 2 cores.
//
// h2spec (test/interop/h2spec.test.ts): built from interop/h2spec, a Go module whose go.mod and
// go.sum pin it and its dependencies (h2spec's own release has no go.mod, so `go install
// ...@version` would take their newest releases); a few seconds once the Collector's build has
// filled the caches.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  OTELCOL_BUILDER_MODULE as BUILDER_MODULE, OTELCOL_BUILDER_VERSION as BUILDER_VERSION,
  h2specModuleDir, h2specPath, h2specVersion, interopCacheDir, otelcolBinaryName, otelcolBuildDir,
  otelcolManifestPath as manifestPath,
} from './paths.mjs';

/** Why there is no Tempo oracle (issue 16 asks for one; the workplace forbids the module). */
export const TEMPO_ORACLE_UNAVAILABLE =
  'github.com/grafana/tempo is AGPL-3.0 and may not be used as a dependency on this project\'s ' +
  'machines; Tempo\'s behaviour is checked through the conformance pack\'s Tempo cases';

const started = Date.now();

function log(msg) {
  const s = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  console.log(`[interop:build ${s}s] ${msg}`);
}

function fail(msg) {
  console.error(`interop:build: ${msg}`);
  process.exit(1);
}

/** Go's environment for every step: module and build caches inside the interop cache folder. */
function goEnv(cache) {
  return {
    ...process.env,
    GOMODCACHE: join(cache, 'go', 'mod'),
    GOCACHE: join(cache, 'go', 'build'),
    // keep what `go env -w` set (e.g. -buildvcs=false) and let the cache be removed with rm -rf
    GOFLAGS: [spawnSync('go', ['env', 'GOFLAGS'], { encoding: 'utf8' }).stdout?.trim() ?? '', '-modcacherw'].join(' ').trim(),
  };
}

/** Runs a command, streaming its output line by line behind a prefix; rejects on failure. */
function run(cmd, args, opts, prefix) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const pipe = (stream) => {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          console.log(`  ${prefix}| ${line}`);
          tail = (tail + line + '\n').slice(-8000);
        }
      });
      stream.on('end', () => { if (buf) console.log(`  ${prefix}| ${buf}`); });
    };
    pipe(child.stdout);
    pipe(child.stderr);
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${signal ?? code}\n${tail}`));
    });
  });
}

async function buildOtelcol(cache) {
  const goVersion = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (goVersion.error || goVersion.status !== 0) {
    fail('`go` is not on PATH: the Collector is built with Go (1.24 or newer). Install Go and rerun.');
  }
  log(goVersion.stdout.trim());
  const dir = otelcolBuildDir();
  const binary = join(dir, 'dist', otelcolBinaryName);
  if (existsSync(binary)) {
    log(`Collector already built for this manifest: ${binary}`);
    return binary;
  }
  const env = goEnv(cache);

  const builderBin = join(cache, 'go', 'bin', `builder-${BUILDER_VERSION}`);
  const builder = join(builderBin, 'builder');
  if (!existsSync(builder)) {
    log(`installing the Collector builder ${BUILDER_MODULE}@${BUILDER_VERSION}`);
    mkdirSync(builderBin, { recursive: true });
    await run('go', ['install', `${BUILDER_MODULE}@${BUILDER_VERSION}`],
      { env: { ...env, GOBIN: builderBin } }, 'go install');
  }
  log(`builder: ${builder}`);

  // Build in a scratch folder and rename it at the end, so that a build cut short never leaves
  // a folder that looks finished.
  const scratch = `${dir}.tmp-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  log(`building the Collector from ${manifestPath} in ${scratch} (cold: several minutes)`);
  await run(builder, ['--config', manifestPath], { cwd: scratch, env }, 'builder');
  if (!existsSync(join(scratch, 'dist', otelcolBinaryName))) {
    fail(`the builder finished but ${join(scratch, 'dist', otelcolBinaryName)} is missing`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(scratch, dir);
  log(`built ${binary}`);
  return binary;
}

async function buildH2spec(cache) {
  const binary = h2specPath();
  if (existsSync(binary)) {
    log(`h2spec already built: ${binary}`);
    return binary;
  }
  const version = h2specVersion();
  const scratch = `${dirname(binary)}.tmp-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  log(`building h2spec ${version} from ${h2specModuleDir}`);
  // -X main.VERSION: what `h2spec --version` prints (its release builds set it so)
  await run('go', ['build', '-buildvcs=false', '-o', join(scratch, 'h2spec'),
    '-ldflags', `-X main.VERSION=${version.replace(/^v|\+incompatible$/g, '')}`, 'github.com/summerwind/h2spec/cmd/h2spec'],
  { cwd: h2specModuleDir, env: goEnv(cache) }, 'go build');
  rmSync(dirname(binary), { recursive: true, force: true });
  renameSync(scratch, dirname(binary));
  log(`built ${binary}`);
  return binary;
}

const cache = interopCacheDir();
log(`cache folder: ${cache}`);
mkdirSync(cache, { recursive: true });
let otelcol;
try {
  otelcol = await buildOtelcol(cache);
} catch (e) {
  fail(`building the Collector failed: ${e.message}`);
}
const version = spawnSync(otelcol, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) fail(`${otelcol} --version failed: ${version.stderr || version.error}`);
log(version.stdout.trim());
let h2spec;
try {
  h2spec = await buildH2spec(cache);
} catch (e) {
  fail(`building h2spec failed: ${e.message}`);
}
const h2specVersionOut = spawnSync(h2spec, ['--version'], { encoding: 'utf8' });
if (h2specVersionOut.status !== 0) fail(`${h2spec} --version failed: ${h2specVersionOut.stderr || h2specVersionOut.error}`);
log(`h2spec ${h2specVersionOut.stdout.trim()}`);
console.log(`otelcol: ${otelcol}`);
console.log(`h2spec: ${h2spec}`);
console.log(`tempo-oracle: unavailable (${TEMPO_ORACLE_UNAVAILABLE})`);
