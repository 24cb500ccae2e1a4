import type { CommandIo } from '../command-io.js';
import { UsageError } from '../../config/usage-error.js';
import { parseQueryFlags } from './flags.js';
import { QUERY_USAGE } from './usage.js';

/** How the plugin was invoked, for messages: `kubectl netstat` or `kube-netstat query`. */
export function invokedAs(): string {
  return /kubectl-netstat(\.[jt]s)?$/.test(process.argv[1] ?? '') ? 'kubectl netstat' : 'kube-netstat query';
}

/**
 * `kube-netstat query` / `kubectl netstat`: exit 0 on an answer (partial ones warn), 1 when none
 * came, 2 on bad usage. `--help` loads only the flag grammar and the usage text; the transports,
 * the wire codec and the formatters (grpc-js, protobuf: about half of a start-up) are loaded
 * when there is a query to answer.
 */
export async function runQuery(argv: readonly string[], io: CommandIo): Promise<number> {
  const name = invokedAs();
  try {
    const flags = parseQueryFlags(argv);
    if (flags.help) {
      io.stdout(QUERY_USAGE(name));
      return 0;
    }
    const { answerQuery } = await import('./answer.js');
    return await answerQuery(flags, io, name);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${name}: ${error.message}\nTry '${name} --help' for more information.\n`);
      return 2;
    }
    throw error;
  }
}
