// Where the interop peers live once built: one folder outside the clone, so that a rerun on the
// same machine (a second CI run, a later session) reuses the Go module and build caches, the
// Collector binary and the Python virtual environments.
//
//   SPANMETER_INTEROP_CACHE   the folder (default: $XDG_CACHE_HOME/spanmeter-interop, else
//                             ~/.cache/spanmeter-interop)
//
// Layout under it:
//   go/mod, go/build   GOMODCACHE and GOCACHE for the builder and the Collector build
//   otelcol/<key>/     the Collector built from interop/otelcol/manifest.yaml (key: its hash)
//   venv/<key>/        Python virtual environments (key: the requirements file's hash)
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The interop cache folder (see the header). */
export function interopCacheDir() {
  if (process.env.SPANMETER_INTEROP_CACHE) return process.env.SPANMETER_INTEROP_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'spanmeter-interop');
}
