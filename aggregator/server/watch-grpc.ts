import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { WatchEvent, WatchRequest } from '../../gen/kubenetstat/v1/query.js';
import { QueryError, WatchLimitError, type QuerySpec, type Watch, type WatchHub } from '../query/index.js';
import type { LogFn } from '../../common/log.js';

type Call = ServerWritableStream<WatchRequest, WatchEvent>;

/**
 * QueryService.Watch: events as the call can take them (a write that returns false pauses the
 * watch until 'drain'), until the client cancels or the aggregator shuts down (UNAVAILABLE:
 * watch again elsewhere). A bad filter is INVALID_ARGUMENT, one watch too many (in all, or of
 * this `client`'s) RESOURCE_EXHAUSTED.
 */
export function watchHandler(hub: WatchHub, specOf: (request: WatchRequest) => QuerySpec, log: LogFn) {
  return (call: Call, client: string): void => {
    let watch: Watch;
    try {
      watch = hub.open(specOf(call.request), {
        send: (event) => call.write(event),
        end: (cause, message) => call.emit('error', { code: cause === 'shutdown' ? status.UNAVAILABLE : status.INTERNAL, details: message }),
      }, client);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = error instanceof QueryError ? status.INVALID_ARGUMENT : error instanceof WatchLimitError ? status.RESOURCE_EXHAUSTED : status.INTERNAL;
      if (code === status.INTERNAL) log('watch failed', { error: message }, 'error');
      call.emit('error', { code, details: message });
      return;
    }
    call.on('drain', () => watch.resume());
    call.on('cancelled', () => watch.close());
    call.on('close', () => watch.close());
  };
}
