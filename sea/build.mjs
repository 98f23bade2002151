// Builds the sidecar as one executable file with Node's single executable application (SEA)
// support. Run it through `npm run build:sea` (which runs `npm run build` first):
//
//   1. rolldown bundles sea/main.mjs (→ dist/src/cli.js and every package it imports) into one
//      CommonJS file, build/sea/spanmeter.cjs: a SEA runs one script and can require() only
//      Node's built-in modules. The package version is compiled in (no package.json beside it).
//   2. `node --experimental-sea-config build/sea/sea-config.json` writes the blob: that script plus
//      build/spanmeter.wasm as the asset "spanmeter.wasm" (read with node:sea getAsset), and the
//      OTLP/JSON converter's worker bundled alone as the asset "json-worker.cjs".
//   3. The running node binary is copied to the output and postject injects the blob as the
//      NODE_SEA_BLOB resource, flipping the SEA fuse.
//
// Usage: node sea/build.mjs [--out PATH]    (default ./spanmeter)
// The result runs on machines like this one (same OS and architecture, and the shared libraries
// the copied node binary links: libc, libstdc++), with no Node.js or node_modules installed.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';
import { inject } from 'postject';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'build', 'sea');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const outArg = process.argv.indexOf('--out');
const out = resolve(outArg >= 0 ? process.argv[outArg + 1] : join(ROOT, 'spanmeter'));

function fail(message) {
  process.stderr.write(`build:sea: ${message}\n`);
  process.exit(1);
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 12)) fail(`needs Node.js 20.12 or later (SEA assets), this is ${process.version}`);
for (const f of ['dist/src/cli.js', 'dist/src/core/wasm.js', 'build/spanmeter.wasm']) {
  if (!existsSync(join(ROOT, f))) fail(`${f} is missing: run npm run build first (npm run build:sea does)`);
}
if (!readFileSync(process.execPath).includes(FUSE)) fail(`${process.execPath} was built without single executable application support`);

const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });

// 1. One CommonJS script.
const bundlePath = join(WORK, 'spanmeter.cjs');
const bundle = await rolldown({
  input: join(ROOT, 'sea', 'main.mjs'),
  platform: 'node',
  transform: { define: { SPANMETER_BUNDLED_VERSION: JSON.stringify(version) } },
  logLevel: 'warn',
});
await bundle.write({ file: bundlePath, format: 'cjs', codeSplitting: false });
await bundle.close();

// 1b. The OTLP/JSON converter's worker thread (src/otlp/json-converter.ts) as a script of its
// own: a SEA cannot start a worker from a file, so it is stored as the asset json-worker.cjs and
// started with eval.
const workerPath = join(WORK, 'json-worker.cjs');
const workerBundle = await rolldown({ input: join(ROOT, 'dist', 'src', 'otlp', 'json-worker.js'), platform: 'node', logLevel: 'warn' });
await workerBundle.write({ file: workerPath, format: 'cjs', codeSplitting: false });
await workerBundle.close();

// 2. The blob.
const blobPath = join(WORK, 'spanmeter.blob');
const seaConfig = {
  main: bundlePath,
  output: blobPath,
  disableExperimentalSEAWarning: true,
  useCodeCache: true,
  assets: { 'spanmeter.wasm': join(ROOT, 'build', 'spanmeter.wasm'), 'json-worker.cjs': workerPath },
};
writeFileSync(join(WORK, 'sea-config.json'), `${JSON.stringify(seaConfig, null, 2)}\n`);
execFileSync(process.execPath, ['--experimental-sea-config', join(WORK, 'sea-config.json')], { stdio: 'inherit' });

// 3. node + blob.
rmSync(out, { force: true });
copyFileSync(process.execPath, out);
chmodSync(out, 0o755);
// postject's ELF reader (LIEF) warns about note sections of the node binary it need not touch: hush those.
const warn = console.warn;
console.warn = (...args) => {
  if (!/^warning: Can't find string offset for section name/.test(String(args[0]))) warn(...args);
};
try {
  await inject(out, 'NODE_SEA_BLOB', readFileSync(blobPath), { sentinelFuse: FUSE });
} finally {
  console.warn = warn;
}

// A smoke test: a require() of anything but a built-in module left in the bundle fails here.
const said = execFileSync(out, ['--version'], { encoding: 'utf8' }).trim();
if (said !== `spanmeter ${version}`) fail(`${out} --version said ${JSON.stringify(said)}`);

const mib = (p) => `${(statSync(p).size / 1048576).toFixed(1)} MiB`;
const kib = (p) => `${(statSync(p).size / 1024).toFixed(1)} KiB`;
process.stdout.write(
  `build:sea: ${relative(process.cwd(), out) || out} ${mib(out)} (node ${process.version} ${mib(process.execPath)}, ` +
    `script ${kib(bundlePath)}, build/spanmeter.wasm ${kib(join(ROOT, 'build', 'spanmeter.wasm'))})\n`,
);
