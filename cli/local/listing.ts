import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import { buildSocketFilter } from '../../model/filter.js';
import type { HostSnapshot } from '../../model/host-snapshot.js';
import type { ScanProblems } from '../../model/scan-problems.js';
import type { CommandIo } from '../command-io.js';
import type { NameResolver } from '../netstat/names.js';
import type { LocalFlags } from './flags.js';
import { render } from './render.js';

type SocketFilter = (socket: Socket) => boolean;

/**
 * --state, --port, --address and netstat's choice of servers (-l, -a, neither), so that every
 * output format shows what the table shows; undefined when nothing is left out (the scan reads
 * only the asked protos' tables already). Bad values throw FilterError.
 */
export function socketFilterOf(flags: LocalFlags): SocketFilter | undefined {
  const { all, listening } = flags.netstat;
  if (all && flags.states.length === 0 && flags.ports.length === 0 && flags.addresses.length === 0) return undefined;
  return buildSocketFilter({ states: flags.states, ports: flags.ports, addresses: flags.addresses, ...(!all && { listening }) });
}

export interface ListingOptions {
  readonly flags: LocalFlags;
  /** --netns without -o: exactly netstat, no banner and no pod columns. */
  readonly exactNetstat: boolean;
  /** The sockets to print by their own fields (socketFilterOf), and by their pods (podFilter: -n, -l, --pod); all when undefined. */
  readonly bySocket: SocketFilter | undefined;
  readonly byPod: SocketFilter | undefined;
  readonly names: NameResolver;
  /** Why pods show by UID, said once when a listing shows a pod (or at once with podsWarningAlways). */
  readonly podsWarning: string | undefined;
  /** The API access given failed: say podsWarning at the first listing, pods shown or not. */
  readonly podsWarningAlways?: boolean;
  /** What a scan could not read, why, and the remedy where one applies (agent/privileges.ts); undefined when nothing was refused. */
  readonly explainRefusals: (problems: Pick<ScanProblems, 'namespaceDenied' | 'fdDenied' | 'refusals'>) => string | undefined;
  readonly toYaml?: (value: unknown) => string;
}

/** `kube-netstat local`'s output for each snapshot of the host: the listing on stdout, what is missing from it on stderr. */
export class LocalListing {
  private warned = false;
  private readonly keep: SocketFilter | undefined;

  constructor(private readonly options: ListingOptions) {
    const { bySocket, byPod } = options;
    this.keep = bySocket && byPod ? (socket) => bySocket(socket) && byPod(socket) : (bySocket ?? byPod);
  }

  print(snapshot: HostSnapshot, io: CommandIo): void {
    const { flags, exactNetstat } = this.options;
    const { keep } = this;
    const kept: HostSnapshot = keep ? { ...snapshot, namespaces: snapshot.namespaces.map((namespace) => ({ ...namespace, sockets: namespace.sockets.filter(keep) })) } : snapshot;
    const structured = flags.output === 'json' || flags.output === 'yaml';
    io.stdout(render({ flags, snapshot: kept, names: this.options.names, exactNetstat, ...(this.options.toYaml && { toYaml: this.options.toYaml }) }), structured ? 'utf8' : 'latin1');
    reportProblems(snapshot, flags, io, this.options.explainRefusals);
    const { podsWarning } = this.options;
    const showsPod = (): boolean => kept.namespaces.some((namespace) => namespace.sockets.some((socket) => socket.pod !== undefined));
    if (podsWarning && !this.warned && (this.options.podsWarningAlways || (!exactNetstat && showsPod()))) {
      io.stderr(`kube-netstat: ${podsWarning}.\n`);
      this.warned = true;
    }
  }
}

function reportProblems(snapshot: HostSnapshot, flags: LocalFlags, io: CommandIo, explain: ListingOptions['explainRefusals']): void {
  const { problems } = snapshot;
  // Without -p, a table shows no owner: refused fd directories cost it nothing.
  const wantedOwners = flags.netstat.programs || flags.output !== 'netstat';
  const explanation = explain(wantedOwners ? problems : { ...problems, fdDenied: 0, refusals: problems.refusals.filter((refusal) => refusal.kind === 'namespace') });
  if (explanation) io.stderr(`kube-netstat: ${explanation}.\n`);
  if (problems.tablesDenied > 0) {
    io.stderr(`kube-netstat: ${plural(problems.tablesDenied, 'socket table', 'socket tables')} could not be read (EACCES from a security module on /proc/<pid>/net); those sockets are missing.\n`);
  }
  const parseErrors = snapshot.namespaces.reduce((sum, namespace) => sum + namespace.parseErrors.length, 0);
  if (parseErrors > 0) {
    const first = snapshot.namespaces.find((namespace) => namespace.parseErrors.length > 0)?.parseErrors[0];
    io.stderr(`kube-netstat: skipped ${plural(parseErrors, 'malformed line', 'malformed lines')} in the socket tables (first: ${first ?? ''}).\n`);
  }
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
