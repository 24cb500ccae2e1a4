/**
 * A slot's fields, as one record of int32s (one cache line of 64 bytes): looking a key up or
 * storing a socket touches one record instead of a dozen arrays, and on a store of a million
 * sockets each record read is a cache miss. Offsets of the key and addresses are relative to
 * the socket's bytes, which are in the chunk at ADDRESS (slab-allocator.ts).
 */
export const ADDRESS = 0;
/** The socket's bytes' length; 0 for a free slot. */
export const LENGTH = 1;
export const HASH = 2;
export const KEY_AT = 3;
export const KEY_LENGTH = 4;
export const BUCKET_AT = 5;
export const LOCAL_AT = 6;
export const FOREIGN_AT = 7;
/** proto | state << 8 | local address length << 16 | foreign address length << 24. */
export const KIND = 8;
/** local port | foreign port << 16. */
export const PORTS = 9;
/** VALIDATED once its bytes decoded as a Socket. */
export const FLAGS = 10;
/** The slot's namespace bucket (an index into the store's buckets), -1 outside pods. */
export const BUCKET = 11;
/**
 * Since-times (since.ts): when the socket entered its state, and since when its Recv-Q /
 * Send-Q have been non-empty without shrinking (0: empty). They are the aggregator's
 * observations (ingest time), carried across deltas and snapshots of the same boot
 * (NodeSockets.put), and what the leak rules judge lingering and stuck queues by.
 */
export const STATE_SINCE = 12;
export const RECV_Q_SINCE = 13;
export const SEND_Q_SINCE = 14;
/** The first holder's pid, 0 for none (a per-process socket count needs no decoding). */
export const PID = 15;
export const INTS = 16;

export const VALIDATED = 1;

/** Numbers beyond 32 bits, a record of float64s per slot. */
export const RECV_Q = 0;
export const SEND_Q = 1;
export const FIRST_SEEN = 2;
export const FLOATS = 3;
