// Where the interop peers live once built: one folder outside the clone, so that a rerun on the
// same machine (a second CI run, a later session) reuses the Go module and build caches, the
// Collector binary and the Python virtual environments.
//
//   SPANMETER_INTEROP_CACHE   the folder (default: $XDG_CACHE_HOME/spanmeter-interop, else
//                             ~/.cache/spanmeter-interop)
//
// Layout under it:
//   go/mod, go/build   GOMODCACHE and GOCACHE for the builder and the Collector build
//   go/bin/builder-<version>/  the Collector's builder (go install)
//   otelcol/<key>/     the Collector built from interop/otelcol/manifest.yaml (key: a hash of the
//                      manifest and the builder version), binary dist/otelcol-spanmeter
//   venv/<key>/        Python virtual environments (key: the requirements file's hash)
//   go/bin/h2spec-<key>/h2spec  h2spec, the HTTP/2 conformance tester, built from interop/h2spec
//                      (key: a hash of its go.mod and go.sum, which pin it and its dependencies)
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Collector builder's release: the same one as every module in interop/otelcol/manifest.yaml. */
export const OTELCOL_BUILDER_VERSION = 'v0.141.0';
/** The Collector builder's Go package. */
export const OTELCOL_BUILDER_MODULE = 'go.opentelemetry.io/collector/cmd/builder';
/** dist.name in the manifest: the binary's file name. */
export const otelcolBinaryName = 'otelcol-spanmeter';
/** The builder manifest. */
export const otelcolManifestPath = join(dirname(fileURLToPath(import.meta.url)), 'otelcol', 'manifest.yaml');

/** The interop cache folder (see the header). */
export function interopCacheDir() {
  if (process.env.SPANMETER_INTEROP_CACHE) return process.env.SPANMETER_INTEROP_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'spanmeter-interop');
}

/** The folder the Collector of the current manifest is built into (its binary: dist/<name>). */
export function otelcolBuildDir() {
  const key = createHash('sha256')
    .update(readFileSync(otelcolManifestPath)).update('\0' + OTELCOL_BUILDER_VERSION)
    .digest('hex').slice(0, 16);
  return join(interopCacheDir(), 'otelcol', key);
}

/** Where `npm run interop:build` puts the Collector binary (it may not be there yet). */
export function otelcolBinaryPath() {
  return join(otelcolBuildDir(), 'dist', otelcolBinaryName);
}

/** The Go module that pins h2spec (go.mod, go.sum): `npm run interop:build` builds its tool from it. */
export const h2specModuleDir = join(dirname(fileURLToPath(import.meta.url)), 'h2spec');

/** h2spec's version, as interop/h2spec/go.mod requires it (e.g. v2.2.1+incompatible). */
export function h2specVersion() {
  const m = /^\s*github\.com\/summerwind\/h2spec (v\S+)/m.exec(readFileSync(join(h2specModuleDir, 'go.mod'), 'utf8'));
  if (!m) throw new Error(`${join(h2specModuleDir, 'go.mod')} does not require github.com/summerwind/h2spec`);
  return m[1];
}

/** Where `npm run interop:build` puts h2spec (it may not be there yet). */
export function h2specPath() {
  const hash = createHash('sha256');
  for (const f of readdirSync(h2specModuleDir).sort()) hash.update(f + '\0').update(readFileSync(join(h2specModuleDir, f)));
  return join(interopCacheDir(), 'go', 'bin', `h2spec-${hash.digest('hex').slice(0, 16)}`, 'h2spec');
}
