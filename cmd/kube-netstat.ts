import type { Command, CommandIo } from '../cli/command-io.js';
import { UsageError } from '../config/usage-error.js';

const USAGE = `usage: kube-netstat <command> [flags]

Commands:
  standalone   agent and aggregator for this host in one process; query it over HTTP
  local        one netstat-compatible scan of this host, every network namespace
  agent        scan this node every interval and stream changes to an aggregator
  aggregator   receive agents' streams; answer queries (gRPC and HTTP/JSON)
  query        ask the aggregator: netstat for the whole cluster (also the kubectl-netstat plugin)

Run 'kube-netstat <command> --help' for a command's flags.
`;

/** Each command loads only its own modules: start-up time is what every `local` run pays. */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  local: async () => (await import('./local.js')).runLocal,
  agent: async () => (await import('./agent.js')).runAgentCommand,
  aggregator: async () => (await import('./aggregator.js')).runAggregatorCommand,
  standalone: async () => (await import('./standalone.js')).runStandaloneCommand,
  query: async () => (await import('../cli/query/command.js')).runQuery,
};

/** Node's parseArgs reports bad flags as TypeErrors with ERR_PARSE_ARGS_* codes. */
function isParseArgsError(error: unknown): error is Error {
  return error instanceof TypeError && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS');
}

/** Entry point of the `kube-netstat` binary; returns the process exit code. */
export async function main(argv: readonly string[], io: CommandIo = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    io.stdout(USAGE);
    return command === undefined ? 2 : 0;
  }
  const load = COMMANDS[command];
  if (!load) {
    io.stderr(`kube-netstat: unknown command '${command}'\n${USAGE}`);
    return 2;
  }
  try {
    return await (await load())(rest, io);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.stderr(`kube-netstat ${command}: ${error.message}\nTry 'kube-netstat ${command} --help' for more information.\n`);
      return 2;
    }
    throw error;
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
