import type { PendingSocket, PodIndex } from '../store/index.js';

const NO_BYTES = Buffer.alloc(0);
const NO_VIEW = new DataView(new ArrayBuffer(0));

/** A socket read from a message: one class, so that SocketReader fills fresh and pooled ones alike. */
export class PendingRecord implements PendingSocket {
  source: Buffer = NO_BYTES;
  sourceView: DataView = NO_VIEW;
  start = 0;
  cutStart = 0;
  cutEnd = 0;
  end = 0;
  keyStart = 0;
  keyEnd = 0;
  keyHash = 0;
  proto = 0;
  stateCode = 0;
  localStart = 0;
  localEnd = 0;
  localPort = 0;
  foreignStart = 0;
  foreignEnd = 0;
  foreignPort = 0;
  recvQ = 0;
  sendQ = 0;
  firstSeenMs = 0;
  firstSeenAt = 0;
  firstSeenEnd = 0;
  pid = 0;
  pod: PodIndex | undefined = undefined;
}

/**
 * Records reused from one message to the next, for a reader that is done with a message's
 * sockets before it reads the next: a burst of upserts read into fresh objects would be young
 * garbage collected while the burst is applied.
 */
export class PendingPool {
  private readonly records: PendingRecord[] = [];
  private readonly sockets: PendingSocket[] = [];
  private used = 0;

  /** Starts a message: the sockets handed out for the previous one are taken back. */
  begin(): PendingSocket[] {
    this.used = 0;
    this.sockets.length = 0;
    return this.sockets;
  }

  /** A record for the message's next socket; the array begin() returned lists it. */
  next(): PendingRecord {
    const record = (this.records[this.used++] ??= new PendingRecord());
    this.sockets.push(record);
    return record;
  }
}
