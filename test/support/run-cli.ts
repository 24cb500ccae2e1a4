import { main } from '../../cmd/kube-netstat.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the kube-netstat entry point in-process with captured output. */
export async function runCli(argv: readonly string[], options: { signal?: AbortSignal; onStdout?: (text: string) => void } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    ...(options.signal && { signal: options.signal }),
    stdout: (text) => {
      stdout += text;
      options.onStdout?.(text);
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}
