import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildSocketFilter, FilterError } from '../../model/filter.js';
import { AccessDeniedError } from '../../agent/procfs/errors.js';
import { LocalHostFs, type HostFs } from '../../agent/procfs/hostfs.js';
import { attributeScan } from '../../agent/attribution/attribute.js';
import { readIdentities } from '../../agent/attribution/identities.js';
import { scannedPids } from '../../agent/node-scan.js';
import { netnsOf, scanProcRoot, type HostScan } from '../../agent/scan/index.js';
import { FileNameResolver } from '../netstat/names.js';
import { UsageError } from '../../config/usage-error.js';
import { parseLocalFlags, type LocalFlags } from './flags.js';
import { filterAttributed, podFilter, startPods, type PodSource } from './pods.js';
import { render } from './render.js';
import { LOCAL_USAGE } from './usage.js';

export interface CommandIo {
  /**
   * Text to standard output. netstat-style tables are 'latin1' strings — one char per byte, as
   * the kernel printed names — and must be written back byte for byte; JSON/YAML are 'utf8'.
   */
  readonly stdout: (text: string, encoding?: 'latin1' | 'utf8') => void;
  readonly stderr: (text: string) => void;
  readonly signal?: AbortSignal;
}

/** Highest pid the kernel can hand out (PID_MAX_LIMIT); netns inodes are far above it. */
const PID_MAX_LIMIT = 4_194_304;

/** `--netns` accepts a pid, a namespace inode, or a path such as /run/netns/NAME. */
export function resolveNetns(hostFs: HostFs, spec: string): string {
  if (/^\d+$/.test(spec)) {
    if (Number(spec) > PID_MAX_LIMIT) return spec;
    let inode: string | undefined;
    try {
      inode = netnsOf(hostFs, Number(spec));
    } catch (error) {
      if (error instanceof AccessDeniedError) throw new UsageError(`cannot read the network namespace of pid ${spec}: ${error.code} (run as root or with CAP_SYS_PTRACE)`);
      throw error;
    }
    if (inode === undefined) throw new UsageError(`no process with pid ${spec}`);
    return inode;
  }
  try {
    return statSync(spec, { bigint: true }).ino.toString();
  } catch (error) {
    throw new UsageError(`cannot use '${spec}' as a network namespace: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function runLocal(argv: readonly string[], io: CommandIo): Promise<number> {
  let pods: PodSource | undefined;
  try {
    const flags = parseLocalFlags(argv);
    if (flags.help) {
      io.stdout(LOCAL_USAGE);
      return 0;
    }
    const hostFs = new LocalHostFs(flags.procRoot);
    const netns = flags.netns === undefined ? undefined : resolveNetns(hostFs, flags.netns);
    const socketFilter = buildSocketFilter({ states: flags.states, ports: flags.ports, addresses: flags.addresses });
    // --netns prints exactly what netstat prints in that namespace; everything else names pods.
    const exactNetstat = netns !== undefined && flags.output === 'netstat';
    pods = await startPods(flags.kube, io.signal);
    const podKeep = podFilter(flags.kube, pods);
    const names = new FileNameResolver();
    // yaml is loaded only when asked for: it adds ~20 ms to every start-up otherwise.
    const toYaml = flags.output === 'yaml' ? (await import('yaml')).stringify : undefined;
    let warned = false;
    for (;;) {
      const scan = await scanProcRoot(flags.procRoot, {
        protos: flags.protos,
        resolveOwners: flags.netstat.programs || !exactNetstat,
        ...(netns !== undefined && { netnsInodes: new Set([netns]) }),
      });
      if (netns !== undefined && scan.namespaces.length === 0) {
        throw new UsageError(`no process lives in network namespace ${netns}: kube-netstat reads a namespace through /proc/<pid>/net of a process inside it`);
      }
      const identities = readIdentities(hostFs, scannedPids(scan));
      const attributed = filterAttributed(
        attributeScan(scan, identities, pods.resolver),
        (record, attribution) => flags.protos.has(record.proto) && socketFilter(record) && (podKeep?.(attribution) ?? true),
      );
      const structured = flags.output === 'json' || flags.output === 'yaml';
      const text = render({ flags, scan, namespaces: attributed, node: pods.node, names, exactNetstat, resolver: pods.resolver, ...(toYaml && { toYaml }) });
      io.stdout(text, structured ? 'utf8' : 'latin1');
      reportProblems(scan, flags, io);
      if (pods.warning && !warned && !exactNetstat && attributed.some((entry) => entry.sockets.some((a) => a.podUid !== null))) {
        io.stderr(`kube-netstat: ${pods.warning}.\n`);
        warned = true;
      }
      if (flags.continuousSeconds === undefined || io.signal?.aborted) return 0;
      try {
        await sleep(flags.continuousSeconds * 1000, undefined, io.signal ? { signal: io.signal } : undefined);
      } catch (error) {
        if (io.signal?.aborted) return 0;
        throw error;
      }
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof FilterError) {
      io.stderr(`kube-netstat local: ${error.message}\nTry 'kube-netstat local --help' for more information.\n`);
      return 2;
    }
    throw error;
  } finally {
    await pods?.stop();
  }
}

function reportProblems(scan: HostScan, flags: LocalFlags, io: CommandIo): void {
  const { problems } = scan;
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
  const parseErrors = scan.namespaces.reduce((sum, ns) => sum + ns.parseErrors.length, 0);
  if (parseErrors > 0) {
    const first = scan.namespaces.find((ns) => ns.parseErrors.length > 0)?.parseErrors[0];
    io.stderr(`kube-netstat: skipped ${plural(parseErrors, 'malformed line', 'malformed lines')} in the socket tables (first: ${first?.message ?? ''}).\n`);
  }
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}
