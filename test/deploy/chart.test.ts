// The Helm chart (deploy/helm/spanmeter, issue 25): `helm lint --strict` and `helm template`
// over the default values and variants, every rendered object decoded strictly into the
// Kubernetes API's own types (deploycheck: k8s.io/api v0.34.3, the Prometheus Operator's v0.87.1),
// and what the issue asks of each object. The expected values come from the list
// (non-root, read-only root filesystem, no privilege escalation, dropped capabilities, probes on
// /healthz and /readyz) and from the Kubernetes API reference (a NetworkPolicy rule without
// `from` admits every source; a headless Service has clusterIP None).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { CHART, NAMESPACE, deployTools, helm, kubecheck, podSpec, render, type Rendered } from './support.js';

const VARIANTS: Record<string, Record<string, unknown>> = {
  default: {},
  replicas: { replicas: 3 },
  daemonset: { kind: 'DaemonSet', service: { internalTrafficPolicy: 'Local' }, tolerations: [{ operator: 'Exists' }] },
  tls: {
    tls: { otlp: { enabled: true, secretName: 'spanmeter-otlp-tls', clientAuth: true }, metrics: { enabled: true, secretName: 'spanmeter-metrics-tls' } },
    auth: { otlp: { secretName: 'spanmeter-otlp-token' }, metrics: { secretName: 'spanmeter-metrics-token', secretKey: 'bearer' } },
    serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' }, tlsConfig: { ca: { secret: { name: 'spanmeter-metrics-tls', key: 'ca.crt' } }, serverName: 'spanmeter' } },
    podMonitor: { enabled: true },
  },
  'grpc-off': { ports: { otlpGrpc: 0 }, headlessService: { enabled: false }, podDisruptionBudget: { enabled: false }, serviceAccount: { create: false } },
  networkpolicy: {
    networkPolicy: {
      enabled: true,
      otlpFrom: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'alloy' } } }],
      metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
    },
  },
};

const rendered: Record<string, Rendered> = {};
beforeAll(() => {
  deployTools();
  for (const [name, values] of Object.entries(VARIANTS)) rendered[name] = render(values);
});

const kinds = (r: Rendered): string[] => r.docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
const container = (r: Rendered) => podSpec(r).containers[0];
const configOf = (r: Rendered) => YAML.parse(r.get('ConfigMap').data['spanmeter.yaml'] as string) as Record<string, any>;

describe('helm lint and strict API validation', () => {
  it.each(Object.keys(VARIANTS))('%s: helm lint --strict passes', (name) => {
    const r = helm(['lint', '--strict', CHART], VARIANTS[name]);
    expect(r.stderr + r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  it.each(Object.keys(VARIANTS))('%s: every rendered object decodes strictly into the API types', (name) => {
    const { ok, output } = kubecheck(rendered[name]!.text);
    expect(output).not.toContain('error');
    expect(ok).toBe(true);
    expect(output.trim().split('\n')).toHaveLength(rendered[name]!.docs.length);
  });

  it('deploycheck refuses an unknown field, a wrong type and a selector that misses the pods', () => {
    const dep = rendered.default!.get('Deployment');
    const unknown = structuredClone(dep);
    unknown.spec.template.spec.containers[0].readinesProbe = { httpGet: { path: '/readyz', port: 9464 } };
    let r = kubecheck(YAML.stringify(unknown));
    expect(r.ok).toBe(false);
    expect(r.output).toContain('unknown field "spec.template.spec.containers[0].readinesProbe"');

    const wrongType = structuredClone(dep);
    wrongType.spec.replicas = 'three';
    r = kubecheck(YAML.stringify(wrongType));
    expect(r.ok).toBe(false);
    expect(r.output).toContain('replicas');

    const quantity = structuredClone(dep);
    quantity.spec.template.spec.containers[0].resources.limits.memory = '512 MiB';
    expect(kubecheck(YAML.stringify(quantity)).ok).toBe(false);

    const selector = structuredClone(dep);
    selector.spec.selector.matchLabels['app.kubernetes.io/instance'] = 'other';
    r = kubecheck(YAML.stringify(selector));
    expect(r.ok).toBe(false);
    expect(r.output).toContain('does not select the pod template');

    // the Prometheus Operator's types too
    const sm = structuredClone(rendered.tls!.get('ServiceMonitor'));
    sm.spec.endpoints[0].bearerTokenSecrett = {};
    expect(kubecheck(YAML.stringify(sm)).output).toContain('unknown field');
  });
});

describe('rendered objects', () => {
  it('default: the objects, the restrictive securityContext, the probes and the config file', () => {
    const r = rendered.default!;
    expect(kinds(r)).toEqual([
      'ConfigMap/spanmeter', 'Deployment/spanmeter', 'PodDisruptionBudget/spanmeter',
      'Service/spanmeter', 'Service/spanmeter-headless', 'ServiceAccount/spanmeter',
    ]);
    for (const d of r.docs) expect(d.metadata.namespace).toBe(NAMESPACE);
    const pod = podSpec(r);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    const c = container(r);
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
    });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-metrics' });
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } });
    expect(c.args).toEqual(['--config', '/etc/spanmeter/spanmeter.yaml']);
    // above spanmeter's shutdown_timeout (30s, docs/config.md) so that its last flush is not cut
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30);
    expect(configOf(r)).toEqual({
      processors: ['span-metrics', 'service-graphs'], log_level: 'info', http_endpoint: '0.0.0.0:9464',
      otlp: { grpc_endpoint: '0.0.0.0:4317', http_endpoint: '0.0.0.0:4318' },
    });
    const svc = r.get('Service', 'spanmeter');
    expect(svc.spec.ports.map((p: any) => [p.name, p.port, p.targetPort])).toEqual([
      ['otlp-grpc', 4317, 'otlp-grpc'], ['otlp-http', 4318, 'otlp-http'], ['http-metrics', 9464, 'http-metrics'],
    ]);
  });

  it('replicas: the Deployment count, the headless Service over the same pods, the PDB', () => {
    const r = rendered.replicas!;
    const dep = r.get('Deployment');
    expect(dep.spec.replicas).toBe(3);
    const headless = r.get('Service', 'spanmeter-headless');
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.publishNotReadyAddresses).toBe(false);
    expect(headless.spec.selector).toEqual(dep.spec.selector.matchLabels);
    expect(headless.spec.ports.find((p: any) => p.name === 'otlp-grpc')).toMatchObject({ port: 4317, appProtocol: 'grpc' });
    const podLabels = dep.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(headless.spec.selector)) expect(podLabels[k]).toBe(v);
    const pdb = r.get('PodDisruptionBudget');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: dep.spec.selector.matchLabels } });
  });

  it('DaemonSet: no replicas, no PDB, node-local Service', () => {
    const r = rendered.daemonset!;
    expect(r.find('Deployment')).toBeUndefined();
    expect(r.find('PodDisruptionBudget')).toBeUndefined();
    const ds = r.get('DaemonSet');
    expect(ds.spec.replicas).toBeUndefined();
    expect(ds.spec.template.spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(r.get('Service', 'spanmeter').spec.internalTrafficPolicy).toBe('Local');
  });

  it('TLS and tokens: Secrets mounted where the config points, HTTPS probes, scrapers with scheme and token', () => {
    const r = rendered.tls!;
    const pod = podSpec(r);
    const c = pod.containers[0];
    const mountOf = (secret: string): string => {
      const vol = pod.volumes.find((v: any) => v.secret?.secretName === secret);
      expect(vol, secret).toBeDefined();
      return c.volumeMounts.find((m: any) => m.name === vol.name).mountPath;
    };
    const cfg = configOf(r);
    expect(cfg.otlp.tls).toEqual({
      cert_file: `${mountOf('spanmeter-otlp-tls')}/tls.crt`, key_file: `${mountOf('spanmeter-otlp-tls')}/tls.key`,
      client_ca_file: `${mountOf('spanmeter-otlp-tls')}/ca.crt`,
    });
    expect(cfg.tls).toEqual({ cert_file: `${mountOf('spanmeter-metrics-tls')}/tls.crt`, key_file: `${mountOf('spanmeter-metrics-tls')}/tls.key` });
    expect(cfg.otlp.auth).toEqual({ bearer_token_file: `${mountOf('spanmeter-otlp-token')}/token` });
    expect(cfg.http_auth).toEqual({ bearer_token_file: `${mountOf('spanmeter-metrics-token')}/bearer` });
    for (const m of c.volumeMounts) if (m.name !== 'tmp') expect(m.readOnly).toBe(true);
    expect(c.livenessProbe.httpGet.scheme).toBe('HTTPS');
    expect(c.readinessProbe.httpGet.scheme).toBe('HTTPS');
    for (const kind of ['ServiceMonitor', 'PodMonitor']) {
      const m = r.get(kind);
      const ep = (m.spec.endpoints ?? m.spec.podMetricsEndpoints)[0];
      expect(ep).toMatchObject({ port: 'http-metrics', path: '/metrics', scheme: 'https', authorization: { type: 'Bearer', credentials: { name: 'spanmeter-metrics-token', key: 'bearer' } } });
      expect(m.spec.selector.matchLabels).toEqual(r.get('Deployment').spec.selector.matchLabels);
    }
    const sm = r.get('ServiceMonitor');
    expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(sm.spec.endpoints[0].tlsConfig.serverName).toBe('spanmeter');
    // the ServiceMonitor must select the ClusterIP Service only, not also the headless one
    // (the same pods twice): its matchExpressions exclude the headless Service's component label
    const matches = (svc: any) => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels[k] === v) &&
      sm.spec.selector.matchExpressions.every((e: any) => e.operator === 'DoesNotExist' && !(e.key in svc.metadata.labels));
    expect(r.docs.filter((d) => d.kind === 'Service' && matches(d)).map((d) => d.metadata.name)).toEqual(['spanmeter']);
  });

  it('NetworkPolicy: only the listed peers, and no rule at all for an empty list', () => {
    const np = rendered.networkpolicy!.get('NetworkPolicy');
    expect(np.spec.policyTypes).toEqual(['Ingress']);
    expect(np.spec.ingress).toEqual([
      { from: VARIANTS.networkpolicy!.networkPolicy && (VARIANTS.networkpolicy as any).networkPolicy.otlpFrom, ports: [{ port: 'otlp-grpc', protocol: 'TCP' }, { port: 'otlp-http', protocol: 'TCP' }] },
      { from: (VARIANTS.networkpolicy as any).networkPolicy.metricsFrom, ports: [{ port: 'http-metrics', protocol: 'TCP' }] },
    ]);
    // a rule with ports and no `from` would admit every source (NetworkPolicy API reference)
    const closed = render({ networkPolicy: { enabled: true, metricsFrom: [{ podSelector: {} }] } }).get('NetworkPolicy');
    expect(closed.spec.ingress).toEqual([{ from: [{ podSelector: {} }], ports: [{ port: 'http-metrics', protocol: 'TCP' }] }]);
    for (const rule of closed.spec.ingress) expect(rule.from.length).toBeGreaterThan(0);
  });

  it('a receiver port 0 turns that receiver off and leaves its ports out; optional objects go', () => {
    const r = rendered['grpc-off']!;
    expect(kinds(r)).toEqual(['ConfigMap/spanmeter', 'Deployment/spanmeter', 'Service/spanmeter']);
    expect(configOf(r).otlp).toEqual({ grpc_endpoint: '', http_endpoint: '0.0.0.0:4318' });
    expect(container(r).ports.map((p: any) => p.name)).toEqual(['otlp-http', 'http-metrics']);
    expect(r.get('Service').spec.ports.map((p: any) => p.name)).toEqual(['otlp-http', 'http-metrics']);
    expect(podSpec(r).serviceAccountName).toBe('default');
  });

  it('the config checksum changes with the config and only with it', () => {
    const sum = (r: Rendered): string => r.get('Deployment').spec.template.metadata.annotations['checksum/config'];
    const base = sum(rendered.default!);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(sum(render({ config: { processors: ['span-metrics'], log_level: 'debug' } }))).not.toBe(base);
    expect(sum(render({ resources: { requests: { cpu: '1' } } }))).toBe(base);
  });

  it('values.schema.json covers exactly the keys of values.yaml, and helm refuses a typo or a wrong type', () => {
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
    const values = YAML.parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
    // the mappings the schema closes (additionalProperties: false) have the keys values.yaml has;
    // `global` is Helm's own (a parent chart's globals reach every subchart)
    const closed = (s: any, v: any, path: string): string[] => {
      if (s.additionalProperties !== false) return [];
      const sk = Object.keys(s.properties).filter((k) => !(path === '' && k === 'global')).sort();
      expect(sk, path || '(top)').toEqual(Object.keys(v).sort());
      return [path, ...sk.flatMap((k) => closed(s.properties[k], v[k], path ? `${path}.${k}` : k))];
    };
    expect(closed(schema, values, '').length).toBeGreaterThan(10);
    const refused = (values: Record<string, unknown>): string => {
      const r = helm(['template', 'spanmeter', CHART], values);
      expect(r.status).not.toBe(0);
      return r.stderr;
    };
    // a typo would otherwise be ignored silently: replica instead of replicas
    expect(refused({ replica: 3 })).toContain("additional properties 'replica' not allowed");
    expect(refused({ serviceMonitor: { enable: true } })).toContain("additional properties 'enable' not allowed");
    expect(refused({ kind: 'deployment' })).toContain('/kind');
    expect(refused({ ports: { http: 99999 } })).toContain('/ports/http');
    expect(refused({ replicas: '3' })).toContain('/replicas');
  });

  it('refuses values it cannot honour, naming them', () => {
    const fail = (values: Record<string, unknown>): string => {
      const r = helm(['template', 'spanmeter', CHART], values);
      expect(r.status).not.toBe(0);
      return r.stderr;
    };
    expect(fail({ config: { http_endpoint: '0.0.0.0:1' } })).toContain('config.http_endpoint is set by the chart');
    expect(fail({ config: { otlp: { grpc_endpoint: '0.0.0.0:1' } } })).toContain('config.otlp.grpc_endpoint is set by the chart');
    expect(fail({ tls: { otlp: { enabled: true } } })).toContain('tls.otlp.enabled needs tls.otlp.secretName');
    expect(fail({ kind: 'StatefulSet' })).toContain("/kind': value must be one of 'Deployment', 'DaemonSet'");
  });
});
