// The values files for the peers' charts (issue 25): deploy/helm/alloy-values.yaml for
// grafana/alloy and deploy/helm/collector-values.yaml for open-telemetry/opentelemetry-collector.
// Neither chart can be downloaded here, so each file is taken as its chart takes it:
//  - Alloy: the chart renders `alloy.configMap.content` with `tpl` and the root context into its
//    ConfigMap (grafana/alloy operations/helm/charts/alloy/templates/configmap.yaml); a one-file
//    stand-in chart does the same with the real helm. Alloy itself does not build here (the Go
//    module proxy answers 403 for github.com/grafana/alloy, README "Tested with"), so the result
//    is parsed by Alloy's own parser (github.com/grafana/alloy/syntax v0.1.0) and its wiring
//    checked: every reference names a declared component, and the names, ports and labels it
//    uses are those of the rendered spanmeter chart.
//  - Collector: the chart merges `config` over its defaults, where a null deletes a default key
//    (Helm's values semantics); `config` with its nulls removed passes `otelcol validate` of the
//    Collector built by `npm run interop:build` (v0.141.0 with the loadbalancing exporter), and
//    that Collector running it sends an SDK's spans to the rendered spanmeter pod and to Tempo.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { otelcolBinary, startOtelcol } from '../interop/support/otelcol.js';
import { exportSpans, makeSpans, SpanKind } from '../support/otel.js';
import { fetchMetricsText, freePorts, startSidecar } from '../support/sidecar.js';
import { call, callsByService, probeUntilOk, runPod, servicePort } from './pod.js';
import { NAMESPACE, PROJECT_ROOT, deployTools, helm, parseAlloy, podSpec, render, type AlloyBlock, type Rendered } from './support.js';

const ALLOY_VALUES = join(PROJECT_ROOT, 'deploy/helm/alloy-values.yaml');
const COLLECTOR_VALUES = join(PROJECT_ROOT, 'deploy/helm/collector-values.yaml');

let scratch = '';
let spanmeter: Rendered;
beforeAll(() => {
  deployTools();
  scratch = mkdtempSync(join(tmpdir(), 'spanmeter-peers-'));
  // the release the README installs: `helm install spanmeter deploy/helm/spanmeter -n observability`
  spanmeter = render({});
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The Alloy configuration the grafana/alloy chart would write into its ConfigMap. */
function alloyConfig(set: Record<string, unknown> = {}): string {
  const chart = join(scratch, 'alloy-standin');
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: alloy\nversion: 0.0.0\n');
  writeFileSync(join(chart, 'templates', 'configmap.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: alloy\ndata:\n  config.alloy: |- {{- (tpl .Values.alloy.configMap.content .) | nindent 4 }}\n');
  const values = YAML.parse(readFileSync(ALLOY_VALUES, 'utf8')) as Record<string, any>;
  for (const [path, v] of Object.entries(set)) {
    const keys = path.split('.');
    let o = values;
    for (const k of keys.slice(0, -1)) o = o[k];
    o[keys[keys.length - 1]!] = v;
  }
  const r = helm(['template', 'alloy', chart, '-n', NAMESPACE], values);
  if (r.status !== 0) throw new Error(r.stderr);
  return (YAML.parse(r.stdout) as { data: Record<string, string> }).data['config.alloy']!;
}

const component = (blocks: AlloyBlock[], name: string, label: string): AlloyBlock => {
  const b = blocks.find((x) => x.name === name && x.label === label);
  if (!b) throw new Error(`no ${name} "${label}" in ${blocks.map((x) => `${x.name} "${x.label}"`).join(', ')}`);
  return b;
};
const child = (b: AlloyBlock, ...path: string[]): AlloyBlock =>
  path.reduce((cur, name) => {
    const c = cur.blocks.find((x) => x.name === name);
    if (!c) throw new Error(`${cur.name} has no ${name} block`);
    return c;
  }, b);
const refs = (v: unknown): string[] => {
  if (Array.isArray(v)) return v.flatMap(refs);
  if (v && typeof v === 'object') return 'ref' in v ? [(v as { ref: string }).ref] : Object.values(v).flatMap(refs);
  return [];
};
const allRefs = (b: AlloyBlock): string[] => [...refs(b.attrs), ...b.blocks.flatMap(allRefs)];

/** Every reference `<component name>.<label>.<export>` names a component of the file. */
function danglingRefs(blocks: AlloyBlock[]): string[] {
  const declared = new Set(blocks.map((b) => `${b.name}.${b.label}`));
  return blocks.flatMap(allRefs).filter((r) => !declared.has(r.slice(0, r.lastIndexOf('.'))));
}

/** The chart rendered on these loopback ports (what runPod runs). */
function spanmeterAt(g: number, h: number, m: number): Rendered {
  return render({ listenAddress: '127.0.0.1', ports: { otlpGrpc: g, otlpHttp: h, http: m } });
}

function targetPortOf(svcName: string, portName: string): number {
  const svc = spanmeter.get('Service', svcName);
  const p = svc.spec.ports.find((x: any) => x.name === portName);
  const c = podSpec(spanmeter).containers[0];
  return c.ports.find((x: any) => x.name === p.targetPort).containerPort;
}

describe('Alloy values (grafana/alloy chart)', () => {
  it('one spanmeter replica: OTLP to the Service, scrape of the pods, remote write; parsed by Alloy\'s parser', () => {
    const blocks = parseAlloy(alloyConfig());
    expect(danglingRefs(blocks)).toEqual([]);
    const receiver = component(blocks, 'otelcol.receiver.otlp', 'default');
    expect(refs(child(receiver, 'output').attrs.traces)).toEqual(['otelcol.exporter.otlp.tempo.input', 'otelcol.exporter.otlp.spanmeter.input']);
    const svc = spanmeter.get('Service', 'spanmeter');
    const grpcPort = svc.spec.ports.find((p: any) => p.name === 'otlp-grpc').port;
    expect(child(component(blocks, 'otelcol.exporter.otlp', 'spanmeter'), 'client').attrs.endpoint)
      .toBe(`${svc.metadata.name}.${NAMESPACE}.svc:${grpcPort}`);
    expect(blocks.find((b) => b.name === 'otelcol.exporter.loadbalancing')).toBeUndefined();

    // the scrape finds the chart's pods and keeps the port /metrics is served on
    const disc = component(blocks, 'discovery.kubernetes', 'spanmeter');
    expect(disc.attrs.role).toBe('pod');
    expect(child(disc, 'namespaces').attrs.names).toEqual([NAMESPACE]);
    const selector = child(disc, 'selectors').attrs.label as string;
    const podLabels = spanmeter.get('Deployment').spec.template.metadata.labels;
    for (const pair of selector.split(',')) {
      const [k, v] = pair.split('=');
      expect(podLabels[k!], pair).toBe(v);
    }
    const keep = component(blocks, 'discovery.relabel', 'spanmeter').blocks.find((b) => b.attrs.action === 'keep')!;
    expect(keep.attrs.source_labels).toEqual(['__meta_kubernetes_pod_container_port_name']);
    const metricsPort = podSpec(spanmeter).containers[0].ports.find((p: any) => p.name === keep.attrs.regex);
    expect(metricsPort, `container port named ${keep.attrs.regex}`).toBeDefined();
    const cfg = YAML.parse(spanmeter.get('ConfigMap').data['spanmeter.yaml']);
    expect(cfg.http_endpoint).toBe(`0.0.0.0:${metricsPort.containerPort}`);
    const scrape = component(blocks, 'prometheus.scrape', 'spanmeter');
    expect(refs(scrape.attrs.targets)).toEqual(['discovery.relabel.spanmeter.output']);
    expect(scrape.attrs.job_name).toBe('spanmeter'); // README: the series carry job="spanmeter"
    expect(refs(scrape.attrs.forward_to)).toEqual(['prometheus.remote_write.default.receiver']);
    const values = YAML.parse(readFileSync(ALLOY_VALUES, 'utf8'));
    // the Alloy pods share the targets (a DaemonSet by default): clustering on in the chart too
    expect(child(scrape, 'clustering').attrs.enabled).toBe(true);
    expect(values.alloy.clustering.enabled).toBe(true);
    expect(child(component(blocks, 'prometheus.remote_write', 'default'), 'endpoint').attrs.url).toBe(values.prometheus.remoteWriteUrl);
    // the receiver's ports are the ones the values expose on the Alloy pods and Service
    const exposed = values.alloy.extraPorts.map((p: any) => p.targetPort).sort();
    const listening = ['grpc', 'http'].map((p) => Number((child(receiver, p).attrs.endpoint as string).split(':')[1])).sort();
    expect(exposed).toEqual(listening);
  });

  it('three replicas: the loadbalancing exporter routes by trace ID over the headless Service\'s pods', () => {
    const blocks = parseAlloy(alloyConfig({ 'spanmeter.replicas': 3 }));
    expect(danglingRefs(blocks)).toEqual([]);
    const lb = component(blocks, 'otelcol.exporter.loadbalancing', 'spanmeter');
    expect(lb.attrs.routing_key).toBe('traceID');
    const k8s = child(lb, 'resolver', 'kubernetes');
    const headless = spanmeter.get('Service', 'spanmeter-headless');
    expect(headless.spec.clusterIP).toBe('None');
    expect(k8s.attrs.service).toBe(`${headless.metadata.name}.${NAMESPACE}`);
    // the k8s resolver dials the pod IPs at these ports: the container's gRPC port
    expect(k8s.attrs.ports).toEqual([targetPortOf('spanmeter-headless', 'otlp-grpc')]);
    expect(refs(child(component(blocks, 'otelcol.receiver.otlp', 'default'), 'output').attrs.traces))
      .toEqual(['otelcol.exporter.otlp.tempo.input', 'otelcol.exporter.loadbalancing.spanmeter.input']);
  });

  it('without Tempo, traces go to spanmeter only; a syntax error is refused by the parser', () => {
    const blocks = parseAlloy(alloyConfig({ 'tempo.endpoint': '' }));
    expect(danglingRefs(blocks)).toEqual([]);
    expect(blocks.find((b) => b.label === 'tempo')).toBeUndefined();
    expect(() => parseAlloy('otelcol.exporter.otlp "x" {\n  client {\n    endpoint = "a:1"\n  }\n')).toThrow();
  });
});

describe('Collector values (open-telemetry/opentelemetry-collector chart)', () => {
  const values = YAML.parse(readFileSync(COLLECTOR_VALUES, 'utf8'));
  const dropNulls = (o: any): any =>
    o && typeof o === 'object' && !Array.isArray(o)
      ? Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null).map(([k, v]) => [k, dropNulls(v)]))
      : o;
  const config = dropNulls(values.config);

  function validate(cfg: unknown): { status: number; out: string } {
    const dir = mkdtempSync(join(scratch, 'otelcol-'));
    writeFileSync(join(dir, 'config.yaml'), YAML.stringify(cfg));
    // the k8s resolver builds its API client when the exporter is created (validate creates the
    // components): a kubeconfig pointing at nothing stands in for the pod's service account
    writeFileSync(join(dir, 'kubeconfig'), YAML.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'none',
      clusters: [{ name: 'none', cluster: { server: 'https://127.0.0.1:9' } }],
      users: [{ name: 'none', user: { token: 'none' } }],
      contexts: [{ name: 'none', context: { cluster: 'none', user: 'none' } }],
    }));
    const r = spawnSync(otelcolBinary(), ['validate', '--config', join(dir, 'config.yaml')], {
      encoding: 'utf8', env: { PATH: process.env.PATH, KUBECONFIG: join(dir, 'kubeconfig'), MY_POD_IP: '127.0.0.1' },
    });
    return { status: r.status ?? -1, out: r.stdout + r.stderr };
  }

  it('config passes otelcol validate; a broken one does not', () => {
    const ok = validate(config);
    expect(ok.out).toBe('');
    expect(ok.status).toBe(0);
    const broken = structuredClone(config);
    broken.exporters['loadbalancing/spanmeter'].routing_key = 'traceid';
    const bad = validate(broken);
    expect(bad.status).not.toBe(0);
    expect(bad.out).toContain('routing_key');
  });

  it('its wiring matches the spanmeter chart: headless Service, gRPC port, trace-ID routing, Tempo and spanmeter in one pipeline', () => {
    const lb = config.exporters['loadbalancing/spanmeter'];
    expect(lb.routing_key).toBe('traceID');
    const headless = spanmeter.get('Service', 'spanmeter-headless');
    expect(lb.resolver.k8s).toEqual({ service: `${headless.metadata.name}.${NAMESPACE}`, ports: [targetPortOf('spanmeter-headless', 'otlp-grpc')] });
    expect(config.service.pipelines).toEqual({ traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['otlp/tempo', 'loadbalancing/spanmeter'] } });
    // the chart's defaults the nulls remove (its values.yaml: jaeger, zipkin, prometheus receivers; logs and metrics pipelines)
    expect(Object.entries(values.config.receivers).filter(([, v]) => v === null).map(([k]) => k).sort()).toEqual(['jaeger', 'prometheus', 'zipkin']);
    // the k8s resolver's RBAC: EndpointSlices (loadbalancingexporter resolver_k8s.go lists and watches discovery/v1 EndpointSlices)
    expect(values.clusterRole.rules).toEqual([{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] }]);
  });

  it('runs: the real Collector with this config feeds the rendered spanmeter pod and a Tempo stand-in', async () => {
    // Substitutions, all for lack of a cluster: listen addresses on free loopback ports instead of
    // ${env:MY_POD_IP} and the chart's fixed ports; the k8s resolver replaced by the static one
    // with the pod's gRPC address (what the resolver would find in the headless Service's
    // EndpointSlice); Tempo played by a second spanmeter (an OTLP/gRPC receiver that counts).
    const [otlpGrpc, otlpHttp, health, g, h, m] = await freePorts(6);
    const rendered = spanmeterAt(g, h, m);
    const pod = runPod(rendered);
    const tempo = await startSidecar({ grpc: true, label: 'tempo stand-in' });
    let otelcol: Awaited<ReturnType<typeof startOtelcol>> | undefined;
    try {
      await probeUntilOk(pod, pod.container.readinessProbe);
      const cfg = structuredClone(config);
      cfg.receivers.otlp.protocols.grpc.endpoint = `127.0.0.1:${otlpGrpc}`;
      cfg.receivers.otlp.protocols.http.endpoint = `127.0.0.1:${otlpHttp}`;
      cfg.extensions.health_check.endpoint = `127.0.0.1:${health}`;
      cfg.exporters['otlp/tempo'].endpoint = tempo.grpcEndpoint;
      const lb = cfg.exporters['loadbalancing/spanmeter'];
      lb.resolver = { static: { hostnames: lb.resolver.k8s.ports.map(() => `127.0.0.1:${servicePort(rendered, pod, 'otlp-grpc')}`) } };
      otelcol = await startOtelcol(cfg, { label: 'collector-values' });
      const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${otlpGrpc}` });
      try {
        const start: [number, number] = [Math.floor(Date.now() / 1000), 0];
        await exportSpans(exporter, await makeSpans('via-collector', ['GET /a', 'GET /b', 'GET /c'].map((name) => ({
          name, kind: SpanKind.SERVER, start, durationNs: 5e6,
        }))));
      } finally {
        await exporter.shutdown();
      }
      // 3 spans sent (hand count): each side gets all 3 once the batch processor flushes (200 ms default)
      const deadline = Date.now() + 20_000;
      let seen: [Record<string, number>, Record<string, number>] = [{}, {}];
      while (Date.now() < deadline) {
        seen = [
          callsByService((await call('http', pod.port('http-metrics'), '/metrics')).body),
          callsByService((await fetchMetricsText(tempo)).text),
        ];
        if (seen[0]['via-collector'] === 3 && seen[1]['via-collector'] === 3) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(seen).toEqual([{ 'via-collector': 3 }, { 'via-collector': 3 }]);
    } finally {
      await otelcol?.stop();
      await tempo.stop();
      await pod.stop();
    }
  });
});
