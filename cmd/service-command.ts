import type { Command, CommandIo } from '../cli/command-io.js';
import { createLogger, type LogFn } from '../common/log.js';
import { asksForHelp, readSettings } from '../config/read-settings.js';
import type { Program, SettingsTree, Values } from '../config/setting.js';
import { usage } from '../config/usage.js';

/** What a long-running command does with its settings: runs until `signal` aborts. */
export type Serve<T extends SettingsTree> = (settings: Values<T>, log: LogFn, signal: AbortSignal, io: CommandIo) => Promise<void>;

/**
 * A command that runs until it is told to stop (agent, aggregator, standalone): --help prints
 * the program's usage; otherwise its settings are read (flags, then environment; a bad one is a
 * UsageError, which the entry point reports) and `serve` runs with a logger named after the
 * command until io.signal aborts (SIGINT, SIGTERM) — for ever without one.
 */
export function serviceCommand<T extends SettingsTree>(program: Program<T>, serve: Serve<T>): Command {
  return async (argv, io) => {
    if (asksForHelp(program, argv)) {
      io.stdout(usage(program));
      return 0;
    }
    const settings = readSettings(program, argv);
    const { log } = createLogger(program.command);
    await serve(settings, log, io.signal ?? new AbortController().signal, io);
    return 0;
  };
}
