// The config type (src/config/types.ts), its key table (keys.ts), its defaults (defaults.ts) and
// the in-process subset (src/index.ts) and the flags (flags.ts) are tied by their types: a key
// added to one and forgotten in another must not compile. `npm run build` (the first step of `npm test`) compiles src/, so a
// real drift fails there; this test shows the tie exists. It compiles the real files with the
// TypeScript compiler, each time with one drift made in memory, and expects tsc to refuse it at
// the place that was forgotten. The expected messages are tsc's own (TS2741 "Property … is
// missing", TS2353 "Object literal may only specify known properties", TS2322 "not assignable").
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TYPES = join(ROOT, 'src/config/types.ts');
const KEYS = join(ROOT, 'src/config/keys.ts');
const DEFAULTS = join(ROOT, 'src/config/defaults.ts');
const INDEX = join(ROOT, 'src/index.ts');
const WATCHED = [TYPES, KEYS, DEFAULTS, INDEX, join(ROOT, 'src/config')];

const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
});
const options: ts.CompilerOptions = { ...parsed!.options, noEmit: true };
const cache = new Map<string, ts.SourceFile>();
let previous: ts.Program | undefined;

interface Drift {
  file: string;
  /** Text that occurs once in `file`. */
  find: string;
  replace: string;
}

/** tsc's errors in the config files and src/index.ts, as "file: message", with `drift` applied. */
function configErrors(drift?: Drift): string[] {
  const host = ts.createCompilerHost(options);
  host.getSourceFile = (fileName, language) => {
    const path = resolve(fileName);
    if (drift && path === drift.file) {
      const text = ts.sys.readFile(path)!;
      const at = text.indexOf(drift.find);
      if (at < 0 || text.indexOf(drift.find, at + 1) >= 0) throw new Error(`${drift.find} must occur once in ${path}`);
      return ts.createSourceFile(path, text.replace(drift.find, drift.replace), language);
    }
    let sf = cache.get(path);
    if (!sf) {
      sf = ts.createSourceFile(path, ts.sys.readFile(path) ?? '', language);
      cache.set(path, sf);
    }
    return sf;
  };
  previous = ts.createProgram({ rootNames: [KEYS, DEFAULTS, INDEX], options, host, oldProgram: previous });
  return ts
    .getPreEmitDiagnostics(previous)
    .filter((d) => d.file && WATCHED.some((w) => resolve(d.file!.fileName).startsWith(w)))
    .map((d) => `${resolve(d.file!.fileName).slice(ROOT.length + 1)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

describe('config type, keys and defaults are tied (tsc refuses a drift)', () => {
  it('as committed: no errors', { timeout: 60_000 }, () => {
    expect(configErrors()).toEqual([]);
  });

  it('a key added to Config alone: keys.ts and defaults.ts miss it', { timeout: 60_000 }, () => {
    const errors = configErrors({ file: TYPES, find: '  slos: SloConfig[];', replace: '  new_key: string;\n  slos: SloConfig[];' });
    expect(errors.filter((e) => e.startsWith('src/config/keys.ts') && e.includes("Property 'new_key' is missing"))).toHaveLength(1);
    expect(errors.filter((e) => e.startsWith('src/config/defaults.ts') && e.includes("Property 'new_key' is missing"))).toHaveLength(1);
  });

  it('a key added to the key table alone is refused', { timeout: 60_000 }, () => {
    const errors = configErrors({ file: KEYS, find: '    instance: string(),', replace: '    instance: string(),\n    extra_key: string(),' });
    expect(errors.some((e) => e.startsWith('src/config/keys.ts') && e.includes("'extra_key' does not exist"))).toBe(true);
  });

  it('a key whose check yields another type, or fewer words than the type has, is refused', { timeout: 60_000 }, () => {
    const wrongType = configErrors({ file: KEYS, find: '    instance: string(),', replace: '    instance: integer(0),' });
    expect(wrongType.some((e) => e.startsWith('src/config/keys.ts') && e.includes("'LeafSpec<number>' is not assignable to type 'LeafSpec<string>'"))).toBe(true);
    const fewerWords = configErrors({ file: KEYS, find: "naming: oneOf(['tempo', 'otel'])", replace: "naming: oneOf(['tempo'])" });
    expect(fewerWords.some((e) => e.startsWith('src/config/keys.ts') && e.includes(`'LeafSpec<"tempo">' is not assignable to type 'LeafSpec<"tempo" | "otel">'`))).toBe(true);
  });

  it('a key added to SloConfig alone: the slos entry check and SLO_DEFAULTS miss it', { timeout: 60_000 }, () => {
    const errors = configErrors({ file: TYPES, find: '  http_5xx_as_error: boolean;\n}', replace: '  http_5xx_as_error: boolean;\n  new_slo_key: boolean;\n}' });
    expect(errors.some((e) => e.startsWith('src/config/keys.ts') && e.includes("Property 'new_slo_key' is missing"))).toBe(true);
    expect(errors.some((e) => e.startsWith('src/config/defaults.ts') && e.includes("Property 'new_slo_key' is missing"))).toBe(true);
  });

  it('a flag naming a key that does not exist is refused', { timeout: 60_000 }, () => {
    const errors = configErrors({ file: join(ROOT, 'src/config/flags.ts'), find: "key: 'log_level',", replace: "key: 'log_levle'," });
    expect(errors.some((e) => e.startsWith('src/config/flags.ts') && e.includes(`'"log_levle"' is not assignable to type`))).toBe(true);
  });

  it('a key added to SpanmeterConfig (src/index.ts) alone is refused', { timeout: 60_000 }, () => {
    const inProcess = configErrors({ file: INDEX, find: '  processors?: ProcessorName[];', replace: '  processors?: ProcessorName[];\n  instance?: string;' });
    expect(inProcess.some((e) => e.startsWith('src/index.ts') && e.includes("Property 'instance' is missing"))).toBe(true);
  });
});
