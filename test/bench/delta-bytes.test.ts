import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaRequestBytes } from '../../bench/delta-bytes.js';
import { PodDef, StreamRequest } from '../../gen/kubenetstat/v1/agent.js';
import { Proto, Socket } from '../../gen/kubenetstat/v1/socket.js';

/** The streaming bench's delta assembler (bench/delta-bytes.ts) writes exactly what the generated encoder writes. */

const socket = (key: string, podRef: number): Socket =>
  Socket.fromPartial({ key, node: 'node-a', proto: Proto.PROTO_TCP, stateCode: 1, state: 'ESTABLISHED', localAddress: '10.244.1.5', localPort: 8080, foreignAddress: '10.0.3.7', foreignPort: 5432, podRef });

test('sequence, sockets with and without a pod ref, removed keys (multi-byte ones too) and pod definitions', () => {
  const cases: Array<{ sequence: bigint; upserted: Socket[]; removedKeys: string[]; pods: PodDef[] }> = [
    { sequence: 0n, upserted: [], removedKeys: [], pods: [] },
    { sequence: 1n, upserted: [socket('tcp|a', 0)], removedKeys: [], pods: [] },
    {
      sequence: 300n,
      upserted: [socket('tcp|b', 1), socket('tcp|c', 200), socket('unix|d', 0)],
      removedKeys: ['tcp|gone', 'unix|@/tmp/ünïcode.sock', 'x'.repeat(200)],
      pods: [{ ref: 1, pod: { namespace: 'shop', name: 'cart-0', uid: 'u', container: 'cart', containerId: '', runtime: '', workloadKind: 'ReplicaSet', workloadName: 'cart', labels: { app: 'cart' } } }],
    },
  ];
  for (const delta of cases) {
    const prepared = delta.upserted.map((s) => ({ bytes: Socket.encode({ ...s, podRef: 0 }).finish(), podRef: s.podRef }));
    const assembled = deltaRequestBytes(delta.sequence, prepared, delta.removedKeys, delta.pods.map((pod) => PodDef.encode(pod).finish()));
    const generated = StreamRequest.encode({ message: { $case: 'delta', value: delta } }).finish();
    assert.deepEqual(new Uint8Array(assembled), generated, `sequence ${delta.sequence}`);
  }
});
