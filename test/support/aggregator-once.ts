/**
 * Starts `kube-netstat aggregator` (the CLI's settings and start-up, on loopback port 0) and
 * stops it again: for tests that look at what starting one takes, in a process of its own.
 * With `--with-auth-module`, also imports the auth module as an aggregator with cluster access does.
 */
import { aggregatorSettings, startAggregatorWith } from '../../cmd/aggregator.js';

const aggregator = await startAggregatorWith(aggregatorSettings(['--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']), () => undefined);
if (process.argv.includes('--with-auth-module')) await import('../../aggregator/auth/start.js');
await aggregator.stop();
