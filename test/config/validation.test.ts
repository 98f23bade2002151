import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { errorOf, fakeReader, fileError } from './helpers.js';

describe('unknown keys, at every depth, with the key path and a hint', () => {
  it.each([
    ['top level', 'log_levl: info\n', 'config error: c.yaml:1:1: log_levl: unknown key (did you mean log_level?)'],
    ['top level, no close match', 'zzz: 1\n', 'config error: c.yaml:1:1: zzz: unknown key'],
    ['otlp', 'otlp:\n  http-endpoint: 127.0.0.1:1\n', 'config error: c.yaml:2:3: otlp.http-endpoint: unknown key (did you mean http_endpoint?)'],
    ['processor', 'processor:\n  spanmetrics: {}\n', 'config error: c.yaml:2:3: processor.spanmetrics: unknown key (did you mean span_metrics?)'],
    [
      'span_metrics',
      'processor:\n  span_metrics:\n    histogram_bucket: [1]\n',
      'config error: c.yaml:3:5: processor.span_metrics.histogram_bucket: unknown key (did you mean histogram_buckets?)',
    ],
    [
      'intrinsic_dimensions',
      'processor:\n  span_metrics:\n    intrinsic_dimensions: {service: true, status: false}\n',
      'config error: c.yaml:3:43: processor.span_metrics.intrinsic_dimensions.status: unknown key',
    ],
    [
      'service_graphs',
      'processor:\n  service_graphs:\n    max_item: 5\n',
      'config error: c.yaml:3:5: processor.service_graphs.max_item: unknown key (did you mean max_items?)',
    ],
    [
      "Tempo's local_blocks processor",
      'processor:\n  local_blocks: {}\n',
      'config error: c.yaml:2:3: processor.local_blocks: Tempo processor not provided by spanmeter',
    ],
    [
      "a key Tempo's metrics_generator block does not have (the block itself is read: peers.test.ts)",
      'metrics_generator:\n  processors: [span-metrics]\n',
      'config error: c.yaml:2:3: metrics_generator.processors: unknown key (not one of processor, registry, storage, metrics_ingestion_time_range_slack, ring, override_ring_key, ring_mode, codec, limiter_type, ingest_concurrency, instance_id, leave_consumer_group_on_shutdown, skip_stale_backlog_on_startup)',
    ],
  ])('%s', (_name, yaml, message) => {
    expect(fileError(yaml)).toBe(message);
  });
});

describe('wrong types name the key path and what was found', () => {
  it.each([
    [
      'a string in the buckets',
      'processor:\n  span_metrics:\n    histogram_buckets: [0.1, 0.2, x]\n',
      'config error: c.yaml:3:35: processor.span_metrics.histogram_buckets[2]: expected a number, got string "x"',
    ],
    [
      'a quoted number in the buckets',
      'processor: {span_metrics: {histogram_buckets: ["1"]}}\n',
      'config error: c.yaml:1:48: processor.span_metrics.histogram_buckets[0]: expected a number, got string "1"',
    ],
    [
      'buckets not a list',
      'processor: {span_metrics: {histogram_buckets: 0.5}}\n',
      'config error: c.yaml:1:47: processor.span_metrics.histogram_buckets: expected a list, got number 0.5',
    ],
    [
      'a section that is not a mapping',
      'processor:\n  span_metrics: [1]\n',
      'config error: c.yaml:2:17: processor.span_metrics: expected a mapping, got a list',
    ],
    ['the whole file not a mapping', '- a\n- b\n', 'config error: c.yaml:1:1: expected a mapping, got a list'],
    [
      'a boolean given as yes',
      'processor: {span_metrics: {intrinsic_dimensions: {status_message: yes}}}\n',
      'config error: c.yaml:1:67: processor.span_metrics.intrinsic_dimensions.status_message: expected a boolean (true or false), got string "yes"',
    ],
    [
      'an integer that is not one',
      'processor: {service_graphs: {max_items: 1.5}}\n',
      'config error: c.yaml:1:41: processor.service_graphs.max_items: expected an integer, got number 1.5',
    ],
    [
      'workers below 1',
      'processor: {service_graphs: {workers: 0}}\n',
      'config error: c.yaml:1:39: processor.service_graphs.workers: must be at least 1, got 0',
    ],
    [
      'body size below 1',
      'otlp: {max_request_body_size: -5}\n',
      'config error: c.yaml:1:31: otlp.max_request_body_size: must be at least 1, got -5',
    ],
    [
      'a dimension that is a number',
      'processor: {span_metrics: {dimensions: [a, 5]}}\n',
      'config error: c.yaml:1:44: processor.span_metrics.dimensions[1]: expected a non-empty string, got number 5',
    ],
    [
      'an empty dimension name',
      'processor: {span_metrics: {dimensions: [""]}}\n',
      'config error: c.yaml:1:41: processor.span_metrics.dimensions[0]: expected a non-empty string, got string ""',
    ],
    [
      'a duplicate dimension',
      'processor: {service_graphs: {dimensions: [a, b, a]}}\n',
      'config error: c.yaml:1:49: processor.service_graphs.dimensions[2]: duplicate "a"',
    ],
    [
      'a peer attribute that is null',
      'processor: {service_graphs: {peer_attributes: [peer.service, ~]}}\n',
      'config error: c.yaml:1:62: processor.service_graphs.peer_attributes[1]: expected a non-empty string, got null',
    ],
    [
      'span_multiplier_key not a string',
      'processor: {service_graphs: {span_multiplier_key: 1}}\n',
      'config error: c.yaml:1:51: processor.service_graphs.span_multiplier_key: expected a string, got number 1',
    ],
    [
      'log_level unknown',
      'log_level: verbose\n',
      'config error: c.yaml:1:12: log_level: expected one of trace, debug, info, warn, error, fatal, silent, got string "verbose"',
    ],
  ])('%s', (_name, yaml, message) => {
    expect(fileError(yaml)).toBe(message);
  });
});

describe('histogram buckets: at least one, finite, >= 0, strictly ascending', () => {
  const sm = (list: string) => fileError(`processor: {span_metrics: {histogram_buckets: ${list}}}\n`);
  it('empty', () => {
    expect(sm('[]')).toBe('config error: c.yaml:1:47: processor.span_metrics.histogram_buckets: must list at least one bucket');
  });
  it('infinite', () => {
    expect(sm('[1, .inf]')).toBe(
      'config error: c.yaml:1:51: processor.span_metrics.histogram_buckets[1]: must be a finite number, got Infinity',
    );
  });
  it('NaN', () => {
    expect(sm('[.nan]')).toBe('config error: c.yaml:1:48: processor.span_metrics.histogram_buckets[0]: must be a finite number, got NaN');
  });
  it('negative', () => {
    expect(sm('[-1, 1]')).toBe('config error: c.yaml:1:48: processor.span_metrics.histogram_buckets[0]: must not be negative, got -1');
  });
  it('descending and repeated bounds, each reported', () => {
    expect(sm('[0.5, 0.25, 1, 1]')).toBe(
      [
        'config error: c.yaml:1:53: processor.span_metrics.histogram_buckets[1]: buckets must be strictly ascending, got 0.25 after 0.5',
        'config error: c.yaml:1:62: processor.span_metrics.histogram_buckets[3]: buckets must be strictly ascending, got 1 after 1',
      ].join('\n'),
    );
  });
  it('zero is a valid first bound (zero-length spans)', () => {
    expect(() => sm('[0, 1]')).toThrow('expected a ConfigError');
  });
  it('service_graphs buckets follow the same rules', () => {
    expect(fileError('processor: {service_graphs: {histogram_buckets: [2, 1]}}\n')).toBe(
      'config error: c.yaml:1:53: processor.service_graphs.histogram_buckets[1]: buckets must be strictly ascending, got 1 after 2',
    );
  });
});

describe('endpoints: host:port, port 0..65535, "" disables an OTLP receiver only', () => {
  it.each([
    ['otlp.http_endpoint', 'otlp: {http_endpoint: "4318"}\n', 'config error: c.yaml:1:23: otlp.http_endpoint: expected host:port with port 0..65535, got "4318"'],
    ['port too large', 'otlp: {grpc_endpoint: "127.0.0.1:65536"}\n', 'config error: c.yaml:1:23: otlp.grpc_endpoint: expected host:port with port 0..65535, got "127.0.0.1:65536"'],
    ['port not a number', 'http_endpoint: "localhost:http"\n', 'config error: c.yaml:1:16: http_endpoint: expected host:port with port 0..65535, got "localhost:http"'],
    ['no port', 'http_endpoint: "localhost:"\n', 'config error: c.yaml:1:16: http_endpoint: expected host:port with port 0..65535, got "localhost:"'],
    ['a space', 'http_endpoint: " 127.0.0.1:9464"\n', 'config error: c.yaml:1:16: http_endpoint: expected host:port with port 0..65535, got " 127.0.0.1:9464"'],
    ['bare IPv6', 'http_endpoint: "::1:9464"\n', 'config error: c.yaml:1:16: http_endpoint: expected host:port, got "::1:9464" (write an IPv6 address in brackets: [::1]:4318)'],
    ['a URL', 'otlp: {http_endpoint: "http://0.0.0.0:4318"}\n', 'config error: c.yaml:1:23: otlp.http_endpoint: expected host:port, got "http://0.0.0.0:4318" (no scheme: write "0.0.0.0:4318")'],
    ['a number', 'http_endpoint: 9464\n', 'config error: c.yaml:1:16: http_endpoint: expected a string "host:port", got number 9464'],
    ['metrics endpoint disabled', 'http_endpoint: ""\n', 'config error: c.yaml:1:16: http_endpoint: must not be empty (the metrics endpoint cannot be disabled)'],
  ])('%s', (_name, yaml, message) => {
    expect(fileError(yaml)).toBe(message);
  });

  it('accepts names, IPv4, bracketed IPv6, ":port" (all interfaces), port 0 and 65535, and "" for both receivers', () => {
    const r = loadConfig({
      argv: ['--config', 'c.yaml'],
      env: {},
      readFile: fakeReader({
        'c.yaml': 'otlp: {http_endpoint: "", grpc_endpoint: ""}\nhttp_endpoint: "[::1]:0"\n',
      }),
    });
    expect(r.action === 'run' && r.config.otlp).toMatchObject({ http_endpoint: '', grpc_endpoint: '' });
    for (const ep of ['localhost:65535', 'spanmeter-0.spanmeter.svc:1', '10.0.0.1:0', '[fe80::1%eth0]:9464', 'my_host:80', ':9464']) {
      expect(() => errorOf(['--http-endpoint', ep])).toThrow('expected a ConfigError');
    }
  });

  it('two listeners on the same port clash (port 0 never does)', () => {
    expect(errorOf(['--http-endpoint', '127.0.0.1:4318'])).toBe(
      'config error: http_endpoint: "127.0.0.1:4318" clashes with otlp.http_endpoint (same port)',
    );
    expect(errorOf(['--otlp.grpc-endpoint', '0.0.0.0:4318'])).toBe(
      'config error: otlp.grpc_endpoint: "0.0.0.0:4318" clashes with otlp.http_endpoint (same port)',
    );
    expect(() =>
      errorOf(['--otlp.http-endpoint', '127.0.0.1:0', '--otlp.grpc-endpoint', '127.0.0.1:0', '--http-endpoint', '127.0.0.1:0']),
    ).toThrow('expected a ConfigError');
    expect(errorOf(['--otlp.http-endpoint', ':4318', '--otlp.grpc-endpoint', '[::1]:4318'])).toBe(
      'config error: otlp.grpc_endpoint: "[::1]:4318" clashes with otlp.http_endpoint (same port)',
    );
    expect(() => errorOf(['--otlp.http-endpoint', '127.0.0.1:5000', '--otlp.grpc-endpoint', '127.0.0.2:5000'])).toThrow(
      'expected a ConfigError',
    );
  });
});

describe('processors', () => {
  it.each([
    ['underscore spelling', 'processors: [span_metrics]\n', 'config error: c.yaml:1:14: processors[0]: unknown processor "span_metrics" (did you mean span-metrics?)'],
    ['unknown', 'processors: [span-metrics, tracing]\n', 'config error: c.yaml:1:28: processors[1]: unknown processor "tracing" (supported: span-metrics, service-graphs, service-graphs-connection-info)'],
    ['a Tempo-only processor', 'processors: [local-blocks]\n', 'config error: c.yaml:1:14: processors[0]: Tempo processor "local-blocks" is not provided by spanmeter (supported: span-metrics, service-graphs, service-graphs-connection-info)'],
    ['duplicate', 'processors: [service-graphs, service-graphs]\n', 'config error: c.yaml:1:30: processors[1]: duplicate "service-graphs"'],
    ['empty', 'processors: []\n', 'config error: c.yaml:1:13: processors: must list at least one processor (span-metrics, service-graphs, service-graphs-connection-info)'],
    ['a string, not a list', 'processors: span-metrics\n', 'config error: c.yaml:1:13: processors: expected a list, got string "span-metrics"'],
  ])('%s', (_name, yaml, message) => {
    expect(fileError(yaml)).toBe(message);
  });
});

describe('durations', () => {
  it.each([
    ['a number', 'processor: {service_graphs: {wait: 10}}\n', 'config error: c.yaml:1:36: processor.service_graphs.wait: expected a duration string like "10s", got number 10'],
    ['no unit', 'processor: {service_graphs: {wait: "10"}}\n', 'config error: c.yaml:1:36: processor.service_graphs.wait: invalid duration "10" (missing unit: ns, us, ms, s, m, h)'],
    ['zero', 'processor: {service_graphs: {wait: 0s}}\n', 'config error: c.yaml:1:36: processor.service_graphs.wait: must be greater than 0, got "0s"'],
    ['negative', 'processor: {service_graphs: {wait: -1s}}\n', 'config error: c.yaml:1:36: processor.service_graphs.wait: must be greater than 0, got "-1s"'],
  ])('%s', (_name, yaml, message) => {
    expect(fileError(yaml)).toBe(message);
  });

  it('1ns (Tempo unit tests) is valid', () => {
    expect(() => fileError('processor: {service_graphs: {wait: 1ns}}\n')).toThrow('expected a ConfigError');
  });
});

describe('the file itself', () => {
  it('missing', () => {
    expect(errorOf(['--config', 'nope.yaml'])).toBe('config error: nope.yaml: cannot read the config file: no such file');
  });
  it('missing, named by SPANMETER_CONFIG', () => {
    expect(errorOf([], { SPANMETER_CONFIG: '/etc/spanmeter.yaml' })).toBe(
      'config error: /etc/spanmeter.yaml: cannot read the config file: no such file',
    );
  });
  it('invalid YAML, with its position', () => {
    expect(fileError('processor:\n  span_metrics: {dimensions: [a, b}\n')).toBe(
      'config error: c.yaml:2:35: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    );
  });
  it('duplicate keys', () => {
    expect(fileError('log_level: info\nlog_level: debug\n')).toBe('config error: c.yaml:2:1: invalid YAML: Map keys must be unique');
  });
});

describe('env vars and flags', () => {
  it('an env value is checked like a file value, naming the variable and the key', () => {
    expect(errorOf([], { SPANMETER_PROCESSOR_SPAN_METRICS_HISTOGRAM_BUCKETS: '0.1,x,1' })).toBe(
      'config error: env SPANMETER_PROCESSOR_SPAN_METRICS_HISTOGRAM_BUCKETS: processor.span_metrics.histogram_buckets[1]: expected a number, got string "x"',
    );
    expect(errorOf([], { SPANMETER_OTLP_MAX_REQUEST_BODY_SIZE: '64MiB' })).toBe(
      'config error: env SPANMETER_OTLP_MAX_REQUEST_BODY_SIZE: otlp.max_request_body_size: expected an integer, got string "64MiB"',
    );
    expect(errorOf([], { SPANMETER_HTTP_ENDPOINT: '' })).toBe(
      'config error: env SPANMETER_HTTP_ENDPOINT: http_endpoint: must not be empty (the metrics endpoint cannot be disabled)',
    );
    expect(errorOf([], { SPANMETER_PROCESSOR_SPAN_METRICS_INTRINSIC_DIMENSIONS_SERVICE: 'yes' })).toBe(
      'config error: env SPANMETER_PROCESSOR_SPAN_METRICS_INTRINSIC_DIMENSIONS_SERVICE: processor.span_metrics.intrinsic_dimensions.service: expected a boolean (true or false), got string "yes"',
    );
  });

  it('an unknown SPANMETER_ variable is an error', () => {
    expect(errorOf([], { SPANMETER_OTLP_HTTP_ENDPOIN: 'x' })).toBe(
      'config error: env SPANMETER_OTLP_HTTP_ENDPOIN: unknown variable (did you mean SPANMETER_OTLP_HTTP_ENDPOINT?)',
    );
    expect(errorOf([], { SPANMETER_ZZZ: 'x' })).toBe('config error: env SPANMETER_ZZZ: unknown variable');
  });

  it('flag values', () => {
    expect(errorOf(['--processors', 'span-metrics,servicegraphs'])).toBe(
      'config error: --processors: processors[1]: unknown processor "servicegraphs" (did you mean service-graphs?)',
    );
    expect(errorOf(['--log-level=loud'])).toBe(
      'config error: --log-level: log_level: expected one of trace, debug, info, warn, error, fatal, silent, got string "loud"',
    );
    expect(errorOf(['--set', 'processor.service_graphs.wait=10'])).toBe(
      'config error: --set: processor.service_graphs.wait: invalid duration "10" (missing unit: ns, us, ms, s, m, h)',
    );
  });

  it('unknown flags, missing values, stray arguments', () => {
    // The word after an unknown flag is taken as its value: one mistake, one error (issue 18).
    expect(errorOf(['--log-levl', 'info'])).toBe('config error: --log-levl: unknown flag (did you mean --log-level?)');
    expect(errorOf(['--frobnicate', '--log-level', 'info', 'stray'])).toBe(
      [
        'config error: --frobnicate: unknown flag (see --help)',
        'config error: unexpected argument "stray" (the config file is given with --config FILE)',
      ].join('\n'),
    );
    expect(errorOf(['-config.file=tempo.yaml'])).toBe('config error: -config.file: unknown flag (did you mean --config?)');
    expect(errorOf(['--frobnicate'])).toBe('config error: --frobnicate: unknown flag (see --help)');
    expect(errorOf(['spanmeter.yaml'])).toBe(
      'config error: unexpected argument "spanmeter.yaml" (the config file is given with --config FILE)',
    );
    expect(errorOf(['--config'])).toBe('config error: --config: missing value (--config FILE)');
    expect(errorOf(['--http-endpoint', '--log-level', 'info'])).toBe(
      'config error: --http-endpoint: missing value (--http-endpoint HOST:PORT)',
    );
    expect(errorOf(['--version=2'])).toBe('config error: --version: takes no value');
  });

  it('--set: unknown keys, sections, malformed', () => {
    expect(errorOf(['--set', 'processor.span_metrics.dimension=a'])).toBe(
      'config error: --set: processor.span_metrics.dimension: unknown key (did you mean processor.span_metrics.dimensions?)',
    );
    expect(errorOf(['--set', 'processor.span_metrics={}'])).toBe(
      'config error: --set: processor.span_metrics: a section, not a value: set its keys one by one (e.g. processor.span_metrics.histogram_buckets=...)',
    );
    expect(errorOf(['--set', 'log_level'])).toBe('config error: --set: expected KEY=VALUE, got "log_level"');
  });
});

describe('ConfigError', () => {
  it('collects every issue from every source, and exposes them structured', () => {
    let err: unknown;
    try {
      loadConfig({
        argv: ['--config', 'c.yaml', '--log-level', 'x'],
        env: { SPANMETER_PROCESSORS: 'nope' },
        readFile: fakeReader({ 'c.yaml': 'otlp: {http_endpoint: 1}\nextra: 2\n' }),
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(Error);
    expect((err as ConfigError).issues).toEqual([
      { origin: 'c.yaml:1:23', path: 'otlp.http_endpoint', message: 'expected a string "host:port", got number 1' },
      { origin: 'c.yaml:2:1', path: 'extra', message: 'unknown key' },
      {
        origin: 'env SPANMETER_PROCESSORS',
        path: 'processors[0]',
        message: 'unknown processor "nope" (supported: span-metrics, service-graphs, service-graphs-connection-info)',
      },
      {
        origin: '--log-level',
        path: 'log_level',
        message: 'expected one of trace, debug, info, warn, error, fatal, silent, got string "x"',
      },
    ]);
    expect((err as ConfigError).name).toBe('ConfigError');
  });
});

describe('slos', () => {
  it.each([
    ['no name', 'slos:\n  - {objective: 99}\n', 'config error: c.yaml:2:5: slos[0]: missing name'],
    ['objective 100', 'slos:\n  - {name: a, objective: 100}\n', 'config error: c.yaml:2:26: slos[0].objective: expected a percentage between 0 and 100 (exclusive), like 99.9, got number 100'],
    ['a window unit', 'slos:\n  - {name: a, objective: 99, window: 30x}\n', 'config error: c.yaml:2:38: slos[0].window: invalid duration "30x" (unknown unit "x": use ns, us, ms, s, m, h, d, w)'],
    ['a span kind', 'slos:\n  - {name: a, objective: 99, span_kind: rpc}\n', 'config error: c.yaml:2:41: slos[0].span_kind: expected one of server, span_kind_server, client, span_kind_client, producer, span_kind_producer, consumer, span_kind_consumer, internal, span_kind_internal, got string "rpc"'],
    ['two names for one SLO', 'slos:\n  - {name: a, objective: 99}\n  - {name: a, objective: 98}\n', 'config error: slos[1].name: duplicate SLO name "a"'],
    ['exact and pattern', 'slos:\n  - {name: a, objective: 99, span_name: x, span_name_regex: "x.*"}\n', 'config error: slos[0].span_name_regex: give span_name (exact) or span_name_regex, not both'],
    ['a bad pattern', 'slos:\n  - {name: a, objective: 99, span_name_regex: "(x"}\n', 'config error: slos[0].span_name_regex: invalid regular expression: Invalid regular expression: /^(?:(x)$/u: Unterminated group'],
    ['latency without threshold', 'slos:\n  - {name: a, objective: 99, kind: latency}\n', 'config error: slos[0].threshold: a latency SLO needs a threshold, like 300ms'],
    ['availability with threshold', 'slos:\n  - {name: a, objective: 99, threshold: 1s}\n', 'config error: slos[0].threshold: only a latency SLO has a threshold'],
    ['latency counting 5xx', 'slos:\n  - {name: a, objective: 99, kind: latency, threshold: 1s, http_5xx_as_error: true}\n', 'config error: slos[0].http_5xx_as_error: only an availability SLO counts HTTP 5xx'],
  ])('%s', (_, yaml, message) => {
    expect(fileError(yaml)).toBe(message);
  });

  it('at most 32', () => {
    const yaml = `slos:\n${Array.from({ length: 33 }, (_, i) => `  - {name: s${i}, objective: 99}\n`).join('')}`;
    expect(fileError(yaml)).toBe('config error: slos: at most 32 SLOs, got 33');
  });
});

describe('memory_limiter: the Collector memory_limiter checks (internal/memorylimiter/config.go Validate)', () => {
  it.each([
    ['no limit', 'memory_limiter: {limit_percentage: 0}\n', 'config error: memory_limiter.limit_mib: limit_mib or limit_percentage must be greater than zero (check_interval: 0s turns the limiter off)'],
    ['spike not below limit', 'memory_limiter: {limit_mib: 100, spike_limit_mib: 100}\n', 'config error: memory_limiter.spike_limit_mib: must be smaller than limit_mib (100), got 100'],
    ['percentage over 100', 'memory_limiter: {limit_percentage: 101}\n', 'config error: memory_limiter.limit_percentage: must be at most 100, got 101'],
    ['spike percentage not below limit', 'memory_limiter: {limit_percentage: 50, spike_limit_percentage: 60}\n', 'config error: memory_limiter.spike_limit_percentage: must be smaller than limit_percentage (50), got 60'],
    ['a Collector key spanmeter has not', 'memory_limiter: {ballast_size_mib: 2000}\n', 'config error: c.yaml:1:18: memory_limiter.ballast_size_mib: the Collector dropped ballast_size_mib; spanmeter has no ballast'],
  ])('%s', (_name, yaml, message) => {
    expect(fileError(yaml)).toBe(message);
  });

  it('check_interval 0s turns it off, and then nothing else is checked', () => {
    expect(() => fileError('memory_limiter: {check_interval: 0s, limit_percentage: 0}\n')).toThrow('expected a ConfigError');
  });
});
