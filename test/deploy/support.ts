// The deploy tests' tools: helm and deploycheck, built from the Go module proxy by
// deploy/build-tools.mjs into the interop cache (a cached rerun only checks the files).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { KUBE_VERSION, buildDeployTools } from '../../deploy/build-tools.mjs';
import { PROJECT_ROOT } from '../support/sidecar.js';

export { KUBE_VERSION, PROJECT_ROOT };
export const CHART = join(PROJECT_ROOT, 'deploy/helm/spanmeter');
export const RELEASE = 'spanmeter';
export const NAMESPACE = 'observability';

let tools: { helm: string; deploycheck: string } | undefined;
/** helm and deploycheck, built on first use (Go needed; minutes cold, see deploy/build-tools.mjs). */
export function deployTools(): { helm: string; deploycheck: string } {
  tools ??= buildDeployTools();
  return tools;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; [k: string]: any }; [k: string]: any };

export interface Rendered {
  text: string;
  docs: Manifest[];
  /** The one object of this kind (and name, when given); throws when absent. */
  get(kind: string, name?: string): Manifest;
  find(kind: string, name?: string): Manifest | undefined;
}

/** Runs a helm command with values written to a temp file; returns {status, stdout, stderr}. */
export function helm(args: string[], values: Record<string, unknown> = {}): { status: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'spanmeter-helm-'));
  try {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, YAML.stringify(values));
    const r = spawnSync(deployTools().helm, [...args, '-f', file], { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: join(dir, 'c'), HELM_CONFIG_HOME: join(dir, 'cfg'), HELM_DATA_HOME: join(dir, 'd') } });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template spanmeter deploy/helm/spanmeter -n observability` with these values. */
export function render(values: Record<string, unknown> = {}, chart = CHART): Rendered {
  const r = helm(['template', RELEASE, chart, '-n', NAMESPACE, '--kube-version', KUBE_VERSION], values);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  const docs = YAML.parseAllDocuments(r.stdout).map((d) => d.toJSON() as Manifest | null).filter((d): d is Manifest => d !== null);
  const find = (kind: string, name?: string): Manifest | undefined => docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
  return {
    text: r.stdout,
    docs,
    find,
    get(kind, name) {
      const d = find(kind, name);
      if (!d) throw new Error(`no ${kind}${name ? ' ' + name : ''} in:\n${docs.map((x) => `${x.kind} ${x.metadata.name}`).join('\n')}`);
      return d;
    },
  };
}

/** deploycheck k8s over a YAML stream: {ok, output} (ok: every object decoded strictly). */
export function kubecheck(text: string): { ok: boolean; output: string } {
  const r = spawnSync(deployTools().deploycheck, ['k8s'], { input: text, encoding: 'utf8' });
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

/** An Alloy configuration parsed by Alloy's own parser, as deploycheck prints it. */
export interface AlloyBlock {
  name: string;
  label?: string;
  attrs: Record<string, unknown>;
  blocks: AlloyBlock[];
}

export function parseAlloy(source: string): AlloyBlock[] {
  const dir = mkdtempSync(join(tmpdir(), 'spanmeter-alloy-'));
  try {
    const file = join(dir, 'config.alloy');
    writeFileSync(file, source);
    return JSON.parse(execFileSync(deployTools().deploycheck, ['alloy', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as AlloyBlock[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The pod template of the rendered Deployment or DaemonSet. */
export function podSpec(r: Rendered): Manifest {
  const w = r.find('Deployment') ?? r.get('DaemonSet');
  return w.spec.template.spec as Manifest;
}
