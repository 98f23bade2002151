import { ConfigError } from '../../src/config/errors.js';
import { loadConfig, type LoadOptions } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';

/** loadConfig with in-memory files; `files` maps path → YAML text. */
export function load(
  argv: string[] = [],
  env: NodeJS.ProcessEnv = {},
  files: Record<string, string> = {},
): { config: Config; warnings: string[]; configFile: string | undefined } {
  const r = loadConfig({ argv, env, readFile: fakeReader(files) });
  if (r.action !== 'run') throw new Error(`expected action run, got ${r.action}`);
  return r;
}

export function fakeReader(files: Record<string, string>): LoadOptions['readFile'] {
  return (path: string) => {
    if (!Object.hasOwn(files, path)) {
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
    }
    return files[path]!;
  };
}

/** Loads `yaml` as the config file c.yaml and returns the error message (fails if it loads). */
export function fileError(yaml: string): string {
  return errorOf(['--config', 'c.yaml'], {}, { 'c.yaml': yaml });
}

export function errorOf(argv: string[], env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}): string {
  try {
    loadConfig({ argv, env, readFile: fakeReader(files) });
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}
