/** Input that is not the protobuf the contract says: the stream that sent it is rejected. */
export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}
