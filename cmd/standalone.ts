import { basename, relative } from 'node:path';
import { AgentMetrics } from '../agent/metrics.js';
import { nodeName as defaultNode } from '../cli/local/pods.js';
import { STANDALONE } from '../config/standalone-settings.js';
import { agentSettings, runAgentWith } from './agent.js';
import { aggregatorSettings, startAggregatorWith } from './aggregator.js';
import { serviceCommand } from './service-command.js';

/**
 * Agent and aggregator for this host in one process, over the same gRPC protocol on
 * loopback: the embedded default, no cluster needed.
 */
export const runStandaloneCommand = serviceCommand(STANDALONE, async (settings, log, signal, io) => {
  // Both halves use the kubeconfig given: the agent for pod names, the aggregator for peer names.
  const { kubeconfig } = settings;
  const aggregator = await startAggregatorWith({ ...aggregatorSettings([]), kubeconfig, agentAuth: 'none', grpcListen: '127.0.0.1:0', httpListen: `127.0.0.1:${settings.httpPort}` }, log);
  // Kubernetes node names are lower-case DNS names; a host name may not be.
  const node = defaultNode({ node: undefined }).toLowerCase();
  const agent = { ...agentSettings(['--aggregator', `127.0.0.1:${aggregator.grpcPort}`, '--node-name', node]), procRoot: settings.procRoot, intervalSeconds: settings.intervalSeconds, kubeconfig };
  const base = `http://127.0.0.1:${aggregator.httpPort}`;
  const self = selfCommand(process.argv[1]);
  io.stdout(
    `kube-netstat standalone: watching this host (node "${agent.nodeName}"), refreshed every ${agent.intervalSeconds}s.\n` +
      `Query it:\n` +
      ([
        [`'${base}/api/v1/sockets?state=close-wait'`, 'CLOSE_WAIT sockets, SocketList JSON'],
        [`'${base}/api/v1/sockets?proto=tcp&state=listening&limit=20'`, ''],
        [`'${base}/api/v1/sockets?namespace=shop&labelSelector=app%3Dcart'`, ''],
        [`'${base}/api/v1/summary?by=namespace'`, 'counts by state'],
        [`'${base}/api/v1/top?by=close-wait&limit=10'`, 'pods with the most CLOSE_WAIT'],
        [`${base}/metrics`, 'Prometheus: the aggregator\'s and the agent\'s'],
        [`${base}/healthz`, ''],
      ] as const)
        .map(([url, what]) => (what ? `  curl -s ${url.padEnd(64)}  # ${what}\n` : `  curl -s ${url}\n`))
        .join('') +
      `or with netstat's flags and columns (the kubectl-netstat plugin, pointed at it):\n` +
      `  ${self} query --server ${base} -A -tanp\n` +
      `  ${self} query --server ${base} -A summary\n` +
      `  ${self} query --server ${base} -A watch --state close-wait\n` +
      `Stop with Ctrl-C.\n`,
  );
  // One process, one /metrics: the agent's series go on the aggregator's registry (it has the process metrics already).
  await runAgentWith(agent, log, signal, new AgentMetrics({ registry: aggregator.metrics.registry, processMetrics: false }));
  await aggregator.stop();
});

/**
 * How the user ran this binary, for commands to copy: `kube-netstat` when installed (npm's bin
 * link on PATH), `node bin/kube-netstat.js` from a checkout (`npm start`).
 */
function selfCommand(script: string | undefined): string {
  if (script === undefined || basename(script) === 'kube-netstat') return 'kube-netstat';
  const path = relative(process.cwd(), script);
  return `node ${path.startsWith('..') ? script : path}`;
}
