import type { RunningAggregator } from '../../../aggregator/server/index.js';
import { agentSettings, runAgentWith } from '../../../cmd/agent.js';
import { aggregatorSettings, startAggregatorWith } from '../../../cmd/aggregator.js';
import type { LogFn } from '../../../common/log.js';
import { NodeTree, type NodeTreeOptions } from './node-tree.js';

export interface AgentAndAggregatorOptions {
  /** The node the agent scans (a NodeTree of `tree`) and writes. */
  readonly node: string;
  readonly tree: NodeTreeOptions;
  /** Flags beyond the loopback listens (port 0). */
  readonly aggregatorFlags: readonly string[];
  /** Flags beyond --aggregator, --node-name, --proc-root and a fast scan (--interval 0.2, --heartbeat 1). */
  readonly agentFlags: readonly string[];
  readonly aggregatorLog?: LogFn;
  readonly agentLog?: LogFn;
}

export interface AgentAndAggregator {
  readonly aggregator: RunningAggregator;
  readonly tree: NodeTree;
  /** Stops the agent, then the aggregator, and removes the tree. */
  stop(): Promise<void>;
}

/**
 * An aggregator and a real agent in this process, each started from its flags as its command
 * starts it (cmd/aggregator.ts, cmd/agent.ts); the agent scans a proc tree of its own and
 * streams it to the aggregator's gRPC port.
 */
export async function startAgentAndAggregator(options: AgentAndAggregatorOptions): Promise<AgentAndAggregator> {
  const quiet: LogFn = () => undefined;
  const aggregator = await startAggregatorWith(aggregatorSettings(['--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', ...options.aggregatorFlags]), options.aggregatorLog ?? quiet);
  const tree = new NodeTree(options.tree);
  const stopAgent = new AbortController();
  const flags = ['--aggregator', `127.0.0.1:${aggregator.grpcPort}`, '--node-name', options.node, '--proc-root', tree.root, '--interval', '0.2', '--heartbeat', '1', ...options.agentFlags];
  let agent: Promise<void>;
  try {
    agent = runAgentWith(agentSettings(flags), options.agentLog ?? quiet, stopAgent.signal);
  } catch (error) {
    await aggregator.stop();
    tree.dispose();
    throw error;
  }
  return {
    aggregator,
    tree,
    stop: async () => {
      stopAgent.abort();
      await agent;
      await aggregator.stop();
      tree.dispose();
    },
  };
}
