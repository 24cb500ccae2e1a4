import type { Hello, NamespaceInfo } from '../../gen/kubenetstat/v1/agent.js';
import type { PendingSocket } from '../store/index.js';

/** One StreamRequest as ingest reads it: the sockets it carries indexed, not decoded. */
export type Envelope =
  | { readonly kind: 'hello'; readonly hello: Hello }
  | { readonly kind: 'snapshot'; readonly sequence: number; readonly snapshotId: number; readonly index: number; readonly sockets: PendingSocket[]; readonly last: boolean; readonly namespaces: NamespaceInfo[] | undefined }
  | { readonly kind: 'delta'; readonly sequence: number; readonly upserted: PendingSocket[]; readonly removed: RemovedKeys; readonly namespaces: NamespaceInfo[] | undefined }
  | { readonly kind: 'heartbeat'; readonly sequence: number; readonly socketCount: number }
  | { readonly kind: 'goodbye'; readonly sequence: number; readonly reason: string };

/** The keys a delta removes, as byte ranges of its message: [start, end) pairs, flattened. */
export interface RemovedKeys {
  readonly source: Buffer;
  /** `source` as a DataView, for hashing the keys. */
  readonly sourceView: DataView;
  readonly bounds: ArrayLike<number>;
}
