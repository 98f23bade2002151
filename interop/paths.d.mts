/** The interop cache folder: SPANMETER_INTEROP_CACHE, else $XDG_CACHE_HOME or ~/.cache, + spanmeter-interop. */
export function interopCacheDir(): string;
