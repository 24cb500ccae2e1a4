import type { KubeConfig } from '@kubernetes/client-node';
import { Informer, type ApiObject, type InformerSink, type InformerTuning, type ResourceSource } from '../../kube/informer.js';
import { endpointSliceSource, nodeSource, podSource, serviceSource } from '../../kube/sources.js';
import { nodeAddressesOf, podAddressesOf, serviceAddressesOf, serviceEndpointsOf } from './api-objects.js';
import { PeerIndex } from './peer-index.js';
import type { AddressOwner, ClusterNode, PeerResolver, ResolvedPeer } from './types.js';
import type { LogFn } from '../../common/log.js';

export interface ClusterPeersOptions {
  readonly kubeConfig: KubeConfig;
  readonly log: LogFn;
  /** Paging and backoff of the four informers; their failures are logged. */
  readonly tuning?: Omit<InformerTuning, 'onEvent'>;
}

interface Follower {
  start(): void;
  synced(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Peer names from the cluster: cluster-wide informers on pods, services, endpointslices and
 * nodes feeding one PeerIndex. Until all four have listed once, every lookup answers no peer
 * (an answer without names is still correct; one naming from a partial view might not be).
 * A failing API never stops anything: each informer logs, backs off and retries on its own.
 */
export class ClusterPeers implements PeerResolver {
  private readonly index = new PeerIndex();
  /** The nodes informer's Nodes, by name, beside their addresses in the index. */
  private readonly nodes = new Map<string, ClusterNode>();
  private readonly informers: Follower[];
  private ready = false;
  private readonly allSynced: Promise<void>;

  constructor(options: ClusterPeersOptions) {
    // Nodes go to the index (their addresses) and to `nodes` (whether they are there and ready).
    const sink: InformerSink<AddressOwner> = {
      upsert: (next, previous) => {
        if (next.kind === 'node') this.nodes.set(next.name, next.condition);
        this.index.upsert(next, previous);
      },
      remove: (previous) => {
        if (previous.kind === 'node') this.nodes.delete(previous.name);
        this.index.remove(previous);
      },
    };
    const follow = <T extends ApiObject>(resource: string, source: ResourceSource<T>, keep: (object: T) => AddressOwner | undefined): Follower =>
      new Informer<T, AddressOwner>({
        ...options.tuning,
        kubeConfig: options.kubeConfig,
        source,
        keep,
        sink,
        onEvent: (event) => {
          if (event.kind === 'failed') options.log('peer names: informer failed', { resource, error: event.error.message.split('\n')[0], retryInMs: event.retryInMs }, 'warn');
        },
      });
    const kubeConfig = options.kubeConfig;
    this.informers = [
      follow('pods', podSource(kubeConfig), podAddressesOf),
      follow('services', serviceSource(kubeConfig), serviceAddressesOf),
      follow('endpointslices', endpointSliceSource(kubeConfig), serviceEndpointsOf),
      follow('nodes', nodeSource(kubeConfig), nodeAddressesOf),
    ];
    this.allSynced = Promise.all(this.informers.map((informer) => informer.synced())).then(() => {
      this.ready = true;
      options.log('peer names ready', { addresses: this.index.size, server: kubeConfig.getCurrentCluster()?.server });
    });
  }

  start(): void {
    for (const informer of this.informers) informer.start();
  }

  /** Resolves once every informer has listed once (never, while the API does not answer). */
  synced(): Promise<void> {
    return this.allSynced;
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.stop()));
  }

  peerOf(address: string, port: number): ResolvedPeer | undefined {
    return this.ready ? this.index.peerOf(address, port) : undefined;
  }

  clusterNodes(): ReadonlyMap<string, ClusterNode> | undefined {
    return this.ready ? this.nodes : undefined;
  }
}
