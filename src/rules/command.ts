// `spanmeter rules`: reads the configuration as the sidecar does and prints the Prometheus rules
// for its SLOs (src/rules/burnrate.ts). Returns what to print and the exit status.
import { ConfigError } from '../config/errors.js';
import { loadConfig } from '../config/load.js';
import { sloRules } from './burnrate.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function rulesHelpText(): string {
  return `spanmeter rules: Prometheus recording and alerting rules for the SLOs of a configuration.

Usage:
  spanmeter rules --config FILE [--window-scale FACTOR] > slo-rules.yaml

For each SLO in the file's slos: list, recording rules for its error ratio (1 - good/total
spans, summed over all instances) over 5m, 30m, 1h, 2h, 6h, 1d and 3d, named
slo:spanmeter_error_ratio:rate5m ... rate3d, and the alert SLOErrorBudgetBurn (multi-window,
multi-burn-rate, as in the Google SRE workbook), labelled slo and severity:
  page    2% of the SLO window's error budget spent in 1h (and still burning over 5m),
          or 5% in 6h (and 30m): burn rates 14.4 and 6 for a 30d window;
  ticket  10% in 1d (and 2h), or 10% in 3d (and 6h): burn rates 3 and 1 for 30d.

Flags:
  --config FILE           the sidecar's YAML configuration (or SPANMETER_CONFIG); SPANMETER_*
                          env vars apply as they do to the sidecar
  --window-scale FACTOR   for tests and demos only: multiplies every window by FACTOR
                          (0 < FACTOR <= 1); 0.01 turns 5m into 3s and 1h into 36s, so an alert
                          fires within seconds. The rules keep their names.
  -h, --help              print this help and exit

Load the output with rule_files: in prometheus.yml; promtool check rules accepts it.
Exit status 2: a usage or configuration error, or a configuration without slos.
`;
}

const USAGE_HINT = '(see spanmeter rules --help)';

export function rulesCommand(argv: readonly string[], env: NodeJS.ProcessEnv, version: string): CommandResult {
  const fail = (message: string): CommandResult => ({ code: 2, stdout: '', stderr: `${message}\n` });
  let configFile: string | undefined;
  let scale = 1;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '-h' || token === '--help') return { code: 0, stdout: rulesHelpText(), stderr: '' };
    const eq = token.indexOf('=');
    const name = eq < 0 ? token : token.slice(0, eq);
    if (name !== '--config' && name !== '--window-scale') {
      const what = token.startsWith('-') ? 'unknown flag' : 'unexpected argument';
      return fail(`spanmeter rules: ${what} ${JSON.stringify(token)} ${USAGE_HINT}`);
    }
    let value: string;
    if (eq >= 0) value = token.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) value = argv[++i]!;
    else return fail(`spanmeter rules: ${name}: missing value ${USAGE_HINT}`);
    if (name === '--config') {
      configFile = value;
    } else {
      scale = /^\s*\d*\.?\d+(?:e-?\d+)?\s*$/i.test(value) ? Number(value) : NaN;
      if (!(scale > 0 && scale <= 1)) return fail(`spanmeter rules: --window-scale: expected a number in (0, 1], got ${JSON.stringify(value)}`);
    }
  }
  if (configFile === undefined && !env.SPANMETER_CONFIG) {
    return fail(`spanmeter rules: needs --config FILE, the sidecar's configuration with its slos ${USAGE_HINT}`);
  }

  let loaded;
  try {
    loaded = loadConfig({ argv: configFile === undefined ? [] : [`--config=${configFile}`], env });
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    throw err;
  }
  if (loaded.action !== 'run') throw new Error(`unexpected ${loaded.action}`); // no --help or --version is passed on
  const source = loaded.configFile!;
  const warnings = loaded.warnings.map((w) => `config warning: ${w}\n`).join('');
  if (loaded.config.slos.length === 0) {
    return { code: 2, stdout: '', stderr: `${warnings}config error: ${source}: slos: no SLOs configured, so no rules to write\n` };
  }
  try {
    return { code: 0, stdout: sloRules(loaded.config.slos, { source, version, windowScale: scale }), stderr: warnings };
  } catch (err) {
    if (err instanceof RangeError) return fail(`spanmeter rules: --window-scale: ${err.message}`);
    throw err;
  }
}
