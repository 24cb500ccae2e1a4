import { WIRE } from '../../model/wire-fields.js';
import { ListResponse } from '../../gen/kubenetstat/v1/query.js';
import type { NodeSockets, NodeStore } from '../store/index.js';
import { varintBytes, varintLength, writeVarint } from '../wire/index.js';
import { decodeStored } from './decode.js';
import { list } from './listing.js';
import type { QuerySpec } from './spec.js';

/** Field tags an answer adds to a stored socket's bytes (socket.proto), and ListResponse.items, as their varints. */
const NODE_TAG = varintBytes(WIRE.Socket.node.tag);
const POD_TAG = varintBytes(WIRE.Socket.pod.tag);
/** pod_ref with the value 0. */
const POD_REF_ZERO = Uint8Array.of(...varintBytes(WIRE.Socket.podRef.tag), 0);
const PEER_TAG = varintBytes(WIRE.Socket.peer.tag);
const LIST_ITEMS_TAG = WIRE.ListResponse.items.tag;
const LIST_ITEMS_TAG_LENGTH = varintLength(LIST_ITEMS_TAG);

/** Bytes a length-delimited field takes: its tag, its length's varint, its payload. */
function fieldLength(tag: Uint8Array, payload: number): number {
  return tag.length + varintLength(payload) + payload;
}

/** A node's listed sockets: its store and name, and where its items start in the answer's order. */
interface Run {
  readonly sockets: NodeSockets;
  readonly node: Buffer;
  readonly from: number;
}

/**
 * The listing as an encoded ListResponse, built from the stored bytes without decoding them:
 * each item is the agent's encoding followed by the fields an answer sets — its pod, pod_ref 0,
 * its node (a later occurrence of a field wins in protobuf) and its peer (which agents cannot
 * send: ingest rejects it, so it is never merged with one). A socket's bytes are decoded
 * once, the first time an answer copies them, to keep undecodable input out of answers. The
 * answer is one buffer of the exact size, written after the walk measured every item: a
 * protobuf writer's fork and join would make several small buffers per item, each for the
 * collector to free.
 */
export function listSocketsEncoded(store: NodeStore, spec: QuerySpec): { bytes: Buffer; undecodable: number } {
  // Measured as the walk goes (numbers only: objects per item would outlive young collections), written after.
  const runs: Run[] = [];
  const slots: number[] = [];
  const lengths: number[] = [];
  const peers = new Map<number, Uint8Array>();
  let size = 0;
  const listing = list(store, spec, (sockets, slot, node) => {
    if (!sockets.isValidated(slot)) {
      if (!decodeStored(sockets, slot, node)) return false;
      sockets.markValidated(slot);
    }
    let run = runs[runs.length - 1];
    if (run?.sockets !== sockets) runs.push((run = { sockets, node: Buffer.from(node, 'utf8'), from: slots.length }));
    const pod = sockets.pod(slot);
    // The foreign address is read from where the store keeps its text: nothing is decoded.
    const peer = store.peers?.peerOf(sockets.foreignAddress(slot), sockets.foreignPort(slot))?.bytes;
    if (peer) peers.set(slots.length, peer);
    const length = sockets.bytesOf(slot).length + (pod ? fieldLength(POD_TAG, pod.bytes.length) : 0) + (peer ? fieldLength(PEER_TAG, peer.length) : 0) + POD_REF_ZERO.length + fieldLength(NODE_TAG, run.node.length);
    slots.push(slot);
    lengths.push(length);
    size += LIST_ITEMS_TAG_LENGTH + varintLength(length) + length;
    return true;
  });
  const tail = ListResponse.encode({ items: [], unavailableNodes: listing.unavailable, continueToken: listing.continueToken }).finish();
  const bytes = Buffer.allocUnsafe(size + tail.length);
  let at = 0;
  const field = (tag: Uint8Array, payload: Uint8Array): void => {
    bytes.set(tag, at);
    at = writeVarint(bytes, at + tag.length, payload.length);
    bytes.set(payload, at);
    at += payload.length;
  };
  runs.forEach(({ sockets, node, from }, r) => {
    const to = runs[r + 1]?.from ?? slots.length;
    for (let i = from; i < to; i++) {
      const slot = slots[i]!;
      at = writeVarint(bytes, at, LIST_ITEMS_TAG);
      at = writeVarint(bytes, at, lengths[i]!);
      const stored = sockets.bytesOf(slot);
      bytes.set(stored, at);
      at += stored.length;
      const pod = sockets.pod(slot);
      if (pod) field(POD_TAG, pod.bytes);
      const peer = peers.get(i);
      if (peer) field(PEER_TAG, peer);
      bytes.set(POD_REF_ZERO, at);
      at += POD_REF_ZERO.length;
      field(NODE_TAG, node);
    }
  });
  bytes.set(tail, at);
  return { bytes, undecodable: listing.undecodable };
}
