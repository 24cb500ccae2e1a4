import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import { buildSocketFilter } from '../../model/filter.js';
import type { HostSnapshot } from '../../model/host-snapshot.js';
import type { CommandIo } from '../command-io.js';
import type { NameResolver } from '../netstat/names.js';
import type { LocalFlags } from './flags.js';
import { render } from './render.js';

type SocketFilter = (socket: Socket) => boolean;

/** --state, --port and --address; undefined without them. Bad values throw FilterError. */
export function socketFilterOf(flags: LocalFlags): SocketFilter | undefined {
  if (flags.states.length === 0 && flags.ports.length === 0 && flags.addresses.length === 0) return undefined;
  return buildSocketFilter({ states: flags.states, ports: flags.ports, addresses: flags.addresses });
}

export interface ListingOptions {
  readonly flags: LocalFlags;
  /** --netns without -o: exactly netstat, no banner and no pod columns. */
  readonly exactNetstat: boolean;
  /** The sockets to print by their own fields (socketFilterOf), and by their pods (podFilter: -n, -l, --pod); all when undefined. */
  readonly bySocket: SocketFilter | undefined;
  readonly byPod: SocketFilter | undefined;
  readonly names: NameResolver;
  /** Why pods show by UID, said once when a listing shows a pod. */
  readonly podsWarning: string | undefined;
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
    reportProblems(snapshot, flags, io);
    const { podsWarning } = this.options;
    if (podsWarning && !this.warned && !exactNetstat && kept.namespaces.some((namespace) => namespace.sockets.some((socket) => socket.pod !== undefined))) {
      io.stderr(`kube-netstat: ${podsWarning}.\n`);
      this.warned = true;
    }
  }
}

function reportProblems(snapshot: HostSnapshot, flags: LocalFlags, io: CommandIo): void {
  const { problems } = snapshot;
  const wantedOwners = flags.netstat.programs || flags.output !== 'netstat';
  const missing: string[] = [];
  if (problems.namespaceDenied > 0) missing.push(`the network namespace of ${plural(problems.namespaceDenied, 'process', 'processes')} (their own namespaces are not listed)`);
  if (problems.fdDenied > 0 && wantedOwners) missing.push(`the open files of ${plural(problems.fdDenied, 'process', 'processes')} (their sockets show no PID/Program name)`);
  if (missing.length > 0) {
    // The same checks the kernel makes: proc_ns_get_link and proc_fd_access_allowed (ptrace read), proc_fd_permission.
    io.stderr(`kube-netstat: could not read ${missing.join(' or ')}: run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH.\n`);
  }
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
