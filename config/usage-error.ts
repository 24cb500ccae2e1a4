/** A command line that cannot be run: printed with a usage hint on stderr, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
