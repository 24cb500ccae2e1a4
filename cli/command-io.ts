/** How a command talks to its user: the mains give it the process's streams, tests capture them. */
export interface CommandIo {
  /**
   * Text to standard output. netstat-style tables are 'latin1' strings — one char per byte, as
   * the kernel printed names — and must be written back byte for byte; JSON/YAML are 'utf8'.
   */
  readonly stdout: (text: string, encoding?: 'latin1' | 'utf8') => void;
  readonly stderr: (text: string) => void;
  readonly signal?: AbortSignal;
}

/** A `kube-netstat` command: its arguments (after the command's name) in, the process exit code out. */
export type Command = (argv: readonly string[], io: CommandIo) => Promise<number>;
