import { parseNetstatFlags, port, splitList, type CommonFlags, type FlagExtension } from '../netstat/flags.js';
import { parseDuration } from '../../config/duration.js';
import { UsageError } from '../../config/usage-error.js';

/** What `kubectl netstat` was asked to do: list sockets (the default) or one of its subcommands. */
export type QueryCommand = 'list' | 'summary' | 'top' | 'watch' | 'leaks' | 'history' | 'completion' | '__complete';
const SUBCOMMANDS: ReadonlySet<string> = new Set(['summary', 'top', 'watch', 'leaks', 'history', 'completion', '__complete', 'list']);

/** Where the aggregator is reached by default: the chart's Service and its HTTP port's name. */
export const DEFAULT_AGGREGATOR = { namespace: 'kube-netstat', service: 'kube-netstat', port: 'http' } as const;

export interface QueryFlags extends CommonFlags {
  readonly command: QueryCommand;
  /** Words after the subcommand (completion's shell; __complete's words). */
  readonly args: readonly string[];
  /** --server URL: the aggregator's HTTP address, bypassing the API server. */
  readonly server: string | undefined;
  /** --token: the bearer token sent with --server (else the kubeconfig's, if it has one). */
  readonly token: string | undefined;
  readonly aggregatorNamespace: string;
  readonly aggregatorService: string;
  /** The Service port's name or number (--aggregator-service NAME:PORT). */
  readonly aggregatorPort: string;
  /** --watch (kubectl's -w is netstat's raw sockets here). */
  readonly watch: boolean;
  readonly outputWatchEvents: boolean;
  readonly noHeaders: boolean;
  /** An item field (recvQ, firstSeen, ...), '-' in front for descending. */
  readonly sortBy: string | undefined;
  readonly containers: readonly string[];
  readonly workloads: readonly string[];
  /** One end only (ss's sport/dport, src/dst). */
  readonly localPorts: readonly number[];
  readonly foreignPorts: readonly number[];
  readonly localAddresses: readonly string[];
  readonly foreignAddresses: readonly string[];
  readonly minRecvQ: number | undefined;
  readonly minSendQ: number | undefined;
  readonly minAgeSeconds: number | undefined;
  /** summary: namespace, workload, pod or node; top: a state, recv-q or send-q. */
  readonly by: string | undefined;
  /** Items to show at most (top: pods). */
  readonly limit: number | undefined;
  /** Items per request when listing (kubectl's --chunk-size); 0 for one request. */
  readonly chunkSize: number;
  /** Seconds to wait for an answer; 0 waits forever (kubectl's --request-timeout). */
  readonly requestTimeoutSeconds: number;
  /** history: the pod (NAME or NAMESPACE/NAME). */
  readonly subject: string | undefined;
  /** leaks: only these rules, and at least this severity. */
  readonly rules: readonly string[];
  readonly severity: string | undefined;
  /** history: which of the history's resolutions (fine, coarse); the finest by default. */
  readonly resolution: string | undefined;
  /** history: sparkline width in characters. */
  readonly width: number;
}

interface QueryExtra {
  command: QueryCommand | undefined;
  server: string | undefined;
  token: string | undefined;
  aggregatorNamespace: string;
  aggregatorService: string;
  aggregatorPort: string;
  watch: boolean;
  outputWatchEvents: boolean;
  noHeaders: boolean;
  sortBy: string | undefined;
  containers: string[];
  workloads: string[];
  localPorts: number[];
  foreignPorts: number[];
  localAddresses: string[];
  foreignAddresses: string[];
  minRecvQ: number | undefined;
  minSendQ: number | undefined;
  minAgeSeconds: number | undefined;
  by: string | undefined;
  limit: number | undefined;
  chunkSize: number;
  requestTimeoutSeconds: number;
  subject: string | undefined;
  rules: string[];
  severity: string | undefined;
  resolution: string | undefined;
  width: number;
}

const DEFAULT_CHUNK_SIZE = 20_000;
/** An answer (or a watch's start) not there by then is an error that says so: a stopped aggregator must not hang a terminal. */
const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;
const DEFAULT_SPARKLINE_WIDTH = 60;

function count(name: string, text: string, min = 0): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min) throw new UsageError(`invalid ${name} '${text}': expected a whole number${min > 0 ? ` >= ${min}` : ''}`);
  return value;
}

/** A byte count: plain, or with k/M/G (1024-based, as queues are reported). */
function bytes(name: string, text: string): number {
  const match = /^(\d+)([kKmMgG]i?)?$/.exec(text);
  if (!match) throw new UsageError(`invalid ${name} '${text}': expected bytes, e.g. 1, 4096 or 64k`);
  const scale = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]?.[0]?.toLowerCase() ?? ''] ?? 1;
  return Number(match[1]) * scale;
}

/** `NAME` or `NAME:PORT` of the aggregator's Service; `source` names the flag or variable for errors. */
function serviceRef(text: string, source: string): { name: string; port: string | undefined } {
  const [name, port] = text.split(':', 2);
  if (!name) throw new UsageError(`invalid ${source} '${text}': expected NAME or NAME:PORT`);
  return { name, port: port || undefined };
}

/**
 * Where the aggregator is when no flag says: these variables (a release installed under another
 * name or namespace), else the chart's defaults. Flags override them.
 */
export const AGGREGATOR_ENV = { namespace: 'KUBE_NETSTAT_AGGREGATOR_NAMESPACE', service: 'KUBE_NETSTAT_AGGREGATOR_SERVICE' } as const;

function aggregatorFromEnv(env: NodeJS.ProcessEnv): Pick<QueryExtra, 'aggregatorNamespace' | 'aggregatorService' | 'aggregatorPort'> {
  const service = env[AGGREGATOR_ENV.service] ? serviceRef(env[AGGREGATOR_ENV.service]!, AGGREGATOR_ENV.service) : undefined;
  return {
    aggregatorNamespace: env[AGGREGATOR_ENV.namespace] || DEFAULT_AGGREGATOR.namespace,
    aggregatorService: service?.name ?? DEFAULT_AGGREGATOR.service,
    aggregatorPort: service?.port ?? DEFAULT_AGGREGATOR.port,
  };
}

const QUERY: FlagExtension<QueryExtra> = {
  initial: () => ({
    command: undefined,
    server: undefined,
    token: undefined,
    ...aggregatorFromEnv(process.env),
    watch: false,
    outputWatchEvents: false,
    noHeaders: false,
    sortBy: undefined,
    containers: [],
    workloads: [],
    localPorts: [],
    foreignPorts: [],
    localAddresses: [],
    foreignAddresses: [],
    minRecvQ: undefined,
    minSendQ: undefined,
    minAgeSeconds: undefined,
    by: undefined,
    limit: undefined,
    chunkSize: DEFAULT_CHUNK_SIZE,
    requestTimeoutSeconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
    subject: undefined,
    rules: [],
    severity: undefined,
    resolution: undefined,
    width: DEFAULT_SPARKLINE_WIDTH,
  }),
  flags: {
    watch: (e) => (e.watch = true),
    'output-watch-events': (e) => (e.outputWatchEvents = true),
    'no-headers': (e) => (e.noHeaders = true),
  },
  /** The subcommand may come anywhere among the flags (`kubectl netstat -A top`), once. */
  positional: (e, word) => {
    // `history POD`: the one word a subcommand takes.
    if (e.command === 'history' && e.subject === undefined) {
      e.subject = word;
      return;
    }
    if (e.command !== undefined || !SUBCOMMANDS.has(word) || word === 'completion' || word === '__complete') throw new UsageError(`unexpected argument '${word}'`);
    e.command = word as QueryCommand;
  },
  values: {
    server: (e, value) => (e.server = serverUrl(value)),
    token: (e, value) => (e.token = value),
    'aggregator-namespace': (e, value) => (e.aggregatorNamespace = value),
    'aggregator-service': (e, value) => {
      const { name, port } = serviceRef(value, '--aggregator-service');
      e.aggregatorService = name;
      e.aggregatorPort = port ?? DEFAULT_AGGREGATOR.port;
    },
    'sort-by': (e, value) => (e.sortBy = sortField(value)),
    container: (e, value) => e.containers.push(...splitList(value)),
    workload: (e, value) => e.workloads.push(...splitList(value)),
    'local-port': (e, value) => e.localPorts.push(...splitList(value).map(port)),
    'foreign-port': (e, value) => e.foreignPorts.push(...splitList(value).map(port)),
    'local-address': (e, value) => e.localAddresses.push(...splitList(value)),
    'foreign-address': (e, value) => e.foreignAddresses.push(...splitList(value)),
    'min-recv-q': (e, value) => (e.minRecvQ = bytes('--min-recv-q', value)),
    'min-send-q': (e, value) => (e.minSendQ = bytes('--min-send-q', value)),
    'min-age': (e, value) => (e.minAgeSeconds = parseDuration(value, '--min-age')),
    by: (e, value) => (e.by = value),
    limit: (e, value) => (e.limit = count('--limit', value, 1)),
    'chunk-size': (e, value) => (e.chunkSize = count('--chunk-size', value)),
    'request-timeout': (e, value) => (e.requestTimeoutSeconds = parseDuration(value, '--request-timeout')),
    rule: (e, value) => e.rules.push(...splitList(value)),
    severity: (e, value) => (e.severity = value),
    resolution: (e, value) => (e.resolution = value),
    width: (e, value) => (e.width = count('--width', value, 8)),
  },
};

/** --server takes a URL, or host:port (http assumed), as `kubectl --server` does. */
function serverUrl(text: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`invalid --server '${text}': expected a URL such as http://127.0.0.1:9101`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`invalid --server '${text}': only http and https URLs are supported`);
  return url.href.replace(/\/$/, '');
}

/**
 * --sort-by names a field of the JSON item; kubectl's JSONPath spellings (`.recvQ`, `{.recvQ}`)
 * are accepted too. A leading '-' sorts descending.
 */
function sortField(text: string): string {
  const descending = text.startsWith('-');
  const bare = text.replace(/^-/, '').replace(/^\{(.*)\}$/, '$1').replace(/^\./, '');
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(bare)) throw new UsageError(`invalid --sort-by '${text}': expected a field such as recvQ, sendQ, firstSeen, pod or -recvQ`);
  return descending ? `-${bare}` : bare;
}

/** Subcommands whose --watch is a view printed again every WATCH_REFRESH_SECONDS (their answers are not streams). */
const REFRESHED: ReadonlySet<QueryCommand> = new Set(['summary', 'top', 'leaks', 'history']);
const WATCH_REFRESH_SECONDS = 2;

/** `kubectl netstat [SUBCOMMAND] [flags]`; `completion` and `__complete` must come first and take words, not flags. */
export function parseQueryFlags(argv: readonly string[]): QueryFlags {
  const flags = readQueryFlags(argv);
  const { command } = flags;
  if (flags.by !== undefined && command !== 'summary' && command !== 'top') throw new UsageError('--by belongs to the summary and top subcommands');
  if ((flags.rules.length > 0 || flags.severity !== undefined) && command !== 'leaks') throw new UsageError('--rule and --severity belong to the leaks subcommand');
  if (command === 'history' && flags.subject === undefined) throw new UsageError('history needs a pod: history POD [-n NAMESPACE], or history NAMESPACE/POD');
  // --watch on a view that has no stream of changes refreshes it, as watch(1) would (-c sets how often).
  if (flags.watch && REFRESHED.has(command) && flags.continuousSeconds === undefined) return { ...flags, continuousSeconds: WATCH_REFRESH_SECONDS };
  return flags;
}

/** The words as flags, without the checks of how they combine (completion reads half-typed lines so). */
export function readQueryFlags(argv: readonly string[]): QueryFlags {
  const first = argv[0];
  if (first === 'completion' || first === '__complete') return { ...parseFlags([]), command: first, args: argv.slice(1) };
  const { command: named, ...flags } = parseFlags(argv);
  const command: QueryCommand = named ?? (flags.watch ? 'watch' : 'list');
  return { ...flags, command, args: [] };
}

function parseFlags(argv: readonly string[]): Omit<QueryFlags, 'command' | 'args'> & { command: QueryCommand | undefined } {
  const { flags, extra } = parseNetstatFlags(argv, QUERY);
  return { ...flags, ...extra };
}
