import type { PodRef, ProcessRef } from '../../gen/kubenetstat/v1/socket.js';

/** Parts of sockets as agents send them, for tests that store or stream sockets of their own. */

/** A TCP state's code (include/net/tcp_states.h), netstat's name and ss's, as an agent fills stateCode, state and ssState. */
export const STATES = {
  estab: [1, 'ESTABLISHED', 'ESTAB'],
  'syn-sent': [2, 'SYN_SENT', 'SYN-SENT'],
  'syn-recv': [3, 'SYN_RECV', 'SYN-RECV'],
  'fin-wait2': [5, 'FIN_WAIT2', 'FIN-WAIT-2'],
  'time-wait': [6, 'TIME_WAIT', 'TIME-WAIT'],
  'close-wait': [8, 'CLOSE_WAIT', 'CLOSE-WAIT'],
  'last-ack': [9, 'LAST_ACK', 'LAST-ACK'],
  listen: [10, 'LISTEN', 'LISTEN'],
} as const;
export type StateName = keyof typeof STATES;

/** A pod of a ReplicaSet (its name less the last `-suffix`), as attribution names it. */
export const pod = (namespace: string, name: string, container: string, labels: Record<string, string> = {}): PodRef => ({
  namespace,
  name,
  uid: `uid-${name}`,
  container,
  containerId: '',
  runtime: '',
  workloadKind: 'ReplicaSet',
  workloadName: name.replace(/-[^-]+$/, ''),
  labels,
});

export const process = (pid: number, name: string): ProcessRef => ({ pid, name, comm: name, fds: [3] });
