import type { FilterView } from '../../model/filter.js';
import { Proto } from '../../gen/kubenetstat/v1/socket.js';
import type { NodeSockets } from './node-sockets.js';

/** The filter fields of whichever slot `at` points to; addresses are read from its bytes when asked. */
export class SlotView implements FilterView {
  at = 0;
  constructor(private readonly sockets: NodeSockets) {}

  get proto(): number {
    return this.sockets.proto(this.at);
  }
  get unix(): boolean {
    return this.sockets.proto(this.at) === Proto.PROTO_UNIX;
  }
  get stateCode(): number {
    return this.sockets.stateCode(this.at);
  }
  get localAddress(): string {
    return this.sockets.localAddress(this.at);
  }
  get localPort(): number {
    return this.sockets.localPort(this.at);
  }
  get foreignAddress(): string {
    return this.sockets.foreignAddress(this.at);
  }
  get foreignPort(): number {
    return this.sockets.foreignPort(this.at);
  }
}
