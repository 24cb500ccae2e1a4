// kubectl's plugin completion hook, from the sources (bin/kubectl_complete-netstat.js runs dist/).
import { main } from '../../../cmd/kube-netstat.js';

process.exitCode = await main(['query', '__complete', ...process.argv.slice(2)]);
