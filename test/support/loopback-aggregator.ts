import { credentials } from '@grpc/grpc-js';
import { after, before } from 'node:test';
import { startAggregator, type AggregatorOptions, type RunningAggregator } from '../../aggregator/server/index.js';
import { QueryServiceClient } from '../../gen/kubenetstat/v1/query.js';

/**
 * An aggregator in the test's process on loopback ports the kernel picks, logging nothing; its
 * nodes stay fresh for any test's length (stale after a minute, evicted after ten) and its
 * limits hold any test's sockets. `options` replace any of these.
 */
export function startLoopbackAggregator(options: Partial<AggregatorOptions> = {}): Promise<RunningAggregator> {
  return startAggregator({
    grpcListen: '127.0.0.1:0',
    httpListen: '127.0.0.1:0',
    staleAfterMs: 60_000,
    evictAfterMs: 600_000,
    maxMessageBytes: 1 << 20,
    maxSocketsPerMessage: 1_000,
    maxSocketsPerNode: 10_000,
    log: () => undefined,
    ...options,
  });
}

/** A gRPC query client of the aggregator, over plain TCP. */
export function queryClientOf(aggregator: RunningAggregator): QueryServiceClient {
  return new QueryServiceClient(`127.0.0.1:${aggregator.grpcPort}`, credentials.createInsecure());
}

/**
 * startLoopbackAggregator(options) and a query client of it while the enclosing describe runs
 * (registers its before and after hooks); `fill` puts what the tests ask for into it before
 * the first test. Both are there from the first test on.
 */
export function queriedDuringSuite(options: Partial<AggregatorOptions>, fill: (aggregator: RunningAggregator) => void): { readonly aggregator: RunningAggregator; readonly client: QueryServiceClient } {
  let started: { aggregator: RunningAggregator; client: QueryServiceClient } | undefined;
  before(async () => {
    const aggregator = await startLoopbackAggregator(options);
    started = { aggregator, client: queryClientOf(aggregator) };
    fill(aggregator);
  });
  after(async () => {
    started?.client.close();
    await started?.aggregator.stop();
  });
  const get = (): NonNullable<typeof started> => {
    if (!started) throw new Error('the aggregator is there from the first test of its describe on');
    return started;
  };
  return {
    get aggregator() {
      return get().aggregator;
    },
    get client() {
      return get().client;
    },
  };
}
