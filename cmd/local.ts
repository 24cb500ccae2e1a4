import { setTimeout as sleep } from 'node:timers/promises';
import { followNodePods, type NodePods } from '../agent/pods/node-pods.js';
import { effectiveCapabilities, privilegeExplanation } from '../agent/privileges.js';
import { LocalHostFs } from '../agent/procfs/hostfs.js';
import { checkProcRoot, ProcRootError, resolveNetns } from '../agent/scan/namespaces.js';
import { takeHostSnapshot } from '../agent/snapshot/host-snapshot.js';
import type { CommandIo } from '../cli/command-io.js';
import { parseLocalFlags, type KubeFlags } from '../cli/local/flags.js';
import { LocalListing, socketFilterOf } from '../cli/local/listing.js';
import { nodeName, podFilter } from '../cli/local/pods.js';
import { LOCAL_USAGE } from '../cli/local/usage.js';
import { FileNameResolver } from '../cli/netstat/names.js';
import { UsageError } from '../config/usage-error.js';
import { KubeConfigError } from '../kube/kubeconfig.js';
import { FilterError } from '../model/filter.js';

/** What `local` advises when a capability is missing (the agent's advice names the chart instead). */
const LOCAL_REMEDY = 'run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH';

/** `kube-netstat local`: the agent's snapshot of this host, taken once (or every -c seconds), printed netstat's way. */
export async function runLocal(argv: readonly string[], io: CommandIo): Promise<number> {
  let pods: NodePods | undefined;
  try {
    const flags = parseLocalFlags(argv);
    if (flags.help) {
      io.stdout(LOCAL_USAGE);
      return 0;
    }
    const hostFs = new LocalHostFs(flags.procRoot);
    checkProcRoot(hostFs);
    const capabilities = effectiveCapabilities();
    const netns = flags.netns === undefined ? undefined : resolveNetns(hostFs, flags.netns);
    // Before the API is asked (up to its timeout): a bad value is said at once.
    const bySocket = socketFilterOf(flags);
    // --netns prints exactly what netstat prints in that namespace; everything else names pods.
    const exactNetstat = netns !== undefined && flags.output === 'netstat';
    pods = await followPods(flags.kube, io.signal);
    const listing = new LocalListing({
      flags,
      exactNetstat,
      bySocket,
      byPod: podFilter(flags.kube, pods),
      names: new FileNameResolver(),
      podsWarning: pods.warning,
      ...(pods.apiFailed && { podsWarningAlways: true }),
      explainRefusals: (problems) => privilegeExplanation(problems, capabilities, LOCAL_REMEDY),
      // yaml is loaded only when asked for: every start-up would pay for it otherwise.
      ...(flags.output === 'yaml' && { toYaml: (await import('yaml')).stringify }),
    });
    for (;;) {
      const snapshot = await takeHostSnapshot(hostFs, {
        node: pods.node,
        resolver: pods.resolver,
        protos: flags.protos,
        owners: flags.netstat.programs || !exactNetstat,
        ...(netns !== undefined && { netnsInodes: new Set([netns]) }),
        threads: 'auto',
      });
      if (netns !== undefined && snapshot.namespaces.length === 0) {
        throw new UsageError(`no process lives in network namespace ${netns}: kube-netstat reads a namespace through /proc/<pid>/net of a process inside it`);
      }
      listing.print(snapshot, io);
      if (flags.continuousSeconds === undefined || io.signal?.aborted) return 0;
      try {
        await sleep(flags.continuousSeconds * 1000, undefined, io.signal ? { signal: io.signal } : undefined);
      } catch (error) {
        if (io.signal?.aborted) return 0;
        throw error;
      }
    }
  } catch (error) {
    if (error instanceof ProcRootError) {
      io.stderr(`kube-netstat local: ${error.message}\n`);
      return 1;
    }
    if (error instanceof UsageError || error instanceof FilterError) {
      io.stderr(`kube-netstat local: ${error.message}\nTry 'kube-netstat local --help' for more information.\n`);
      return 2;
    }
    throw error;
  } finally {
    await pods?.stop();
  }
}

/** This node's pods, from the API when a kubeconfig (or the pod's service account) gives access. */
async function followPods(kube: KubeFlags, signal: AbortSignal | undefined): Promise<NodePods> {
  try {
    return await followNodePods(nodeName(kube), { ...(kube.kubeconfig && { kubeconfig: kube.kubeconfig }), ...(kube.context && { context: kube.context }) }, signal);
  } catch (error) {
    if (error instanceof KubeConfigError) throw new UsageError(error.message);
    throw error;
  }
}
