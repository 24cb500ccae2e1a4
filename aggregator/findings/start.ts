import type { KubeConfig } from '@kubernetes/client-node';
import { HistoryStore } from '../history/history-store.js';
import type { HistorySettings } from '../history/types.js';
import type { NodeStore } from '../store/index.js';
import type { FindingsApi } from './api.js';
import { FindingsEngine } from './engine.js';
import type { FindingsSettings, PortRangeOf } from './types.js';
import type { LogFn } from '../../common/log.js';

export interface FindingsOptions {
  readonly settings: FindingsSettings & { readonly evaluateEverySeconds: number };
  readonly history: HistorySettings;
  /** Cluster access to post Kubernetes Events with; none are posted without it. */
  readonly eventsKubeConfig?: KubeConfig | undefined;
  readonly portRangeOf?: PortRangeOf | undefined;
  readonly log: LogFn;
}

/** The leak rules and history of an aggregator, not evaluating yet: start() runs them on their timer. */
export interface RunningFindings {
  readonly api: FindingsApi;
  start(): void;
  stop(): void;
}

export async function createFindings(store: NodeStore, options: FindingsOptions): Promise<RunningFindings> {
  // The Events module (and the client library) loads only with cluster access.
  const events = options.eventsKubeConfig ? new (await import('./events.js')).FindingEvents(options.eventsKubeConfig, options.log) : undefined;
  const history = new HistoryStore(options.history);
  const everyMs = options.settings.evaluateEverySeconds * 1000;
  const engine = new FindingsEngine(store, {
    settings: options.settings,
    history,
    evaluateEveryMs: everyMs,
    portRangeOf: options.portRangeOf,
    log: options.log,
    ...(events && { onOpened: (finding) => void events.post(finding) }),
  });
  return {
    api: { engine, history, store },
    start: () => engine.start(everyMs),
    stop: () => engine.stop(),
  };
}
