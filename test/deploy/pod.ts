// Runs the container of a rendered spanmeter pod template as a local process, as the kubelet
// would start it: the rendered command, args and env, and the pod's volumes (ConfigMap data,
// Secret data, emptyDir) as files. The one change: the volumes live under a temp folder instead
// of the file system root, so every path that starts with a volume's mountPath (in args, env
// values and the mounted config file) is prefixed with that folder. The image's executable (the
// chart's `image.command`, /usr/local/bin/spanmeter) runs as `node bin/spanmeter.js` from this
// checkout, unless `entry` names another command.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { killGroup, killGroupOnExit, terminateGroup, watchExit } from '../support/sidecar.js';
import { PROJECT_ROOT, podSpec, type Manifest, type Rendered } from './support.js';

export const IMAGE_EXECUTABLE = '/usr/local/bin/spanmeter';

export interface Pod {
  /** The rendered container. */
  container: Manifest;
  /** The container port of a named port (as a probe or a Service's targetPort names it). */
  port(nameOrNumber: string | number): number;
  /** The command line the process was started with. */
  argv: string[];
  output(): string;
  alive(): boolean;
  stop(): Promise<void>;
}

/** Secrets by name: key -> content (what `kubectl create secret` would hold). */
export type Secrets = Record<string, Record<string, string | Buffer>>;

export function runPod(r: Rendered, secrets: Secrets = {}, entry: string[] = [process.execPath, join(PROJECT_ROOT, 'bin/spanmeter.js')]): Pod {
  const pod = podSpec(r);
  const container = pod.containers[0] as Manifest;
  const root = mkdtempSync(join(tmpdir(), 'spanmeter-pod-'));
  const mounts: { path: string; vol: Manifest }[] = (container.volumeMounts ?? []).map((m: any) => ({
    path: m.mountPath as string,
    vol: (pod.volumes as Manifest[]).find((v) => v.name === m.name)!,
  }));
  // one pass over every mount path, longest first (/etc/spanmeter/tls/otlp before /etc/spanmeter),
  // so that a replaced path is not replaced again
  const alternation = [...mounts].map((m) => m.path).sort((a, b) => b.length - a.length).map((p) => p.replace(/[/.]/g, '\\$&')).join('|');
  const pathRe = new RegExp(`(^|[\\s"'=:])(${alternation})(?=/|$|[\\s"'])`, 'gm');
  const mapText = (s: string): string => (mounts.length ? s.replace(pathRe, (_m, pre: string, path: string) => `${pre}${root}${path}`) : s);
  for (const { path, vol } of mounts) {
    const dir = join(root, path);
    mkdirSync(dir, { recursive: true });
    if (vol.configMap) {
      const cm = r.get('ConfigMap', vol.configMap.name);
      for (const [k, v] of Object.entries(cm.data as Record<string, string>)) writeFileSync(join(dir, k), mapText(v));
    } else if (vol.secret) {
      const data = secrets[vol.secret.secretName];
      if (!data) throw new Error(`the pod mounts Secret ${vol.secret.secretName}: give it to runPod`);
      const items: { key: string; path: string }[] = vol.secret.items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
      for (const { key, path: p } of items) {
        if (data[key] === undefined) throw new Error(`Secret ${vol.secret.secretName} has no key ${key}`);
        mkdirSync(dirname(join(dir, p)), { recursive: true });
        writeFileSync(join(dir, p), data[key]!);
      }
    } else if (!vol.emptyDir) {
      throw new Error(`volume ${vol.name}: only configMap, secret and emptyDir are run here`);
    }
  }

  const command = (container.command as string[] | undefined) ?? [];
  if (command[0] !== IMAGE_EXECUTABLE) throw new Error(`unexpected container command ${JSON.stringify(command)}`);
  const argv = [...entry, ...command.slice(1), ...((container.args as string[] | undefined) ?? []).map(mapText)];
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root };
  for (const e of (container.env ?? []) as { name: string; value?: string }[]) {
    if (e.value === undefined) throw new Error(`env ${e.name}: only plain values are run here`);
    env[e.name] = mapText(e.value);
  }
  let out = '';
  const child = spawn(argv[0]!, argv.slice(1), { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  killGroupOnExit(child);
  const append = (c: Buffer): void => {
    out = (out + c.toString('utf8')).slice(-256 * 1024);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const { exited, status } = watchExit(child, append);
  const ports = new Map<string, number>(((container.ports ?? []) as { name: string; containerPort: number }[]).map((p) => [p.name, p.containerPort]));
  let stopped = false;
  return {
    container,
    argv,
    port(n) {
      if (typeof n === 'number') return n;
      const p = ports.get(n);
      if (p === undefined) throw new Error(`the container has no port named ${n} (it has ${[...ports.keys()].join(', ')})`);
      return p;
    },
    output: () => out,
    alive: () => status() === undefined,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (status() === undefined) await terminateGroup(child, exited, 5000);
      killGroup(child, 'SIGKILL');
      rmSync(root, { recursive: true, force: true });
    },
  };
}
