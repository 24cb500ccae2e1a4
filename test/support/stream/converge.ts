import { isDeepStrictEqual } from 'node:util';
import { get } from 'node:http';
import { ListResponse } from '../../../gen/kubenetstat/v1/query.js';
import { socketItem, type SocketItem, type SocketList } from '../../../model/json/socket-list.js';
import { hostSockets } from '../host-sockets.js';
import { waitFor } from '../wait.js';

/**
 * A socket item as both sides must agree on it: everything but firstSeen (the agent's first
 * observation, not the scan's) and the seconds a timer has left (the aggregator counts them down
 * to its answer's instant; the kind, retransmits and probes stay).
 */
export type ComparableItem = Omit<SocketItem, 'firstSeen' | 'timer'> & { readonly timer: Omit<NonNullable<SocketItem['timer']>, 'seconds'> | null };

/** Items without firstSeen and timer seconds, in one canonical order. */
export function comparable(items: readonly SocketItem[]): ComparableItem[] {
  return items
    .map(({ firstSeen: _firstSeen, timer, ...rest }) => ({ ...rest, timer: timer && { kind: timer.kind, retransmits: timer.retransmits, probes: timer.probes } }))
    .map((item) => ({ item, text: JSON.stringify(item) }))
    .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
    .map(({ item }) => item);
}

/**
 * The node's own current scan of its proc tree, made by the production scan and rendered by
 * the same function `kube-netstat local -o json` uses: what the aggregator must end up serving.
 */
export async function ownScan(procRoot: string, node: string): Promise<ComparableItem[]> {
  return comparable((await hostSockets(procRoot, node)).map((socket) => socketItem(socket)));
}

/** GET from the aggregator's HTTP listener (no keep-alive: nothing lingers), the body as bytes. */
function getBytes(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path, agent: false, timeout: 5_000, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}

/** GET from the aggregator's HTTP listener (no keep-alive: nothing lingers). */
export async function getText(port: number, path: string): Promise<{ status: number; text: string }> {
  const { status, body } = await getBytes(port, path);
  return { status, text: body.toString('utf8') };
}

export async function getJson<T>(port: number, path: string): Promise<{ status: number; body: T }> {
  const { status, text } = await getText(port, path);
  try {
    return { status, body: JSON.parse(text) as T };
  } catch (error) {
    throw new Error(`GET ${path}: HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`, { cause: error });
  }
}

/** The aggregator's answer for one node. */
export async function served(httpPort: number, node: string): Promise<SocketList> {
  const { status, body } = await getJson<SocketList>(httpPort, `/api/v1/sockets?node=${encodeURIComponent(node)}`);
  if (status !== 200) throw new Error(`GET /api/v1/sockets?node=${node}: HTTP ${status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * One node's sockets exactly as the aggregator holds them (firstSeen included, timers as their
 * agent read them: the protobuf answer, which JSON answers count down to their instant), items
 * in a canonical order.
 */
export async function exactView(httpPort: number, node: string): Promise<{ items: string[]; unavailable: string | undefined }> {
  const path = `/api/v1/sockets?node=${encodeURIComponent(node)}`;
  const { status, body } = await getBytes(httpPort, path, { accept: 'application/x-protobuf' });
  if (status !== 200) throw new Error(`GET ${path}: HTTP ${status}`);
  const answer = ListResponse.decode(body);
  return { items: answer.items.map((socket) => JSON.stringify(socketItem(socket))).sort(), unavailable: answer.unavailableNodes.find((entry) => entry.node === node)?.reason };
}

export interface NodeView {
  readonly items: ComparableItem[];
  /** The unavailableNodes entry for the node, if any. */
  readonly unavailable: { reason: string; lastSeen: string | null } | undefined;
}

export async function nodeView(httpPort: number, node: string): Promise<NodeView> {
  const list = await served(httpPort, node);
  const entry = list.unavailableNodes.find((unavailable) => unavailable.node === node);
  return { items: comparable(list.items), unavailable: entry && { reason: entry.reason, lastSeen: entry.lastSeen } };
}

/** A short account of how two item lists differ, for failure messages. */
export function difference(expected: readonly ComparableItem[], actual: readonly ComparableItem[]): string {
  const want = new Set(expected.map((item) => JSON.stringify(item)));
  const have = new Set(actual.map((item) => JSON.stringify(item)));
  const missing = [...want].filter((text) => !have.has(text));
  const extra = [...have].filter((text) => !want.has(text));
  return `expected ${expected.length} items, served ${actual.length}; missing ${missing.length}: ${missing.slice(0, 3).join('\n  ')}; extra ${extra.length}: ${extra.slice(0, 3).join('\n  ')}`;
}

/**
 * converged(node): the aggregator vouches for the node (it is not in unavailableNodes) and
 * serves exactly the node's own current scan. Polls until true or the deadline.
 */
export async function waitConverged(httpPort: number, node: string, procRoot: string, timeoutMs = 20_000): Promise<ComparableItem[]> {
  let last = 'nothing yet';
  let expected: ComparableItem[] = [];
  await waitFor(
    async () => {
      expected = await ownScan(procRoot, node);
      let view: NodeView;
      try {
        view = await nodeView(httpPort, node);
      } catch (error) {
        // The aggregator may be restarting: that is what some scenarios wait through.
        last = error instanceof Error ? error.message : String(error);
        return false;
      }
      last = `${view.unavailable ? `unavailable: ${view.unavailable.reason}; ` : ''}${difference(expected, view.items)}`;
      return view.unavailable === undefined && isDeepStrictEqual(view.items, expected);
    },
    { timeoutMs, intervalMs: 100, what: `node ${node} to converge`, describe: () => last },
  );
  return expected;
}
