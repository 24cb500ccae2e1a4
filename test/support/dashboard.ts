import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { Histogram, Summary, type Registry } from 'prom-client';
import { REPO } from './checkout.js';

export const DASHBOARD_PATH = join(REPO, 'charts/kube-netstat/dashboards/kube-netstat.json');

export interface DashboardTarget {
  readonly refId: string;
  readonly expr: string;
}

export interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly targets?: readonly DashboardTarget[];
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly DashboardPanel[];
  readonly templating: { readonly list: ReadonlyArray<{ readonly name: string; readonly type: string; readonly query: unknown; readonly allValue?: string }> };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
}

/** Every PromQL expression of the dashboard: panel targets, and the variables' label_values queries. */
export function dashboardExpressions(dashboard: Dashboard): Array<{ readonly where: string; readonly expr: string }> {
  const panels = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr })));
  const variables = dashboard.templating.list
    .filter((variable) => variable.type === 'query')
    .map((variable) => ({ where: `variable $${variable.name}`, expr: (variable.query as { query: string }).query }));
  return [...panels, ...variables];
}

/** The metric names an expression uses: ours, and the process metrics prom-client adds (label values in quotes left out). */
export function metricNamesIn(expr: string): string[] {
  const unquoted = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(unquoted.match(/\b(?:kubenetstat|process|nodejs)_[a-zA-Z0-9_:]*/g) ?? [])];
}

/** The series names a registry serves: each metric's name, a histogram's _bucket, _sum and _count. */
export function seriesNames(registry: Registry): Set<string> {
  const names = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    names.add(metric.name);
    // getMetricsAsArray returns the metrics themselves (its declared MetricType is not what they hold).
    if (metric instanceof Histogram) for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
    if (metric instanceof Summary) for (const suffix of ['_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

/** An expression with the dashboard's variables replaced as Grafana does for "All" (`.*`), for Prometheus to evaluate. */
export function withAllVariables(expr: string): string {
  return expr.replace(/\$\{?(namespace|state)\}?/g, '.*');
}
