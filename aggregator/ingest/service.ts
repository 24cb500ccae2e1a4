import { status } from '@grpc/grpc-js';
import type { NodeStore } from '../store/index.js';
import type { AgentIdentity } from '../auth/agent-auth.js';
import { bearerToken } from '../auth/bearer.js';
import { AuthError } from '../auth/types.js';
import { WireFormatError } from '../wire/index.js';
import { Connection, type IngestShared } from './connection.js';
import { RemovedKeySet } from './removed-keys.js';
import { StreamReader } from './stream-reader.js';
import { StreamRejected } from './errors.js';
import type { Call, IngestOptions } from './types.js';

const AUTH_CODES: Readonly<Record<AuthError['kind'], status>> = { unauthenticated: status.UNAUTHENTICATED, forbidden: status.PERMISSION_DENIED, unavailable: status.UNAVAILABLE };

/**
 * AgentService.Stream on the aggregator: one call per agent connection. Malformed, hostile or
 * out-of-order input ends that call with a clear status and a log line; the node's state and
 * every other node's are left as they were. A sequence gap or a broken snapshot asks the agent
 * to resync instead of guessing.
 */
export class IngestService {
  private readonly shared: IngestShared = { reader: new StreamReader(), removed: new RemovedKeySet(), calls: new Map<number, Call>() };

  constructor(
    private readonly store: NodeStore,
    private readonly options: IngestOptions,
  ) {}

  readonly stream = (call: Call): void => {
    const connection = new Connection(call, this.store, this.options, this.shared);
    const listen = (): void => {
      call.on('data', (request: Buffer) => {
        try {
          connection.receive(request);
        } catch (error) {
          connection.reject(error instanceof WireFormatError ? new StreamRejected(status.INVALID_ARGUMENT, `malformed message: ${error.message}`) : error);
        }
      });
    };
    const auth = this.options.authenticate;
    if (!auth) listen();
    else {
      // Nothing is read (the stream stays paused) until the token says which node this stream may write.
      const authorization = call.metadata.get('authorization')[0];
      auth.authenticate(bearerToken(typeof authorization === 'string' ? authorization : undefined)).then(
        (identity) => {
          connection.boundTo = identity;
          endAtExpiry(call, connection, identity);
          listen();
        },
        (error: unknown) => connection.reject(error instanceof AuthError ? new StreamRejected(AUTH_CODES[error.kind], error.message) : error),
      );
    }
    call.on('end', () => {
      // Half-closed without a goodbye: the node is down; end our side too so the call completes.
      connection.closed('the agent closed the stream');
      if (!call.writableEnded) call.end();
    });
    call.on('error', (error: Error) => connection.closed(error.message));
    call.on('cancelled', () => connection.closed('cancelled'));
  };

  /** Ends every agent stream (shutdown): agents reconnect to whoever serves next. */
  closeAll(reason: string): void {
    const calls = this.shared.calls;
    for (const call of calls.values()) call.emit('error', { code: status.UNAVAILABLE, details: reason });
    calls.clear();
  }
}

/**
 * A stream lives no longer than the token it was opened with: at its expiry the stream ends
 * (UNAUTHENTICATED) and the agent reconnects with its rotated token, reviewed anew.
 */
function endAtExpiry(call: Call, connection: Connection, identity: AgentIdentity): void {
  const expiresAtMs = identity.expiresAtMs;
  if (expiresAtMs === undefined) return;
  // setTimeout's longest delay is 2^31-1 ms (~24.8 days): a longer-lived token's stream ends then, and is reviewed anew.
  const expired = (): void => connection.reject(new StreamRejected(status.UNAUTHENTICATED, `the agent's token expired at ${new Date(expiresAtMs).toISOString()}: reconnect with the rotated token`));
  const timer = setTimeout(expired, Math.min(Math.max(0, expiresAtMs - Date.now()), 2 ** 31 - 1));
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  call.once('error', clear);
  call.once('end', clear);
  call.once('cancelled', clear);
  call.once('close', clear);
}

