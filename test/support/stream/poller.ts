import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Checks an invariant over and over in the background while a scenario runs, collecting every
 * violation. Bounded: it stops on stop() or after maxPolls, whichever comes first.
 */
export class InvariantPoller {
  polls = 0;
  readonly violations: string[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly check: () => Promise<string | undefined>,
    options: { intervalMs?: number; maxPolls?: number } = {},
  ) {
    this.loop = this.run(options.intervalMs ?? 40, options.maxPolls ?? 5_000);
  }

  private async run(intervalMs: number, maxPolls: number): Promise<void> {
    while (!this.stopped && this.polls < maxPolls) {
      try {
        const violation = await this.check();
        if (violation !== undefined) this.violations.push(violation);
      } catch (error) {
        this.violations.push(`check failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      this.polls++;
      await sleep(intervalMs);
    }
  }

  /** Stops and waits for the poll in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
