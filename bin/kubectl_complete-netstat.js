#!/usr/bin/env node
// kubectl (1.26+) runs kubectl_complete-netstat for `kubectl netstat <TAB>`: cobra's __complete protocol.
import { main } from '../dist/cmd/kube-netstat.js';

process.exitCode = await main(['query', '__complete', ...process.argv.slice(2)]);
