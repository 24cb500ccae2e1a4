import { UsageError } from '../config/usage-error.js';

/** A listener that could not bind (the port is taken, or privileged) as a usage error saying what to change; any other error as it is. */
export function listenError(error: unknown, where: string, advice: string): unknown {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  return code === 'EADDRINUSE' || code === 'EACCES' ? new UsageError(`cannot listen on ${where} (${String(code)}): ${advice}`) : error;
}
