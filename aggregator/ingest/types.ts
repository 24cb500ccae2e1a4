import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { StreamResponse } from '../../gen/kubenetstat/v1/agent.js';
import type { AgentAuthenticator } from '../auth/agent-auth.js';
import type { LogFn } from '../../common/log.js';
import type { Envelope } from './envelope.js';

export interface IngestOptions {
  /** Sockets one snapshot chunk or delta may carry. */
  readonly maxSocketsPerMessage: number;
  /** Sockets one node may hold. */
  readonly maxSocketsPerNode: number;
  readonly log: LogFn;
  /** Counts every applied change, for the ingest-rate metric. */
  readonly onApplied?: (changes: number) => void;
  /** Every message read, snapshot applied, resync asked and stream rejected, for metrics. */
  readonly onEvent?: (event: IngestEvent) => void;
  /** Agent authentication (aggregator/auth/agent-auth.ts): the stream may write only the node it names. */
  readonly authenticate?: Pick<AgentAuthenticator, 'authenticate'>;
}

/** What ingest reports for metrics; `rejected` names the gRPC status the stream ended with. */
export type IngestEvent =
  | { readonly kind: 'message'; readonly message: Envelope['kind'] }
  | { readonly kind: 'snapshot' }
  | { readonly kind: 'resync' }
  | { readonly kind: 'rejected'; readonly code: string };

/** Requests arrive as raw bytes: StreamReader reads them without decoding every socket. */
export type Call = ServerDuplexStream<Buffer, StreamResponse>;
