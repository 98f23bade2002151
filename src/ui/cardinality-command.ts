// `spanmeter cardinality`: asks a running sidecar for GET /api/cardinality and prints it as
// tables: what the limits hold back and the fix, the what-if preview per service and attribute
// key (distinct values, series as a dimension, verdict, examples) and the span names
// normalisation would merge. Returns what to print and the exit status.
import type { CardinalityResponse } from './cardinality.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cardinalityHelpText(): string {
  return `spanmeter cardinality: what each attribute key would cost as a label, from a running sidecar.

Usage:
  spanmeter cardinality [--url http://127.0.0.1:9464] [--token TOKEN] [--limit N]

Prints, from the sidecar's GET /api/cardinality: the series limit and per-label caps with the
labels they hold back and the one config line that fixes the leading offender; per service and
attribute key seen on spans (a sample of one span in 64), the distinct values, the span-metrics
series the key would make as a dimension and a verdict (safe; costly: many values; never: a
value per request, such as ids, IPs, e-mails, UUIDs); and the span names that
processor.span_metrics.span_name_normalization would merge.

Flags:
  --url URL       the sidecar's metrics address (default http://127.0.0.1:9464, or SPANMETER_URL)
  --token TOKEN   bearer token of the metrics port (http_auth), if it has one
  --limit N       rows of the preview (default 30)
  -h, --help      print this help and exit

Exit status 1 when the sidecar cannot be reached, 2 on a usage error.
`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const cut = (s: string, n = 40) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The report as text (exported for the test). */
export function renderCardinality(r: CardinalityResponse, limit = 30): string {
  const l = r.limits;
  let out = `series: ${l.active_series} active, limit ${l.max_active_series || 'none'}; demand estimate ${l.series_demand_estimate}` +
    `; per-label cap ${l.max_cardinality_per_label || 'none'}\n`;
  if (l.labels.length > 0) {
    out += '\nlabels (distinct values over stale_duration):\n';
    out += table(['label', 'attribute', 'values', 'limited', 'example'],
      l.labels.map((x) => [x.label, x.attribute, String(x.estimate), String(x.limited), cut(x.example ?? '')]));
  }
  if (l.held_back_services.length > 0) out += `\nheld back most: ${l.held_back_services.map((s) => `${s.service} (${s.spans} spans)`).join(', ')}\n`;
  for (const f of l.fixes) out += `fix: ${f}\n`;
  const p = r.preview;
  out += `\nattribute keys (preview: ${p.sampled_spans} spans sampled, ${p.sampling}; ${Math.round(p.memory_bytes / 1024)} KiB):\n`;
  out += table(['service', 'key', 'values', 'series as dimension', 'verdict', 'examples'],
    p.keys.slice(0, limit).map((k) => [
      cut(k.service, 24), cut(k.key, 32) + (k.dimension ? ' *' : ''), String(k.estimate), String(k.series_if_dimension), k.verdict,
      cut(k.examples.join(', '), 60),
    ]));
  if (p.keys.some((k) => k.dimension)) out += '(* a configured dimension)\n';
  const n = r.span_names;
  out += `\nspan names (span_name_normalization: ${n.span_name_normalization}): ${n.label_sets} label sets, ${n.label_sets_after} after normalisation\n`;
  if (n.merges.length > 0) {
    out += table(['becomes', 'names', 'examples'], n.merges.slice(0, limit).map((m) => [cut(m.name, 48), String(m.names), cut(m.examples.join(', '), 60)]));
  }
  return out;
}

export async function cardinalityCommand(argv: string[], env: NodeJS.ProcessEnv, fetchImpl: typeof fetch = fetch): Promise<CommandResult> {
  let url = env.SPANMETER_URL ?? 'http://127.0.0.1:9464';
  let token = '';
  let limit = 30;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '-h' || a === '--help') return { code: 0, stdout: cardinalityHelpText(), stderr: '' };
      else if (a === '--url') url = value();
      else if (a === '--token') token = value();
      else if (a === '--limit') {
        limit = Number(value());
        if (!Number.isInteger(limit) || limit < 1) throw new Error('--limit must be a positive integer');
      } else throw new Error(`unknown argument ${a}`);
    } catch (err) {
      return { code: 2, stdout: '', stderr: `spanmeter cardinality: ${(err as Error).message} (see spanmeter cardinality --help)\n` };
    }
  }
  const target = `${url.replace(/\/+$/, '')}/api/cardinality`;
  try {
    const res = await fetchImpl(target, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    if (!res.ok) return { code: 1, stdout: '', stderr: `spanmeter cardinality: ${target} answered ${res.status}\n` };
    return { code: 0, stdout: renderCardinality((await res.json()) as CardinalityResponse, limit), stderr: '' };
  } catch (err) {
    return { code: 1, stdout: '', stderr: `spanmeter cardinality: cannot reach ${target}: ${(err as Error).message}\n` };
  }
}
