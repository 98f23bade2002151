// spanmeter's version, from package.json (or, in the single executable, defined by its bundler).
import { readFileSync } from 'node:fs';

// The single executable (sea/build.mjs) has no package.json beside it: its bundler defines this.
declare const SPANMETER_BUNDLED_VERSION: string | undefined;

export function packageVersion(): string {
  if (typeof SPANMETER_BUNDLED_VERSION === 'string') return SPANMETER_BUNDLED_VERSION;
  const pkg = new URL(import.meta.url.includes('/dist/src/') ? '../../package.json' : '../package.json', import.meta.url);
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}
