import { ChannelCredentials, credentials as grpcCredentials } from '@grpc/grpc-js';

/**
 * grpc-js shares one connection among all clients with equal target, options and credentials.
 * Each simulated agent is a node of its own, so each gets credentials equal only to itself:
 * one TCP connection and HTTP/2 session per agent, as in a real cluster.
 */
export class OwnConnection extends ChannelCredentials {
  private readonly inner = grpcCredentials.createInsecure();
  override _isSecure(): boolean {
    return this.inner._isSecure();
  }
  override _equals(other: ChannelCredentials): boolean {
    return other === this;
  }
  override _createSecureConnector(...args: Parameters<ChannelCredentials['_createSecureConnector']>): ReturnType<ChannelCredentials['_createSecureConnector']> {
    return this.inner._createSecureConnector(...args);
  }
}
