import { setTimeout as sleep } from 'node:timers/promises';
import { ALL_PROTOS } from '../../model/socket.js';
import type { NameResolver } from '../netstat/names.js';
import type { CommandIo } from '../command-io.js';
import { UsageError } from '../../config/usage-error.js';
import { getJson, listAll } from './client.js';
import type { QueryFlags } from './flags.js';
import { unavailableItems } from '../../model/json/socket-list.js';
import { partialWarning, QueryNames, renderListing, structuredListing, unknownProtoWarning } from './render.js';
import { renderFindings, renderHistory } from './leaks.js';
import { renderSummary, renderTop, type SummaryAnswer } from './tables.js';
import type { FindingList, PodHistoryObject } from '../../model/json/finding-list.js';
import { openEndpoint, QueryFailure, type AggregatorEndpoint } from './transport.js';

/** Which namespace (kubectl's rule: -n, else the context's; none with -A) and pod a query is about. */
function scopeParams(flags: QueryFlags, endpoint: AggregatorEndpoint): URLSearchParams {
  const params = new URLSearchParams();
  if (!flags.kube.allNamespaces) params.set('namespace', flags.kube.namespace ?? endpoint.defaultNamespace);
  if (flags.kube.pod) params.set('pod', flags.kube.pod);
  return params;
}

/** The aggregator's query parameters for the flags (the same names as `/api/v1/sockets` takes). */
export function queryParams(flags: QueryFlags, endpoint: AggregatorEndpoint): URLSearchParams {
  const params = scopeParams(flags, endpoint);
  const add = (name: string, values: readonly (string | number)[]): void => {
    for (const value of values) params.append(name, String(value));
  };
  if (flags.kube.selector) params.set('labelSelector', flags.kube.selector);
  if (flags.kube.node) params.set('node', flags.kube.node);
  // Every table is no filter at all (and costs no filter value against the aggregator's limits).
  if (flags.protos.size < ALL_PROTOS.length) add('proto', [...flags.protos]);
  add('state', flags.states);
  add('port', flags.ports);
  add('address', flags.addresses);
  add('localPort', flags.localPorts);
  add('foreignPort', flags.foreignPorts);
  add('localAddress', flags.localAddresses);
  add('foreignAddress', flags.foreignAddresses);
  add('container', flags.containers);
  add('workload', flags.workloads);
  if (flags.minRecvQ !== undefined) params.set('minRecvQ', String(flags.minRecvQ));
  if (flags.minSendQ !== undefined) params.set('minSendQ', String(flags.minSendQ));
  if (flags.minAgeSeconds !== undefined) params.set('minAge', String(flags.minAgeSeconds));
  return params;
}

/**
 * The parameters of a listing or a watch: the filters and netstat's choice of servers (`-l`
 * only them, `-a` both, neither: all but them), which the aggregator applies with the rest, so
 * that --limit and every output format count the sockets the table shows.
 */
export function socketParams(flags: QueryFlags, endpoint: AggregatorEndpoint): URLSearchParams {
  const params = queryParams(flags, endpoint);
  if (!flags.netstat.all) params.set('listening', String(flags.netstat.listening));
  return params;
}

type Printer = (value: unknown) => string;

async function structuredPrinter(flags: QueryFlags): Promise<Printer | undefined> {
  if (flags.output === 'json') return (value) => `${JSON.stringify(value, null, 2)}\n`;
  // yaml is loaded only when asked for: every start-up would pay for it otherwise.
  if (flags.output === 'yaml') {
    const { stringify } = await import('yaml');
    return (value) => stringify(value);
  }
  return undefined;
}

/** One listing of sockets: netstat's table with pod columns, or the SocketList. */
async function listOnce(flags: QueryFlags, endpoint: AggregatorEndpoint, io: CommandIo, names: NameResolver, printer: Printer | undefined): Promise<void> {
  const params = socketParams(flags, endpoint);
  if (flags.sortBy !== undefined) params.set('sortBy', flags.sortBy);
  const { sockets, unavailable, warnings } = await listAll(endpoint, params, flags.chunkSize, io.signal, flags.limit);
  if (printer) io.stdout(structuredListing(sockets, unavailable, printer), 'utf8');
  else io.stdout(renderListing(sockets, flags, names), 'latin1');
  io.stderr(partialWarning(unavailableItems(unavailable)) + warnings + (printer ? '' : unknownProtoWarning(sockets)));
  if (sockets.length === 0 && !printer) io.stderr(await nothingFound(flags, endpoint, io.signal));
}

/**
 * kubectl's "No resources found" for an empty table, on stderr: the namespace it looked in, and
 * that the namespace does not exist when the Kubernetes API says so (a typo in -n is the usual
 * cause). The check never fails the command: without an answer, the hint is left out.
 */
async function nothingFound(flags: QueryFlags, endpoint: AggregatorEndpoint, signal: AbortSignal | undefined): Promise<string> {
  if (flags.kube.allNamespaces) return 'No sockets found.\n';
  const namespace = flags.kube.namespace ?? endpoint.defaultNamespace;
  let missing = false;
  try {
    const response = await endpoint.getApi?.(`/api/v1/namespaces/${encodeURIComponent(namespace)}`, signal);
    if (response) {
      response.resume();
      missing = response.statusCode === 404;
    }
  } catch {
    // No hint then.
  }
  return `No sockets found in namespace ${namespace}.${missing ? ` Namespace "${namespace}" does not exist.` : ''}\n`;
}

async function summaryOnce(flags: QueryFlags, endpoint: AggregatorEndpoint, io: CommandIo, printer: Printer | undefined): Promise<void> {
  const top = flags.command === 'top';
  const by = flags.by ?? (top ? 'close-wait' : 'namespace');
  const params = queryParams(flags, endpoint);
  params.set('by', by);
  if (top) params.set('limit', String(flags.limit ?? 10));
  const { value: answer, warnings } = await getJson<SummaryAnswer>(endpoint, top ? '/api/v1/top' : '/api/v1/summary', params, io.signal);
  if (printer) io.stdout(printer(answer), 'utf8');
  else io.stdout((top ? renderTop : renderSummary)(answer, by, !flags.noHeaders), 'utf8');
  io.stderr(partialWarning(answer.unavailableNodes) + warnings);
}

/** `leaks`: the aggregator's findings for the namespace (or -A), newest first. */
async function leaksOnce(flags: QueryFlags, endpoint: AggregatorEndpoint, io: CommandIo, printer: Printer | undefined): Promise<void> {
  const params = scopeParams(flags, endpoint);
  for (const rule of flags.rules) params.append('rule', rule);
  if (flags.severity) params.set('severity', flags.severity);
  // netstat's -a (all): resolved findings too.
  params.set('state', flags.netstat.all ? 'all' : 'open');
  if (flags.limit !== undefined) params.set('limit', String(flags.limit));
  const { value: list, warnings } = await getJson<FindingList>(endpoint, '/api/v1/findings', params, io.signal);
  io.stdout(printer ? printer(list) : renderFindings(list), 'utf8');
  io.stderr(partialWarning(list.unavailableNodes) + warnings);
}

/** `history POD` (or NAMESPACE/POD): the pod's socket counts by state over time. */
async function historyOnce(flags: QueryFlags, endpoint: AggregatorEndpoint, io: CommandIo, printer: Printer | undefined): Promise<void> {
  const subject = flags.subject!;
  const slash = subject.indexOf('/');
  const namespace = slash >= 0 ? subject.slice(0, slash) : (flags.kube.namespace ?? endpoint.defaultNamespace);
  const pod = slash >= 0 ? subject.slice(slash + 1) : subject;
  const { value: history, warnings } = await getJson<PodHistoryObject>(endpoint, '/api/v1/history', new URLSearchParams({ namespace, pod }), io.signal);
  io.stderr(warnings);
  if (printer) return void io.stdout(printer(history), 'utf8');
  try {
    io.stdout(renderHistory(history, flags.resolution, flags.width), 'utf8');
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/** Runs `what` once, or every -c seconds until interrupted. */
async function repeat(flags: QueryFlags, io: CommandIo, what: () => Promise<void>): Promise<void> {
  for (;;) {
    await what();
    if (flags.continuousSeconds === undefined || io.signal?.aborted) return;
    try {
      await sleep(flags.continuousSeconds * 1000, undefined, io.signal ? { signal: io.signal } : undefined);
    } catch (error) {
      if (io.signal?.aborted) return;
      throw error;
    }
  }
}

/**
 * Answers a parsed query (everything but --help, which needs none of this): exit 0 on an answer
 * (partial ones warn), 1 when none came. Usage errors are thrown for the caller to report.
 */
export async function answerQuery(flags: QueryFlags, io: CommandIo, name: string): Promise<number> {
  try {
    if (flags.command === 'completion' || flags.command === '__complete') {
      const { runCompletion } = await import('./completion.js');
      return await runCompletion(flags, io);
    }
    const endpoint = await openEndpoint(flags);
    const printer = await structuredPrinter(flags);
    switch (flags.command) {
      case 'summary':
      case 'top':
        await repeat(flags, io, () => summaryOnce(flags, endpoint, io, printer));
        return 0;
      case 'leaks':
        await repeat(flags, io, () => leaksOnce(flags, endpoint, io, printer));
        return 0;
      case 'history':
        await repeat(flags, io, () => historyOnce(flags, endpoint, io, printer));
        return 0;
      case 'watch': {
        const { watchSockets } = await import('./watch.js');
        return await watchSockets(flags, endpoint, io, printer);
      }
      default: {
        const names = new QueryNames();
        await repeat(flags, io, () => listOnce(flags, endpoint, io, names, printer));
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof QueryFailure) {
      io.stderr(`${name}: ${error.message}\n`);
      return 1;
    }
    if (io.signal?.aborted && !(error instanceof UsageError)) return 0;
    throw error;
  }
}
