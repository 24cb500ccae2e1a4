import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import type { HostSnapshot } from '../../model/host-snapshot.js';
import type { CommandIo } from '../command-io.js';
import type { NameResolver } from '../netstat/names.js';
import type { LocalFlags } from './flags.js';
import { render } from './render.js';

export interface ListingOptions {
  readonly flags: LocalFlags;
  /** --netns without -o: exactly netstat, no banner and no pod columns. */
  readonly exactNetstat: boolean;
  /** The sockets to print (--state, --port, --address, -n, -l, --pod); all when undefined. */
  readonly keep: ((socket: Socket) => boolean) | undefined;
  readonly names: NameResolver;
  /** Why pods show by UID, said once when a listing shows a pod. */
  readonly podsWarning: string | undefined;
  readonly toYaml?: (value: unknown) => string;
}

/** `kube-netstat local`'s output for each snapshot of the host: the listing on stdout, what is missing from it on stderr. */
export class LocalListing {
  private warned = false;

  constructor(private readonly options: ListingOptions) {}

  print(snapshot: HostSnapshot, io: CommandIo): void {
    const { flags, keep, exactNetstat } = this.options;
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
