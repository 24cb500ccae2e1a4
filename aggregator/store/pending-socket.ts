import type { PodIndex } from './pod-index.js';

/**
 * A socket read from a message and not yet stored: its indexed fields and where its bytes lie
 * in the message. [cutStart, cutEnd) is the pod field, which is not copied (`pod` has it);
 * [keyStart, keyEnd) is its key, `keyHash` the key's hash (hashKey). Addresses are not
 * decoded at ingest: the store keeps where their text is, and filters read it when asked.
 */
export interface PendingSocket {
  readonly source: Buffer;
  /** `source` as a DataView: the store copies and compares its bytes four at a time. */
  readonly sourceView: DataView;
  readonly start: number;
  readonly cutStart: number;
  readonly cutEnd: number;
  readonly end: number;
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly keyHash: number;
  readonly proto: number;
  /** The kernel state code; for unix sockets the one ss shows them in (model/filter.ts). */
  readonly stateCode: number;
  /** Where the addresses' text lies in the message (0, 0 for none). */
  readonly localStart: number;
  readonly localEnd: number;
  readonly localPort: number;
  readonly foreignStart: number;
  readonly foreignEnd: number;
  readonly foreignPort: number;
  readonly recvQ: number;
  readonly sendQ: number;
  /** When the agent first saw the socket (Unix ms; 0 when it did not say). */
  readonly firstSeenMs: number;
  /** Where firstSeen's varint lies in the message ([firstSeenAt, firstSeenEnd); equal when absent). */
  readonly firstSeenAt: number;
  readonly firstSeenEnd: number;
  /** The first (lowest) pid holding the socket; 0 when no process does. */
  readonly pid: number;
  readonly pod: PodIndex | undefined;
}
