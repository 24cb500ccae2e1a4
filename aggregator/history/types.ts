import { Proto } from '../../gen/kubenetstat/v1/socket.js';

/**
 * Contracts of per-pod history: the counts by state each pod had over time, in bounded ring
 * buffers (history-store.ts). The leak rules' one pass over the store (findings/pass.ts)
 * produces the counts; the query API reads them back (GET /api/v1/history, QueryService.History).
 */

/**
 * The series a pod's history keeps: ss's names for the kernel's TCP state codes 1–11 (which
 * UDP and raw sockets use too: ESTAB when connected, UNCONN otherwise), and every unix socket
 * in one series. A series index is the state code; unix is 0.
 */
export const SERIES_NAMES = ['unix', 'ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'UNCONN', 'CLOSE-WAIT', 'LAST-ACK', 'LISTEN', 'CLOSING'] as const;
export type SeriesName = (typeof SERIES_NAMES)[number];
export const SERIES_COUNT = SERIES_NAMES.length;

/** The series a socket counts in, or -1 for a state code no series has (never sent by agents). */
export function seriesOf(proto: number, stateCode: number): number {
  if (proto === Proto.PROTO_UNIX) return 0;
  return stateCode >= 1 && stateCode < SERIES_COUNT ? stateCode : -1;
}

export interface HistorySettings {
  /** Seconds between two fine samples, and how long fine samples are kept. */
  readonly fineSeconds: number;
  readonly fineRetentionSeconds: number;
  /** Seconds one coarse sample spans (it keeps the highest fine sample in it), and how long they are kept. */
  readonly coarseSeconds: number;
  readonly coarseRetentionSeconds: number;
  /** Pods tracked at once; a new pod beyond it replaces the one gone longest, or is not tracked. */
  readonly maxPods: number;
}

/** One pod's counts at a sample, in SERIES_NAMES order. */
export interface PodSample {
  readonly namespace: string;
  readonly name: string;
  /** `namespace/name`, when the caller has it made already (the findings pass does). */
  readonly key?: string;
  readonly uid: string;
  readonly node: string;
  readonly counts: ArrayLike<number>;
}

/** Samples of one resolution, oldest first; `series` only names states the pod had sockets in. */
export interface ResolutionView {
  readonly name: 'fine' | 'coarse';
  readonly stepSeconds: number;
  readonly retentionSeconds: number;
  /** `sample`: the count at that time; `max`: the highest fine sample within the step. */
  readonly aggregate: 'sample' | 'max';
  /** When each sample was taken (fine) or its step began (coarse), Unix ms. */
  readonly timesMs: readonly number[];
  readonly series: Readonly<Partial<Record<SeriesName, readonly number[]>>>;
}

export interface PodHistoryView {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly node: string;
  /** The first sample that counted this pod (Unix ms). */
  readonly firstSampleMs: number;
  /** The last sample in which the pod had sockets (Unix ms). */
  readonly lastPresentMs: number;
  readonly resolutions: readonly ResolutionView[];
}
