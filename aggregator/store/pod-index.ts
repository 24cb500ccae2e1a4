import { PodRef } from '../../gen/kubenetstat/v1/socket.js';
import type { NamespaceBuckets } from './namespace-buckets.js';

/** A pod as the sockets of one agent connection share it: its encoding, and what queries match. */
export class PodIndex {
  private decoded: PodRef | undefined;
  private keyText: string | undefined;
  /**
   * For one walk over the stores at a time (the findings pass): the walk's number and what it
   * keeps for this pod, so that a walk finds it without a Map lookup per socket.
   */
  walk = 0;
  walkValue: unknown = undefined;
  /** The bucket of the pod's namespace in the store's buckets that last asked (NamespaceBuckets.idOf). */
  buckets: NamespaceBuckets | undefined;
  bucketId = -1;
  constructor(
    readonly namespace: string,
    readonly name: string,
    readonly uid: string,
    readonly container: string,
    readonly workloadKind: string,
    readonly workloadName: string,
    readonly labels: Readonly<Record<string, string>>,
    /** The PodRef message exactly as the agent encoded it. */
    readonly bytes: Buffer,
  ) {}

  /** `namespace/name`: the pod's identity across its containers and streams (made once, on first use). */
  get key(): string {
    return (this.keyText ??= `${this.namespace}/${this.name}`);
  }

  /** The decoded PodRef, shared by every answer that carries this pod: callers must not mutate it. */
  ref(): PodRef {
    return (this.decoded ??= PodRef.decode(this.bytes));
  }
}

/** The pod a socket is in, if any: a pod field without a name (never sent by agents) counts as none. */
export function inPod(pod: PodIndex | undefined): PodIndex | undefined {
  return pod?.name ? pod : undefined;
}
