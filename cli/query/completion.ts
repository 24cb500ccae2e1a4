import { STATE_FILTER_NAMES } from '../../model/filter.js';
import type { CommandIo } from '../command-io.js';
import { UsageError } from '../../config/usage-error.js';
import { explainFailure, getJson, readBody } from './client.js';
import { readQueryFlags, type QueryFlags } from './flags.js';
import type { SummaryAnswer } from './tables.js';
import { openEndpoint, type AggregatorEndpoint } from './transport.js';

/**
 * Shell completion the way cobra (kubectl's library) does it: the shell script calls
 * `kubectl-netstat __complete WORDS...` with the word being typed last, and prints the
 * candidates it answers, one per line, followed by `:4` (cobra's "no file completion"
 * directive). kubectl itself (1.26+) runs `kubectl_complete-netstat` for `kubectl netstat <TAB>`,
 * which is the same command.
 */
const NO_FILE_COMPLETION = ':4\n';

const SUBCOMMANDS = ['summary', 'top', 'watch', 'leaks', 'history', 'completion'];
const FLAGS = [
  '--tcp', '--udp', '--raw', '--unix', '--listening', '--all', '--numeric', '--programs', '--extend', '--timers', '--wide', '--inet', '--inet6', '--continuous',
  '--namespace', '--all-namespaces', '--selector', '--pod', '--container', '--node', '--workload', '--state', '--port', '--address', '--local-port', '--foreign-port', '--local-address', '--foreign-address',
  '--min-recv-q', '--min-send-q', '--min-age', '--output', '--no-headers', '--sort-by', '--limit', '--watch', '--output-watch-events',
  '--server', '--aggregator-namespace', '--aggregator-service', '--kubeconfig', '--context', '--chunk-size', '--request-timeout', '--by', '--help',
  '--rule', '--severity', '--resolution', '--width',
];
const SORT_FIELDS = ['recvQ', 'sendQ', 'firstSeen', 'localPort', 'foreignPort', 'localAddress', 'foreignAddress', 'state', 'namespace', 'pod', 'node', 'proto'];

/** What the flag before the word being typed wants as its value. */
type ValueKind = 'namespace' | 'pod' | 'node' | 'context' | 'state' | 'output' | 'by' | 'sort' | 'shell' | 'none';

const VALUE_FLAGS: Readonly<Record<string, ValueKind>> = {
  '-n': 'namespace',
  '--namespace': 'namespace',
  '--aggregator-namespace': 'namespace',
  '--pod': 'pod',
  '--node': 'node',
  '--context': 'context',
  '--state': 'state',
  '-o': 'output',
  '--output': 'output',
  '--by': 'by',
  '--sort-by': 'sort',
};

function bashScript(command: string): string {
  const fn = `_${command.replace(/[^A-Za-z0-9]/g, '_')}`;
  return `# bash completion for ${command}; load with: source <(${command} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" out
  out=$(${command} __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(printf '%s\\n' "$out" | grep -v '^:')" -- "$cur"))
}
complete -F ${fn} ${command}
`;
}

function zshScript(command: string): string {
  const fn = `_${command.replace(/[^A-Za-z0-9]/g, '_')}`;
  return `#compdef ${command}
# zsh completion for ${command}; load with: source <(${command} completion zsh)
${fn}() {
  local -a candidates
  candidates=(\${(f)"$(${command} __complete "\${(@)words[2,CURRENT]}" 2>/dev/null | grep -v '^:')"})
  compadd -- $candidates
}
compdef ${fn} ${command}
`;
}

/** Names of the objects at an API path (namespaces, pods of a namespace, nodes). */
async function apiNames(endpoint: AggregatorEndpoint, path: string): Promise<string[]> {
  if (!endpoint.getApi) return [];
  const response = await endpoint.getApi(path);
  const body = await readBody(response);
  if (response.statusCode !== 200) throw explainFailure(endpoint, response.statusCode ?? 0, body);
  const list = JSON.parse(body.toString('utf8')) as { items?: { metadata?: { name?: string } }[] };
  return (list.items ?? []).flatMap((item) => (item.metadata?.name ? [item.metadata.name] : []));
}

/** Without a kubeconfig (--server), the aggregator knows the namespaces, pods and nodes it holds. */
async function aggregatorNames(endpoint: AggregatorEndpoint, by: 'namespace' | 'pod' | 'node', namespace?: string): Promise<string[]> {
  const params = new URLSearchParams({ by });
  if (namespace) params.set('namespace', namespace);
  const { value: answer } = await getJson<SummaryAnswer>(endpoint, '/api/v1/summary', params);
  return [...new Set(answer.items.flatMap((item) => {
    const name = item[by];
    return name ? [name] : [];
  }))];
}

async function valuesFor(kind: ValueKind, flags: QueryFlags): Promise<string[]> {
  switch (kind) {
    case 'state':
      return [...STATE_FILTER_NAMES];
    case 'output':
      return ['wide', 'json', 'yaml'];
    case 'by':
      return flags.command === 'top' ? ['close-wait', 'time-wait', 'established', 'syn-sent', 'syn-recv', 'fin-wait-2', 'last-ack', 'recv-q', 'send-q'] : ['namespace', 'workload', 'pod', 'node'];
    case 'sort':
      return SORT_FIELDS.flatMap((field) => [field, `-${field}`]);
    case 'shell':
      return ['bash', 'zsh'];
    case 'none':
      return [];
    default:
      break;
  }
  const endpoint = await openEndpoint(flags);
  if (kind === 'context') return [...(endpoint.access?.contextNames ?? [])];
  const viaApi = endpoint.getApi !== undefined;
  if (kind === 'namespace') return viaApi ? apiNames(endpoint, '/api/v1/namespaces') : aggregatorNames(endpoint, 'namespace');
  if (kind === 'node') return viaApi ? apiNames(endpoint, '/api/v1/nodes') : aggregatorNames(endpoint, 'node');
  const namespace = flags.kube.namespace ?? endpoint.defaultNamespace;
  return viaApi ? apiNames(endpoint, `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`) : aggregatorNames(endpoint, 'pod', namespace);
}

/** The candidates for the last of `words` (the one being typed). */
export async function complete(words: readonly string[]): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const previous = before.at(-1);
  if (before.length === 0 && !current.includes('=')) return current.startsWith('-') ? FLAGS : SUBCOMMANDS;
  if (before[0] === 'completion') return before.length === 1 ? ['bash', 'zsh'] : [];
  // The flags typed so far say where to look (-n, --context, --server, ...). A value flag typed
  // last has no value yet; a half-typed line that does not parse completes from the defaults.
  const typed = Object.hasOwn(VALUE_FLAGS, previous ?? '') ? before.slice(0, -1) : before;
  let flags: QueryFlags;
  try {
    flags = readQueryFlags(typed);
  } catch {
    flags = readQueryFlags([]);
  }
  const eq = current.indexOf('=');
  if (current.startsWith('--') && eq > 0) {
    const flag = current.slice(0, eq);
    const kind = Object.hasOwn(VALUE_FLAGS, flag) ? VALUE_FLAGS[flag]! : 'none';
    return (await valuesFor(kind, flags)).map((value) => `${current.slice(0, eq + 1)}${value}`);
  }
  if (previous !== undefined && Object.hasOwn(VALUE_FLAGS, previous)) return valuesFor(VALUE_FLAGS[previous]!, flags);
  if (current.startsWith('-')) return FLAGS;
  // `history POD`: its one word is a pod of the namespace.
  if (flags.command === 'history' && flags.subject === undefined) return valuesFor('pod', flags);
  return [];
}

/** `completion bash|zsh` prints the script; `__complete WORDS...` answers one completion request. */
export async function runCompletion(flags: QueryFlags, io: CommandIo): Promise<number> {
  // The scripts complete the plugin's binary; `kubectl netstat` completes through kubectl_complete-netstat.
  const command = 'kubectl-netstat';
  if (flags.command === 'completion') {
    const shell = flags.args[0];
    if (shell === 'bash') io.stdout(bashScript(command));
    else if (shell === 'zsh') io.stdout(zshScript(command));
    else throw new UsageError(`completion needs a shell: bash or zsh (got ${shell === undefined ? 'none' : `'${shell}'`})`);
    return 0;
  }
  let candidates: string[] = [];
  try {
    candidates = await complete(flags.args);
  } catch {
    // Completion never fails loudly: no candidates is the answer when the API is unreachable.
  }
  const current = flags.args.at(-1) ?? '';
  io.stdout(candidates.filter((candidate) => candidate.startsWith(current)).map((candidate) => `${candidate}\n`).join('') + NO_FILE_COMPLETION);
  return 0;
}
