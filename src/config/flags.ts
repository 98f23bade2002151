// The command-line flags. Each value flag sets one key; --set sets any key.
import type { KeyPath } from './spec.js';
import type { Config } from './types.js';

export interface FlagSpec {
  /** "--otlp.http-endpoint" */
  name: string;
  /** Short alias, if any ("-h"). */
  alias?: string;
  /** Placeholder for the value in --help; absent for switches. */
  arg?: string;
  /** The key path it sets ("otlp.http_endpoint"); absent for --config, --set, --help, --version. */
  key?: KeyPath<Config>;
  /** The env var with the same effect, for a flag without a key (a key's is keys.ts envName). */
  env?: string;
  help: string;
}

export const FLAGS: readonly FlagSpec[] = [
  { name: '--config', arg: 'FILE', env: 'SPANMETER_CONFIG', help: 'YAML configuration file' },
  {
    name: '--log-level',
    arg: 'LEVEL',
    key: 'log_level',
    help: 'trace, debug, info, warn, error, fatal or silent (default info)',
  },
  {
    name: '--otlp.http-endpoint',
    arg: 'HOST:PORT',
    key: 'otlp.http_endpoint',
    help: 'OTLP/HTTP listen address, "" disables (default 127.0.0.1:4318)',
  },
  {
    name: '--otlp.grpc-endpoint',
    arg: 'HOST:PORT',
    key: 'otlp.grpc_endpoint',
    help: 'OTLP/gRPC listen address, "" disables (default 127.0.0.1:4317)',
  },
  {
    name: '--http-endpoint',
    arg: 'HOST:PORT',
    key: 'http_endpoint',
    help: 'listen address of /metrics, the web page (/) and its JSON API (/api/),\n/healthz and /readyz (default 127.0.0.1:9464)',
  },
  {
    name: '--processors',
    arg: 'LIST',
    key: 'processors',
    help: 'comma-separated: span-metrics, service-graphs (default both)',
  },
  {
    name: '--set',
    arg: 'KEY=VALUE',
    help: 'set any configuration key (repeatable), e.g.\n--set processor.span_metrics.dimensions=http.method,http.route',
  },
  {
    name: '--demo',
    help: 'feed the sidecar a built-in synthetic topology (an online shop of 20 services)\nover OTLP/HTTP and print the address of its web page; turns on both processors',
  },
  {
    name: '--print-config',
    help: 'print the effective configuration (defaults, file, env and flags merged) as YAML\nthat --config reads back, and exit; tokens are redacted',
  },
  { name: '--help', alias: '-h', help: 'print this help and exit' },
  { name: '--version', help: 'print the version and exit' },
];
