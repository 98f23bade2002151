// Runs the container of a rendered spanmeter pod template, as the kubelet would start it: the
// rendered command, args and env, and the pod's volumes (ConfigMap data, Secret data, emptyDir).
//
// runPod: as a local process. The volumes live under a temp folder instead of the file system
// root, so every path that starts with a volume's mountPath (in args, env values and the mounted
// config file) is prefixed with that folder. The image's executable (the chart's
// `image.command`, /usr/local/bin/spanmeter) runs as `node bin/spanmeter.js` from this checkout.
//
// runPodInRunc: in the image, with runc: the OCI bundle unpacked from the image (umoci) gets the
// container's command and args, the volumes as bind mounts (read-only) and tmpfs (emptyDir), the
// pod's user and group, the securityContext's read-only root, no capabilities and
// no_new_privs; the paths are the real ones. One difference from a pod: the host's network
// namespace (as hostNetwork: true), so that the test reaches the loopback ports.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parsePrometheusText } from '../support/prom-text.js';
import { killGroup, killGroupOnExit, watchExit } from '../support/sidecar.js';
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
  /** SIGTERM, then waits for the exit (SIGKILL after 5 s); resolves to the exit code. */
  stop(): Promise<number | null>;
}

/** Secrets by name: key -> content (what `kubectl create secret` would hold). */
export type Secrets = Record<string, Record<string, string | Buffer>>;

interface Mount { path: string; vol: Manifest; hostDir: string }

/** Writes each volume's files under `root` (ConfigMap data through `mapText`). */
function layoutVolumes(r: Rendered, container: Manifest, secrets: Secrets, root: string, mapText: (s: string) => string = (s) => s): Mount[] {
  const pod = podSpec(r);
  const mounts: Mount[] = (container.volumeMounts ?? []).map((m: any) => ({
    path: m.mountPath as string,
    vol: (pod.volumes as Manifest[]).find((v) => v.name === m.name)!,
    hostDir: join(root, m.mountPath as string),
  }));
  for (const { vol, hostDir } of mounts) {
    mkdirSync(hostDir, { recursive: true });
    if (vol.configMap) {
      const cm = r.get('ConfigMap', vol.configMap.name);
      for (const [k, v] of Object.entries(cm.data as Record<string, string>)) writeFileSync(join(hostDir, k), mapText(v));
    } else if (vol.secret) {
      const data = secrets[vol.secret.secretName];
      if (!data) throw new Error(`the pod mounts Secret ${vol.secret.secretName}: give it to runPod`);
      const items: { key: string; path: string }[] = vol.secret.items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
      for (const { key, path: p } of items) {
        if (data[key] === undefined) throw new Error(`Secret ${vol.secret.secretName} has no key ${key}`);
        mkdirSync(dirname(join(hostDir, p)), { recursive: true });
        writeFileSync(join(hostDir, p), data[key]!);
      }
    } else if (!vol.emptyDir) {
      throw new Error(`volume ${vol.name}: only configMap, secret and emptyDir are run here`);
    }
  }
  return mounts;
}

function commandOf(container: Manifest): string[] {
  const command = (container.command as string[] | undefined) ?? [];
  if (command[0] !== IMAGE_EXECUTABLE) throw new Error(`unexpected container command ${JSON.stringify(command)}`);
  return [...command, ...((container.args as string[] | undefined) ?? [])];
}

function envOf(container: Manifest, mapText: (s: string) => string = (s) => s): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (container.env ?? []) as { name: string; value?: string }[]) {
    if (e.value === undefined) throw new Error(`env ${e.name}: only plain values are run here`);
    env[e.name] = mapText(e.value);
  }
  return env;
}

function spawnPod(container: Manifest, argv: string[], env: NodeJS.ProcessEnv, cwd: string, stopCommand: (child: ChildProcess) => void, cleanup: () => void): Pod {
  let out = '';
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  killGroupOnExit(child);
  const append = (c: Buffer): void => {
    out = (out + c.toString('utf8')).slice(-256 * 1024);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const { exited, status } = watchExit(child, append);
  const ports = new Map<string, number>(((container.ports ?? []) as { name: string; containerPort: number }[]).map((p) => [p.name, p.containerPort]));
  let stopped: Promise<number | null> | undefined;
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
    stop() {
      stopped ??= (async () => {
        if (status() === undefined) {
          stopCommand(child);
          const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        killGroup(child, 'SIGKILL');
        cleanup();
        return status()?.code ?? null;
      })();
      return stopped;
    },
  };
}

export function runPod(r: Rendered, secrets: Secrets = {}): Pod {
  const container = podSpec(r).containers[0] as Manifest;
  const root = mkdtempSync(join(tmpdir(), 'spanmeter-pod-'));
  const paths = ((container.volumeMounts ?? []) as { mountPath: string }[]).map((m) => m.mountPath);
  // one pass over every mount path, longest first (/etc/spanmeter/tls/otlp before /etc/spanmeter),
  // so that a replaced path is not replaced again
  const alternation = paths.sort((a, b) => b.length - a.length).map((p) => p.replace(/[/.]/g, '\\$&')).join('|');
  const pathRe = new RegExp(`(^|[\\s"'=:])(${alternation})(?=/|$|[\\s"'])`, 'gm');
  const mapText = (s: string): string => (paths.length ? s.replace(pathRe, (_m, pre: string, path: string) => `${pre}${root}${path}`) : s);
  layoutVolumes(r, container, secrets, root, mapText);
  const argv = [process.execPath, join(PROJECT_ROOT, 'bin/spanmeter.js'), ...commandOf(container).slice(1).map(mapText)];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: root, ...envOf(container, mapText) };
  return spawnPod(container, argv, env, root, (child) => killGroup(child, 'SIGTERM'), () => rmSync(root, { recursive: true, force: true }));
}

/**
 * Runs the pod's container in the OCI image at `layout` (an OCI image layout, tag `tag`) with
 * runc. Needs root, umoci and runc.
 */
export function runPodInRunc(r: Rendered, layout: string, tag: string, secrets: Secrets = {}): Pod & { bundle: string; id: string } {
  const pod = podSpec(r);
  const container = pod.containers[0] as Manifest;
  const root = mkdtempSync(join(tmpdir(), 'spanmeter-runc-'));
  const bundle = join(root, 'bundle');
  const unpack = spawnSync('umoci', ['unpack', '--image', `${layout}:${tag}`, bundle], { encoding: 'utf8' });
  if (unpack.status !== 0) throw new Error(`umoci unpack: ${unpack.stderr}`);
  const mounts = layoutVolumes(r, container, secrets, join(root, 'volumes'));
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  const sc = container.securityContext ?? {};
  const psc = pod.securityContext ?? {};
  spec.process.terminal = false;
  spec.process.args = commandOf(container);
  spec.process.env = [...spec.process.env, ...Object.entries(envOf(container)).map(([k, v]) => `${k}=${v}`)];
  spec.process.user = { uid: sc.runAsUser ?? psc.runAsUser ?? spec.process.user.uid, gid: sc.runAsGroup ?? psc.runAsGroup ?? spec.process.user.gid };
  if (psc.fsGroup !== undefined) spec.process.user.additionalGids = [psc.fsGroup];
  spec.process.noNewPrivileges = sc.allowPrivilegeEscalation === false;
  if ((sc.capabilities?.drop ?? []).includes('ALL')) {
    spec.process.capabilities = { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] };
  }
  spec.root.readonly = sc.readOnlyRootFilesystem === true;
  spec.hostname = 'spanmeter-0';
  spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
  for (const m of mounts) {
    spec.mounts.push(m.vol.emptyDir
      ? { destination: m.path, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=16m'] }
      : { destination: m.path, type: 'bind', source: m.hostDir, options: ['rbind', 'ro'] });
  }
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
  const id = `spanmeter-test-${process.pid}-${Date.now()}`;
  const argv = ['runc', 'run', '--bundle', bundle, id];
  const p = spawnPod(container, argv, { PATH: process.env.PATH }, root, () => {
    spawnSync('runc', ['kill', id, 'TERM']);
  }, () => {
    spawnSync('runc', ['delete', '--force', id]);
    rmSync(root, { recursive: true, force: true });
  });
  return Object.assign(p, { bundle, id });
}

// ---- clients: the probes as the kubelet calls them, HTTP(S) with tokens and client certs ----

export interface Answer { status: number; body: string; headers: Record<string, unknown> }
export interface Client { ca?: Buffer; cert?: Buffer; key?: Buffer; token?: string; verify?: boolean }

export function call(scheme: string, port: number, path: string, c: Client = {}, body?: Uint8Array): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (c.token) headers.authorization = `Bearer ${c.token}`;
  if (body) headers['content-type'] = 'application/x-protobuf';
  return new Promise((resolve, reject) => {
    const mod = scheme.toLowerCase() === 'https' ? https : http;
    const req = mod.request({
      host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', headers, agent: false, timeout: 5000,
      ca: c.ca, cert: c.cert, key: c.key, rejectUnauthorized: c.verify ?? true,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls the rendered probe as the kubelet does (HTTPS without verifying) until it answers 200. */
export async function probeUntilOk(pod: Pod, probe: any, ms = 20_000): Promise<Answer> {
  const { path, port, scheme = 'HTTP' } = probe.httpGet;
  const deadline = Date.now() + ms;
  let last: Answer | Error = new Error('no attempt');
  while (Date.now() < deadline) {
    if (!pod.alive()) throw new Error(`spanmeter exited:\n${pod.output()}`);
    try {
      last = await call(scheme, pod.port(port), path, { verify: false });
      if (last.status === 200) return last;
    } catch (e) {
      last = e as Error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`probe ${scheme} ${path} on ${port}: ${last instanceof Error ? last.message : last.status}\n${pod.output()}`);
}

/** The container port behind the Service port `name` (its targetPort, resolved by name). */
export function servicePort(r: Rendered, pod: Pod, name: string): number {
  const p = r.get('Service', 'spanmeter').spec.ports.find((x: any) => x.name === name);
  if (!p) throw new Error(`the Service has no port ${name}`);
  return pod.port(p.targetPort);
}

export function callsByService(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of parsePrometheusText(text).samples) {
    if (s.name === 'traces_spanmetrics_calls_total') out[s.labels.service!] = (out[s.labels.service!] ?? 0) + s.value;
  }
  return out;
}
