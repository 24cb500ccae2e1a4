import type { status } from '@grpc/grpc-js';

/** A protocol violation: the stream ends with this status and a log line; nothing else is touched. */
export class StreamRejected extends Error {
  override readonly name = 'StreamRejected';
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

