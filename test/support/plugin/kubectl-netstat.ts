// The plugin as kubectl runs it, from the sources (bin/kubectl-netstat.js runs the built dist/).
import { main } from '../../../cmd/kube-netstat.js';

process.exitCode = await main(['query', ...process.argv.slice(2)]);
