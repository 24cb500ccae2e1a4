import { tagsOf, WIRE, wireTypeOf } from '../../model/wire-fields.js';
import { PodIndex } from '../store/index.js';
import { Reader, WireFormatError } from '../wire/index.js';

const POD = tagsOf(WIRE.PodRef);
const LABEL = tagsOf(WIRE.PodRef_LabelsEntry);
const POD_DEF = tagsOf(WIRE.PodDef);
/** Pods one connection remembers; a node runs at most a few hundred. */
const POD_CACHE_LIMIT = 4_096;

/** Pod refs are 1–65535 (agent.proto PodDef). */
const MAX_POD_REF = 65_535;

/**
 * The pods of one agent connection: those it defined by ref (PodDef), and those sent inline
 * with each socket. An inline pod is mostly the same as the previous socket's, and a node has
 * few pods, so a pod is recognised by comparing bytes (with the last one, then with the one of
 * the same UID) and parsed only when it is new or changed (labels edited, container restarted).
 */
export class PodCache {
  private last: PodIndex | undefined;
  private readonly byUid = new Map<string, PodIndex>();
  /** By ref (1–MAX_POD_REF): an array, as every socket sent by ref looks its pod up here. */
  private readonly byRef: Array<PodIndex | undefined> = [];

  get(buf: Buffer, start: number, end: number): PodIndex {
    const last = this.last;
    if (last && sameRange(last.bytes, buf, start, end)) return last;
    const uid = podUid(buf, start, end);
    let pod = this.byUid.get(uid);
    if (!pod || !sameRange(pod.bytes, buf, start, end)) {
      pod = parsePod(buf, start, end);
      if (this.byUid.size >= POD_CACHE_LIMIT) this.byUid.clear();
      this.byUid.set(uid, pod);
    }
    this.last = pod;
    return pod;
  }

  /** A PodDef at [start, end): the ref now names this pod for the rest of the stream. */
  define(buf: Buffer, start: number, end: number): void {
    const reader = new Reader(buf, start, end);
    let ref = 0;
    let pod: PodIndex | undefined;
    while (!reader.done) {
      const tag = reader.varint();
      if (tag === POD_DEF.ref) ref = reader.varint();
      else if (tag === POD_DEF.pod) {
        const podStart = reader.delimited();
        pod = this.get(buf, podStart, reader.pos);
      } else reader.skip(wireTypeOf(tag));
    }
    if (ref < 1 || ref > MAX_POD_REF) throw new WireFormatError(`pod ref ${ref} out of range 1–${MAX_POD_REF}`);
    if (!pod) throw new WireFormatError(`pod ref ${ref} defined without a pod`);
    this.byRef[ref] = pod;
  }

  resolve(ref: number): PodIndex {
    const pod = ref >= 1 && ref <= MAX_POD_REF ? this.byRef[ref] : undefined;
    if (!pod) throw new WireFormatError(`pod ref ${ref} was never defined on this stream`);
    return pod;
  }
}

function sameRange(bytes: Buffer, buf: Buffer, start: number, end: number): boolean {
  return bytes.length === end - start && buf.compare(bytes, 0, bytes.length, start, end) === 0;
}

function podUid(buf: Buffer, start: number, end: number): string {
  const reader = new Reader(buf, start, end);
  while (!reader.done) {
    const tag = reader.varint();
    if (tag === POD.uid) return reader.string();
    reader.skip(wireTypeOf(tag));
  }
  return '';
}

function parsePod(buf: Buffer, start: number, end: number): PodIndex {
  const reader = new Reader(buf, start, end);
  let namespace = '';
  let name = '';
  let uid = '';
  let container = '';
  let workloadKind = '';
  let workloadName = '';
  const labels: Record<string, string> = {};
  while (!reader.done) {
    const tag = reader.varint();
    switch (tag) {
      case POD.namespace:
        namespace = reader.string();
        break;
      case POD.name:
        name = reader.string();
        break;
      case POD.uid:
        uid = reader.string();
        break;
      case POD.container:
        container = reader.string();
        break;
      case POD.workloadKind:
        workloadKind = reader.string();
        break;
      case POD.workloadName:
        workloadName = reader.string();
        break;
      case POD.labels: {
        const entryStart = reader.delimited();
        const entry = new Reader(buf, entryStart, reader.pos);
        let key = '';
        let value = '';
        while (!entry.done) {
          const entryTag = entry.varint();
          if (entryTag === LABEL.key) key = entry.string();
          else if (entryTag === LABEL.value) value = entry.string();
          else entry.skip(wireTypeOf(entryTag));
        }
        labels[key] = value;
        break;
      }
      default:
        reader.skip(wireTypeOf(tag));
    }
  }
  const bytes = Buffer.allocUnsafeSlow(end - start);
  buf.copy(bytes, 0, start, end);
  return new PodIndex(namespace, name, uid, container, workloadKind, workloadName, labels, bytes);
}
