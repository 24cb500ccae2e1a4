import { Gauge, type Registry } from 'prom-client';
import type { MetricsCollector } from '../metrics.js';
import type { FindingsEngine } from './engine.js';

/**
 * Leak findings on /metrics: one series per open finding, the sockets it involves, labelled
 * by where and what (`kubenetstat_findings{namespace, pod, rule, severity} 42`); bounded by the
 * engine's cap on findings. Alert on `kubenetstat_findings{severity="critical"} > 0`.
 */
export function findingsCollector(engine: FindingsEngine): MetricsCollector {
  return (registry: Registry) => {
    new Gauge({
      name: 'kubenetstat_findings',
      help: 'Open leak findings: the sockets each involves, by pod, rule and severity (kubectl netstat leaks explains them).',
      labelNames: ['namespace', 'pod', 'rule', 'severity'],
      registers: [registry],
      collect() {
        this.reset();
        for (const finding of engine.all()) {
          if (finding.state !== 'open') continue;
          this.inc({ namespace: finding.namespace, pod: finding.pod, rule: finding.rule, severity: finding.severity }, finding.sockets);
        }
      },
    });
    new Gauge({
      name: 'kubenetstat_findings_evaluation_seconds',
      help: 'How long the last evaluation of the leak rules took.',
      registers: [registry],
      collect() {
        const last = engine.lastEvaluation;
        if (last) this.set(last.durationMs / 1000);
      },
    });
  };
}
