import { runLocal, type CommandIo } from './local/command.js';

const USAGE = `usage: kube-netstat <command> [flags]

Commands:
  local        one netstat-compatible scan of this host, every network namespace
               (kube-netstat local --help)

Later commands (agent, aggregator, standalone, query) arrive with the streaming work.
`;

/** Entry point of the `kube-netstat` binary; returns the process exit code. */
export async function main(argv: readonly string[], io: CommandIo = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'local':
      return runLocal(rest, io);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.stdout(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.stderr(`kube-netstat: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

function defaultIo(): CommandIo {
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
  return {
    stdout: (text, encoding = 'utf8') => process.stdout.write(Buffer.from(text, encoding)),
    stderr: (text) => process.stderr.write(text),
    signal: controller.signal,
  };
}
