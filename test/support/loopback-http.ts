import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';

/**
 * Listens with `server` on 127.0.0.1 (a free port) while the enclosing describe runs: registers
 * its before and after hooks. `url(path)` once listening; `onClose` runs before the server
 * closes (a watch hub ending its streams), then every connection is closed.
 */
export function listenDuringSuite(server: Server, onClose?: () => void): { url(path: string): string } {
  let base = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    onClose?.();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: (path) => `${base}${path}` };
}
