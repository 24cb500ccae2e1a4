import { credentials as grpcCredentials, makeGenericClientConstructor, type ChannelCredentials, type ClientOptions } from '@grpc/grpc-js';
import { AgentServiceClient, AgentServiceService, type StreamRequest } from '../../gen/kubenetstat/v1/agent.js';

/** Told of every message the agent's stream sends: its kind (hello, snapshot, delta, heartbeat, goodbye) and encoded size. */
export type SentListener = (kind: string, bytes: number) => void;

/**
 * The AgentService client, its serializer reporting each message to `onSent` when given: the
 * bytes counted are the ones gRPC sends (before its 5-byte framing), and nothing is encoded
 * twice to count them.
 */
export function agentClient(address: string, credentials: ChannelCredentials | undefined, options: Partial<ClientOptions>, onSent?: SentListener): AgentServiceClient {
  const channel = credentials ?? grpcCredentials.createInsecure();
  if (!onSent) return new AgentServiceClient(address, channel, options);
  const { requestSerialize } = AgentServiceService.stream;
  const counted = {
    stream: {
      ...AgentServiceService.stream,
      requestSerialize: (value: StreamRequest): Buffer => {
        const bytes = requestSerialize(value);
        onSent(value.message?.$case ?? 'empty', bytes.length);
        return bytes;
      },
    },
  };
  const Client = makeGenericClientConstructor(counted, AgentServiceClient.serviceName) as unknown as typeof AgentServiceClient;
  return new Client(address, channel, options);
}
