/**
 * The aggregator taking bursts as fast as it can, on the wall clock: after `npm run build:bench`
 * (the aggregator is dist/bench/aggregator-child.js), `node --expose-gc
 * --max-old-space-size=8192 --import tsx bench/replay.ts [--nodes 1000] [--sockets 1000]
 * [--bursts 3] [--changes 1000] [--aggregator-node-flags=…] [--json]`. `npm run bench` runs it
 * after the streaming case (bench/replay-case.ts, with --json: progress on stderr, one JSON
 * line of results on stdout). There, a thousand simulated agents' own work (the real stream
 * client's) shares the machine's cores with the aggregator and limits the rate, so ingest is judged per aggregator CPU-second in that case.
 * Here the agents' messages — hello, snapshot chunks, deltas with pods by ref, exactly as
 * bench/agent-messages.ts encodes them — are built before anything is timed and replayed over
 * one gRPC connection per node (raw bytes, no encoding in the timed part): what limits the
 * rate is the aggregator (`kube-netstat aggregator` with the CLI's defaults) and the gRPC and
 * HTTP/2 path to it, which includes the writing side's framing. Timed per burst: from the first write until the aggregator has applied
 * every node's last change (a marker socket per node), with both processes' CPU.
 */
import { Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { parseArgs } from 'node:util';
import { AgentServiceService } from '../gen/kubenetstat/v1/agent.js';
import { EncodingAgent, REPLAY_OPTIONS } from './agent-messages.js';
import { OwnConnection } from './own-connection.js';
import { procDelta, sampleProc } from './proc.js';
import type { Progress } from './stream-cluster.js';
import { fmt } from './stream-report.js';
import { killStreamProcesses, pollUntil, startAggregator } from './stream-procs.js';
import { SyntheticNode } from './synthetic.js';

const { values } = parseArgs({
  options: {
    ...REPLAY_OPTIONS,
    'aggregator-node-flags': { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});
const NODES = Number(values.nodes);
const SOCKETS = Number(values.sockets);
const BURSTS = Number(values.bursts);
const CHANGES = Number(values.changes);
const SEED = 1;
const TIMEOUT_MS = 300_000;

/** One simulated node: its connection, stream and prepared messages. */
interface Replayer {
  readonly name: string;
  readonly client: Client;
  readonly call: ClientDuplexStream<Buffer, Buffer>;
  readonly bursts: { readonly messages: Buffer[]; readonly changes: number; readonly marker: string }[];
}

const collect = (): void => (globalThis as { gc?: () => void }).gc?.();
const identity = (bytes: Buffer): Buffer => bytes;
const errors: string[] = [];
/** Human-readable lines: stdout alone, stderr under --json (stdout then carries the result). */
const say = (line: string): void => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);

/** What one burst measured. */
export interface ReplayBurst {
  readonly changes: number;
  readonly seconds: number;
  readonly changesPerSecond: number;
  readonly aggregatorCores: number;
  readonly changesPerAggregatorCpuSecond: number;
  readonly replayCores: number;
}

export interface ReplayResult {
  readonly nodes: number;
  readonly sockets: number;
  readonly snapshotSeconds: number;
  readonly bursts: readonly ReplayBurst[];
  readonly medianChangesPerSecond: number;
  readonly streamErrors: readonly string[];
}

/** Writes one message per node, then each node's next, ...: a thousand streams arriving together; resolves when grpc-js has taken the last. */
function writeInterleaved(replayers: readonly Replayer[], messagesOf: (replayer: Replayer, index: number) => readonly Buffer[]): Promise<void> {
  const lists = replayers.map(messagesOf);
  const rounds = Math.max(...lists.map((list) => list.length));
  const flushed: Promise<void>[] = [];
  for (let m = 0; m < rounds; m++) {
    replayers.forEach((replayer, i) => {
      const message = lists[i]![m];
      if (!message) return;
      const last = m === lists[i]!.length - 1;
      if (last) flushed.push(new Promise((resolve) => replayer.call.write(message, () => resolve())));
      else replayer.call.write(message);
    });
  }
  return Promise.all(flushed).then(() => undefined);
}

process.on('exit', killStreamProcesses);
const nodeFlags = values['aggregator-node-flags'].split(/\s+/).filter(Boolean);
const aggregator = await startAggregator(TIMEOUT_MS * 10, nodeFlags);
const progress = (): Promise<Progress> => aggregator.ipc.call<Progress>('progress');
try {
  say(`replay: ${NODES} nodes × ${SOCKETS} sockets, ${BURSTS} bursts of ${CHANGES} changes per node${nodeFlags.length ? `; aggregator node flags ${nodeFlags.join(' ')} (not the product's)` : ''}`);
  const built = performance.now();
  const replayers: Replayer[] = [];
  const snapshots: Buffer[][] = [];
  let expected = 0;
  for (let i = 0; i < NODES; i++) {
    const synthetic = new SyntheticNode(i, SOCKETS, SEED);
    const agent = new EncodingAgent(synthetic);
    const client = new Client(`127.0.0.1:${aggregator.grpcPort}`, new OwnConnection());
    const call = client.makeBidiStreamRequest(AgentServiceService.stream.path, identity, identity);
    call.on('data', () => undefined);
    call.on('error', (error: Error) => errors.push(`${synthetic.name}: ${error.message}`));
    snapshots.push([agent.hello(BigInt(Date.now()), `boot-${i}`), ...agent.snapshot()]);
    expected += synthetic.sockets.length;
    const bursts = Array.from({ length: BURSTS }, (_, round) => agent.delta(CHANGES, round + 1));
    replayers.push({ name: synthetic.name, client, call, bursts });
  }
  collect();
  say(`built and encoded in ${((performance.now() - built) / 1000).toFixed(1)} s`);

  const s0 = performance.now();
  await writeInterleaved(replayers, (_, i) => snapshots[i]!);
  snapshots.length = 0;
  await pollUntil(progress, (p) => p.synced === NODES && p.sockets === expected, { intervalMs: 50, timeoutMs: TIMEOUT_MS, what: 'snapshot' });
  const snapshotSeconds = (performance.now() - s0) / 1000;
  say(`snapshot: ${fmt(expected)} sockets in ${snapshotSeconds.toFixed(2)} s${errors.length ? `; errors: ${errors.slice(0, 3).join('; ')}` : ''}`);
  collect();
  await new Promise((resolve) => setTimeout(resolve, 2_000));

  say('burst  changes    seconds  changes/s (wall)  aggregator CPU  per aggregator CPU-s  replay CPU');
  const bursts: ReplayBurst[] = [];
  for (let round = 0; round < BURSTS; round++) {
    await aggregator.ipc.call('setMarkers', { entries: replayers.map((replayer) => [replayer.name, replayer.bursts[round]!.marker]) });
    const changes = replayers.reduce((sum, replayer) => sum + replayer.bursts[round]!.changes, 0);
    const a0 = sampleProc(aggregator.pid);
    const r0 = sampleProc(process.pid);
    const written = writeInterleaved(replayers, (replayer) => replayer.bursts[round]!.messages);
    const done = await pollUntil(progress, (p) => p.marked === NODES, { intervalMs: 10, timeoutMs: TIMEOUT_MS, what: `burst ${round + 1}` });
    await written;
    const aggregatorCpu = procDelta(a0, sampleProc(aggregator.pid));
    const replayCpu = procDelta(r0, sampleProc(process.pid));
    const seconds = (done.atMs - a0.atMs) / 1000;
    bursts.push({ changes, seconds, changesPerSecond: changes / seconds, aggregatorCores: aggregatorCpu.cores, changesPerAggregatorCpuSecond: changes / (aggregatorCpu.cpuMs / 1000), replayCores: replayCpu.cores });
    say(
      `${String(round + 1).padStart(5)}  ${fmt(changes).padStart(7)}  ${seconds.toFixed(2).padStart(9)}  ${fmt(changes / seconds).padStart(16)}  ${`${(100 * aggregatorCpu.cores).toFixed(0)}% of a core`.padStart(14)}  ${fmt(changes / (aggregatorCpu.cpuMs / 1000)).padStart(20)}  ${`${(100 * replayCpu.cores).toFixed(0)}%`.padStart(10)}`,
    );
    for (const replayer of replayers) replayer.bursts[round]!.messages.length = 0;
    collect();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  const rates = bursts.map((burst) => burst.changesPerSecond).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  say(`median of ${BURSTS} bursts: ${fmt(median)} changes/s on the wall clock${errors.length ? `; stream errors: ${errors.length} (${errors.slice(0, 3).join('; ')})` : ''}`);
  const result: ReplayResult = { nodes: NODES, sockets: expected, snapshotSeconds, bursts, medianChangesPerSecond: median, streamErrors: errors.slice(0, 10) };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  for (const replayer of replayers) {
    replayer.call.end();
    replayer.client.close();
  }
} finally {
  await aggregator.stop();
}
