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
import { CHART, KUBE_VERSION, PROJECT_ROOT, helm, kubecheck } from './support.js';

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

describe('README "Kubernetes": the two commands', () => {
  const text = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = text.slice(text.indexOf('\n## Kubernetes'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  const commands = block.replace(/\\\n\s*/g, '').trim().split('\n').map((l) => l.trim().split(/\s+/));

  it('the seed, then helm install of this chart and helm upgrade of Alloy with the tested values file', () => {
    expect(section).toContain('helm install alloy grafana/alloy -n observability');
    expect(commands.map((c) => c.slice(0, 3).join(' '))).toEqual(['helm install spanmeter', 'helm upgrade alloy']);
    const [install, upgrade] = commands as [string[], string[]];
    expect(install[3]).toBe('deploy/helm/spanmeter');
    expect(install.slice(4, 6)).toEqual(['-n', 'observability']);
    expect(upgrade.slice(3, 8)).toEqual(['grafana/alloy', '-n', 'observability', '-f', 'deploy/helm/alloy-values.yaml']);
    // every --set of the Alloy command names a key the values file has (the tests cover it)
    const alloyValues = YAML.parse(readFileSync(join(PROJECT_ROOT, 'deploy/helm/alloy-values.yaml'), 'utf8'));
    for (let i = 0; i < upgrade.length; i++) {
      if (upgrade[i] !== '--set') continue;
      const key = upgrade[i + 1]!.split('=')[0]!;
      expect(key.split('.').reduce<any>((o, k) => o?.[k], alloyValues), key).toBeDefined();
    }
  });

  it('the install command renders (helm template with the same arguments) and passes the strict check', () => {
    const install = commands[0]!;
    const r = helm(['template', install[2]!, join(PROJECT_ROOT, install[3]!), ...install.slice(4), '--kube-version', KUBE_VERSION]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const check = kubecheck(r.stdout);
    expect(check.output).not.toContain('error');
    expect(check.ok).toBe(true);
    expect(r.stdout).toContain('image: "registry.example/spanmeter:0.1.0"');
  });
});
