// deploy/grafana-dashboard.json for the scale-out tests: its panels, and Grafana's template
// variables replaced by values Prometheus accepts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/sidecar.js';

export interface DashboardTarget {
  expr: string;
  refId: string;
  format?: string;
  instant?: boolean;
  datasource: { uid: string };
}
export interface DashboardPanel {
  title: string;
  type: string;
  datasource?: { uid: string };
  targets?: DashboardTarget[];
  transformations?: { id: string; options: Record<string, unknown> }[];
  options?: Record<string, unknown>;
}

export const dashboard = JSON.parse(readFileSync(join(PROJECT_ROOT, 'deploy', 'grafana-dashboard.json'), 'utf8')) as {
  templating: { list: { name: string; type: string; query: unknown }[] };
  panels: DashboardPanel[];
};

/** Replaces Grafana's template variables with values Prometheus accepts. */
export function substitute(expr: string): string {
  return expr
    .replace(/\$\{?__rate_interval\}?/g, '1m')
    .replace(/\$\{?__interval\}?/g, '30s')
    .replace(/\$\{?__range\}?/g, '5m')
    .replace(/\$\{datasource\}|\$datasource\b/g, 'prometheus')
    .replace(/\$\{(job|service)\}|\$(job|service)\b/g, '.*');
}
