import type { Socket } from '../gen/kubenetstat/v1/socket.js';
import type { PodMeta } from './pod.js';
import type { ScanProblems } from './scan-problems.js';

/**
 * One scan of a host, attributed and in wire form, with what names each network namespace:
 * what `kube-netstat local` prints (the agent's snapshot of its host, taken once).
 */
export interface HostSnapshot {
  /** The host's namespace first, then the others in order of their lowest pid. */
  readonly namespaces: readonly NamespaceSnapshot[];
  readonly problems: ScanProblems;
}

export interface NamespaceSnapshot {
  /** Inode of the namespace (`net:[<inode>]`), as decimal text. */
  readonly netns: string;
  /** The namespace of pid 1: the host's. */
  readonly isHost: boolean;
  /** Every process living in it, ascending. */
  readonly pids: readonly number[];
  /** The kernel task name (comm) of its first process, raw bytes as latin1; '' when it could not be read. */
  readonly firstComm: string;
  /** The pod whose namespace this is, by its processes' cgroups; absent for the host's and for namespaces no pod owns. */
  readonly podUid?: string;
  /** That pod as the Kubernetes API names it, when known. */
  readonly pod?: PodMeta;
  /** Its sockets in netstat's order: tcp, tcp6, udp, udp6, raw, raw6, unix; file order within each. */
  readonly sockets: readonly Socket[];
  /** Lines of its tables that do not parse (skipped), each as `file:line: reason: "text"`. */
  readonly parseErrors: readonly string[];
}
