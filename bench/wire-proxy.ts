import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PodCache, StreamReader } from '../aggregator/ingest/index.js';

/**
 * A loopback TCP proxy between one agent and its aggregator that counts the bytes each way and
 * reads what the agent sends: HTTP/2 DATA frames → gRPC length-prefixed messages →
 * StreamRequest (with the aggregator's own reader), so the bench knows how many socket changes
 * the bytes carried. Reading is best effort and never alters the traffic.
 */

export interface WireCounters {
  /** performance.now() of this process when taken. */
  readonly atMs: number;
  /** Agent → aggregator, every byte (HTTP/2 framing, headers, pings included). */
  readonly upBytes: number;
  /** Aggregator → agent. */
  readonly downBytes: number;
  readonly messages: Readonly<Record<'hello' | 'snapshot' | 'delta' | 'heartbeat' | 'goodbye', number>>;
  readonly snapshotSockets: number;
  readonly upserted: number;
  readonly removed: number;
  /** gRPC message bytes (without framing) by kind. */
  readonly messageBytes: number;
  readonly unreadable: number;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_DATA = 0;
const FLAG_PADDED = 0x8;

/** Reassembles gRPC messages from one direction of an HTTP/2 connection. */
class GrpcMessageReader {
  private buffered: Buffer = Buffer.alloc(0);
  private prefaceLeft = PREFACE.length;
  private readonly streams = new Map<number, Buffer>();

  constructor(private readonly onMessage: (message: Buffer) => void) {}

  feed(chunk: Buffer): void {
    let data = chunk;
    if (this.prefaceLeft > 0) {
      const skip = Math.min(this.prefaceLeft, data.length);
      this.prefaceLeft -= skip;
      data = data.subarray(skip);
    }
    this.buffered = this.buffered.length === 0 ? data : Buffer.concat([this.buffered, data]);
    let at = 0;
    while (this.buffered.length - at >= 9) {
      const length = this.buffered.readUIntBE(at, 3);
      if (this.buffered.length - at < 9 + length) break;
      const type = this.buffered[at + 3]!;
      const flags = this.buffered[at + 4]!;
      const stream = this.buffered.readUInt32BE(at + 5) & 0x7fffffff;
      let payload = this.buffered.subarray(at + 9, at + 9 + length);
      at += 9 + length;
      if (type !== FRAME_DATA || stream === 0) continue;
      if (flags & FLAG_PADDED) payload = payload.subarray(1, payload.length - (payload[0] ?? 0));
      this.data(stream, payload);
    }
    this.buffered = this.buffered.subarray(at);
  }

  private data(stream: number, payload: Buffer): void {
    const previous = this.streams.get(stream);
    let buffer = previous && previous.length > 0 ? Buffer.concat([previous, payload]) : payload;
    while (buffer.length >= 5) {
      const length = buffer.readUInt32BE(1);
      if (buffer.length < 5 + length) break;
      this.onMessage(buffer.subarray(5, 5 + length));
      buffer = buffer.subarray(5 + length);
    }
    this.streams.set(stream, Buffer.from(buffer));
  }
}

export class WireProxy {
  private upBytes = 0;
  private downBytes = 0;
  private readonly messages = { hello: 0, snapshot: 0, delta: 0, heartbeat: 0, goodbye: 0 };
  private snapshotSockets = 0;
  private readonly pods = new PodCache();
  private readonly reader = new StreamReader();
  private upserted = 0;
  private removed = 0;
  private messageBytes = 0;
  private unreadable = 0;
  private readonly open = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<WireProxy> {
    let proxy: WireProxy | undefined = undefined;
    const server = createServer((client) => proxy?.accept(client));
    proxy = new WireProxy(server, targetPort);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  counters(): WireCounters {
    return {
      atMs: performance.now(),
      upBytes: this.upBytes,
      downBytes: this.downBytes,
      messages: { ...this.messages },
      snapshotSockets: this.snapshotSockets,
      upserted: this.upserted,
      removed: this.removed,
      messageBytes: this.messageBytes,
      unreadable: this.unreadable,
    };
  }

  private read(message: Buffer): void {
    this.messageBytes += message.length;
    try {
      const envelope = this.reader.read(message, this.pods);
      this.messages[envelope.kind]++;
      if (envelope.kind === 'snapshot') this.snapshotSockets += envelope.sockets.length;
      else if (envelope.kind === 'delta') {
        this.upserted += envelope.upserted.length;
        this.removed += envelope.removed.bounds.length / 2;
      }
    } catch {
      this.unreadable++;
    }
  }

  private accept(client: Socket): void {
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    const reader = new GrpcMessageReader((message) => this.read(message));
    this.open.add(client);
    this.open.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.open.delete(client);
      this.open.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      this.upBytes += chunk.length;
      reader.feed(chunk);
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      this.downBytes += chunk.length;
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
    for (const socket of [client, upstream]) {
      socket.on('error', close);
      socket.on('close', close);
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    this.open.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Per-second rates between two counter readings. */
export interface WireRates {
  readonly seconds: number;
  readonly upBytesPerSecond: number;
  readonly downBytesPerSecond: number;
  readonly changesPerSecond: number;
  readonly deltasPerSecond: number;
  readonly heartbeatsPerSecond: number;
  readonly changes: number;
  /** Agent → aggregator bytes per socket change carried (undefined without changes). */
  readonly upBytesPerChange: number | undefined;
}

export function wireRates(from: WireCounters, to: WireCounters): WireRates {
  const seconds = (to.atMs - from.atMs) / 1000;
  const changes = to.upserted - from.upserted + (to.removed - from.removed);
  const up = to.upBytes - from.upBytes;
  return {
    seconds,
    upBytesPerSecond: up / seconds,
    downBytesPerSecond: (to.downBytes - from.downBytes) / seconds,
    changesPerSecond: changes / seconds,
    deltasPerSecond: (to.messages.delta - from.messages.delta) / seconds,
    heartbeatsPerSecond: (to.messages.heartbeat - from.messages.heartbeat) / seconds,
    changes,
    upBytesPerChange: changes > 0 ? up / changes : undefined,
  };
}
