import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { statusOf } from '../../kube/informer.js';
import type { Finding, RuleName } from './types.js';
import type { LogFn } from '../../common/log.js';

/** The Event reason of each rule (UpperCamelCase, as Kubernetes reasons are). */
const REASONS: Readonly<Record<RuleName, string>> = {
  'close-wait-leak': 'CloseWaitLeak',
  'stuck-recv-q': 'StuckRecvQueue',
  'stuck-send-q': 'StuckSendQueue',
  'listen-overflow': 'ListenQueueOverflow',
  'syn-flood': 'SynRecvFlood',
  'socket-growth': 'SocketCountGrowth',
  'fin-wait2-lingering': 'FinWait2Lingering',
  'last-ack-lingering': 'LastAckLingering',
  'port-pressure': 'EphemeralPortPressure',
};

/** Events posted at once, at most; findings opening beyond it are not posted (counted in the log). */
const MAX_IN_FLIGHT = 20;
/** The API server's limit on an Event's message. */
const MAX_MESSAGE = 1024;
/** An error other than a refusal is logged at most this often (ms). */
const LOG_EVERY_MS = 60_000;

/** core/v1 Event on the pod of a finding that opened, as `kubectl describe pod` shows them. */
export function eventOf(finding: Finding, nowMs: number, instance: string): CoreV1Event {
  const time = new Date(nowMs);
  const message = `${finding.text.summary}. ${finding.text.nextStep}`;
  return {
    metadata: { name: `${finding.pod.slice(0, 200)}.${finding.id.slice(-16)}.${nowMs.toString(16)}`, namespace: finding.namespace },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: finding.namespace, name: finding.pod, ...(finding.podUid && { uid: finding.podUid }) },
    reason: REASONS[finding.rule],
    message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message,
    type: finding.severity === 'info' ? 'Normal' : 'Warning',
    source: { component: 'kube-netstat' },
    reportingComponent: 'kube-netstat.io/aggregator',
    reportingInstance: instance,
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
}

/**
 * Posts a Kubernetes Event on the pod when a finding opens. Never throws and never waits: a
 * refusal (401, 403: no RBAC to create events) is logged once and turns events off for good;
 * any other failure is logged (at most once a minute) and the next finding tries again.
 */
export class FindingEvents {
  private readonly api: CoreV1Api;
  private inFlight = 0;
  private disabled = false;
  private lastErrorLogMs = -Infinity;
  private dropped = 0;
  private readonly instance = hostname();

  constructor(
    kubeConfig: KubeConfig,
    private readonly log: LogFn,
    private readonly now: () => number = Date.now,
  ) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
  }

  get enabled(): boolean {
    return !this.disabled;
  }

  /** Resolves when the Event is posted or given up on (tests wait for it; the engine does not). */
  post(finding: Finding): Promise<void> {
    if (this.disabled) return Promise.resolve();
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.dropped++;
      return Promise.resolve();
    }
    this.inFlight++;
    const body = eventOf(finding, this.now(), this.instance);
    return this.api.createNamespacedEvent({ namespace: finding.namespace, body }).then(
      () => undefined,
      (error: unknown) => this.failed(error, finding),
    ).finally(() => this.inFlight--);
  }

  private failed(error: unknown, finding: Finding): void {
    const code = statusOf(error);
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    if (code === 401 || code === 403) {
      if (!this.disabled) this.log('kubernetes events off: the API refused to create one (give the aggregator RBAC to create events, or --events off)', { code, namespace: finding.namespace, error: message }, 'warn');
      this.disabled = true;
      return;
    }
    const now = this.now();
    if (now - this.lastErrorLogMs < LOG_EVERY_MS) return;
    this.lastErrorLogMs = now;
    this.log('kubernetes event not posted', { code, namespace: finding.namespace, pod: finding.pod, error: message, droppedSoFar: this.dropped }, 'warn');
  }
}
