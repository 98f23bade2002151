// Static checks of the scale-out deployment files in deploy/ (docs/scale-out.md): every YAML
// file parses; the Collector configs route by trace id over OTLP/gRPC; the recording rules and
// the Prometheus config pass the real `promtool check`; the Alloy files and the dashboard have
// the required shape (no Alloy parser here: textual checks).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../support/sidecar.js';
import { IN_CI } from '../support/prometheus.js';
import { dashboard } from './dashboard.js';

const DEPLOY = join(PROJECT_ROOT, 'deploy');
const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
const HAVE_PROMTOOL = existsSync(PROMTOOL);
const files = readdirSync(DEPLOY).sort();
const yamlFiles = files.filter((f) => /\.ya?ml$/.test(f));
const read = (f: string): string => readFileSync(join(DEPLOY, f), 'utf8');
type Obj = Record<string, unknown>;
const parse = (f: string): Obj => YAML.parse(read(f)) as Obj;

describe('deploy/ YAML files', () => {
  test('the expected files are there', () => {
    for (const f of [
      'collector-loadbalancing.yaml',
      'collector-loadbalancing-dns.yaml',
      'alloy-loadbalancing.alloy',
      'alloy-loadbalancing-dns.alloy',
      'prometheus.yml',
      'prometheus-rules.yaml',
      'grafana-datasources.yaml',
      'grafana-dashboard.json',
    ]) {
      expect(files, f).toContain(f);
    }
  });

  test.each(yamlFiles)('%s parses as YAML without errors or warnings', (f) => {
    const docs = YAML.parseAllDocuments(read(f));
    expect(docs.length).toBe(1);
    expect(docs[0]!.errors.map(String)).toEqual([]);
    expect(docs[0]!.warnings.map(String)).toEqual([]);
    expect(typeof docs[0]!.toJS()).toBe('object');
  });

  test.each([
    ['collector-loadbalancing.yaml', 'static'],
    ['collector-loadbalancing-dns.yaml', 'dns'],
  ])('%s: loadbalancing exporter, routing_key traceID, OTLP/gRPC, %s resolver, in the traces pipeline', (f, resolver) => {
    const cfg = parse(f) as {
      receivers: Obj;
      exporters: Record<string, Obj>;
      service: { pipelines: Record<string, { receivers: string[]; exporters: string[] }> };
    };
    const lb = cfg.exporters.loadbalancing as { routing_key: string; protocol: Obj; resolver: Obj };
    expect(lb.routing_key).toBe('traceID');
    // OTLP is the only protocol the exporter has; it is gRPC (port 4317 on each backend)
    expect(Object.keys(lb.protocol)).toEqual(['otlp']);
    expect((lb.protocol.otlp as { endpoint?: string }).endpoint, 'backends come from the resolver').toBeUndefined();
    // exactly one resolver
    expect(Object.keys(lb.resolver)).toEqual([resolver]);
    if (resolver === 'static') {
      const hosts = (lb.resolver.static as { hostnames: string[] }).hostnames;
      expect(hosts.length).toBeGreaterThanOrEqual(2);
      for (const h of hosts) expect(h).toMatch(/^[a-z0-9.-]+:4317$/);
      expect(new Set(hosts).size).toBe(hosts.length);
    } else {
      const dns = lb.resolver.dns as { hostname: string; port: string };
      expect(dns.hostname).toMatch(/^[a-z0-9.-]+$/);
      expect(String(dns.port)).toBe('4317');
    }
    expect(cfg.receivers).toHaveProperty('otlp');
    const traces = cfg.service.pipelines.traces!;
    expect(traces.receivers).toContain('otlp');
    expect(traces.exporters).toContain('loadbalancing');
    // every exporter and receiver a pipeline names is defined
    for (const p of Object.values(cfg.service.pipelines)) {
      for (const e of p.exporters) expect(cfg.exporters, e).toHaveProperty([e]);
      for (const r of p.receivers) expect(cfg.receivers, r).toHaveProperty([r]);
    }
  });

  test('prometheus-rules.yaml: every rule records a spanmeter: series aggregated across instances', () => {
    const rules = parse('prometheus-rules.yaml') as { groups: { name: string; rules: { record?: string; alert?: string; expr: string }[] }[] };
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThanOrEqual(8);
    const names = all.map((r) => r.record);
    for (const want of [
      'spanmeter:traces_spanmetrics_calls:rate5m',
      'spanmeter:traces_spanmetrics_latency_bucket:rate5m',
      'spanmeter:traces_service_graph_request:rate5m',
      'spanmeter:traces_service_graph_request_failed:rate5m',
    ]) {
      expect(names).toContain(want);
    }
    for (const r of all) {
      expect(r.record, JSON.stringify(r)).toMatch(/^spanmeter:[a-z_]+:[a-z0-9_]+$/);
      // aggregates instances away directly, or builds on a recorded (already aggregated) series
      expect(r.expr, r.record).toMatch(/sum by \(|sum without \(instance\)|spanmeter:/);
      // `sum by` lists must not keep `instance`
      for (const m of r.expr.matchAll(/sum by \(([^)]*)\)/g)) expect(m[1]!.split(/,\s*/), r.record).not.toContain('instance');
    }
    expect(all.find((r) => r.record === 'spanmeter:traces_spanmetrics_latency_bucket:rate5m')!.expr).toMatch(/\ble\b/);
  });

  describe.skipIf(!HAVE_PROMTOOL && !IN_CI)('promtool', () => {
    test('promtool check rules deploy/prometheus-rules.yaml', () => {
      expect(HAVE_PROMTOOL, `${PROMTOOL} missing (apt-get install prometheus)`).toBe(true);
      const out = execFileSync(PROMTOOL, ['check', 'rules', join(DEPLOY, 'prometheus-rules.yaml')], { encoding: 'utf8' });
      expect(out).toMatch(/SUCCESS: \d+ rules found/);
    });
    test('promtool check config deploy/prometheus.yml (also checks the rule file it loads)', () => {
      const out = execFileSync(PROMTOOL, ['check', 'config', join(DEPLOY, 'prometheus.yml')], { encoding: 'utf8' });
      expect(out).toMatch(/is valid prometheus config file/);
      expect(out).toMatch(/SUCCESS: 1 rule files found/);
    });
  });

  test('grafana-datasources.yaml: Tempo draws its service graph from the Prometheus data source', () => {
    const ds = parse('grafana-datasources.yaml') as { datasources: { uid: string; type: string; jsonData?: { serviceMap?: { datasourceUid?: string } } }[] };
    const prom = ds.datasources.find((d) => d.type === 'prometheus')!;
    const tempo = ds.datasources.find((d) => d.type === 'tempo')!;
    expect(prom).toBeDefined();
    expect(tempo.jsonData?.serviceMap?.datasourceUid).toBe(prom.uid);
  });
});

describe('deploy/ Alloy files (textual: no Alloy parser here)', () => {
  test.each([
    ['alloy-loadbalancing.alloy', 'static'],
    ['alloy-loadbalancing-dns.alloy', 'dns'],
  ])('%s: otelcol.exporter.loadbalancing, routing_key "traceID", OTLP, %s resolver', (f, resolver) => {
    const text = read(f);
    const code = text.replace(/\/\/.*$/gm, '');
    // braces and brackets balance
    let depth = 0;
    for (const ch of code) {
      if (ch === '{' || ch === '[') depth++;
      if (ch === '}' || ch === ']') depth--;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
    expect(depth).toBe(0);
    expect(code).toMatch(/otelcol\.exporter\.loadbalancing "spanmeter" \{/);
    expect(code).toMatch(/routing_key\s*=\s*"traceID"/);
    expect(code).toMatch(/protocol \{\s*otlp \{\s*client \{/);
    expect(code).toMatch(new RegExp(`resolver \\{\\s*${resolver} \\{`));
    expect(code).not.toMatch(new RegExp(`resolver \\{[^]*\\b${resolver === 'dns' ? 'static' : 'dns'} \\{`));
    if (resolver === 'static') expect(code).toMatch(/hostnames\s*=\s*\["[a-z0-9.-]+:4317"(, "[a-z0-9.-]+:4317")+\]/);
    else expect(code).toMatch(/port\s*=\s*"4317"/);
    // the receiver feeds the load balancer
    expect(code).toMatch(/otelcol\.exporter\.loadbalancing\.spanmeter\.input/);
  });
});

describe('deploy/grafana-dashboard.json', () => {
  test('datasource is a template variable, used by every panel and query', () => {
    const v = dashboard.templating.list.find((x) => x.name === 'datasource')!;
    expect(v.type).toBe('datasource');
    expect(v.query).toBe('prometheus');
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets!.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expect(t.datasource.uid, p.title).toBe('${datasource}');
    }
  });
  test('has RED, service-graph and health panels', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr).join('\n');
    for (const m of [
      'traces_spanmetrics_calls_total',
      'histogram_quantile(0.5,',
      'histogram_quantile(0.95,',
      'histogram_quantile(0.99,',
      'traces_spanmetrics_latency_bucket',
      'traces_service_graph_request_total',
      'traces_service_graph_request_failed_total',
      'spanmeter_spans_received_total',
      'spanmeter_spans_rejected_total',
      'spanmeter_active_series',
      'spanmeter_max_active_series',
      'spanmeter_edge_store_size',
      'spanmeter_wasm_memory_bytes',
    ]) {
      expect(exprs, m).toContain(m);
    }
  });

  test('a nodeGraph panel: instant table queries "nodes" and "edges" whose labels are the fields it reads', () => {
    const panels = dashboard.panels.filter((p) => p.type === 'nodeGraph');
    expect(panels).toHaveLength(1);
    const p = panels[0]!;
    expect(p.targets!.map((t) => [t.refId, t.format, t.instant])).toEqual([
      ['nodes', 'table', true],
      ['edges', 'table', true],
    ]);
    const [nodes, edges] = p.targets!.map((t) => t.expr);
    // the node graph finds its fields by name; a rename transformation only sets display names,
    // so id, title, source and target are made as labels in PromQL
    expect(nodes).toMatch(/label_replace\(.*"id", "\$1", "server"/);
    expect(nodes).toMatch(/label_replace\(.*"title", "\$1", "client"/);
    expect(edges).toMatch(/"source", "\$1", "client"/);
    expect(edges).toMatch(/"target", "\$1", "server"/);
    expect(edges).toMatch(/label_join\(.*"id", "->", "client", "server"\)$/);
    for (const e of [nodes, edges]) expect(e).toContain('traces_service_graph_request_total[$__range]');
    // mainstat: a new field (its name is the alias) computed from each frame's own value
    expect(p.transformations).toEqual([
      { id: 'calculateField', options: { mode: 'reduceRow', reduce: { reducer: 'sum' }, alias: 'mainstat', timeSeries: false } },
    ]);
  });
});
