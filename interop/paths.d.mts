/** The interop cache folder: SPANMETER_INTEROP_CACHE, else $XDG_CACHE_HOME or ~/.cache, + spanmeter-interop. */
export function interopCacheDir(): string;
/** The Collector builder's release (the manifest's modules are all at it). */
export const OTELCOL_BUILDER_VERSION: string;
/** The Collector builder's Go package. */
export const OTELCOL_BUILDER_MODULE: string;
/** The Collector binary's file name (dist.name in the manifest). */
export const otelcolBinaryName: string;
/** Absolute path of interop/otelcol/manifest.yaml. */
export const otelcolManifestPath: string;
/** The folder the Collector of the current manifest is built into. */
export function otelcolBuildDir(): string;
/** Where `npm run interop:build` puts the Collector binary (it may not be there yet). */
export function otelcolBinaryPath(): string;
/** Absolute path of interop/h2spec, the Go module that pins h2spec. */
export const h2specModuleDir: string;
/** h2spec's version as interop/h2spec/go.mod requires it. */
export function h2specVersion(): string;
/** Where `npm run interop:build` puts h2spec (it may not be there yet). */
export function h2specPath(): string;
