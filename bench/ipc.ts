import type { ChildProcess } from 'node:child_process';

/**
 * Request/reply over a forked child's IPC channel: the streaming bench drives its aggregator
 * and simulator processes with it. Children end themselves when the channel closes (the bench
 * is gone, however it died) and after a hard lifetime.
 */

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly args: unknown;
}

type Reply = { readonly id: number; readonly ok: true; readonly result: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

/** A message a child sends on its own (not a reply). */
export interface Notice {
  readonly notice: string;
  readonly [field: string]: unknown;
}

export class IpcClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private exited: string | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly name: string,
    onNotice?: (notice: Notice) => void,
  ) {
    child.on('message', (message: Reply | Notice) => {
      if ('notice' in message) {
        onNotice?.(message);
        return;
      }
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id);
      clearTimeout(waiter.timer);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`${this.name}: ${message.error}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = `${this.name} exited (${signal ?? `exit ${code}`})`;
      for (const waiter of this.waiting.values()) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(this.exited));
      }
      this.waiting.clear();
    });
  }

  call<T>(cmd: string, args: unknown = null, timeoutMs = 60_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: ${cmd} did not answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.child.send({ id, cmd, args } satisfies Request);
    });
  }
}

export type Handler = (args: never) => unknown;

/** The child's side: answers requests with its handlers; exits with the channel or after maxLifetimeMs. */
export function serveIpc(handlers: Record<string, Handler>, maxLifetimeMs: number): void {
  if (!process.send) throw new Error('not started with an IPC channel (fork)');
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => {
    process.stderr.write(`bench child ${process.pid}: lifetime of ${maxLifetimeMs / 1000} s over, exiting\n`);
    process.exit(3);
  }, maxLifetimeMs).unref();
  process.on('message', (request: Request) => {
    const handler = handlers[request.cmd];
    const reply = (message: Reply): void => {
      if (process.connected) process.send!(message);
    };
    if (!handler) return reply({ id: request.id, ok: false, error: `unknown command ${request.cmd}` });
    Promise.resolve()
      .then(() => (handler as (args: unknown) => unknown)(request.args))
      .then(
        (result) => reply({ id: request.id, ok: true, result: result ?? null }),
        (error: unknown) => reply({ id: request.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
}

/** A message from the child on its own initiative. */
export function notify(notice: Notice): void {
  if (process.connected) process.send!(notice);
}
