// The image (issue 25): built without a Docker engine and run. The Dockerfile's last stage is
// `FROM scratch`, `COPY --from=build /rootfs/ /`, USER, EXPOSE, ENTRYPOINT and CMD; its build
// stage runs `npm run build:sea` and `node deploy/image/rootfs.mjs ./spanmeter /rootfs` on Debian
// 12 with Node 20, which is what this machine is (the stage's base image cannot be pulled here).
// So the test runs those two commands here, then builds the last stage with umoci (Debian's
// package: an OCI image layout, no daemon) from the USER, ENTRYPOINT, CMD and EXPOSE lines it
// reads from the Dockerfile, and runs the image with runc: first as the Dockerfile leaves it
// (`--version`), then as the Helm chart's pod runs it (test/deploy/pod.ts, runPodInRunc), whose
// probes and Service target ports are hit as in chart-run.test.ts.
// Needs root, umoci and runc (.ci/run installs them); elsewhere it is skipped, saying why.
import * as grpc from '@grpc/grpc-js';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcCall, request } from '../reliability/helpers.js';
import { freePorts } from '../support/sidecar.js';
import { call, callsByService, probeUntilOk, runPodInRunc, servicePort } from './pod.js';
import { PROJECT_ROOT, deployTools, render } from './support.js';

const have = (cmd: string): boolean => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const missing = [process.getuid?.() !== 0 ? 'root' : '', have('umoci') ? '' : 'umoci', have('runc') ? '' : 'runc'].filter(Boolean);
if (missing.length && process.env.CI) throw new Error(`the image test needs ${missing.join(', ')} (.ci/run installs umoci and runc with apt)`);
if (missing.length) console.warn(`test/deploy/image.test.ts skipped: it needs ${missing.join(', ')} (apt-get install umoci runc, as root)`);

/** The Dockerfile's stages: FROM line and instructions (continuations joined). */
function dockerfileStages(): { from: string; lines: string[] }[] {
  const text = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages: { from: string; lines: string[] }[] = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))) {
    if (line.startsWith('FROM ')) stages.push({ from: line, lines: [] });
    else stages[stages.length - 1]!.lines.push(line);
  }
  return stages;
}
const instr = (lines: string[], name: string): string[] => lines.filter((l) => l.startsWith(name + ' ')).map((l) => l.slice(name.length + 1).trim());

describe.skipIf(missing.length > 0)('the image, built with umoci and run with runc', () => {
  let dir = '';
  let layout = '';
  const stages = dockerfileStages();
  const last = stages[stages.length - 1]!;

  beforeAll(() => {
    deployTools();
    dir = mkdtempSync(join(tmpdir(), 'spanmeter-image-'));
    // the build stage's commands, as it runs them (checked against the Dockerfile)
    const build = stages[0]!.lines.join('\n');
    expect(build).toContain('RUN npm run build:sea && node deploy/image/rootfs.mjs ./spanmeter /rootfs');
    execFileSync(process.execPath, ['sea/build.mjs', '--out', join(dir, 'spanmeter')], { cwd: PROJECT_ROOT, stdio: 'pipe' });
    execFileSync(process.execPath, ['deploy/image/rootfs.mjs', join(dir, 'spanmeter'), join(dir, 'rootfs')], { cwd: PROJECT_ROOT, stdio: 'pipe' });
    // the last stage: FROM scratch + the rootfs + its config
    expect(last.from).toBe('FROM scratch');
    expect(instr(last.lines, 'COPY')).toEqual(['--from=build /rootfs/ /']);
    layout = join(dir, 'oci');
    const umoci = (...args: string[]) => execFileSync('umoci', args, { cwd: dir, stdio: 'pipe' });
    umoci('init', '--layout', layout);
    umoci('new', '--image', `${layout}:spanmeter`);
    umoci('unpack', '--image', `${layout}:spanmeter`, join(dir, 'stage'));
    execFileSync('cp', ['-a', join(dir, 'rootfs') + '/.', join(dir, 'stage', 'rootfs') + '/']);
    umoci('repack', '--image', `${layout}:spanmeter`, join(dir, 'stage'));
    const config = ['--config.user', instr(last.lines, 'USER')[0]!];
    for (const e of JSON.parse(instr(last.lines, 'ENTRYPOINT')[0]!) as string[]) config.push(`--config.entrypoint=${e}`);
    for (const c of JSON.parse(instr(last.lines, 'CMD')[0]!) as string[]) config.push(`--config.cmd=${c}`);
    for (const p of instr(last.lines, 'EXPOSE')[0]!.split(/\s+/)) config.push('--config.exposedports', `${p}/tcp`);
    umoci('config', '--image', `${layout}:spanmeter`, ...config);
  }, 300_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is small and non-root, and holds nothing but the executable, its libraries and the user', () => {
    const blobs = join(layout, 'blobs', 'sha256');
    const sizes = readdirSync(blobs).map((b) => statSync(join(blobs, b)).size);
    const layerBytes = Math.max(...sizes);
    console.log(`image: one layer of ${(layerBytes / 1e6).toFixed(1)} MB compressed`);
    // Node's binary alone is ~94 MiB, ~38 MB gzipped (sea/build.mjs prints its size)
    expect(layerBytes).toBeLessThan(60e6);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(blobs, index.manifests[0].digest.slice(7)), 'utf8'));
    expect(manifest.layers).toHaveLength(1);
    const config = JSON.parse(readFileSync(join(blobs, manifest.config.digest.slice(7)), 'utf8'));
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/spanmeter']);
    expect(Object.keys(config.config.ExposedPorts).sort()).toEqual(['4317/tcp', '4318/tcp', '9464/tcp']);
    const files = execFileSync('find', ['.', '-type', 'f'], { cwd: join(dir, 'rootfs'), encoding: 'utf8' }).trim().split('\n').sort();
    expect(files.filter((f) => !f.startsWith('./lib'))).toEqual(['./etc/group', './etc/passwd', './usr/local/bin/spanmeter']);
    expect(files.some((f) => f.endsWith('/sh') || f.endsWith('/bash'))).toBe(false);
  });

  it('runs as the Dockerfile leaves it: the entrypoint, as user 65532', () => {
    const r = render({});
    // the chart's command is the image's entrypoint
    expect(r.get('Deployment').spec.template.spec.containers[0].command).toEqual(JSON.parse(instr(last.lines, 'ENTRYPOINT')[0]!));
    const bundle = join(dir, 'version');
    execFileSync('umoci', ['unpack', '--image', `${layout}:spanmeter`, bundle], { stdio: 'pipe' });
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    // umoci's runtime config from the image's: its user and its entrypoint + cmd
    expect(spec.process.user).toMatchObject({ uid: 65532, gid: 65532 });
    expect(spec.process.args).toEqual(['/usr/local/bin/spanmeter', '--otlp.grpc-endpoint', '0.0.0.0:4317', '--otlp.http-endpoint', '0.0.0.0:4318', '--http-endpoint', '0.0.0.0:9464']);
    spec.process.terminal = false;
    spec.process.args = [spec.process.args[0], '--version'];
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const out = execFileSync('runc', ['run', '--bundle', bundle, `spanmeter-version-${process.pid}`], { encoding: 'utf8' });
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    expect(out.trim()).toBe(`spanmeter ${pkg.version}`);
  });

  it('runs as the chart\'s pod runs it: non-root, read-only root, no capabilities; probes and Service ports answer', async () => {
    const ports = await freePorts(3);
    const r = render({ listenAddress: '127.0.0.1', ports: { otlpGrpc: ports[0], otlpHttp: ports[1], http: ports[2] } });
    const pod = runPodInRunc(r, layout, 'spanmeter');
    try {
      const c = pod.container;
      expect((await probeUntilOk(pod, c.readinessProbe)).status).toBe(200);
      expect((await probeUntilOk(pod, c.livenessProbe)).status).toBe(200);
      // what the kernel says about the container's process
      const state = JSON.parse(execFileSync('runc', ['state', pod.id], { encoding: 'utf8' }));
      const status = readFileSync(`/proc/${state.pid}/status`, 'utf8');
      expect(/^Uid:\s+(\d+)/m.exec(status)![1]).toBe('65532');
      expect(/^Gid:\s+(\d+)/m.exec(status)![1]).toBe('65532');
      expect(/^CapEff:\s+(\w+)/m.exec(status)![1]).toBe('0000000000000000');
      expect(/^NoNewPrivs:\s+(\d)/m.exec(status)![1]).toBe('1');
      const rootMount = readFileSync(`/proc/${state.pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/')!;
      expect(rootMount.split(' ')[5]!.split(',')).toContain('ro');

      expect((await call('http', servicePort(r, pod, 'otlp-http'), '/v1/traces', {}, request('in-image', 2))).status).toBe(200);
      const g = new grpc.Client(`127.0.0.1:${servicePort(r, pod, 'otlp-grpc')}`, grpc.credentials.createInsecure());
      try {
        expect((await grpcCall(g, request('in-image', 3))).code).toBe(0);
      } finally {
        g.close();
      }
      const metrics = await call('http', servicePort(r, pod, 'http-metrics'), '/metrics');
      expect(callsByService(metrics.body)).toEqual({ 'in-image': 5 });
    } finally {
      // SIGTERM to the container's PID 1: spanmeter stops cleanly (exit 0)
      expect(await pod.stop()).toBe(0);
      expect(pod.output()).toContain('spanmeter stopped');
    }
  });
});
