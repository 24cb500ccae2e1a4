/**
 * `npm run bench [-- --sizes 10000,100000 --namespaces 20 --rounds 5 --pods 100 --stream-nodes 1000]`
 *
 * Builds bench namespaces full of loopback TCP sockets (bench/fixture.ts), then times, in
 * alternating rounds, kube-netstat's CLI, the in-process scanner, and ss/netstat looped over
 * the same namespaces (bench/suite.ts). Then the pod case: simulated pods (bench/pods.ts, on the
 * test harness) whose every socket kube-netstat attributes to a pod and container, timing the
 * scan alone, the scan with attribution, and the CLI against ss loops over the pods' namespaces.
 * Then streaming (bench/agent-case.ts, bench/stream-cluster.ts): the real agent's idle cost
 * over ~10k idle sockets with the wire bytes it sends, and N simulated agents streaming
 * synthetic tables into one aggregator process (ingest rate, RSS, query latency, wire bytes).
 * Plain-text tables on stdout, progress on stderr, the whole result as JSON in
 * .bench/scan-<timestamp>.json. Needs root (netns, cgroups, /proc/<pid>/fd).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createFixture, destroyFixture, installCleanupTraps, otherNamedNamespaces, sweepOrphans } from './fixture.js';
import { runAgentCase, type AgentCaseResult } from './agent-case.js';
import { createPodFixture } from './pods.js';
import {
  attributionProfileTable,
  attributionTable,
  checkTargets,
  fmtInt,
  profileTable,
  summarize,
  summarizeAttribution,
  targetTable,
  timingTables,
} from './report.js';
import { findingsLines, runFindingsCase, type FindingsCaseResult } from './findings-case.js';
import { runStartupCase, startupLines, type StartupCaseResult } from './startup-case.js';
import { runCluster, type ClusterResult } from './stream-cluster.js';
import { runReplay } from './replay-case.js';
import type { ReplayResult } from './replay.js';
import { killStreamProcesses } from './stream-procs.js';
import {
  agentSummaryLines,
  burstNotes,
  clusterSummaryLines,
  ingestTable,
  memoryNotes,
  memoryTable,
  profileTables,
  pluginLines,
  queryTable,
  replayTable,
  streamTargets,
  streamTargetTable,
  wireTable,
} from './stream-report.js';
import { SCAN_CHILD, SERIES, buildPodSteps, buildSteps, parseScanReport, runRounds } from './suite.js';
import type { ScanChildReport, ScanRun } from './scan-report.js';
import { haveGnuTime, killRunningSamples, runTimed } from './timing.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
process.chdir(ROOT);

const USAGE = `usage: npm run bench -- [--sizes 10000,100000] [--namespaces 20] [--rounds 5] [--warmup 1]
                        [--pods 100] [--pod-sockets 10000]
                        [--stream-nodes 1000] [--stream-sockets 1000] [--stream-churn 20]
                        [--stream-seconds 30] [--stream-bursts 3] [--stream-queries 200] [--replay-bursts 3]
                        [--agent-sockets 10000] [--agent-seconds 30] [--agent-churn 50]
                        [--plugin-rounds 5] [--startup-rounds 15] [--timeout-sec 300] [--max-minutes 60] [--no-build]
                        [--aggregator-node-flags='--v8-flag ...']
                        [--findings-nodes 1000] [--findings-sockets 1000] [--findings-pods 10] [--findings-evaluations 5]
--sizes 0 skips the namespace cases, --pods 0 the pod case, --stream-nodes 0 the streaming
cases (the agent case too, unless --agent-sockets is given), --agent-sockets 0 the agent case.
--plugin-rounds 0 skips timing kubectl netstat as a process (against kubectl get pods -A).
--startup-rounds 0 skips timing kubectl netstat --help (against kubectl version --client, and
against the plugin bundled by esbuild).
--replay-bursts 0 skips replaying pre-encoded bursts to a fresh aggregator (bench/replay.ts:
the ingest rate on the wall clock, with no simulator limiting it).
--findings-nodes 0 skips the leak rules' case (evaluation CPU and the memory of history and
rules over nodes × sockets, pods per node; 1000 × 1000, 10 = 1M sockets, 10k pods).
--stream-churn is changes per node per second (steady phase); --agent-churn connections
replaced per second in one bench namespace.
--aggregator-node-flags runs the streaming case's aggregator as \`node FLAGS\` (GC tuning trials):
its figures are then not the product's, and the report says so.
Quick run: npm run bench -- --sizes 2000 --rounds 2 --pods 20 --stream-nodes 50 --stream-sockets 200`;

function positiveInt(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`bench: --${name} wants a positive integer, got '${text}'\n${USAGE}\n`);
    process.exit(2);
  }
  return value;
}

function nonNegativeInt(name: string, text: string): number {
  return text.trim() === '0' ? 0 : positiveInt(name, text);
}

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    namespaces: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    pods: { type: 'string', default: '100' },
    'pod-sockets': { type: 'string', default: '10000' },
    'stream-nodes': { type: 'string', default: '1000' },
    'stream-sockets': { type: 'string', default: '1000' },
    'stream-churn': { type: 'string', default: '20' },
    'stream-seconds': { type: 'string', default: '30' },
    'stream-bursts': { type: 'string', default: '3' },
    'stream-queries': { type: 'string', default: '200' },
    'replay-bursts': { type: 'string', default: '3' },
    'agent-sockets': { type: 'string' },
    'agent-seconds': { type: 'string', default: '30' },
    'agent-churn': { type: 'string', default: '50' },
    'timeout-sec': { type: 'string', default: '300' },
    'max-minutes': { type: 'string', default: '60' },
    'plugin-rounds': { type: 'string', default: '5' },
    'startup-rounds': { type: 'string', default: '15' },
    'findings-nodes': { type: 'string', default: '1000' },
    'findings-sockets': { type: 'string', default: '1000' },
    'findings-pods': { type: 'string', default: '10' },
    'findings-evaluations': { type: 'string', default: '5' },
    'no-build': { type: 'boolean', default: false },
    'aggregator-node-flags': { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const sizes = values.sizes.trim() === '0' ? [] : values.sizes.split(',').map((s) => positiveInt('sizes', s.trim()));
const podCount = nonNegativeInt('pods', values.pods);
const podSockets = positiveInt('pod-sockets', values['pod-sockets']);
const namespaceCount = positiveInt('namespaces', values.namespaces);
const rounds = positiveInt('rounds', values.rounds);
const warmup = Number(values.warmup) >= 0 ? Math.floor(Number(values.warmup)) : 1;
const timeoutMs = positiveInt('timeout-sec', values['timeout-sec']) * 1000;
const maxMinutes = positiveInt('max-minutes', values['max-minutes']);
const streamNodes = nonNegativeInt('stream-nodes', values['stream-nodes']);
const streamSockets = positiveInt('stream-sockets', values['stream-sockets']);
const streamChurn = positiveInt('stream-churn', values['stream-churn']);
const streamSeconds = positiveInt('stream-seconds', values['stream-seconds']);
const streamBursts = positiveInt('stream-bursts', values['stream-bursts']);
const streamQueries = positiveInt('stream-queries', values['stream-queries']);
const replayBursts = nonNegativeInt('replay-bursts', values['replay-bursts']);
/** --aggregator-node-flags, for the streaming case's aggregator and the replay's. */
const aggregatorNodeFlags = values['aggregator-node-flags'].split(/\s+/).filter(Boolean);
const agentSockets = values['agent-sockets'] === undefined ? (streamNodes > 0 ? 10_000 : 0) : nonNegativeInt('agent-sockets', values['agent-sockets']);
const agentSeconds = positiveInt('agent-seconds', values['agent-seconds']);
const agentChurn = positiveInt('agent-churn', values['agent-churn']);
const pluginRounds = nonNegativeInt('plugin-rounds', values['plugin-rounds']);
const startupRounds = nonNegativeInt('startup-rounds', values['startup-rounds']);
const findingsNodes = nonNegativeInt('findings-nodes', values['findings-nodes']);
const findingsSockets = positiveInt('findings-sockets', values['findings-sockets']);
const findingsPods = positiveInt('findings-pods', values['findings-pods']);
const findingsEvaluations = positiveInt('findings-evaluations', values['findings-evaluations']);
/** What KUBECONFIG names for the pod case's CLI runs: no such file, so no API is contacted. */
const NO_KUBECONFIG = '/nonexistent/kube-netstat-bench/kubeconfig';

const progress = (text: string): void => void process.stderr.write(`bench: ${text}\n`);
const out = (text = ''): void => void process.stdout.write(`${text}\n`);

if (process.getuid?.() !== 0) {
  process.stderr.write('bench: needs root (network namespaces, /proc/<pid>/fd of every process)\n');
  process.exit(1);
}

// Hard bound on the whole run; the exit hook removes holders and namespaces.
installCleanupTraps(killRunningSamples, killStreamProcesses);
setTimeout(() => {
  process.stderr.write(`bench: --max-minutes ${maxMinutes} reached, aborting\n`);
  process.exit(124);
}, maxMinutes * 60_000).unref();

const swept = sweepOrphans();
if (swept.length > 0) progress(`removed ${swept.length} namespaces left by dead bench runs`);

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

if (!values['no-build']) {
  progress('npm run build:bench');
  const build = spawnSync('npm', ['run', 'build:bench'], { encoding: 'utf8', timeout: 300_000 });
  if (build.status !== 0) {
    process.stderr.write(`bench: npm run build:bench failed (${build.error?.message ?? `exit ${build.status}`}):\n${build.stdout}${build.stderr}\n`);
    process.exit(1);
  }
}
if (!existsSync('dist/cmd/bin.js')) {
  process.stderr.write('bench: dist/cmd/bin.js missing: run npm run build:bench\n');
  process.exit(1);
}
if (Math.max(newestSource('agent'), newestSource('cli'), newestSource('cmd'), newestSource('model')) > statSync('dist/cmd/bin.js').mtimeMs) {
  progress('warning: dist/ is older than agent/ or cli/ sources; the CLI figures are of the old build');
}

const tool = (argv: string[]): string => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 }).stdout?.trim() ?? '';
const sysctl = (name: string): string => {
  try {
    return readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim();
  } catch {
    return 'n/a';
  }
};
const environment = {
  kernel: tool(['uname', '-r']),
  cpus: cpus().length,
  node: process.version,
  ss: tool(['ss', '-V']),
  gnuTime: haveGnuTime,
  tcpEhashEntries: sysctl('net.ipv4.tcp_ehash_entries'),
  tcpChildEhashEntries: sysctl('net.ipv4.tcp_child_ehash_entries'),
};
const startedAt = new Date();
out(`kube-netstat scan benchmark — ${startedAt.toISOString()}`);
out(
  `kernel ${environment.kernel}, ${environment.cpus} CPUs, node ${environment.node}, ${environment.ss}, ` +
    `tcp_ehash_entries ${environment.tcpEhashEntries} (child ${environment.tcpChildEhashEntries}), ` +
    `max RSS via ${haveGnuTime ? '/usr/bin/time' : 'n/a'}`,
);
out(
  `${sizes.length > 0 ? `${namespaceCount} bench namespaces per size` : 'no namespace cases'}, ` +
    `${podCount > 0 ? `${podCount} simulated pods` : 'no pod case'}, ` +
    `${agentSockets > 0 ? `agent case over ~${fmtInt(agentSockets)} idle sockets` : 'no agent case'}, ` +
    `${streamNodes > 0 ? `${fmtInt(streamNodes)} simulated agents × ${fmtInt(streamSockets)} sockets` : 'no simulated cluster'}; ` +
    `${warmup} warm-up + ${rounds} timed rounds per case; wall times of whole processes unless marked in-process`,
);
out('in-process = the scan timed inside a fresh `node dist/bench/scan-child.js` (the compiled code that ships) per round (1st scan cold JIT, 2nd scan in the same process): a new IncrementalScanner\'s first scan each, as `local` makes it; threads auto takes a second thread on hosts with ≥10k sockets');

const results: unknown[] = [];
for (const size of sizes) {
  progress(`size ${fmtInt(size)}: creating ${namespaceCount} namespaces`);
  const fixture = await createFixture({
    sockets: size,
    namespaces: namespaceCount,
    lifetimeSeconds: maxMinutes * 60,
    closeWait: 5,
    timeWait: 5,
    setupTimeoutMs: 180_000,
  });
  const holders = fixture.namespaces.reduce((sum, ns) => sum + ns.holderPids.length, 0);
  progress(`size ${fmtInt(size)}: ${fmtInt(fixture.heldSockets)} sockets held by ${holders} holders (setup ${(fixture.setupMs / 1000).toFixed(1)} s)`);

  const steps = buildSteps(fixture);
  const result = await runRounds(steps, { rounds, warmup, timeoutMs, progress: (text) => progress(`size ${fmtInt(size)}: ${text}`) });
  progress(`size ${fmtInt(size)}: profile run`);
  const profileReport = parseScanReport(
    await runTimed([process.execPath, SCAN_CHILD, '--owners=1', '--repeat=1', '--profile'], { timeoutMs, captureStdout: true }),
  );
  const others = otherNamedNamespaces(fixture);
  const rows = summarize(steps, result.figures, result.lines);
  const targets = checkTargets(rows);
  const seen = result.scanReports.find((r) => r.owners)?.runs[0];

  out();
  out(`== ${fmtInt(size)} sockets in ${namespaceCount} namespaces ==`);
  out(
    `fixture: ${fmtInt(fixture.heldSockets)} sockets held by ${holders} holder processes ` +
      `(${fmtInt(Math.round(size / 2))} loopback connections, listeners, 5 CLOSE_WAIT + 5 TIME_WAIT per namespace); setup ${(fixture.setupMs / 1000).toFixed(1)} s`,
  );
  if (seen) {
    out(
      `the in-process scan saw ${fmtInt(seen.sockets)} TCP sockets (tcp ${fmtInt(seen.tcp)}, tcp6 ${fmtInt(seen.tcp6)}) in ${seen.namespaces} namespaces, ` +
        `${fmtInt(seen.holders)} inodes with an owner, ${seen.processes} owner processes` +
        (others.length > 0 ? `; other named namespaces on this host: ${others.join(', ')}` : ''),
    );
  }
  out(`lines = stdout lines of the warm-up run (sockets plus headers/banners); cpu = user+sys from /usr/bin/time`);
  out();
  out(timingTables(rows));
  out();
  out(targetTable(targets));
  printScanProfile(profileReport);

  results.push({
    size,
    namespaces: namespaceCount,
    fixture: { heldSockets: fixture.heldSockets, holders, setupMs: fixture.setupMs, namespaces: fixture.namespaces },
    otherNamespaces: others,
    series: rows,
    samples: Object.fromEntries(result.figures),
    targets,
    scanReports: result.scanReports,
    profile: profileReport,
  });

  progress(`size ${fmtInt(size)}: tearing down`);
  await destroyFixture(fixture);
  await sleep(2000); // let the kernel finish dismantling the namespaces before the next size
}

let podResult: unknown;
if (podCount > 0) {
  const tag = `${podCount} pods`;
  if (existsSync(NO_KUBECONFIG)) {
    process.stderr.write(`bench: ${NO_KUBECONFIG} exists; the pod case needs a KUBECONFIG that does not\n`);
    process.exit(1);
  }
  progress(`${tag}: creating the simulated pods (~${fmtInt(podSockets)} sockets)`);
  const pods = await createPodFixture({
    pods: podCount,
    sockets: podSockets,
    concurrency: 4,
    setupTimeoutMs: 180_000,
    progress: (text) => progress(`${tag}: ${text}`),
  });
  progress(`${tag}: ${fmtInt(pods.heldSockets)} sockets held by ${pods.processes} pod processes (setup ${(pods.setupMs / 1000).toFixed(1)} s)`);

  const steps = buildPodSteps(pods.netnsNames, NO_KUBECONFIG);
  const result = await runRounds(steps, { rounds, warmup, timeoutMs, progress: (text) => progress(`${tag}: ${text}`) });
  progress(`${tag}: profile run`);
  const profileReport = parseScanReport(
    await runTimed([process.execPath, SCAN_CHILD, '--owners=1', '--repeat=1', '--profile', '--attribute'], { timeoutMs, captureStdout: true }),
  );
  const rows = summarize(steps, result.figures, result.lines);
  const targets = checkTargets(rows, [SERIES.scanAttributeCold, SERIES.scanAttributeWarm, SERIES.localTanp]);
  const attribution = summarizeAttribution(result.timedScanReports, rows);
  const seen = result.timedScanReports.find((r) => r.runs[0]?.attribution)?.runs[0];

  out();
  out(`== ${podCount} simulated pods, ${fmtInt(pods.heldSockets)} sockets ==`);
  out(
    `fixture: ${podCount} pods (test/support/harness), each a netns with kubelet-style cgroups, pause + server (listening :8080) + client ` +
      `(${pods.connectionsPerPod} connections to it) = ${2 * pods.connectionsPerPod + 1} sockets; ${pods.processes} pod processes; setup ${(pods.setupMs / 1000).toFixed(1)} s`,
  );
  out(`mix: ${pods.mix}`);
  if (seen?.attribution) {
    const a = seen.attribution;
    out(
      `the in-process scan saw ${fmtInt(seen.sockets)} TCP sockets in ${seen.namespaces} namespaces, ${seen.processes} owner processes; ` +
        `attribution read /proc/<pid>/cgroup of ${a.pids} pids (${a.podProcesses} in ${a.pods} pods) and put ${fmtInt(a.inPods)} sockets in a pod, ` +
        `${fmtInt(a.withContainer)} of them in a container`,
    );
    if (a.withContainer < pods.heldSockets) progress(`${tag}: warning: only ${a.withContainer} of the ${pods.heldSockets} pod sockets were attributed to a container`);
  }
  out(`lines = stdout lines of the warm-up run; cpu = user+sys from /usr/bin/time; \`local\` runs with KUBECONFIG=${NO_KUBECONFIG} (pods shown by UID)`);
  out();
  out(timingTables(rows, { all: `Every pod namespace (ratios against the ss loops over the host + the ${podCount} pod namespaces):`, single: 'Start-up floors (paid by every `local` run before it scans):' }));
  out();
  out(`Attribution cost (medians of ${rounds} timed rounds; share = attribution / (scan + attribution), median of the rounds; ratios against the ss loop medians):`);
  out(attributionTable(attribution));
  out();
  out(targetTable(targets));
  const profileRun = printScanProfile(profileReport);
  if (profileRun) {
    const attributionProfile = profileReport.attributionProfile && attributionProfileTable(profileReport.attributionProfile, profileRun);
    if (attributionProfile) {
      out();
      out(attributionProfile);
    }
  }

  podResult = {
    pods: podCount,
    fixture: { heldSockets: pods.heldSockets, processes: pods.processes, connectionsPerPod: pods.connectionsPerPod, mix: pods.mix, setupMs: pods.setupMs },
    series: rows,
    samples: Object.fromEntries(result.figures),
    attribution,
    targets,
    scanReports: result.scanReports,
    profile: profileReport,
  };

  progress(`${tag}: tearing down`);
  await pods.node.cleanup();
}

mkdirSync('.bench', { recursive: true });
const stamp = startedAt.toISOString().replaceAll(':', '-').replace(/\..*$/, '');

let agentResult: AgentCaseResult | undefined;
let clusterResult: ClusterResult | undefined;
const streamErrors: string[] = [];
if (agentSockets > 0) {
  const tag = 'agent';
  try {
    agentResult = await runAgentCase({
      sockets: agentSockets,
      namespaces: 10,
      seconds: agentSeconds,
      churnRate: agentChurn,
      settleSeconds: 5,
      noKubeconfig: NO_KUBECONFIG,
      lifetimeMs: maxMinutes * 60_000,
      profilePrefix: `.bench/stream-${stamp}`,
      progress: (text) => progress(`${tag}: ${text}`),
    });
  } catch (error) {
    streamErrors.push(`agent case: ${error instanceof Error ? error.message : String(error)}`);
    progress(`${tag}: FAILED: ${streamErrors.at(-1)}`);
  }
}
if (streamNodes > 0) {
  const tag = `stream ${streamNodes}×${streamSockets}`;
  try {
    clusterResult = await runCluster({
      nodes: streamNodes,
      socketsPerNode: streamSockets,
      burstChangesPerNode: streamSockets,
      bursts: streamBursts,
      churnPerNode: streamChurn,
      steadySeconds: streamSeconds,
      idleSeconds: 10,
      querySamples: streamQueries,
      heartbeatMs: 5_000,
      lifetimeMs: maxMinutes * 60_000,
      aggregatorNodeFlags,
      phaseTimeoutMs: timeoutMs,
      profilePrefix: `.bench/stream-${stamp}`,
      progress: (text) => progress(`${tag}: ${text}`),
      pluginRounds,
      repo: ROOT,
    });
  } catch (error) {
    streamErrors.push(`simulated cluster: ${error instanceof Error ? error.message : String(error)}`);
    progress(`${tag}: FAILED: ${streamErrors.at(-1)}`);
  }
}
let replayResult: ReplayResult | undefined;
if (streamNodes > 0 && replayBursts > 0) {
  const tag = `replay ${streamNodes}×${streamSockets}`;
  try {
    replayResult = await runReplay({
      nodes: streamNodes,
      socketsPerNode: streamSockets,
      bursts: replayBursts,
      aggregatorNodeFlags,
      timeoutMs: 3 * timeoutMs,
      repo: ROOT,
      progress: (text) => progress(`${tag}: ${text}`),
    });
  } catch (error) {
    streamErrors.push(`replay: ${error instanceof Error ? error.message : String(error)}`);
    progress(`${tag}: FAILED: ${streamErrors.at(-1)}`);
  }
}
let streamResult: unknown;
if (agentSockets > 0 || streamNodes > 0) {
  const targets = streamTargets(clusterResult, agentResult, replayResult);
  out();
  out(
    `== streaming: ${streamNodes > 0 ? `${fmtInt(streamNodes)} simulated agents × ${fmtInt(streamSockets)} sockets → one aggregator` : 'no simulated cluster'}` +
      `${agentSockets > 0 ? `; the real agent over ~${fmtInt(agentSockets)} idle sockets` : ''} ==`,
  );
  if (agentResult) for (const line of agentSummaryLines(agentResult)) out(line);
  if (clusterResult) for (const line of clusterSummaryLines(clusterResult)) out(line);
  for (const error of streamErrors) out(`FAILED: ${error}`);
  out();
  out(streamTargetTable(targets));
  if (replayResult) {
    out();
    out(`Replayed bursts (bench/replay.ts: a fresh aggregator, ${fmtInt(replayResult.sockets)} sockets from a snapshot in ${replayResult.snapshotSeconds.toFixed(1)} s, then each node's delta messages, encoded before the clock starts, written over its own gRPC connection as fast as flow control lets them; changes/s = changes ÷ time from the first write until every node's last change is applied):`);
    out(replayTable(replayResult));
    if (replayResult.streamErrors.length) out(`stream errors: ${replayResult.streamErrors.join('; ')}`);
  }
  if (clusterResult) {
    out();
    out('Ingest (changes/s = changes ÷ time from the offer until the aggregator has applied every node\'s last change; CPU = utime+stime ÷ wall time, 2 cores shared by both):');
    out(ingestTable(clusterResult));
    for (const line of burstNotes(clusterResult)) out(line);
    out();
    out(memoryTable(clusterResult));
    for (const line of memoryNotes(clusterResult)) out(line);
    out();
    out(`Queries over ${fmtInt(clusterResult.sockets)} sockets (sequential, client-side wall time incl. answer parsing; 5 warm-ups each):`);
    out(queryTable([...clusterResult.queriesAtRest, clusterResult.steady.query]));
    if (clusterResult.plugin) {
      out();
      out(`kubectl netstat over the same ${fmtInt(clusterResult.sockets)} sockets (in-process: flags, request, protobuf decode, netstat formatting; a process: the real kubectl running bin/kubectl-netstat.js through the test API server's service proxy):`);
      for (const line of pluginLines(clusterResult.plugin)) out(line);
    }
  }
  out();
  out('Wire bytes (real agent: bytes through the proxy, changes read from its DATA frames; simulated cluster: the simulator process\'s wchar/rchar, i.e. every agent together; CPU: the agent, or the aggregator):');
  out(wireTable(clusterResult, agentResult));
  if (clusterResult?.profiles.idle) {
    out();
    out(profileTables('Aggregator CPU profile, one extra idle window (heartbeats only)', clusterResult.profiles.idle));
  }
  if (clusterResult?.profiles.burst) {
    out();
    out(profileTables('Aggregator CPU profile, one extra delta burst', clusterResult.profiles.burst));
  }
  if (clusterResult?.profiles.simulatorBurst) {
    out();
    out(profileTables(`Simulator CPU profile, the same burst (the ${fmtInt(streamNodes)} agents' side, for judging who limited the rate)`, clusterResult.profiles.simulatorBurst));
  }
  if (clusterResult?.profiles.query) {
    out();
    out(profileTables('Aggregator CPU profile, one extra batch of the target query', clusterResult.profiles.query));
  }
  if (agentResult?.profile) {
    out();
    out(profileTables(`Agent CPU profile, a second agent run idle for ${agentResult.profile.seconds} s (start-up and first snapshot cut off; main thread only — the per-scan worker threads are not in it)`, agentResult.profile));
  }
  streamResult = {
    options: { streamNodes, streamSockets, streamChurn, streamSeconds, streamBursts, streamQueries, replayBursts, agentSockets, agentSeconds, agentChurn },
    targets,
    errors: streamErrors,
    agent: agentResult,
    cluster: clusterResult,
    replay: replayResult,
  };
  if (streamErrors.length > 0) process.exitCode = 1;
}

let findingsResult: FindingsCaseResult | undefined;
if (findingsNodes > 0) {
  const tag = `findings ${fmtInt(findingsNodes * findingsSockets)} sockets`;
  progress(`${tag}: building the store and evaluating`);
  out();
  out(`== leak rules and history: ${fmtInt(findingsNodes * findingsSockets)} sockets, ${fmtInt(findingsNodes * findingsPods)} pods ==`);
  try {
    findingsResult = await runFindingsCase({ nodes: findingsNodes, socketsPerNode: findingsSockets, podsPerNode: findingsPods, evaluations: findingsEvaluations, churn: 20, timeoutMs });
    for (const line of findingsLines(findingsResult)) out(line);
  } catch (error) {
    out(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

let startupResult: StartupCaseResult | undefined;
if (startupRounds > 0) {
  out();
  out(`== kubectl netstat's start-up, whole processes, ${startupRounds} alternating rounds ==`);
  try {
    startupResult = await runStartupCase({ repo: ROOT, rounds: startupRounds, progress });
    for (const line of startupLines(startupResult)) out(line);
  } catch (error) {
    out(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

const file = `.bench/scan-${stamp}.json`;
writeFileSync(
  file,
  `${JSON.stringify({ startedAt, environment, options: { sizes, namespaces: namespaceCount, rounds, warmup, pods: podCount, podSockets }, results, podResult, stream: streamResult, findings: findingsResult, startup: startupResult }, null, 2)}\n`,
);
out();
out(`results written to ${file}`);

/** The scan profile of one extra profiled run; returns that run when there was one. */
function printScanProfile(report: ScanChildReport): ScanRun | undefined {
  const run = report.runs[0];
  if (!report.profile || !run) return undefined;
  out();
  out(`Profile (one extra run, HostFs calls timed individually; scan took ${run.ms.toFixed(0)} ms of which GC ${run.gcMs.toFixed(0)} ms):`);
  out(profileTable(report.profile, run.ms));
  return run;
}
