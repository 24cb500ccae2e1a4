import type { PortRange } from './port-range.js';

/** Figures a rule reports beyond the socket count; each rule sets the ones it judges by. */
export interface FindingDetails {
  /** How long the oldest socket involved has been in its condition (s). */
  readonly oldestSeconds?: number;
  /** Bytes waiting in the stuck queues. */
  readonly queuedBytes?: number;
  /** The listener's port (listen-overflow, syn-flood). */
  readonly localPort?: number;
  /** Connections waiting in the accept queue, and its limit when the agent knows it. */
  readonly acceptQueue?: number;
  readonly backlog?: number;
  /** The process (socket-growth). */
  readonly pid?: number;
  /** port-pressure: the pod's address, the destination, the share of the range in use, and the range. */
  readonly source?: string;
  readonly destination?: { readonly address: string; readonly port: number };
  readonly share?: number;
  readonly portRange?: Required<PortRange>;
  /** port-pressure: of the ports in use, those in TIME_WAIT. */
  readonly timeWait?: number;
  /** listen-overflow: connections the kernel dropped into the full accept queue (the namespace's ListenOverflows since the backlog began). */
  readonly listenOverflows?: number;
}
