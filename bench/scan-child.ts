/**
 * One in-process measurement of the host scan, run by bench/run.ts in a fresh child process per
 * sample: `node dist/bench/scan-child.js --owners 1 --repeat 2 [--threads auto|1|2] [--profile] [--attribute]`.
 * Times the scan itself (no process start, no output formatting), prints one JSON line. Each
 * repeat is what `kube-netstat local` scans with: a new IncrementalScanner (fullReadEvery 1),
 * its first scan, closed. --threads auto (default) is what the CLI asks for: a second thread on
 * a host with at least PARALLEL_SCAN_MIN_SOCKETS sockets; 1 and 2 force one or two threads.
 *
 * --attribute then does what `kube-netstat local` does after each scan, timed separately:
 * readIdentities over the scanned pids and attributeScan with the no-API resolver.
 *
 * --profile wraps the HostFs seam to split the time between kind of /proc access (on one
 * thread: the second thread reads through its own HostFs), then re-parses the tables it read to
 * time the parser alone (with --attribute, the attribution's own /proc reads are profiled apart).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { attributeScan } from '../agent/attribution/attribute.js';
import { readIdentities, scannedPids } from '../agent/attribution/identities.js';
import type { PodResolver } from '../model/pod.js';
import { LocalHostFs, type HostFs } from '../agent/procfs/hostfs.js';
import { parseInetTable } from '../agent/procfs/inet.js';
import { IncrementalScanner } from '../agent/scan/incremental.js';
import type { ScanThreads } from '../agent/scan/second-thread.js';
import type { HostSockets } from '../agent/scan/types.js';
import type { InetProto, SocketProto } from '../model/socket.js';
import { PARSE_RERUN, PROFILER_OVERHEAD, type AttributionRun, type ProfileRow, type ScanChildReport, type ScanRun } from './scan-report.js';

/** Which kind of /proc access a relative path is. */
function kindOf(method: string, relPath: string): string {
  if (relPath === '.') return 'readdir /proc (pid list)';
  const table = /^\d+\/net\/(\w+)$/.exec(relPath)?.[1];
  if (table !== undefined) return `read /proc/<pid>/net/${table}`;
  if (/^\d+\/ns\/net$/.test(relPath)) return 'readlink ns/net';
  if (/^\d+\/fd$/.test(relPath)) return 'readdir /proc/<pid>/fd';
  if (/^\d+\/fd\/\d+$/.test(relPath)) return 'readlink /proc/<pid>/fd/N';
  if (/^\d+\/(cmdline|comm)$/.test(relPath)) return 'read cmdline+comm';
  if (/^\d+\/cgroup$/.test(relPath)) return 'read /proc/<pid>/cgroup';
  return `${method} other`;
}

/** Decorates a HostFs with per-kind call counts and time; keeps table bytes for re-parsing. */
class ProfilingHostFs implements HostFs {
  readonly rows = new Map<string, { calls: number; ns: bigint; bytes: number }>();
  readonly tables: { proto: InetProto; text: Buffer }[] = [];
  /** Time spent in this class's own bookkeeping, to be taken out of the scan's total. */
  overheadNs = 0n;

  constructor(private readonly inner: HostFs) {}

  get procRoot(): string {
    return this.inner.procRoot;
  }

  private time<T>(method: string, relPath: string, call: () => T): T {
    const started = process.hrtime.bigint();
    try {
      return call();
    } finally {
      const ended = process.hrtime.bigint();
      const key = kindOf(method, relPath);
      const row = this.rows.get(key) ?? { calls: 0, ns: 0n, bytes: 0 };
      row.calls++;
      row.ns += ended - started;
      this.rows.set(key, row);
      this.overheadNs += process.hrtime.bigint() - ended;
    }
  }

  readFile(relPath: string): Buffer | undefined {
    const text = this.time('readFile', relPath, () => this.inner.readFile(relPath));
    const started = process.hrtime.bigint();
    const table = /^\d+\/net\/(\w+)$/.exec(relPath)?.[1];
    if (text && (table !== undefined || relPath.endsWith('/cgroup'))) this.rows.get(kindOf('readFile', relPath))!.bytes += text.length;
    if (text && (table === 'tcp' || table === 'tcp6')) this.tables.push({ proto: table, text });
    this.overheadNs += process.hrtime.bigint() - started;
    return text;
  }

  readdir(relPath: string): string[] | undefined {
    return this.time('readdir', relPath, () => this.inner.readdir(relPath));
  }

  readlink(relPath: string): string | undefined {
    return this.time('readlink', relPath, () => this.inner.readlink(relPath));
  }
}

/** What `kube-netstat local` uses without a kubeconfig (agent/pods/node-pods.ts NO_API). */
const NO_API: PodResolver = { byUid: () => undefined };

/** readIdentities + attributeScan, each timed, and counts to check that attribution worked. */
async function attribute(scan: HostSockets, hostFs: HostFs): Promise<AttributionRun> {
  await flushObservers();
  const gcBefore = gcNs;
  const started = process.hrtime.bigint();
  const pids = scannedPids(scan);
  const identities = readIdentities(hostFs, pids);
  const identified = process.hrtime.bigint();
  const attributed = attributeScan(scan, identities, NO_API);
  const ended = process.hrtime.bigint();
  await flushObservers();
  let sockets = 0;
  let inPods = 0;
  let withContainer = 0;
  for (const namespace of attributed) {
    for (const attribution of namespace.sockets) {
      sockets++;
      if (attribution.podUid !== null) inPods++;
      if (attribution.containerId !== null) withContainer++;
    }
  }
  const podUids = new Set<string>();
  let podProcesses = 0;
  for (const identity of identities.values()) {
    if (identity.podUid === undefined) continue;
    podProcesses++;
    podUids.add(identity.podUid);
  }
  return {
    ms: Number(ended - started) / 1e6,
    identitiesMs: Number(identified - started) / 1e6,
    attributeMs: Number(ended - identified) / 1e6,
    gcMs: (gcNs - gcBefore) / 1e6,
    pids: pids.size,
    identities: identities.size,
    podProcesses,
    pods: podUids.size,
    sockets,
    inPods,
    withContainer,
  };
}

let gcNs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcNs += entry.duration * 1e6;
}).observe({ entryTypes: ['gc'] });

/** gc entries reach the observer asynchronously, some time after the collection. */
const flushObservers = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      owners: { type: 'string', default: '1' },
      repeat: { type: 'string', default: '2' },
      profile: { type: 'boolean', default: false },
      // auto: what the CLI runs (two threads from PARALLEL_SCAN_MIN_SOCKETS on); 1 or 2: forced.
      threads: { type: 'string', default: 'auto' },
      'proc-root': { type: 'string', default: '/proc' },
      attribute: { type: 'boolean', default: false },
    },
  });
  const owners = values.owners === '1';
  const threads = parseThreads(values.threads);
  const protos = new Set<SocketProto>(['tcp', 'tcp6']);
  const local = new LocalHostFs(values['proc-root']);
  const profiler = values.profile ? new ProfilingHostFs(local) : undefined;
  const hostFs = profiler ?? local;
  // The attribution's reads are profiled apart from the scan's.
  const attributionProfiler = values.profile && values.attribute ? new ProfilingHostFs(local) : undefined;

  const runs: ScanRun[] = [];
  for (let i = 0; i < Number(values.repeat); i++) {
    if (profiler) {
      // Keep the last run's profile only.
      profiler.tables.length = 0;
      profiler.rows.clear();
      profiler.overheadNs = 0n;
    }
    if (attributionProfiler) {
      attributionProfiler.rows.clear();
      attributionProfiler.overheadNs = 0n;
    }
    await flushObservers();
    const gcBefore = gcNs;
    const started = process.hrtime.bigint();
    const scanner = new IncrementalScanner(hostFs, { protos, fullReadEvery: 1, owners, threads: profiler ? 1 : threads });
    const scan = await scanner.scan().finally(() => scanner.close());
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    await flushObservers();
    const gcMs = (gcNs - gcBefore) / 1e6;
    const attribution = values.attribute ? await attribute(scan, attributionProfiler ?? local) : undefined;
    let tcp = 0;
    let tcp6 = 0;
    for (const ns of scan.namespaces) {
      for (const record of ns.sockets) {
        if (record.proto === 'tcp') tcp++;
        else if (record.proto === 'tcp6') tcp6++;
      }
    }
    runs.push({
      ms,
      namespaces: scan.namespaces.length,
      sockets: tcp + tcp6,
      tcp,
      tcp6,
      holders: scan.holders.size,
      processes: scan.processes.size,
      threads: scan.threads,
      gcMs,
      ...(attribution && { attribution }),
    });
  }

  let profile: Record<string, ProfileRow> | undefined;
  if (profiler) {
    profile = {};
    for (const [key, row] of profiler.rows) profile[key] = { calls: row.calls, ms: Number(row.ns) / 1e6, bytes: row.bytes };
    profile[PROFILER_OVERHEAD] = { calls: 0, ms: Number(profiler.overheadNs) / 1e6, bytes: 0 };
    // The parser alone, on the bytes the last scan read (the JS half of "read the tables").
    const started = process.hrtime.bigint();
    let records = 0;
    for (const { proto, text } of profiler.tables) records += parseInetTable(text, proto).records.length;
    const bytes = profiler.tables.reduce((sum, table) => sum + table.text.length, 0);
    profile[PARSE_RERUN] = { calls: records, ms: Number(process.hrtime.bigint() - started) / 1e6, bytes };
  }
  let attributionProfile: Record<string, ProfileRow> | undefined;
  if (attributionProfiler) {
    attributionProfile = {};
    for (const [key, row] of attributionProfiler.rows) attributionProfile[key] = { calls: row.calls, ms: Number(row.ns) / 1e6, bytes: row.bytes };
    attributionProfile[PROFILER_OVERHEAD] = { calls: 0, ms: Number(attributionProfiler.overheadNs) / 1e6, bytes: 0 };
  }
  const report: ScanChildReport = {
    owners,
    runs,
    maxRssKb: process.resourceUsage().maxRSS,
    ...(profile && { profile }),
    ...(attributionProfile && { attributionProfile }),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function parseThreads(text: string): ScanThreads {
  if (text === 'auto') return 'auto';
  if (text === '1' || text === '2') return Number(text) as 1 | 2;
  throw new Error(`--threads must be auto, 1 or 2, got ${text}`);
}

await main();
