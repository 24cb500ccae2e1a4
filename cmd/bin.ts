import { main } from './kube-netstat.js';

process.exitCode = await main(process.argv.slice(2));
