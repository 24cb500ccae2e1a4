/** The aggregator's hand-written protobuf codec: what reads and writes encoded messages without decoding them into objects. */
export { WireFormatError } from './errors.js';
export { Reader } from './reader.js';
export { varintBytes, varintLength, writeVarint } from './varint.js';
