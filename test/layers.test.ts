// The import graph of src/ against the layers the README's "How it works" draws. A file may import
// from its own layer and the layers below it, never from a layer above; the shared plumbing
// (config, net, log, version, and core/layout.ts: the generated constants host and core share,
// no code) may be imported by every layer and imports no layer itself.
// The order is written once, here; the test also checks that the README lists the same folders in
// the same order, so the picture and the code cannot drift apart.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Top to bottom. An entry ending in `/` is a folder of src/, otherwise a file of src/. */
const LAYERS: readonly (readonly string[])[] = [
  ['cli.ts', 'index.ts'], // entry points: wire the layers together
  ['ui/', 'rules/'], // the page and its API, --demo; spanmeter rules
  ['receivers/'], // OTLP/HTTP and gRPC over one ingest path
  ['exporters/', 'telemetry.ts'], // /metrics, remote write, OTLP push; the sidecar's own metrics
  ['core/'], // the host side of the WASM core, the only caller of its ABI
  ['otlp/', 'workload/'], // OTLP messages, JSON, gzip, responses, errors; generated traces
];
/** Importable from every layer; imports only plumbing. */
const PLUMBING: readonly string[] = ['config/', 'net/', 'log.ts', 'version.ts', 'core/layout.ts'];

/** The layer of a path relative to src/ (0 = top), 'plumbing', or undefined when it is in none. */
function layerOf(rel: string): number | 'plumbing' | undefined {
  const hit = (entry: string): boolean => (entry.endsWith('/') ? rel.startsWith(entry) : rel === entry);
  if (PLUMBING.some(hit)) return 'plumbing';
  const i = LAYERS.findIndex((layer) => layer.some(hit));
  return i < 0 ? undefined : i;
}

/** Relative specifiers of every static import / export-from and dynamic import() in a source. */
function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec?.startsWith('.')) out.push(spec);
  }
  return out;
}

/**
 * The upward imports among `files` (path relative to src/ → source text): each as
 * `importer -> imported (why)`. An import leaving src/ (into test/, bench/, …) or touching a file
 * placed in no layer is a violation too, so a new folder must be given its place.
 */
function violations(files: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const [file, source] of files) {
    const from = layerOf(file);
    if (from === undefined) {
      found.push(`${file}: in no layer (add it to LAYERS or PLUMBING and to the README)`);
      continue;
    }
    for (const spec of importsOf(source)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts');
      if (target.startsWith('..')) {
        found.push(`${file} -> ${spec} (outside src/)`);
        continue;
      }
      const to = layerOf(target);
      if (to === undefined) found.push(`${file} -> ${target} (in no layer)`);
      else if (to === 'plumbing') continue;
      else if (from === 'plumbing') found.push(`${file} -> ${target} (plumbing imports a layer)`);
      else if (to < from) found.push(`${file} -> ${target} (layer ${from} imports layer ${to}, above it)`);
    }
  }
  return found;
}

/** Every shipped source of src/ (tests kept beside the code are not shipped and not checked). */
function sources(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(path.join(ROOT, 'src', dir), { withFileTypes: true })) {
      const rel = dir === '' ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith('.ts') && !rel.endsWith('.test.ts') && !rel.endsWith('.d.ts')) {
        files.set(rel, readFileSync(path.join(ROOT, 'src', rel), 'utf8'));
      }
    }
  };
  walk('');
  return files;
}

describe('layers', () => {
  it('no file in src/ imports from a layer above its own', () => {
    const files = sources();
    // The walk found the tree (a wrong ROOT would pass vacuously).
    expect(files.has('receivers/http.ts') && files.has('core/index.ts') && files.size).toBeGreaterThan(40);
    expect(violations(files)).toEqual([]);
  });

  it('the checker catches an upward import, a type-only one, plumbing reaching up and a file in no layer', () => {
    // What core/supervisor.ts did before the plumbing moved out of receivers/: a type import from
    // a layer above (core is layer 4, receivers layer 2).
    const files = new Map([
      ['core/supervisor.ts', "import type { Logger, TraceConsumer } from '../receivers/types.js';\n"],
      ['exporters/server.ts', "import { listenHttp } from '../receivers/endpoint.js';\nimport { Core } from '../core/index.js';\n"],
      ['net/server.ts', "export { x } from '../receivers/http.js';\n"],
      ['otlp/json.ts', "const m = await import('../core/index.js');\n"],
      ['receivers/http.ts', "import { silentLogger } from '../log.js';\nimport { Core } from '../core/index.js';\nimport './ingest.js';\n"],
      ['newfolder/x.ts', ''],
      ['ui/api.ts', "import { thing } from '../../test/support/otel.js';\n"],
    ]);
    expect(violations(files)).toEqual([
      'core/supervisor.ts -> receivers/types.ts (layer 4 imports layer 2, above it)',
      'exporters/server.ts -> receivers/endpoint.ts (layer 3 imports layer 2, above it)',
      'net/server.ts -> receivers/http.ts (plumbing imports a layer)',
      'otlp/json.ts -> core/index.ts (layer 5 imports layer 4, above it)',
      'newfolder/x.ts: in no layer (add it to LAYERS or PLUMBING and to the README)',
      'ui/api.ts -> ../../test/support/otel.js (outside src/)',
    ]);
  });

  it("the README's How it works lists the same layers, top to bottom, then the plumbing", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.split('\n## How it works\n')[1]?.split('\n## ')[0] ?? '';
    const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const listed = [...block.matchAll(/\bsrc\/([\w./]+)/g)].map((m) => m[1]);
    expect(listed).toEqual([...LAYERS.flat(), ...PLUMBING]);
  });
});
