import type { FindingItem, FindingList, HistoryResolutionItem, PodHistoryObject } from '../../model/json/finding-list.js';
import { peerText } from '../../model/json/peer-text.js';
import { age } from './render.js';

/**
 * `kubectl netstat leaks`: each finding as a short block, newest first, the way `kubectl
 * describe` reads — what, where, since when, the figures, why in plain words, what to do next,
 * and the evidence (processes and peers). `-o json|yaml` gives the FindingList itself.
 */
export function renderFindings(list: FindingList, nowMs = Date.now()): string {
  if (list.items.length === 0) {
    const when = list.evaluatedAt ? `rules last evaluated ${age(nowMs - Date.parse(list.evaluatedAt))} ago` : 'the rules have not run yet';
    return `No leak findings (${when}).\n`;
  }
  return list.items.map((finding) => renderFinding(finding, nowMs)).join('\n');
}

const MAX_EVIDENCE_ROWS = 5;

function renderFinding(finding: FindingItem, nowMs: number): string {
  const workload = finding.workload ? ` (${finding.workload.kind}/${finding.workload.name})` : '';
  const since = `since ${age(nowMs - Date.parse(finding.firstSeen))}`;
  const state = finding.state === 'open' ? 'open' : `resolved ${age(nowMs - Date.parse(finding.resolvedAt ?? finding.lastSeen))} ago`;
  const lines = [`${finding.severity.toUpperCase()}  ${finding.rule}  ${finding.namespace}/${finding.pod}${workload} on ${finding.node}, ${since} (${state})`, `  ${finding.summary}`];
  if (finding.trend) lines.push(`  Trend:      ${finding.trend.from} → ${finding.trend.to} in ${age(finding.trend.windowSeconds * 1000)}`);
  lines.push(`  Why:        ${finding.explanation}`, `  Next step:  ${finding.nextStep}`);
  if (finding.containers.length > 0) lines.push(`  Containers: ${finding.containers.join(', ')}`);
  const processes = finding.processes.slice(0, MAX_EVIDENCE_ROWS).map((process) => `${process.pid}/${process.name} (${process.sockets})`);
  if (processes.length > 0) lines.push(`  Processes:  ${processes.join(', ')}${more(finding.processes.length)}`);
  const peers = finding.peers.slice(0, MAX_EVIDENCE_ROWS).map((peer) => {
    const endpoint = peer.port === null ? peer.address : peer.address.includes(':') ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
    const name = peer.peer ? ` ${peerText(peer.peer)}` : '';
    return `${endpoint}${name} ${peer.direction} (${peer.sockets})`;
  });
  if (peers.length > 0) lines.push(`  Peers:      ${peers.join(', ')}${more(finding.peers.length)}`);
  lines.push(`  ID:         ${finding.id}`);
  return `${lines.join('\n')}\n`;
}

function more(total: number): string {
  return total > MAX_EVIDENCE_ROWS ? `, and ${total - MAX_EVIDENCE_ROWS} more` : '';
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/**
 * A terminal sparkline of `values` in at most `width` characters: each character is the
 * highest value of the samples it covers (a leak's peak is not averaged away), scaled from 0
 * to the series' maximum; a series that is all zero is a flat line.
 */
export function sparkline(values: readonly number[], width: number): string {
  if (values.length === 0) return '';
  const buckets = Math.min(width, values.length);
  const peaks: number[] = [];
  for (let i = 0; i < buckets; i++) {
    const from = Math.floor((i * values.length) / buckets);
    const to = Math.max(from + 1, Math.floor(((i + 1) * values.length) / buckets));
    peaks.push(Math.max(...values.slice(from, to)));
  }
  const top = Math.max(...peaks);
  return peaks.map((value) => (top === 0 ? BLOCKS[0] : BLOCKS[Math.min(BLOCKS.length - 1, Math.round((value / top) * (BLOCKS.length - 1)))])).join('');
}

/** Where a resolution's samples start and end, for the heading. */
function span(resolution: HistoryResolutionItem, nowMs: number): string {
  const first = resolution.times[0];
  return first ? `the last ${age(nowMs - Date.parse(first))}` : 'no samples yet';
}

/**
 * `kubectl netstat history POD`: one sparkline per state for the chosen resolution, with the
 * latest count and the range, e.g. `CLOSE-WAIT  ▁▁▂▃▅▇█  42  (0–42)`.
 */
export function renderHistory(history: PodHistoryObject, resolutionName: string | undefined, width: number, nowMs = Date.now()): string {
  const resolution = resolutionName === undefined ? history.resolutions[0] : history.resolutions.find((candidate) => candidate.name === resolutionName);
  if (!resolution) throw new RangeError(`no resolution '${resolutionName}': this history has ${history.resolutions.map((candidate) => candidate.name).join(', ')}`);
  const heading = `${history.namespace}/${history.pod} on ${history.node}: ${resolution.name}, one ${resolution.aggregate === 'max' ? 'peak' : 'sample'} per ${age(resolution.stepSeconds * 1000)} over ${span(resolution, nowMs)} (kept ${age(resolution.retentionSeconds * 1000)})`;
  const states = Object.entries(resolution.series);
  if (states.length === 0) return `${heading}\nno sockets in this window\n`;
  const label = Math.max(...states.map(([state]) => state.length));
  const rows = states.map(([state, counts]) => {
    const latest = counts.at(-1) ?? 0;
    return `${state.padEnd(label)}  ${sparkline(counts, width)}  ${latest}  (${Math.min(...counts)}–${Math.max(...counts)})`;
  });
  return `${heading}\n${rows.join('\n')}\n`;
}
