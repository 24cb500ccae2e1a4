import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Between polls (ms). */
  readonly intervalMs?: number;
  /** What is awaited, for the failure message. */
  readonly what: string;
  /** The last observation, for the failure message. */
  readonly describe?: () => string;
}

/**
 * Polls `condition` until it holds or the deadline passes (then throws, saying what was
 * awaited and what was last seen). The only way tests here wait: never a bare sleep.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${options.describe ? `\nlast seen:\n${options.describe()}` : ''}`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/**
 * Polls `get` until it returns something other than undefined, and returns that; throws as
 * waitFor does when the deadline passes.
 */
export async function waitForValue<T>(get: () => T | undefined | Promise<T | undefined>, options: WaitOptions): Promise<T> {
  let value: T | undefined;
  await waitFor(async () => (value = await get()) !== undefined, options);
  return value as T;
}
