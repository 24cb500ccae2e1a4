import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of the aggregator that can cut a connection after a number of
 * bytes from the agent: a network failure in the middle of whatever was being sent.
 */
export class CuttingProxy {
  /** Bytes each connection carried from the agent (index = connection number). */
  readonly forwarded: number[] = [];
  private readonly server: Server;
  private readonly open = new Set<Socket>();
  /** Cut the next connection after this many bytes from the agent. */
  private cutNextAfter: number | undefined;
  private refusing = false;
  /** Connections that were cut, by number. */
  readonly cut: number[] = [];

  private constructor(private readonly targetPort: number) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(targetPort: number, options: { cutFirstAfter?: number } = {}): Promise<CuttingProxy> {
    const proxy = new CuttingProxy(targetPort);
    proxy.cutNextAfter = options.cutFirstAfter;
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', () => resolve()));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get connections(): number {
    return this.forwarded.length;
  }

  /** Arms a cut for the next connection. */
  cutNext(afterBytes: number): void {
    this.cutNextAfter = afterBytes;
  }

  /** While true, new connections are closed at once (the agent backs off and retries). */
  refuse(refusing: boolean): void {
    this.refusing = refusing;
  }

  /** Drops every open connection now. */
  dropAll(): void {
    for (const socket of this.open) socket.destroy();
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const number = this.forwarded.length;
    this.forwarded.push(0);
    const limit = this.cutNextAfter;
    this.cutNextAfter = undefined;
    const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
    this.open.add(client);
    this.open.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.open.delete(client);
      this.open.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      const sent = this.forwarded[number]!;
      if (limit !== undefined && sent + chunk.length >= limit) {
        upstream.write(chunk.subarray(0, limit - sent));
        this.forwarded[number] = limit;
        this.cut.push(number);
        // Let the partial bytes reach the aggregator, then fail both sides.
        upstream.end(() => close());
        client.pause();
        return;
      }
      this.forwarded[number] = sent + chunk.length;
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
