import { PodDictionary } from '../agent/stream/pod-dictionary.js';
import { PodDef, StreamRequest } from '../gen/kubenetstat/v1/agent.js';
import { Socket } from '../gen/kubenetstat/v1/socket.js';
import { deltaRequestBytes } from './delta-bytes.js';
import type { SyntheticNode } from './synthetic.js';

/**
 * A synthetic node's agent messages, encoded ahead of time as a real agent's stream would send
 * them: hello, a snapshot in chunks of CHUNK sockets, deltas with pods by ref (PodDictionary).
 * For the benches that feed an aggregator without an agent's cost in the timed part
 * (bench/ingest-core.ts in-process, bench/replay.ts over gRPC).
 */

/** The command-line options of the benches that replay such messages: node count and size, bursts and their changes per node. */
export const REPLAY_OPTIONS = {
  nodes: { type: 'string', default: '1000' },
  sockets: { type: 'string', default: '1000' },
  bursts: { type: 'string', default: '3' },
  changes: { type: 'string', default: '1000' },
} as const;

/** The agent's default chunk (agent/stream/client.ts). */
export const CHUNK = 250;

export class EncodingAgent {
  readonly pods = new PodDictionary();
  private sequence = 0n;

  constructor(readonly synthetic: SyntheticNode) {}

  private next(): bigint {
    return ++this.sequence;
  }

  hello(epoch: bigint, bootId: string): Buffer {
    return Buffer.from(StreamRequest.encode({ message: { $case: 'hello', value: { nodeName: this.synthetic.name, bootId, epoch, version: 'bench', capabilities: [] } } }).finish());
  }

  snapshot(): Buffer[] {
    const sockets = this.synthetic.sockets;
    const chunks = Math.ceil(sockets.length / CHUNK);
    const out: Buffer[] = [];
    for (let index = 0; index < chunks; index++) {
      const { sockets: slice, pods } = this.pods.encode(sockets.slice(index * CHUNK, (index + 1) * CHUNK));
      out.push(Buffer.from(StreamRequest.encode({ message: { $case: 'snapshot', value: { sequence: this.next(), snapshotId: 1n, index, sockets: slice, last: index === chunks - 1, pods } } }).finish()));
    }
    return out;
  }

  /** One round of the node's churn as deltas of at most CHUNK upserts and CHUNK removals, and the round's marker key (synthetic.ts). */
  delta(changes: number, round: number): { messages: Buffer[]; changes: number; marker: string } {
    const scan = this.synthetic.scan(changes, round);
    const { upserted, removed } = scan.changes;
    const messages: Buffer[] = [];
    for (let start = 0; start === 0 || start < Math.max(upserted.length, removed.length); start += CHUNK) {
      const { sockets, pods } = this.pods.encode(upserted.slice(start, start + CHUNK));
      const prepared = sockets.map((socket) => ({ bytes: Socket.encode({ ...socket, podRef: 0 }).finish(), podRef: socket.podRef }));
      messages.push(deltaRequestBytes(this.next(), prepared, removed.slice(start, start + CHUNK), pods.map((pod) => PodDef.encode(pod).finish())));
    }
    return { messages, changes: upserted.length + removed.length, marker: scan.marker! };
  }
}
