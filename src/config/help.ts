// The --help text, built from the flag table and the schema so it cannot drift from them.
import { FLAGS } from './flags.js';
import { LEAVES, envName } from './keys.js';

export function helpText(): string {
  const flagLines = FLAGS.map((f) => {
    const names = [f.alias, f.arg ? `${f.name} ${f.arg}` : f.name].filter(Boolean).join(', ');
    const lines = [`  ${names}`, ...f.help.split('\n').map((l) => `      ${l}`)];
    const env = f.env ?? (f.key ? envName(f.key.split('.')) : undefined);
    if (env) lines.push(`      env: ${env}`);
    return lines.join('\n');
  });
  const named = new Set<string | undefined>(FLAGS.map((f) => f.key));
  const otherEnv = LEAVES.filter((l) => !named.has(l.key)).map((l) => `  ${l.env}`);

  return `spanmeter: OpenTelemetry traces in (OTLP), Prometheus span metrics and service graphs out.

Usage:
  spanmeter [--config FILE] [flags]
  spanmeter rules --config FILE    print Prometheus rules for the configured SLOs (rules --help)

Flags:
${flagLines.join('\n')}

Every configuration key KEY can be set with --set KEY=VALUE and with the env var SPANMETER_
followed by KEY in upper case, "_" between the parts: processor.service_graphs.wait is
SPANMETER_PROCESSOR_SERVICE_GRAPHS_WAIT. The keys without a flag of their own:
${otherEnv.join('\n')}
Lists are comma-separated (a,b,c) or a YAML flow list ([a, "b,c"]); an empty value is an empty
list or, for an OTLP endpoint, disables that receiver. Durations are Go-style: 10s, 1m30s, 500ms.
An unknown SPANMETER_* variable is an error.

Precedence, later wins: defaults < config file < SPANMETER_* env vars < flags (in order).

The configuration reference (every key, its type, default and meaning, with an example for
Grafana Tempo users) is docs/config.md in the spanmeter repository and npm package.

Exit status 2: a configuration or usage error (each problem printed as "config error: ...").
`;
}
