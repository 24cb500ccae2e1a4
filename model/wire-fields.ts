/**
 * Every protobuf field that hand-written code reads or writes without the generated codec
 * (proto/kubenetstat/v1/*.proto): the aggregator keeps sockets as their encoded bytes and
 * walks or extends them in place, so these numbers must be the .proto's. Tags are computed
 * from (number, wire type), never spelled as bytes; test/model/wire-fields.test.ts checks each one
 * against what the generated encoders in gen/ write, so renumbering a field in a .proto and
 * regenerating fails that test instead of silently misreading the stream.
 *
 * Messages are keyed by their generated names and fields by their generated property names,
 * which is how the test finds the generated encoder for each.
 */

/** The encoding of a field's value on the wire (protobuf encoding spec). */
export const WireType = {
  VARINT: 0,
  I64: 1,
  LEN: 2,
  I32: 5,
} as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

export interface WireField {
  readonly number: number;
  readonly wireType: WireType;
  /** The field's key as its varint carries it: number << 3 | wire type. */
  readonly tag: number;
}

function field(number: number, wireType: WireType): WireField {
  return { number, wireType, tag: number * 8 + wireType };
}

const { VARINT, LEN } = WireType;

/** The wire type a tag names (its low three bits). */
export function wireTypeOf(tag: number): number {
  return tag & 7;
}

export const WIRE = {
  /** agent.proto: what an agent's stream carries, one message kind per field. */
  StreamRequest: {
    hello: field(1, LEN),
    snapshot: field(2, LEN),
    delta: field(3, LEN),
    heartbeat: field(4, LEN),
    goodbye: field(5, LEN),
  },
  SnapshotChunk: {
    sequence: field(1, VARINT),
    snapshotId: field(2, VARINT),
    index: field(3, VARINT),
    sockets: field(4, LEN),
    last: field(5, VARINT),
    pods: field(6, LEN),
    namespaces: field(7, LEN),
  },
  Delta: {
    sequence: field(1, VARINT),
    upserted: field(2, LEN),
    removedKeys: field(3, LEN),
    pods: field(4, LEN),
    namespaces: field(5, LEN),
  },
  PodDef: {
    ref: field(1, VARINT),
    pod: field(2, LEN),
  },
  /** socket.proto: the fields ingest indexes, answers add, and the store rewrites. */
  Socket: {
    node: field(1, LEN),
    netns: field(2, VARINT),
    pod: field(3, LEN),
    proto: field(4, VARINT),
    localAddress: field(5, LEN),
    localPort: field(6, VARINT),
    foreignAddress: field(7, LEN),
    foreignPort: field(8, VARINT),
    stateCode: field(9, VARINT),
    recvQ: field(11, VARINT),
    sendQ: field(12, VARINT),
    timer: field(15, LEN),
    processes: field(16, LEN),
    firstSeenUnixMs: field(22, VARINT),
    key: field(24, LEN),
    ssState: field(26, LEN),
    podRef: field(27, VARINT),
    peer: field(28, LEN),
  },
  ProcessRef: {
    pid: field(1, VARINT),
  },
  Timer: {
    code: field(1, VARINT),
  },
  PodRef: {
    namespace: field(1, LEN),
    name: field(2, LEN),
    uid: field(3, LEN),
    container: field(4, LEN),
    workloadKind: field(7, LEN),
    workloadName: field(8, LEN),
    labels: field(9, LEN),
  },
  /** One entry of PodRef.labels (a map's entries are messages of a key and a value). */
  PodRef_LabelsEntry: {
    key: field(1, LEN),
    value: field(2, LEN),
  },
  /** query.proto: an encoded answer's items, assembled from stored bytes. */
  ListResponse: {
    items: field(1, LEN),
  },
} as const satisfies Record<string, Record<string, WireField>>;

/** A message's tags by field name: what a reader's switch compares a tag with. */
export function tagsOf<M extends Record<string, WireField>>(message: M): { readonly [K in keyof M]: number } {
  return Object.fromEntries(Object.entries(message).map(([name, { tag }]) => [name, tag])) as { [K in keyof M]: number };
}
