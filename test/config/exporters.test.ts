// The push exporters' keys: remote_write (a list of mappings), collection_interval,
// external_labels and headers (string mappings), instance, otlp_metrics; their env var forms and
// the validation errors, which name the key path down to the list index and the map key.
import { describe, expect, it } from 'vitest';
import { errorOf, fileError, load } from './helpers.js';

const file = (yaml: string) => load(['--config', 'c.yaml'], {}, { 'c.yaml': yaml });

describe('remote_write', () => {
  it('entries get the defaults for what they leave out', () => {
    const r = file('remote_write:\n  - url: http://p:9090/api/v1/write\n  - {url: "https://m/api/v1/push", timeout: 5s, send_exemplars: true}\n');
    expect(r.config.remote_write).toEqual([
      { url: 'http://p:9090/api/v1/write', headers: {}, send_exemplars: false, timeout: 30000 },
      { url: 'https://m/api/v1/push', headers: {}, send_exemplars: true, timeout: 5000 },
    ]);
  });

  it.each([
    [
      'a URL without a scheme',
      'remote_write:\n  - url: prometheus:9090\n',
      'config error: c.yaml:2:10: remote_write[0].url: expected an http(s) URL, got "prometheus:9090" (no scheme: write http://prometheus:9090)',
    ],
    [
      'another scheme',
      'remote_write:\n  - url: ftp://p/w\n',
      'config error: c.yaml:2:10: remote_write[0].url: expected an http(s) URL, got "ftp://p/w" (scheme ftp is not http or https)',
    ],
    ['no url', 'remote_write:\n  - timeout: 5s\n', 'config error: c.yaml:2:5: remote_write[0]: missing url'],
    [
      'a typo in an entry',
      'remote_write:\n  - url: http://p/w\n    send_exemplar: true\n',
      'config error: c.yaml:3:5: remote_write[0].send_exemplar: unknown key (did you mean send_exemplars?)',
    ],
    [
      "Prometheus's remote_timeout",
      'remote_write:\n  - url: http://p/w\n    remote_timeout: 5s\n',
      "config error: c.yaml:3:5: remote_write[0].remote_timeout: Prometheus's remote_timeout is timeout here",
    ],
    [
      'basic_auth',
      'remote_write:\n  - url: http://p/w\n    basic_auth: {username: u}\n',
      'config error: c.yaml:3:5: remote_write[0].basic_auth: Prometheus remote_write option not supported by spanmeter (send an Authorization header with headers instead)',
    ],
    [
      'a bad timeout in the second entry',
      'remote_write:\n  - url: http://a/w\n  - url: http://b/w\n    timeout: 10\n',
      'config error: c.yaml:4:14: remote_write[1].timeout: expected a duration string like "10s", got number 10',
    ],
    [
      'a header spanmeter sets',
      'remote_write:\n  - url: http://p/w\n    headers: {Content-Encoding: gzip}\n',
      'config error: c.yaml:3:15: remote_write[0].headers.Content-Encoding: header Content-Encoding is set by spanmeter and cannot be overridden',
    ],
    [
      'a header value that is not a string',
      'remote_write:\n  - url: http://p/w\n    headers: {X-Scope-OrgID: 1}\n',
      'config error: c.yaml:3:30: remote_write[0].headers.X-Scope-OrgID: expected a string, got number 1',
    ],
    ['not a list', 'remote_write: {url: http://p/w}\n', 'config error: c.yaml:1:15: remote_write: expected a list, got a mapping'],
    [
      'an entry that is not a mapping',
      'remote_write:\n  - http://p/w\n',
      'config error: c.yaml:2:5: remote_write[0]: expected a mapping, got string "http://p/w"',
    ],
    [
      "Tempo's storage block",
      'storage:\n  remote_write: []\n',
      "config error: c.yaml:1:1: storage: unknown key (Tempo's metrics_generator.storage.remote_write list goes at the top level: remote_write:)",
    ],
    [
      "Tempo's registry.collection_interval",
      'registry:\n  collection_interval: 15s\n',
      'config error: c.yaml:2:3: registry.collection_interval: unknown key (collection_interval is a top-level key in spanmeter)',
    ],
  ])('%s', (_name, yaml, message) => {
    expect(fileError(yaml)).toBe(message);
  });

  it('every problem in every entry is reported', () => {
    const lines = fileError('remote_write:\n  - url: x\n  - url: http://ok/w\n    timeout: 0s\n  - {}\n').split('\n');
    expect(lines).toEqual([
      'config error: c.yaml:2:10: remote_write[0].url: expected an http(s) URL, got "x" (no scheme: write http://x)',
      'config error: c.yaml:4:14: remote_write[1].timeout: must be greater than 0, got "0s"',
      'config error: c.yaml:5:5: remote_write[2]: missing url',
    ]);
  });

  it('SPANMETER_REMOTE_WRITE: comma-separated URLs, or a YAML flow list', () => {
    expect(load([], { SPANMETER_REMOTE_WRITE: 'http://a/w, http://b/w' }).config.remote_write.map((e) => e.url)).toEqual([
      'http://a/w',
      'http://b/w',
    ]);
    const r = load([], { SPANMETER_REMOTE_WRITE: '[{url: "http://m/api/v1/push", headers: {X-Scope-OrgID: t1}, timeout: 3s}]' });
    expect(r.config.remote_write).toEqual([
      { url: 'http://m/api/v1/push', headers: { 'X-Scope-OrgID': 't1' }, send_exemplars: false, timeout: 3000 },
    ]);
    expect(load([], { SPANMETER_REMOTE_WRITE: '' }).config.remote_write).toEqual([]);
    expect(errorOf([], { SPANMETER_REMOTE_WRITE: 'p:9090' })).toBe(
      'config error: env SPANMETER_REMOTE_WRITE: remote_write[0].url: expected an http(s) URL, got "p:9090" (no scheme: write http://p:9090)',
    );
  });

  it('--set remote_write replaces the file\'s list whole', () => {
    const r = load(['--config', 'c.yaml', '--set', 'remote_write=http://c/w'], {}, {
      'c.yaml': 'remote_write:\n  - url: http://a/w\n  - url: http://b/w\n',
    });
    expect(r.config.remote_write.map((e) => e.url)).toEqual(['http://c/w']);
  });
});

describe('external_labels, instance, collection_interval', () => {
  it('read from the file', () => {
    const r = file('remote_write: [{url: "http://p/w"}]\nexternal_labels: {cluster: eu-1, replica: a}\ninstance: sm-0\ncollection_interval: 1m\n');
    expect(r.config.external_labels).toEqual({ cluster: 'eu-1', replica: 'a' });
    expect(r.config.instance).toBe('sm-0');
    expect(r.config.collection_interval).toBe(60000);
    expect(r.warnings).toEqual([]);
  });

  it.each([
    ['a bad label name', 'external_labels: {"k8s-cluster": a}\n', 'config error: c.yaml:1:19: external_labels.k8s-cluster: invalid label name "k8s-cluster" (expected [a-zA-Z_][a-zA-Z0-9_]*)'],
    ['a reserved name', 'external_labels: {__tenant: a}\n', 'config error: c.yaml:1:19: external_labels.__tenant: label names starting with "__" are reserved, got "__tenant"'],
    ['instance', 'external_labels: {instance: a}\n', 'config error: c.yaml:1:19: external_labels.instance: set the instance label with the top-level instance key'],
    ['le', 'external_labels: {le: a}\n', 'config error: c.yaml:1:19: external_labels.le: le is the histogram bucket label'],
    ['an empty value', 'external_labels: {cluster: ""}\n', 'config error: c.yaml:1:28: external_labels.cluster: must not be empty (an empty label value is no label)'],
    ['a number', 'external_labels: {replica: 1}\n', 'config error: c.yaml:1:28: external_labels.replica: expected a string, got number 1'],
    ['a list', 'external_labels: [a]\n', 'config error: c.yaml:1:18: external_labels: expected a mapping (name: value), got a list'],
    ['collection_interval 0', 'collection_interval: 0s\n', 'config error: c.yaml:1:22: collection_interval: must be greater than 0, got "0s"'],
  ])('%s', (_name, yaml, message) => {
    expect(fileError(yaml)).toBe(message);
  });

  it('SPANMETER_EXTERNAL_LABELS: name=value pairs or a YAML flow mapping', () => {
    const env = { SPANMETER_REMOTE_WRITE: 'http://p/w' };
    expect(load([], { ...env, SPANMETER_EXTERNAL_LABELS: 'cluster=eu-1, replica=a' }).config.external_labels).toEqual({
      cluster: 'eu-1',
      replica: 'a',
    });
    expect(load([], { ...env, SPANMETER_EXTERNAL_LABELS: '{cluster: "a,b"}' }).config.external_labels).toEqual({ cluster: 'a,b' });
    expect(load([], { ...env, SPANMETER_EXTERNAL_LABELS: '' }).config.external_labels).toEqual({});
    expect(errorOf([], { SPANMETER_EXTERNAL_LABELS: 'cluster' })).toBe(
      'config error: env SPANMETER_EXTERNAL_LABELS: external_labels: expected a mapping (name: value), got string "cluster"',
    );
    expect(load([], { ...env, SPANMETER_INSTANCE: 'pod-1', SPANMETER_COLLECTION_INTERVAL: '5s' }).config).toMatchObject({
      instance: 'pod-1',
      collection_interval: 5000,
    });
  });

  it('warns when set without an exporter to use them', () => {
    expect(file('external_labels: {cluster: a}\ninstance: x\ncollection_interval: 5s\n').warnings).toEqual([
      'collection_interval is set but remote_write lists no receiver: it has no effect',
      'external_labels is set but neither remote_write nor otlp_metrics.endpoint is: it has no effect (/metrics never carries it)',
      'instance is set but neither remote_write nor otlp_metrics.endpoint is: it has no effect (/metrics never carries it)',
    ]);
    expect(file('otlp_metrics: {endpoint: "http://a:4317"}\nexternal_labels: {cluster: a}\n').warnings).toEqual([]);
  });
});

describe('otlp_metrics', () => {
  it('read from the file; protocol and temporality in any case', () => {
    const r = file('otlp_metrics:\n  endpoint: https://alloy:4318\n  protocol: HTTP/Protobuf\n  interval: 30s\n  temporality: Delta\n  headers: {X-Tenant: t}\n');
    expect(r.config.otlp_metrics).toEqual({
      endpoint: 'https://alloy:4318',
      protocol: 'http/protobuf',
      interval: 30000,
      temporality: 'delta',
      headers: { 'X-Tenant': 't' },
    });
    expect(r.warnings).toEqual([]);
  });

  it.each([
    ['an endpoint without scheme', 'otlp_metrics: {endpoint: "alloy:4317"}\n', 'config error: c.yaml:1:26: otlp_metrics.endpoint: expected an http(s) URL, got "alloy:4317" (no scheme: write http://alloy:4317)'],
    ['a protocol', 'otlp_metrics: {protocol: http}\n', 'config error: c.yaml:1:26: otlp_metrics.protocol: expected one of grpc, http/protobuf, got string "http"'],
    ['a temporality', 'otlp_metrics: {temporality: cumulatve}\n', 'config error: c.yaml:1:29: otlp_metrics.temporality: expected one of cumulative, delta, got string "cumulatve"'],
    ['a gRPC header', 'otlp_metrics: {headers: {grpc-timeout: 1S}}\n', 'config error: c.yaml:1:26: otlp_metrics.headers.grpc-timeout: header grpc-timeout is set by spanmeter and cannot be overridden'],
    ['a typo', 'otlp_metrics: {endpiont: "http://a:4317"}\n', 'config error: c.yaml:1:16: otlp_metrics.endpiont: unknown key (did you mean endpoint?)'],
  ])('%s', (_name, yaml, message) => {
    expect(fileError(yaml)).toBe(message);
  });

  it('env vars; an empty endpoint is off', () => {
    const r = load([], {
      SPANMETER_OTLP_METRICS_ENDPOINT: 'http://alloy:4317',
      SPANMETER_OTLP_METRICS_HEADERS: 'Authorization=Bearer abc',
      SPANMETER_OTLP_METRICS_TEMPORALITY: 'delta',
    });
    expect(r.config.otlp_metrics).toMatchObject({ endpoint: 'http://alloy:4317', headers: { Authorization: 'Bearer abc' }, temporality: 'delta' });
    expect(load([], { SPANMETER_OTLP_METRICS_ENDPOINT: '' }).config.otlp_metrics.endpoint).toBe('');
  });

  it('warns when configured without an endpoint', () => {
    expect(file('otlp_metrics: {interval: 5s}\n').warnings).toEqual([
      'otlp_metrics is configured but otlp_metrics.endpoint is "": the OTLP metrics push is off',
    ]);
  });
});
