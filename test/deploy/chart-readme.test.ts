// deploy/helm/spanmeter/README.md's values table against values.yaml (issue 25: "values.yaml
// documented key by key, the chart's README generated or checked against it"). The table is
// written by deploy/helm/readme.mjs; this test reads both files its own way: every key of
// values.yaml is documented by a `# --` comment (itself or its parent mapping's keys), the README
// has one row per documented key, and each row's default is the value values.yaml holds.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { CHART, PROJECT_ROOT } from './support.js';

const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8');
const values = YAML.parse(valuesText) as Record<string, unknown>;
const readme = readFileSync(join(CHART, 'README.md'), 'utf8');

/** The dotted paths of the keys with a `# --` comment block right above them. */
function documentedKeys(): string[] {
  const out: string[] = [];
  const stack: { indent: number; key: string }[] = [];
  let comment: string[] = [];
  for (const line of valuesText.split('\n')) {
    const c = /^\s*#(.*)$/.exec(line);
    if (c) {
      comment.push(c[1]!.trim());
      continue;
    }
    const k = /^(\s*)([A-Za-z][\w-]*):/.exec(line);
    if (k) {
      const indent = k[1]!.length;
      while (stack.length && stack[stack.length - 1]!.indent >= indent) stack.pop();
      stack.push({ indent, key: k[2]! });
      if (comment.some((l) => l.startsWith('-- '))) out.push(stack.map((s) => s.key).join('.'));
    }
    comment = [];
  }
  return out;
}

function get(path: string): unknown {
  return path.split('.').reduce<any>((o, k) => (o === undefined ? undefined : o[k]), values);
}

function leaves(o: unknown, prefix = ''): string[] {
  if (o !== null && typeof o === 'object' && !Array.isArray(o) && Object.keys(o).length > 0) {
    return Object.entries(o).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

describe('chart README against values.yaml', () => {
  const rows = [...readme.matchAll(/^\| `([^`]+)` \| (\w+) \| `(.*)` \| (.+) \|$/gm)].map((m) => ({ key: m[1]!, type: m[2]!, def: m[3]!, text: m[4]! }));
  const documented = documentedKeys();

  it('every key of values.yaml is documented', () => {
    const undocumented = leaves(values).filter((leaf) => !documented.some((d) => leaf === d || leaf.startsWith(d + '.')));
    expect(undocumented).toEqual([]);
    expect(documented.length).toBeGreaterThan(60);
  });

  it('one README row per documented key, in order, with the default values.yaml holds', () => {
    expect(rows.map((r) => r.key)).toEqual(documented);
    for (const r of rows) {
      expect(JSON.parse(r.def), r.key).toEqual(get(r.key));
      expect(r.text.trim().length, r.key).toBeGreaterThan(10);
    }
  });

  it('readme.mjs --check agrees (the README is what it writes)', () => {
    const r = spawnSync(process.execPath, ['deploy/helm/readme.mjs', '--check'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
