import { parseNetstatFlags, type CommonFlags, type FlagExtension } from '../netstat/flags.js';

export type { KubeFlags, OutputFormat } from '../netstat/flags.js';

/** `kube-netstat local`: the common flags plus where to read the host. */
export interface LocalFlags extends CommonFlags {
  readonly netns: string | undefined;
  readonly procRoot: string;
}

interface LocalExtra {
  netns: string | undefined;
  procRoot: string;
}

const LOCAL: FlagExtension<LocalExtra> = {
  initial: () => ({ netns: undefined, procRoot: '/proc' }),
  values: {
    netns: (extra, value) => (extra.netns = value),
    'proc-root': (extra, value) => (extra.procRoot = value),
  },
};

export function parseLocalFlags(argv: readonly string[]): LocalFlags {
  const { flags, extra } = parseNetstatFlags(argv, LOCAL);
  return { ...flags, ...extra };
}
