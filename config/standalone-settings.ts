import { AGENT } from './agent-settings.js';
import { AGGREGATOR } from './aggregator-settings.js';
import { splitHostPort } from './listen.js';
import { count, type Program } from './setting.js';

/** `kube-netstat standalone`: its own port, and the agent's settings it passes on. */

const settings = {
  httpPort: count({ flag: 'http-port', default: splitHostPort(AGGREGATOR.settings.httpListen.default).port, min: 0, max: 65_535, help: 'The loopback port queries and /metrics are served on (0 picks one).' }),
  intervalSeconds: AGENT.settings.intervalSeconds,
  procRoot: AGENT.settings.procRoot,
  kubeconfig: AGENT.settings.kubeconfig,
};

export const STANDALONE: Program<typeof settings> = {
  command: 'standalone',
  description: `Agent and aggregator for this host in one process; query it over HTTP.
Its /metrics has the aggregator's series and the agent's (kubenetstat_agent_*).
With a kubeconfig (or one found as kubectl finds it), pods and peers are named.`,
  settings,
};
