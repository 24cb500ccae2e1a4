import { Gauge, type Registry } from 'prom-client';
import type { MetricsCollector } from '../metrics/index.js';
import type { HistoryStore } from '../history/history-store.js';
import type { FindingsEngine } from './engine.js';

/**
 * Leak findings on /metrics: one series per open finding, the sockets it involves, labelled
 * by where and what (`kubenetstat_findings{namespace, pod, rule, severity} 42`); bounded by the
 * engine's cap on findings. Alert on `kubenetstat_findings{severity="critical"} > 0`. And the
 * per-pod history's fill: pods kept, and pods its cap left out.
 */
export function findingsCollector(engine: FindingsEngine, history: HistoryStore): MetricsCollector {
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
    new Gauge({
      name: 'kubenetstat_history_pods',
      help: 'Pods whose socket-count history is kept (at most --history-max-pods).',
      registers: [registry],
      collect() {
        this.set(history.podCount);
      },
    });
    new Gauge({
      name: 'kubenetstat_history_untracked_pods',
      help: 'Pods with sockets that the latest history sample could not keep: --history-max-pods is full of pods present now.',
      registers: [registry],
      collect() {
        this.set(history.untracked);
      },
    });
  };
}
