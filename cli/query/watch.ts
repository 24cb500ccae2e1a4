import { BinaryReader } from '@bufbuild/protobuf/wire';
import { WatchEvent, WatchEventType } from '../../gen/kubenetstat/v1/query.js';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import type { SocketProto } from '../../model/socket.js';
import { WIRE_TO_PROTO } from '../../model/wire.js';
import { ColumnLayout, POD_TITLES } from '../local/columns.js';
import type { CommandIo } from '../command-io.js';
import { socketItem, unavailableItems } from '../../model/json/socket-list.js';
import { PROTOBUF, answerWarnings, fetchOk } from './client.js';
import { socketParams } from './answer.js';
import type { QueryFlags } from './flags.js';
import { formatSockets, partialWarning, QUERY_WIDE_TITLES, QueryNames, socketPodCells, unknownProtoWarning } from './render.js';
import { QueryFailure, type AggregatorEndpoint } from './transport.js';

const EVENT_NAMES: Readonly<Record<number, string>> = {
  [WatchEventType.WATCH_EVENT_TYPE_ADDED]: 'ADDED',
  [WatchEventType.WATCH_EVENT_TYPE_MODIFIED]: 'MODIFIED',
  [WatchEventType.WATCH_EVENT_TYPE_DELETED]: 'DELETED',
};

/** A varint at `at`: its value and where it ends; undefined when the buffer ends first. */
function readVarint(buf: Buffer, at: number): { value: number; end: number } | undefined {
  let value = 0;
  for (let i = at, shift = 0; i < buf.length; i++, shift += 7) {
    if (shift >= 35) throw new QueryFailure('the watch stream is corrupt: a frame length has more than five bytes');
    const byte = buf[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, end: i + 1 };
  }
  return undefined;
}

/**
 * Splits a byte stream into length-delimited messages (a varint length, then the message):
 * the framing of the aggregator's protobuf watch.
 */
export class DelimitedFrames {
  private pending: Buffer = Buffer.alloc(0);

  /** The complete messages that `chunk` finishes; the rest waits for the next chunk. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    let at = 0;
    for (;;) {
      const header = readVarint(this.pending, at);
      if (!header || header.end + header.value > this.pending.length) break;
      frames.push(this.pending.subarray(header.end, header.end + header.value));
      at = header.end + header.value;
    }
    this.pending = this.pending.subarray(at);
    return frames;
  }

  get buffered(): number {
    return this.pending.length;
  }
}

/** netstat's two kinds of listing: Internet connections, UNIX domain sockets. */
type Block = 'inet' | 'unix';

/** The asked protos that belong to one block. */
function blockProtos(protos: ReadonlySet<SocketProto>, block: Block): ReadonlySet<SocketProto> {
  return new Set([...protos].filter((proto) => (proto === 'unix') === (block === 'unix')));
}

/** Prints a watch the way `kubectl get -w` does: the listing, then one row per change. */
class WatchPrinter {
  private readonly wide: boolean;
  private layout: ColumnLayout | undefined;
  private readonly names = new QueryNames();
  private readonly initial: Socket[] = [];
  private listed = false;
  private lastWarning = '';
  /** Sockets of a proto this version does not know are said once per watch, not per event. */
  private warnedUnknown = false;
  /** The netstat block whose header the last printed row is under: a change of the other kind starts its own. */
  private block: Block | undefined;

  constructor(
    private readonly flags: QueryFlags,
    private readonly io: CommandIo,
    private readonly printer: ((value: unknown) => string) | undefined,
  ) {
    this.wide = flags.output === 'wide';
  }

  event(event: WatchEvent): void {
    if (event.type === WatchEventType.WATCH_EVENT_TYPE_BOOKMARK) {
      if (!this.listed) this.printInitial();
      const warning = partialWarning(unavailableItems(event.unavailableNodes));
      if (warning !== this.lastWarning) this.io.stderr(warning || 'All nodes are vouched for again.\n');
      this.lastWarning = warning;
      return;
    }
    const socket = event.socket;
    const type = EVENT_NAMES[event.type];
    if (!socket || !type) return;
    if (!this.listed) this.initial.push(socket);
    else this.printChange(type, socket);
  }

  private titles(): string[] {
    return [...(this.flags.outputWatchEvents ? ['EVENT'] : []), ...(this.wide ? QUERY_WIDE_TITLES : POD_TITLES)];
  }

  private cells(type: string, socket: Socket): string[] {
    return [...(this.flags.outputWatchEvents ? [type] : []), ...socketPodCells(socket, this.wide)];
  }

  private printInitial(): void {
    this.listed = true;
    if (this.printer) {
      for (const socket of this.initial) this.printStructured('ADDED', socket);
    } else {
      const cells = this.initial.map((socket) => this.cells('ADDED', socket));
      this.layout = new ColumnLayout(this.titles(), cells);
      this.io.stdout(this.netstat(this.initial, (index) => cells[index]!, !this.flags.noHeaders), 'latin1');
      // netstat prints the inet block, then the unix one.
      this.block = this.flags.protos.has('unix') ? 'unix' : 'inet';
    }
    this.initial.length = 0;
  }

  private printChange(type: string, socket: Socket): void {
    if (this.printer) return this.printStructured(type, socket);
    const cells = this.cells(type, socket);
    // Columns only widen, so later rows stay aligned with the listing where they can.
    this.layout ??= new ColumnLayout(this.titles(), []);
    this.layout.widen(cells);
    const proto = WIRE_TO_PROTO.get(socket.proto);
    const block: Block = proto === 'unix' ? 'unix' : 'inet';
    // A TCP change after the unix block (or the other way round) would sit under the other block's titles.
    const headers = block !== this.block && !this.flags.noHeaders;
    if (proto !== undefined && this.flags.protos.has(proto)) this.block = block;
    this.io.stdout(this.netstat([socket], () => cells, headers, blockProtos(this.flags.protos, block)), 'latin1');
  }

  private netstat(sockets: readonly Socket[], cellsOf: (index: number) => readonly string[], headers: boolean, protos?: ReadonlySet<SocketProto>): string {
    const unknown = this.warnedUnknown ? '' : unknownProtoWarning(sockets);
    if (unknown) {
      this.warnedUnknown = true;
      this.io.stderr(unknown);
    }
    return formatSockets(sockets, this.flags, this.names, this.layout!.leading(cellsOf), headers, protos);
  }

  private printStructured(type: string, socket: Socket): void {
    const item = socketItem(socket, Date.now());
    this.io.stdout(this.printer!(this.flags.outputWatchEvents ? { type, object: item } : item), 'utf8');
  }
}

/** `kubectl netstat watch` / `--watch`: runs until the aggregator ends the watch or the user interrupts. */
export async function watchSockets(flags: QueryFlags, endpoint: AggregatorEndpoint, io: CommandIo, printer: ((value: unknown) => string) | undefined): Promise<number> {
  const params = socketParams(flags, endpoint);
  params.set('watch', '1');
  const response = await fetchOk(endpoint, '/api/v1/sockets', params, PROTOBUF, io.signal);
  io.stderr(answerWarnings(response));
  const frames = new DelimitedFrames();
  const out = new WatchPrinter(flags, io, printer);
  try {
    for await (const chunk of response) {
      for (const frame of frames.push(chunk as Buffer)) out.event(WatchEvent.decode(new BinaryReader(frame)));
    }
  } catch (error) {
    if (io.signal?.aborted) return 0;
    throw new QueryFailure(`the watch broke off (${error instanceof Error ? error.message : String(error)}); run the command again to resume`);
  }
  if (frames.buffered > 0) throw new QueryFailure('the watch ended in the middle of an event; run the command again to resume');
  return 0;
}
